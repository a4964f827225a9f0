"""`ewobot requests add|list|extend|decide|lift`: the controller's rights requests.

Lists show ids, kinds, case references and dates, never names. Every change, and
every list (naming each pupil it lists, by reference), is audited as the
operating-system user; every decision prints whom the record was shared with, so the
controller can tell them (Article 19).
"""

from __future__ import annotations

import argparse
import codecs
from pathlib import Path

from bot.cli import BAD_INPUT, DATE_FORMS, OK, CliEnv, CliError, add_upn, date_option
from bot.domain import rights as rules
from bot.files import os_reason
from bot.storage import audit, rights
from bot.storage.rights import RightsProblem, RightsRequest

NO_SHARING = "no sharing recorded"
NOT_UTF8 = "not UTF-8 text"
STATEMENT_TOO_LONG = (f"the statement is more than {rules.STATEMENT_MAX_CHARS:,} characters; "
                      f"at most {rules.STATEMENT_MAX_CHARS:,}")


def register(commands: argparse._SubParsersAction) -> None:
    requests = commands.add_parser("requests", help="rights requests (UK GDPR Articles 15-21)")
    sub = requests.add_subparsers(dest="action", metavar="ACTION", parser_class=type(requests))
    sub.required = True
    add = sub.add_parser("add", help="record a request received")
    add_upn(add)
    add.add_argument("--kind", required=True, choices=rules.KINDS)
    add.add_argument("--received", metavar="DATE", type=date_option,
                     help=f"{DATE_FORMS} (default today)")
    add.set_defaults(handler=cmd_add)
    listing = sub.add_parser("list", help="the requests, earliest due first")
    listing.add_argument("--open", action="store_true", help="only those not yet decided")
    listing.set_defaults(handler=cmd_list)
    extend = sub.add_parser("extend", help="extend a request once by two months")
    extend.add_argument("id", type=int, metavar="ID")
    extend.add_argument("--reason", required=True, metavar="CODE",
                        help=", ".join(rules.EXTENSION_REASONS))
    extend.set_defaults(handler=cmd_extend)
    decide = sub.add_parser("decide", help="uphold or reject a request")
    decide.add_argument("id", type=int, metavar="ID")
    which = decide.add_mutually_exclusive_group(required=True)
    which.add_argument("--uphold", action="store_true")
    which.add_argument("--reject", action="store_true")
    decide.add_argument("--reason", required=True, metavar="CODE")
    decide.add_argument("--statement", metavar="FILE",
                        help="a rectification's supplementary statement (UTF-8 text)")
    decide.set_defaults(handler=cmd_decide)
    lift = sub.add_parser("lift", help="end an upheld restriction of a pupil's record")
    add_upn(lift)
    lift.set_defaults(handler=cmd_lift)


def _line(request: RightsRequest) -> str:
    extended = " (extended)" if request.extended else ""
    return (f"{request.id}  {request.kind}  {request.case_ref}  {request.received:%d/%m/%Y}"
            f"  {request.due:%d/%m/%Y}{extended}  {request.status}")


async def cmd_add(args: argparse.Namespace, env: CliEnv) -> int:
    now = env.clock.now()
    received = args.received or now.date()
    async with env.database() as db:
        try:
            request = await db.write(rights.add, args.upn, args.kind, received,
                                     actor=env.actor, now=now)
        except RightsProblem as problem:
            raise CliError(str(problem), BAD_INPUT) from None
    env.say(f"request {request.id} recorded: {request.kind} for {request.case_ref}, "
            f"received {request.received:%d/%m/%Y}, due by {request.due:%d/%m/%Y}")
    return OK


async def cmd_list(args: argparse.Namespace, env: CliEnv) -> int:
    """Audited as /requests' list is, naming each pupil it lists (by reference)."""
    async with env.database(create=False) as db:
        requests = await db.read(rights.listing, open_only=args.open)
        pupils = sorted({request.pupil_id for request in requests})
        await env.audit_command(db, "rights_requests_list", targets=audit.pupil_refs(pupils),
                                detail={"open": args.open})
    if not requests:
        env.say("no open requests" if args.open else "no requests recorded")
    for request in requests:
        env.say(_line(request))
    return OK


async def cmd_extend(args: argparse.Namespace, env: CliEnv) -> int:
    async with env.database() as db:
        try:
            request = await db.write(rights.extend, args.id, args.reason, actor=env.actor,
                                     now=env.clock.now())
        except RightsProblem as problem:
            raise CliError(str(problem), BAD_INPUT) from None
    env.say(f"request {request.id} extended: due by {request.due:%d/%m/%Y}")
    return OK


async def cmd_decide(args: argparse.Namespace, env: CliEnv) -> int:
    statement = _statement(Path(args.statement)) if args.statement else None
    async with env.database() as db:
        try:
            decision = await db.write(rights.decide, args.id, uphold=args.uphold,
                                      reason=args.reason, statement=statement,
                                      actor=env.actor, now=env.clock.now())
        except RightsProblem as problem:
            raise CliError(str(problem), BAD_INPUT) from None
    request = decision.request
    env.say(f"request {request.id} {request.status}: {request.kind} for {request.case_ref}")
    recipients = ", ".join(decision.recipients) or NO_SHARING
    env.say(f"shared with: {recipients}")
    return OK


def _statement(path: Path) -> str:
    """The statement file's text, without a byte-order mark. Read no further than the
    longest statement allowed can reach (4 bytes a character, after a mark): a file
    going on past that is too long, however it goes on."""
    most = len(codecs.BOM_UTF8) + 4 * rules.STATEMENT_MAX_CHARS
    try:
        with path.open("rb") as handle:
            raw = handle.read(most + 1)
    except FileNotFoundError:
        raise CliError(f"no file {path}", BAD_INPUT) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {os_reason(exc)}", BAD_INPUT) from None
    if len(raw) > most:
        raise CliError(STATEMENT_TOO_LONG, BAD_INPUT)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"cannot read {path}: {NOT_UTF8}", BAD_INPUT) from None


async def cmd_lift(args: argparse.Namespace, env: CliEnv) -> int:
    async with env.database() as db:
        try:
            lifted = await db.write(rights.lift, args.upn, actor=env.actor, now=env.clock.now())
        except RightsProblem as problem:
            raise CliError(str(problem), BAD_INPUT) from None
    env.say(f"restriction lifted ({lifted} request{'s' if lifted != 1 else ''})")
    return OK
