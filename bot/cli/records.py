"""`ewobot retention check`, `sar`, `audit verify|show` and `backup`: the records commands."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path

from bot.cli import BAD_INPUT, OK, CliEnv, CliError, add_upn
from bot.domain.text import counted
from bot.domain.upn import NOT_HELD, UpnProblem, checked_upn
from bot.files import os_reason
from bot.settings import Settings
from bot.storage import audit
from bot.storage import officers as officer_store
from bot.storage.audit import AuditEntry, Head
from bot.storage.db import Conn
from bot.storage.sar import SubjectAccessProblem, export_subject_access, pupil_target
from bot.usecases.retention import clean_up_after_disposals, run_retention_check

_HEAD = re.compile(r"([0-9]{1,12}):([0-9a-fA-F]{12,64})")


def register(commands: argparse._SubParsersAction) -> None:
    retention = commands.add_parser("retention", help="retention of pupils' records")
    sub = retention.add_subparsers(dest="action", metavar="ACTION", parser_class=type(retention))
    sub.required = True
    check = sub.add_parser("check", help="run the retention check now (as the daily job does)")
    check.set_defaults(handler=cmd_retention_check)

    sar = commands.add_parser("sar", help="subject-access export of everything held about a pupil")
    add_upn(sar)
    sar.add_argument("--out", metavar="FILE", help="write here instead of EWO_EXPORT_DIR")
    sar.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    sar.set_defaults(handler=cmd_sar)

    trail = commands.add_parser("audit", help="check or read the audit trail")
    sub = trail.add_subparsers(dest="action", metavar="ACTION", parser_class=type(trail))
    sub.required = True
    verify = sub.add_parser("verify", help="check the trail is whole, untampered, not shortened")
    verify.add_argument("--head", metavar="COUNT:HASH", type=parse_head,
                        help="a head noted earlier (e.g. from a retention reminder)")
    verify.set_defaults(handler=cmd_audit_verify)
    show = sub.add_parser("show", help="list entries, one per line")
    add_upn(show, "--upn", help="entries about this pupil")
    show.add_argument("--officer", metavar="REF", help="entries by or about this officer")
    show.set_defaults(handler=cmd_audit_show)

    backup = commands.add_parser("backup", help="online backup of the database (mode 0600)")
    backup.add_argument("--out", metavar="FILE", required=True)
    backup.set_defaults(handler=cmd_backup)


def parse_head(text: str) -> Head:
    """`COUNT:HASH` as a retention reminder shows it (the hash's first 12 hex digits or more)."""
    match = _HEAD.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError("--head must be COUNT:HASH, e.g. 1234:0123456789ab")
    return Head(int(match.group(1)), match.group(2).lower())


async def cmd_retention_check(args: argparse.Namespace, env: CliEnv) -> int:
    async with env.database() as db:
        result = await run_retention_check(db, env.settings, env.clock.now(), actor=env.actor)
        if not await clean_up_after_disposals(db, env.settings.export_dir):  # leftovers
            env.err.write("the database files could not be scrubbed after a disposal (busy); "
                          "the running bot retries every minute\n")
    env.say(f"retention check: {result.past_due} past due, {result.coming_due} coming due, "
            f"{result.held} on hold")
    env.say("a reminder is queued for the controllers" if result.reminded
            else "nothing new to remind the controllers of")
    env.say(f"audit trail head: {result.head.short()}")
    return OK


async def cmd_sar(args: argparse.Namespace, env: CliEnv) -> int:
    out = Path(args.out) if args.out else None
    async with env.database(create=False) as db:
        try:
            export = await export_subject_access(db, env.settings, args.upn, actor=env.actor,
                                                 now=env.clock.now(), out=out, force=args.force)
        except SubjectAccessProblem as problem:
            raise CliError(str(problem), BAD_INPUT) from None
    env.say(f"export written: {export.path}")
    env.say("rows: " + ", ".join(f"{name} {count}" for name, count in export.counts.items()))
    env.say(f"request received {export.received:%d/%m/%Y}; response due by {export.due:%d/%m/%Y}")
    return OK


async def cmd_audit_verify(args: argparse.Namespace, env: CliEnv) -> int:
    """Audited once the trail has verified: an entry chained onto a trail found broken
    (perhaps by this EWO_AUDIT_KEY being the wrong one) would muddy what verify reports
    next; the head printed is the one verified, before this entry."""
    async with env.database(create=False) as db:
        result = await db.read(audit.verify, args.head)
        if result.ok:
            await env.audit_command(db, "audit_verify",
                                    detail={"head": args.head is not None})
    if not result.ok:
        where = "" if result.first_bad_seq is None else f" at entry {result.first_bad_seq}"
        raise CliError(f"audit trail broken{where}: {result.problem}", BAD_INPUT)
    env.say(f"OK {result.head.short()} ({counted(result.head.count, 'entry', 'entries')})")
    return OK


async def cmd_audit_show(args: argparse.Namespace, env: CliEnv) -> int:
    """Audited as naming the pupil and the officer asked about (who looked at whom)."""
    async with env.database(create=False) as db:
        shown = await db.read(_entries, args)
        await env.audit_command(db, "audit_show", target=shown.pupil, targets=shown.officer,
                                detail={"entries": len(shown.entries)})
    for entry in shown.entries:
        env.say(entry_line(entry))
    return OK


@dataclass(frozen=True, slots=True)
class _Shown:
    """The entries `audit show` lists, and the pupil and officer they are about."""

    entries: list[AuditEntry]
    pupil: str | None = None
    officer: tuple[str, ...] = ()


async def _entries(conn: Conn, args: argparse.Namespace) -> _Shown:
    targets: tuple[str, ...] = ()
    if args.upn is not None:
        try:
            target = await pupil_target(conn, checked_upn(args.upn))
        except UpnProblem as problem:
            raise CliError(str(problem)) from None
        if target is None:
            raise CliError(NOT_HELD)
        targets = (target,)
    pupil = targets[0] if targets else None
    if args.officer is None:
        return _Shown(await audit.entries(conn, targets=targets), pupil)
    ref = args.officer.strip()
    officer = await officer_store.officer_by_ref(conn, ref)  # in any case
    if officer is None:
        raise CliError(f"no officer {ref}")
    person = officer.actor  # as the audit trail spells it
    if targets:  # what this officer did about this pupil
        return _Shown(await audit.entries(conn, targets=targets, actor=person), pupil, (person,))
    found = {entry.seq: entry for entry in await audit.entries(conn, actor=person)}
    found.update((entry.seq, entry) for entry in await audit.entries(conn, targets=(person,)))
    return _Shown([found[seq] for seq in sorted(found)], None, (person,))


def entry_line(entry: AuditEntry) -> str:
    """One entry on one line: number, time, who, what, which record, why, fixed details."""
    detail = "" if entry.detail is None else "  " + json.dumps(entry.detail, sort_keys=True,
                                                               separators=(",", ":"))
    return (f"{entry.seq}  {entry.at}  {entry.actor}  {entry.action}  {entry.target or '-'}  "
            f"{entry.reason}{detail}")


# SCALE.md: a PostgreSQL service is backed up by the server's own means.
BACKUP_ON_POSTGRES = ("ewobot backup is for SQLite: on PostgreSQL use the server's own "
                      "backups (pg_dump or base backups), kept no longer than the retention "
                      "window in the README")


async def cmd_backup(args: argparse.Namespace, env: CliEnv) -> int:
    if env.settings.database_url is not None:
        raise CliError(BACKUP_ON_POSTGRES)
    out = Path(args.out)
    try:
        if out.exists():
            raise CliError(f"{out} already exists; choose a new file")
        if not out.parent.is_dir():
            raise CliError(f"no folder {out.parent} to write the backup into")
    except OSError as exc:  # a name too long, a folder it may not look in
        raise CliError(f"cannot write {out}: {os_reason(exc)}") from None
    async with env.database(create=False) as db:
        await db.backup(out)
        await db.write(audit.append, actor=env.actor, action="backup", reason="admin_command",
                       detail={"encrypted": env.settings.database_key is not None})
    env.say(f"backup written: {out}")
    env.say("encrypted with EWO_DATABASE_KEY" if env.settings.database_key is not None
            else "not encrypted: keep it as safe as the database itself")
    left_out = _key_files_not_held(env.settings)
    if left_out is not None:
        env.say(left_out)
    return OK


def _key_files_not_held(settings: Settings) -> str | None:
    """The line naming the audit key and PIN pepper files generated beside the database,
    which the backup does not hold (README: keep both apart from it); None when both are
    given by settings, so no such file is there."""
    files = [f"the {what} ({path})" for what, given, path in (
        ("audit key", settings.audit_key, settings.audit_key_path),
        ("PIN pepper", settings.pin_pepper, settings.pepper_path)) if given is None]
    if not files:
        return None
    if len(files) == 1:
        return f"{files[0]} is not in it: keep that apart from the backup"
    return f"{' and '.join(files)} are not in it: keep them apart from the backup"
