"""`python -m bench [NAME …] [--size smoke]`: run the benchmarks, print each one's figures,
and (a full run of all of them) write the table to bench/results.md."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

from bench import attendance, chat, instances, memory, pins, postgres, retention, school_reports
from bench.report import Result, print_result, table
from bench.workspace import FULL, SCALES, Workspace

Benchmark = Callable[[Workspace], Awaitable[list[Result]]]

# In this order: the attendance import builds the database the others reuse.
BENCHMARKS: dict[str, Benchmark] = {
    "attendance": attendance.run,
    "chat": chat.run,
    "memory": memory.run,
    "pins": pins.run,
    "retention": retention.run,
    "reports": school_reports.run,
    "postgres": postgres.run,  # after attendance: it reuses the SQLite database imported
    "instances": instances.run,
}
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
# Written by hand: fixes made for the targets (before/after) and what limits the others.
FINDINGS = HERE / "findings.md"


async def run_all(names: Sequence[str], workspace: Workspace,
                  report: Callable[[Result], None] = print_result) -> list[Result]:
    """Run the named benchmarks in order; a crash in one is reported, the rest still run."""
    results: list[Result] = []
    for name in names:
        print(f"== {name}", flush=True)
        try:
            found = await BENCHMARKS[name](workspace)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the rest
            found = [Result.broken(name, exc)]
            logging.getLogger(__name__).exception("benchmark %s failed", name)
        for result in found:
            report(result)
        results.extend(found)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--size", choices=sorted(SCALES), default=FULL.name)
    parser.add_argument("--out", type=Path, help="write the table here (default: "
                        "bench/results.md after a full run of every benchmark)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark called {', '.join(unknown)}")
    logging.basicConfig(level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)  # the bot keeps its libraries' loggers at INFO
    names = args.names or list(BENCHMARKS)
    scale = SCALES[args.size]
    started_at, started = datetime.now(), time.perf_counter()
    workspace = Workspace(scale)
    try:
        results = asyncio.run(run_all(names, workspace))
    finally:
        workspace.close()
    seconds = time.perf_counter() - started
    print(f"== all done in {seconds:.0f} s", flush=True)
    out = args.out
    if out is None and scale is FULL and names == list(BENCHMARKS):
        out = RESULTS
    if out is not None:
        findings = FINDINGS.read_text(encoding="utf-8") if FINDINGS.exists() else ""
        out.write_text(table(results, scale=scale.name, seconds=seconds, started=started_at,
                             appendix=findings), encoding="utf-8")
        print(f"table written to {out}")
    # A missed target is a figure to act on, not a failure of the run; a broken one is.
    return 0 if all(result.error is None for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
