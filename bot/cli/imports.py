"""`ewobot import pupils|contacts|attendance|allocations|visits|notices FILE [--baseline]`,
and `ewobot codes`, the attendance codes an import accepts."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import BAD_INPUT, OK, CliEnv, CliError
from bot.domain.attendance import CODE_MEANINGS, CODES, RETIRED_CODES, CodeGroup
from bot.importing.csvfile import ImportRejected, file_problem
from bot.importing.service import KINDS, run_import

_HELP = {
    "pupils": "pupils, keyed by UPN; held pupils are updated in place",
    "contacts": "pupils' contacts, keyed by UPN and name",
    "attendance": "session marks; a later import replaces a mark",
    "allocations": "which officer each pupil is allocated to",
    "visits": "past interventions, for migration",
    "notices": "Notices to Improve and penalty notices issued before the bot",
}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("import", help="import a CSV file (all or nothing)")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", parser_class=type(parser))
    kinds.required = True
    for kind in KINDS:
        sub = kinds.add_parser(kind, help=_HELP[kind])
        sub.add_argument("file", metavar="FILE")
        if kind == "attendance":
            sub.add_argument(
                "--baseline", action="store_true",
                help="record bands without alerting (for going live)",
            )  # fmt: skip
        sub.set_defaults(handler=cmd_import)
    codes = commands.add_parser("codes", help="list the attendance codes an import accepts")
    codes.set_defaults(handler=cmd_codes)


async def cmd_import(args: argparse.Namespace, env: CliEnv) -> int:
    path = Path(args.file)
    problem = file_problem(path, args.file)
    if problem is not None:
        # Before opening the database: a mistyped name should not create one.
        raise CliError(problem, BAD_INPUT)
    async with env.database() as db:
        try:
            summary = await run_import(
                db, args.kind, path, actor=env.actor, today=env.clock.today(),
                settings=env.settings, baseline=getattr(args, "baseline", False),
                now=env.clock.now(), progress=env.err,
            )  # fmt: skip
        except ImportRejected as rejected:
            lines = rejected.report_lines()
            raise CliError(lines[0], BAD_INPUT, details=lines[1:]) from None
    env.say(summary.line())
    return OK


CODES_HEADLINE = (
    "Attendance codes `ewobot import attendance` accepts (in force from 19 August 2024),"
    " by how a session counts:"
)
_COUNTS_AS = {
    CodeGroup.PRESENT: "counts as attendance",
    CodeGroup.APPROVED: "counts as attendance",
    CodeGroup.AUTHORISED: "counts as authorised absence",
    CodeGroup.UNAUTHORISED: "counts as unauthorised absence",
    CodeGroup.UNAVOIDABLE: "not counted: not a possible session",
    CodeGroup.ADMINISTRATIVE: "not counted: not a possible session",
}
RETIRED_HEADLINE = "retired codes, still read from older files:"
NO_MARK_LINE = "-  or blank: no mark yet (the row is skipped)"


def cmd_codes(args: argparse.Namespace, env: CliEnv) -> int:
    """Every code, grouped, with its meaning: nothing is read or written."""
    env.say(CODES_HEADLINE)
    for group in CodeGroup:
        env.say()
        env.say(f"{group.value} ({_COUNTS_AS[group]})")
        for code, in_group in CODES.items():
            if in_group is group and code not in RETIRED_CODES:
                env.say(f"  {code:<3} {CODE_MEANINGS[code]}")
    env.say()
    env.say(RETIRED_HEADLINE)
    for code in RETIRED_CODES:
        meaning = CODE_MEANINGS[code].removeprefix("retired: ")
        env.say(f"  {code:<3} {meaning} ({CODES[code].value})")
    env.say()
    env.say(NO_MARK_LINE)
    return OK
