"""`ewobot ropa [--out FILE] [--force]`: the Article 30 record of processing, in Markdown.

Every figure is read from the database and the running settings; nobody is named.
Written 0600 and never over an existing file without --force; without --out it goes
to stdout. Audited as the operating-system user.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from bot.cli import BAD_INPUT, OK, CliEnv, CliError
from bot.domain import pins
from bot.domain.attempts import MAX_WRONG_CODES
from bot.domain.retention import BACKUP_WINDOW_DAYS
from bot.files import os_reason, write_private
from bot.settings import Settings
from bot.storage import audit, retention
from bot.storage.ropa import HELD, RopaFigures, figures
from bot.storage.sessions import MAX_PIN_FAILURES

PURPOSES = (
    "Monitoring pupils' school attendance and punctuality for the commissioning schools.",
    "Planning and recording interventions (home visits, meetings, letters).",
    "Alerting the pupil's education welfare officer and their supervisor when an "
    "attendance rule is met, and escalating safeguarding concerns.")
BASES = ("Article 6(1)(f) legitimate interests and 6(1)(b) contract (with the commissioning "
         "schools); special category data (SEN, health needs) under Article 9(2)(g) and "
         "the Data Protection Act 2018, Schedule 1, paragraph 18 (safeguarding).")
PEOPLE = ("Pupils of the commissioning schools.", "Their parents, carers and other contacts.",
          "The service's officers, supervisors and controllers.")
DATA = ("Pupils: name, date of birth, year group, school, address, SEN status, health "
        "needs, attendance marks and figures, interventions and notes, alerts.",
        "Contacts: name, relationship, telephone, e-mail, address.",
        "Officers: reference, name, role, Telegram account, PIN hash, audit trail.")


def register(commands: argparse._SubParsersAction) -> None:
    ropa = commands.add_parser("ropa", help="the record of processing (Article 30), Markdown")
    ropa.add_argument("--out", metavar="FILE", help="write here (0600) instead of stdout")
    ropa.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    ropa.set_defaults(handler=cmd_ropa)


async def cmd_ropa(args: argparse.Namespace, env: CliEnv) -> int:
    out = Path(args.out) if args.out else None
    try:
        if out is not None and out.is_dir():
            raise CliError(f"{out} is a folder; give a file name", BAD_INPUT)
        if out is not None and out.exists() and not args.force:
            raise CliError(f"{out} already exists; add --force to overwrite it", BAD_INPUT)
    except OSError as exc:  # a name too long, a folder it may not look in
        raise CliError(f"cannot write {out}: {os_reason(exc)}",
                       BAD_INPUT) from None
    now = env.clock.now()
    policy = retention.policy_for(env.settings, now)
    async with env.database(create=False) as db:
        found = await db.read(figures, policy)
        text = render(found, env.settings, policy.today)
        if out is not None:
            try:
                write_private(out, text.encode("utf-8"), force=args.force)
            except FileExistsError:
                raise CliError(f"{out} already exists; add --force to overwrite it",
                               BAD_INPUT) from None
            except IsADirectoryError:
                raise CliError(f"{out} is a folder; give a file name", BAD_INPUT) from None
            except OSError as exc:
                raise CliError(f"cannot write {out}: {os_reason(exc)}",
                               BAD_INPUT) from None
        await db.write(audit.append, actor=env.actor, action="ropa", reason="admin_command",
                       at=now, detail={"out": out.name if out else None})
    if out is None:
        env.out.write(text)
    else:
        env.say(f"record of processing written: {out}")
    return OK


def _list(items: tuple[str, ...] | list[str]) -> list[str]:
    return [f"- {item}" for item in items]


def render(found: RopaFigures, settings: Settings, today: date) -> str:
    """The record as Markdown."""
    lines = [f"# Record of processing activities (UK GDPR Article 30), {today:%d/%m/%Y}", "",
             f"Controller: {settings.controller_name}.", "", "## Purposes", "",
             *_list(PURPOSES), "", "## Lawful bases", "", BASES, "",
             "## Categories of people", "", *_list(PEOPLE), "",
             "## Categories of personal data", "", *_list(DATA), "",
             "## Recipients (last 12 months)", ""]
    shared = [f"{kind}: {count}" for kind, count in sorted(found.recipients.items())]
    lines += _list(shared) if shared else ["None recorded."]
    lines += ["", "## Retention", "", *_retention(found, settings), "",
              "## Security measures", "", *_list(_security(settings)), "",
              "## Records held", "", *_list(_held(found)), ""]
    return "\n".join(lines)


def _retention(found: RopaFigures, settings: Settings) -> list[str]:
    end = settings.academic_year_end
    return [f"A pupil's record is kept until the end of the academic year (ending "
            f"{end.day:02d}/{end.month:02d}) after the one of its last intervention (or, "
            "with none, its last import), unless on hold, then disposed of by a controller. "
            "An objection or erasure upheld makes it past due at once.", "",
            f"- Coming due within {settings.retention_notice_days} days: {found.coming_due}",
            f"- Past due: {found.past_due}", f"- On hold: {found.on_hold}"]


def _security(settings: Settings) -> list[str]:
    if settings.database_url is not None:
        at_rest = "PostgreSQL server (encryption at rest as the server provides)"
    elif settings.database_key is not None:
        at_rest = "the database file is encrypted (EWO_DATABASE_KEY set)"
    else:
        at_rest = "the database file is not encrypted (no EWO_DATABASE_KEY)"
    deletion = (f"messages showing contacts or notes deleted after "
                f"{settings.sensitive_message_minutes} minutes"
                if settings.sensitive_message_minutes else "messages are not deleted")
    return [f"Encryption at rest: {at_rest}.",
            f"PIN: {pins.MIN_LENGTH}–{pins.MAX_LENGTH} digits, stored as a salted, peppered "
            f"scrypt hash; the account locks after {MAX_PIN_FAILURES} wrong PINs in a row; "
            f"enrolment codes refused after {MAX_WRONG_CODES} wrong codes an hour.",
            f"Sessions: locked after {settings.session_idle_minutes} minutes idle and after "
            f"{settings.session_max_hours} hours at most.",
            "Telegram messages sent with protect_content (no forwarding or saving).",
            f"Deletion: {deletion}.",
            _backups(settings),
            "Audit trail: every read and change of personal data, chained by a keyed hash."]


def _backups(settings: Settings) -> str:
    """How backups are made and how long they are kept: what a disposal leaves behind."""
    if settings.database_url is not None:
        made = "the PostgreSQL server's own (pg_dump or base backups, and its WAL archive)"
    elif settings.database_key is not None:
        made = "`ewobot backup`, encrypted with the database key, written 0600"
    else:
        made = "`ewobot backup`, not encrypted (no EWO_DATABASE_KEY), written 0600"
    return (f"Backups: {made}, kept at most {BACKUP_WINDOW_DAYS} days, so data disposed of "
            f"leaves every backup within {BACKUP_WINDOW_DAYS} days.")


def _held(found: RopaFigures) -> list[str]:
    lines = [f"{label}: {found.held[table]}" for table, label in HELD]
    lines += [f"active {role}s: {count}" for role, count in found.officers.items()]
    return lines
