"""`ewobot report school URN` and `ewobot report schools`: PDFs for commissioning schools."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import BAD_INPUT, DATE_FORMS, OK, CliEnv, CliError, date_option
from bot.domain.school_report import EmptyPeriod, Period
from bot.domain.text import counted
from bot.importing.progress import Progress
from bot.reports.service import (
    ReportProblem,
    ReportWritten,
    write_all_reports,
    write_school_report,
)

PERIOD_HELP = f"{DATE_FORMS} (default: this academic year to date)"


def register(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="PDF reports for commissioning schools")
    sub = report.add_subparsers(dest="action", metavar="ACTION", parser_class=type(report))
    sub.required = True
    one = sub.add_parser("school", help="one school's report")
    one.add_argument("urn", metavar="URN")
    one.add_argument("--out", metavar="FILE.pdf", required=True)
    every = sub.add_parser("schools", help="one report per school, into a folder")
    every.add_argument("--out", metavar="DIR", required=True)
    for parser, handler in ((one, cmd_report_school), (every, cmd_report_schools)):
        for option, dest in (("--from", "start"), ("--to", "end")):
            parser.add_argument(option, dest=dest, metavar="DATE", type=date_option,
                                help=PERIOD_HELP)
        parser.add_argument("--force", action="store_true", help="overwrite existing files")
        parser.set_defaults(handler=handler)


def _period(args: argparse.Namespace, env: CliEnv) -> Period:
    try:
        return Period.of(args.start, args.end, today=env.clock.today(),
                         year_end=env.settings.academic_year_end)
    except EmptyPeriod as problem:
        raise CliError(f"empty period: {problem}", BAD_INPUT) from None


async def cmd_report_school(args: argparse.Namespace, env: CliEnv) -> int:
    period = _period(args, env)
    async with env.database(create=False) as db:  # a report only reads
        try:
            written = await write_school_report(
                db, env.settings, args.urn.strip(), period, Path(args.out), force=args.force,
                actor=env.actor, now=env.clock.now())
        except ReportProblem as problem:
            raise CliError(str(problem), BAD_INPUT) from None
    _say_written(env, written)
    return OK


async def cmd_report_schools(args: argparse.Namespace, env: CliEnv) -> int:
    period = _period(args, env)
    progress: Progress | None = None

    def advance(done: int, total: int) -> None:
        nonlocal progress
        if progress is None:
            progress = Progress("school reports", total, env.err)
        progress.advance_to(done)

    async with env.database(create=False) as db:  # a report only reads
        try:
            written = await write_all_reports(
                db, env.settings, period, Path(args.out), force=args.force, actor=env.actor,
                now=env.clock.now(), progress=advance)
        except ReportProblem as problem:
            raise CliError(str(problem), BAD_INPUT) from None
        finally:
            if progress is not None:
                progress.finish()
    for one in written:
        _say_written(env, one)
    env.say(f"{counted(len(written), 'report')} written")
    return OK


def _say_written(env: CliEnv, written: ReportWritten) -> None:
    figures = written.report.headline
    env.say(f"report written: {written.path} ({counted(figures.referred, 'pupil')} referred, "
            f"{counted(written.report.interventions.visits, 'visit')})")
