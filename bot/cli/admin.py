"""`ewobot init` and `ewobot officers add|code|revoke|compliance|list`."""

from __future__ import annotations

import argparse
from datetime import date

from bot.cli import BAD_INPUT, BAD_USAGE, DATE_FORMS, OK, CliEnv, CliError, date_option
from bot.domain.text import counted
from bot.importing.rows import LINE_MAX, is_one_line, shown_safely
from bot.storage import compliance, meta
from bot.storage import officers as officer_store
from bot.storage.db import Database, load_pepper
from bot.usecases import officers as officer_cases
from bot.usecases.officers import Revoked


def register(commands: argparse._SubParsersAction) -> None:
    init = commands.add_parser("init", help="create or upgrade the database (idempotent)")
    init.set_defaults(handler=cmd_init)

    officers = commands.add_parser("officers", help="create officers and enrolment codes")
    sub = officers.add_subparsers(dest="action", metavar="ACTION", parser_class=type(officers))
    sub.required = True
    add = sub.add_parser("add", help="add an officer, supervisor or controller")
    add.add_argument("ref")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=officer_store.ROLES)
    add.add_argument("--supervisor", metavar="REF")
    _compliance_options(add)
    add.set_defaults(handler=cmd_add)
    dates = sub.add_parser("compliance", help="record a DBS check's or training's date")
    dates.add_argument("ref")
    _compliance_options(dates)
    dates.set_defaults(handler=cmd_compliance)
    code = sub.add_parser("code", help="issue a new enrolment code")
    code.add_argument("ref")
    code.set_defaults(handler=cmd_code)
    revoke = sub.add_parser("revoke", help="end an officer's access")
    revoke.add_argument("ref")
    revoke.set_defaults(handler=cmd_revoke)
    listing = sub.add_parser("list", help="list officers")
    listing.set_defaults(handler=cmd_list)


def _compliance_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dbs", metavar="DATE", type=date_option,
                        help=f"the enhanced DBS check's date ({DATE_FORMS})")
    parser.add_argument("--training", metavar="DATE", type=date_option,
                        help=f"the data-protection training's date ({DATE_FORMS})")


def _check_dates(args: argparse.Namespace, today: date) -> None:
    for name in ("dbs", "training"):
        value = getattr(args, name)
        if value is not None and value > today:
            raise CliError(f"--{name} cannot be in the future")


async def cmd_init(args: argparse.Namespace, env: CliEnv) -> int:
    async with env.database() as db:
        await officer_cases.initialise(db, actor=env.actor, today=env.clock.today())
    load_pepper(env.settings)  # made now, so it can be kept apart from backups from the start
    env.say(f"database ready: {env.settings.database}")
    return OK


async def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    ref = _ref(args.ref)
    name = " ".join(args.name.split())
    if not name:
        raise CliError("--name must not be empty")
    if not is_one_line(name) or len(name) > LINE_MAX:  # as the import files' names
        raise CliError(f"--name must be one line of at most {LINE_MAX} characters, "
                       "without control characters")
    _check_dates(args, env.clock.today())
    async with env.database() as db:
        try:
            issued = await officer_cases.add_officer(
                db, ref=ref, name=name, role=args.role,
                supervisor_ref=_ref(args.supervisor) if args.supervisor else None,
                actor=env.actor, now=env.clock.now(),
                code_hours=env.settings.enrolment_code_hours, dbs=args.dbs,
                training=args.training)
        except officer_store.OfficerProblem as exc:
            raise CliError(str(exc)) from None
        await _print_code(env, db, issued.code, f"{issued.officer.role} {ref} added")
    return OK


async def cmd_code(args: argparse.Namespace, env: CliEnv) -> int:
    ref = _ref(args.ref)
    async with env.database() as db:
        issued = await officer_cases.new_code(db, ref, actor=env.actor, now=env.clock.now(),
                                              code_hours=env.settings.enrolment_code_hours)
        if issued is None:
            raise CliError(f"no officer {ref}")
        await _print_code(env, db, issued.code,
                          f"new enrolment code for {issued.officer.ref}")
    return OK


async def cmd_revoke(args: argparse.Namespace, env: CliEnv) -> int:
    ref = _ref(args.ref)
    async with env.database() as db:
        revocation = await officer_cases.revoke(db, ref, actor=env.actor, now=env.clock.now())
    officer = revocation.officer
    if revocation.outcome is Revoked.NO_SUCH_OFFICER or officer is None:
        raise CliError(f"no officer {ref}")
    if revocation.outcome is Revoked.ALREADY:
        raise CliError(f"{officer.ref} is already revoked")
    env.say(f"{officer.ref} revoked: access ends at their next message")
    return OK


async def cmd_compliance(args: argparse.Namespace, env: CliEnv) -> int:
    if args.dbs is None and args.training is None:
        raise CliError("give --dbs DATE, --training DATE or both", BAD_USAGE)
    _check_dates(args, env.clock.today())
    ref = _ref(args.ref)
    async with env.database() as db:
        recorded = await officer_cases.record_compliance(
            db, ref, dbs=args.dbs, training=args.training, actor=env.actor,
            now=env.clock.now(), policy=compliance.rules_of(env.settings))
    if recorded is None:
        raise CliError(f"no officer {ref}")
    officer, found = recorded
    env.say(f"{officer.ref}: " + "; ".join(item.describe() for item in found.items))
    return OK


async def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    async with env.database(create=False) as db:
        listing, dates = await officer_cases.officer_listing(
            db, env.clock.today(), compliance.rules_of(env.settings))
        await env.audit_command(db, "officers_list", detail={"officers": len(listing)})
    if not listing:
        env.say("no officers yet: add one with `ewobot officers add REF --name NAME --role ROLE`")
        return OK
    for item in listing:
        officer = item.officer
        flags = []
        if officer.role == "officer" and item.supervisor_ref is None:
            flags.append("NO SUPERVISOR")
        elif officer.role == "officer" and item.supervisor_revoked:
            flags.append(SUPERVISOR_REVOKED)
        if not officer.enrolled and officer.status == "active":
            flags.append("not enrolled")
        if officer.status != "active":
            flags.append(officer.status)
        supervisor = f" (supervisor {item.supervisor_ref})" if item.supervisor_ref else ""
        pupils = f", {counted(item.pupils, 'pupil')}" if officer.role != "controller" else ""
        marker = f"  [{'; '.join(flags)}]" if flags else ""
        found = dates.get(officer.id)
        checks = ("  " + "; ".join(item.describe() for item in found.items)
                  if found is not None and env.settings.compliance != "off" else "")
        env.say(f"{officer.ref}  {shown_safely(officer.name)}  {officer.role}{supervisor}"
                f"{pupils}{marker}{checks}")
    return OK


# An officer whose supervisor's access has ended: their escalations and, once they are
# revoked or lapsed, their alerts reach no supervisor of their own.
SUPERVISOR_REVOKED = "SUPERVISOR REVOKED"


REF_RULE = "REF must be 1–32 of the letters A–Z or a–z, digits 0–9, '-' or '_'"


def _ref(raw: str) -> str:
    """A reference as typed, checked. ASCII only: references match in any case (`ewo1`
    finds `EWO1`), and the databases' upper() folds only ASCII, so `EWÖ1` and `ewö1`
    would be two officers; `²` or `٣` pass str.isalnum() but are no digits to type."""
    ref = raw.strip()
    if not ref or len(ref) > 32 or not all(
            (ch.isascii() and ch.isalnum()) or ch in "-_" for ch in ref):
        raise CliError(REF_RULE, BAD_INPUT)
    return ref


READ_ALOUD = ("to read aloud (letters are case-sensitive: say \"capital\" before an upper-case"
              " one; _ is underscore, - is hyphen; typed with or without the spaces): {groups}")
SCAN = "or scan this with the phone's camera to open the link in Telegram:"
_GROUP = 4  # characters per group read aloud


async def _print_code(env: CliEnv, db: Database, code: str, headline: str) -> None:
    """The code is the last line alone; a deep link comes first when the bot's name is
    known (with a QR code of it on a terminal), then the code in groups to read aloud."""
    username = await db.read(meta.bot_username)
    env.say(f"{headline}; the code is valid for {env.settings.enrolment_code_hours} hours "
            "and works once")
    if username:
        link = f"https://t.me/{username}?start={code}"
        env.say(link)
        if env.out.isatty():  # a script reading the output gets no picture
            _print_qr(env, link)
    env.say(READ_ALOUD.format(groups=read_aloud_groups(code)))
    env.say(code)


def read_aloud_groups(code: str) -> str:
    """The code in groups of four, easier to read out over the phone than 43 in a row."""
    return " ".join(code[start:start + _GROUP] for start in range(0, len(code), _GROUP))


def _print_qr(env: CliEnv, link: str) -> None:
    """A QR code of the link in Unicode half blocks (no escape sequences), or nothing
    when segno is not installed: the code has been issued and must still be shown."""
    try:
        import segno  # here: only on a terminal, only for these two commands
    except ImportError:
        return
    env.say(SCAN)
    segno.make(link, error="l", micro=False).terminal(out=env.out, compact=True)
