"""Pupil-card latency on PostgreSQL against SQLite, quickly: one mid-size service
imported once into each backend, then paced rounds (20 cards a second, as
bench/postgres.py measures them) taken in turn, PostgreSQL and SQLite alternating in
the same process, each round's p50/p95/p99 printed with the ratio of the p95s.

    python -m bench.drills.pg_cards [--pupils N] [--rounds N] [--requests N]

Not one of `python -m bench.drills`' drills: a measuring tool for the PostgreSQL
backend's hot path (bench/findings.md, "Pupil cards on PostgreSQL"). The figures of
record stay bench/postgres.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import replace

from bench.chat import PACED_RATE, Load, paced
from bench.postgres import _card_sessions, import_on_postgres, import_on_sqlite
from bench.workspace import FULL, Workspace
from tests.pg import pg_bin_dir, start_cluster, stop_cluster


def _line(label: str, load: Load) -> str:
    return f"{label:<9} p50/p95/p99 {load.percentiles()} ms ({load.exchanges} cards)"


async def measure(pupils: int, rounds: int, requests: int) -> int:
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        print("PostgreSQL is not installed: nothing to measure")
        return 1
    # The full size's officers, caseloads and weeks of marks; fewer pupils in all.
    scale = replace(FULL, name="drill", pupils=pupils, paced_requests=requests,
                    schools=max(1, FULL.schools * pupils // FULL.pupils))
    workspace = Workspace(scale)
    cluster = await asyncio.to_thread(start_cluster, bin_dir)
    try:
        service = workspace.service()
        started = time.perf_counter()
        lite = await import_on_sqlite(workspace, service, "sqlite")
        pg, _ = await import_on_postgres(workspace, cluster, service, "pg")
        print(f"{service.pupils:,} pupils, {service.marks:,} marks imported into both"
              f" in {time.perf_counter() - started:.0f} s")
        p95s: dict[str, list[float]] = {"postgres": [], "sqlite": []}
        async with AsyncExitStack() as stack:
            sessions = {
                "postgres": await stack.enter_async_context(
                    _card_sessions(workspace, pg, service)),
                "sqlite": await stack.enter_async_context(
                    _card_sessions(workspace, lite, service))}
            for number in range(1, rounds + 1):
                order = list(sessions) if number % 2 else list(reversed(sessions))
                loads = {key: await paced(sessions[key](), PACED_RATE) for key in order}
                for key in sessions:
                    p95s[key].append(loads[key].percentile_ms(95))
                ratio = loads["postgres"].percentile_ms(95) / loads["sqlite"].percentile_ms(95)
                print(f"round {number}: " + "; ".join(_line(key, loads[key]) for key in sessions)
                      + f"; p95 ratio {ratio:.2f}", flush=True)
        best = {key: min(values) for key, values in p95s.items()}
        middle = {key: statistics.median(values) for key, values in p95s.items()}
        print(f"best p95: postgres {best['postgres']:.1f} ms, sqlite {best['sqlite']:.1f} ms,"
              f" ratio {best['postgres'] / best['sqlite']:.2f}; median p95: postgres"
              f" {middle['postgres']:.1f} ms, sqlite {middle['sqlite']:.1f} ms,"
              f" ratio {middle['postgres'] / middle['sqlite']:.2f}")
    finally:
        await asyncio.to_thread(stop_cluster, cluster)
        workspace.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drills.pg_cards",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupils", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=FULL.paced_requests,
                        help="cards per officer a round")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(measure(args.pupils, args.rounds, args.requests))


if __name__ == "__main__":
    raise SystemExit(main())
