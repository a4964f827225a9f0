"""`ewobot import pupils|contacts|attendance|allocations|visits FILE [--baseline]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import BAD_INPUT, OK, CliEnv, CliError
from bot.importing.csvfile import ImportRejected, file_problem
from bot.importing.service import KINDS, run_import

_HELP = {
    "pupils": "pupils, keyed by UPN; held pupils are updated in place",
    "contacts": "pupils' contacts, keyed by UPN and name",
    "attendance": "session marks; a later import replaces a mark",
    "allocations": "which officer each pupil is allocated to",
    "visits": "past interventions, for migration",
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
