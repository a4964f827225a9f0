"""The PostgreSQL backend's figures, each against a baseline in the same run: the
attendance import against psycopg's own COPY of the same rows into the same table;
pupil-card latency at a paced 20 cards a second against the SQLite backend at the same
pace; and the same latency on a service many times larger, on both backends.

The server is a throwaway cluster started for the run (tests/pg.py: the Debian
`postgresql` package's binaries, on 127.0.0.1, fsync and synchronous commit off, as
the tests run it); without PostgreSQL installed every figure is skipped.

    python -m bench.postgres [--size full|smoke] [--large-pupils N] [--out FILE]
                             [--import-only | --cards-only] [--explain] [--keep DIR]

With `--keep DIR` the synthetic services, the databases imported from them and the
cluster holding the PostgreSQL ones stay in DIR, and a later run with the same DIR
starts from them (the 200,000-pupil service takes the better part of an hour to build).

(`python -m bench postgres` runs it with the default sizes.)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.attendance import _mark_rows, stopwatch_on
from bench.chat import (
    PACED_RATE,
    Exchange,
    Load,
    allocations,
    card_exchange,
    closed_loop,
    enrol_officers,
    paced,
)
from bench.drills.common import NoRateLimit
from bench.report import Result, run_alone
from bench.workspace import (
    FULL,
    SCALES,
    TODAY,
    Workspace,
    add_officers,
    bench_clock,
    bench_settings,
    import_file,
    import_files,
)
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage import pupils as pupil_store
from bot.storage.db import Conn, Database
from bot.synthetic import SyntheticService, generate
from tests.pg import ROLE, Cluster, pg_bin_dir, start_cluster, stop_cluster

IMPORT = "attendance import (PostgreSQL)"
CARDS = "pupil cards (PostgreSQL)"
GROWTH = "card p95 as the service grows"
COPY_MARKS = "COPY marks (pupil_id, date, session, code) FROM STDIN"
PEPPER = "bench-pepper-" + "p" * 40
ROUNDS = 3  # paced rounds a database, taken in turn with the others'; the best p95 counts
GROWTH_FACTOR = 10  # the 200,000 pupils against 20,000


async def run(workspace: Workspace, large_pupils: int | None = None, *,
              import_only: bool = False, cards_only: bool = False,
              explain: bool = False) -> list[Result]:
    """Every figure, on one throwaway cluster (skipped without PostgreSQL); a workspace
    kept between runs keeps its cluster too, in its folder `pg-cluster`."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL is not installed (apt-get install postgresql)"
        return [Result.skip(name, reason) for name in (IMPORT, CARDS, GROWTH)]
    root = workspace.root / "pg-cluster" if workspace.keep else None
    cluster = await asyncio.to_thread(start_cluster, bin_dir, root)
    try:
        return await _run(workspace, cluster, large_pupils, import_only=import_only,
                          cards_only=cards_only, explain=explain)
    finally:
        await asyncio.to_thread(stop_cluster, cluster, keep=workspace.keep)


async def _run(workspace: Workspace, cluster: Cluster, large_pupils: int | None, *,
               import_only: bool, cards_only: bool, explain: bool) -> list[Result]:
    service = workspace.service()
    results = []
    if not cards_only:
        baseline = await copy_baseline(workspace, cluster, service)
        timing = await timed_import_on_postgres(workspace, cluster, service)
        results.append(_import_result(service, timing, baseline))
        if import_only:
            return results
    large = large_service(workspace, large_pupils)
    databases = {
        (backend, size): (await build(workspace, cluster, kept, f"{backend}-{kept.pupils}"), kept)
        for size, kept in (("small", service), ("large", large))
        for backend, build in (("sqlite", kept_sqlite), ("postgres", kept_postgres))}
    if explain:
        for key, (settings, kept) in databases.items():
            print(f"== plans of a card's statements: {key[0]}, {kept.pupils:,} pupils",
                  flush=True)
            print(await card_plans(workspace, settings, kept), flush=True)
    loads = await paced_rounds(workspace, databases)
    return [*results, _cards_result(workspace, loads), *_growth_results(service, large, loads)]


# --- the import --------------------------------------------------------------------------


@dataclass
class ImportTiming:
    seconds: float
    writing: float
    alerts: float


def pg_settings(workspace: Workspace, cluster: Cluster, label: str) -> Settings:
    """Settings of a new, empty database on the cluster, owned by the service's role."""
    name = _fresh_database(cluster, label)
    return _pg_settings(workspace.folder(label), cluster, name)


@dataclass
class CopyBaseline:
    """psycopg's COPY of the service's marks: row by row (`write_row`), and as text
    already formatted (`write`), the fastest psycopg can hand rows to the server."""

    rows: int
    seconds: float
    text_seconds: float


async def copy_baseline(workspace: Workspace, cluster: Cluster,
                        service: SyntheticService) -> CopyBaseline:
    rows, seconds = await _copy_once(workspace, cluster, service, as_text=False)
    _, text_seconds = await _copy_once(workspace, cluster, service, as_text=True)
    return CopyBaseline(rows, seconds, text_seconds)


async def _copy_once(workspace: Workspace, cluster: Cluster, service: SyntheticService, *,
                     as_text: bool) -> tuple[int, float]:
    """Seconds spent in psycopg's COPY (and the commit) putting the service's marks into
    the marks table of a fresh database with the same schema; rows built outside."""
    settings = pg_settings(workspace, cluster, "copy-baseline")
    db = await Database.open(settings)
    try:
        await import_file(db, settings, service, "pupils")
        async def _ids(conn: Conn) -> dict[str, int]:
            return {row[1]: row[0] for row in await conn.fetchall("SELECT id, upn FROM pupils")}
        pupil_ids = await db.read(_ids)
    finally:
        await db.close()
    assert settings.database_url is not None
    spent, rows = 0.0, 0
    async with await psycopg.AsyncConnection.connect(
            settings.database_url.get_secret_value()) as raw:
        for chunk in _mark_rows(service.files["attendance"], pupil_ids):
            text = "".join(f"{p}\t{d}\t{s}\t{c.replace(chr(92), chr(92) * 2)}\n"
                           for p, d, s, c in chunk) if as_text else ""
            started = time.perf_counter()
            async with raw.cursor() as cursor, cursor.copy(COPY_MARKS) as copy:
                if as_text:
                    await copy.write(text)
                else:
                    for row in chunk:
                        await copy.write_row(row)
            spent += time.perf_counter() - started
            rows += len(chunk)
        started = time.perf_counter()
        await raw.commit()
        spent += time.perf_counter() - started
    return rows, spent


async def timed_import_on_postgres(workspace: Workspace, cluster: Cluster,
                                   service: SyntheticService) -> ImportTiming:
    """The whole service imported into a new database, the attendance file timed (and
    the database kept for the cards when the workspace is kept)."""
    label = f"postgres-{service.pupils}"
    folder, _ = workspace.kept_folder(label)  # a timed import always starts afresh
    name = _fresh_database(cluster, label)
    timing = await _import_whole(_pg_settings(folder, cluster, name), service)
    workspace.remember(folder, name)
    return timing


async def kept_postgres(workspace: Workspace, cluster: Cluster, service: SyntheticService,
                        label: str) -> Settings:
    """Settings of a database on the cluster holding the whole service: imported now,
    or kept from an earlier run (or this one's timed import)."""
    async def build(folder: Path) -> str:
        name = _fresh_database(cluster, label)
        await _import_whole(_pg_settings(folder, cluster, name), service)
        return name
    name = await workspace.kept_async(label, build)
    return _pg_settings(workspace.folder(label), cluster, name)


async def kept_sqlite(workspace: Workspace, _cluster: Cluster, service: SyntheticService,
                      label: str) -> Settings:
    async def build(folder: Path) -> str:
        await _import_whole(bench_settings(folder), service)
        return "sqlite"
    await workspace.kept_async(label, build)
    return bench_settings(workspace.folder(label))


def _fresh_database(cluster: Cluster, label: str) -> str:
    name = f"ewo_bench_{label.replace('-', '_')}"
    with cluster.admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
    return name


def _pg_settings(folder: Path, cluster: Cluster, name: str) -> Settings:
    return bench_settings(folder, database_url=cluster.url(name), pin_pepper=PEPPER)


async def _import_whole(settings: Settings, service: SyntheticService) -> ImportTiming:
    """Officers and every file, as `ewobot import` would; the import's alerts dropped
    from the outbox afterwards (a pushed alert among the cards would be taken for one)."""
    db = await Database.open(settings)
    try:
        await add_officers(db, service, bench_clock().now())
        await import_files(db, settings, service, ("pupils", "contacts", "allocations"))
        with (stopwatch_on("bot.storage.alerts", "evaluate_import") as alerts,
              stopwatch_on("bot.storage.imports", "apply_marks") as writing):
            started = time.perf_counter()
            await import_file(db, settings, service, "attendance")
            seconds = time.perf_counter() - started
        await import_file(db, settings, service, "visits")

        async def _quiet(conn: Conn) -> None:
            await conn.execute("DELETE FROM outbox")
        await db.write(_quiet)
    finally:
        await db.close()
    return ImportTiming(seconds, writing.seconds, alerts.seconds)


def _import_result(service: SyntheticService, timing: ImportTiming,
                   baseline: CopyBaseline) -> Result:
    rate = service.marks / timing.seconds
    copy_seconds = baseline.seconds
    copy_rate = baseline.rows / copy_seconds
    text_rate = baseline.rows / baseline.text_seconds
    ratio = rate / copy_rate
    reading = timing.seconds - timing.writing - timing.alerts
    return Result(
        IMPORT,
        figures={"marks": service.marks, "seconds": timing.seconds, "marks_per_s": rate,
                 "reading_s": reading, "writing_s": timing.writing,
                 "alerts_s": timing.alerts, "copy_seconds": copy_seconds,
                 "copy_marks_per_s": copy_rate, "text_copy_seconds": baseline.text_seconds,
                 "text_copy_marks_per_s": text_rate, "ratio_to_text_copy": rate / text_rate},
        headline=f"{service.marks:,} marks in {timing.seconds:.1f} s = {rate:,.0f} marks/s",
        baseline=f"psycopg COPY {copy_rate:,.0f} rows/s ({copy_seconds:.1f} s)",
        ratio=ratio, target="≥ 0.5", met=ratio >= 0.5,
        notes=[f"{service.pupils:,} pupils × {service.sessions} sessions into PostgreSQL. Of"
               f" the {timing.seconds:.1f} s: reading and checking the file {reading:.1f} s,"
               f" writing marks and figures {timing.writing:.1f} s (a first import's marks by"
               f" one COPY a batch of pupils), alert rules {timing.alerts:.1f} s. The"
               " baseline writes the same rows with psycopg's `copy.write_row`, the rows"
               " built outside its timed calls; the same rows already formatted as COPY"
               f" text (`copy.write`) go at {text_rate:,.0f} rows/s, against which the"
               f" import is {rate / text_rate:.2f}."])


# --- cards at a steady pace --------------------------------------------------------------


def large_service(workspace: Workspace, pupils: int | None) -> SyntheticService:
    """A service `GROWTH_FACTOR` times the workspace's (or of `pupils`), with as many marks
    a pupil and officers in proportion, so each officer's caseload is the same size."""
    scale = workspace.scale
    pupils = pupils or scale.pupils * GROWTH_FACTOR
    factor = pupils / scale.pupils
    return workspace.kept(f"service-{pupils}", lambda folder: generate(
        folder, seed=9, pupils=pupils, schools=max(1, round(scale.schools * factor)),
        officers=max(2, round(scale.officers * factor)),
        supervisors=max(1, round(scale.officers * factor) // 10),
        weeks=scale.weeks, today=TODAY))


class _Recording:
    """A Conn that notes every query it is asked (for the plans of a card's statements)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self.queries: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._conn, name)
        if name == "fetchall_together":
            async def noted_together(*queries: tuple[str, Any]) -> Any:
                self.queries += queries
                return await method(*queries)
            return noted_together
        if name not in ("fetchall", "fetchone", "fetchval"):
            return method

        async def noted(sql: str, params: Any = ()) -> Any:
            self.queries.append((sql, params))
            return await method(sql, params)
        return noted


async def card_plans(workspace: Workspace, settings: Settings, service: SyntheticService,
                     samples: int = 3) -> str:
    """The plan of each statement a typed UPN's search and card run, for an officer's
    own pupils: `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL (the last of `samples` runs,
    so the caches are warm), `EXPLAIN QUERY PLAN` on SQLite."""
    by_officer = allocations(_view(workspace, service))
    ref, upns = next((officer.ref, by_officer[officer.ref]) for officer in service.officers
                     if officer.role == "officer" and by_officer.get(officer.ref))
    db = await Database.open(settings)
    prefix = ("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) "
              if db.dialect == "postgres" else "EXPLAIN QUERY PLAN ")

    async def _plans(conn: Conn) -> list[str]:
        officer = await officer_store.officer_by_ref(conn, ref)
        assert officer is not None
        lines: list[str] = []
        for upn in upns[:samples]:
            recording = _Recording(conn)
            await pupil_store.find_with_card(
                recording, officer, upn, today=TODAY,  # type: ignore[arg-type]
                year_end=settings.academic_year_end, limit=10)
            lines = []
            for sql, params in recording.queries:
                lines.append("-- " + " ".join(sql.split())[:160])
                for row in await conn.fetchall(prefix + sql, params):
                    lines.append("   " + " | ".join(str(value) for value in row))
        return lines
    try:
        return "\n".join(await db.read(_plans))
    finally:
        await db.close()


async def paced_rounds(workspace: Workspace,
                       databases: dict[tuple[str, str], tuple[Settings, SyntheticService]]
                       ) -> dict[tuple[str, str], Load]:
    """Card latency at PACED_RATE on each database, one bot running at a time: each of
    `ROUNDS` rounds starts a bot on every database in turn (the order reversed every
    round, so a busy moment on a shared machine spoils no one database's figure); the
    round with the lowest p95 of each."""
    best: dict[tuple[str, str], Load] = {}
    keys = list(databases)
    for number in range(ROUNDS):
        for key in keys if number % 2 == 0 else keys[::-1]:
            async with _card_sessions(workspace, *databases[key]) as make:
                load = await paced(make(number), PACED_RATE)
            if key not in best or load.percentile_ms(95) < best[key].percentile_ms(95):
                best[key] = load
    return best


@asynccontextmanager
async def _card_sessions(workspace: Workspace, settings: Settings, service: SyntheticService
                         ) -> AsyncIterator[Callable[[int], list[list[Exchange]]]]:
    """A running bot on the database, officers enrolled and warmed up; yields a maker
    of one paced round's exchanges (each officer's own pupils, by /pupil and typed)."""
    scale = workspace.scale
    view = _view(workspace, service)
    db = await Database.open(settings)
    try:
        async with BotApiStandIn() as standin:
            bot = RunningBot(settings, standin, clock=bench_clock(), db=db,
                             rate_limiter=NoRateLimit())
            async with bot:
                officers = await enrol_officers(view, db, settings, standin,
                                                scale.chat_officers)
                people = list(zip(officers.users, officers.pupils, strict=True))
                await closed_loop([[card_exchange(user, pupils[n % len(pupils)], typed=n % 2 == 1)
                                    for n in range(3)] for user, pupils in people])

                def make(turn: int) -> list[list[Exchange]]:
                    start = 3 + turn * scale.paced_requests
                    return [[card_exchange(user, pupils[(start + n) % len(pupils)],
                                           typed=n % 2 == 1)
                             for n in range(scale.paced_requests)] for user, pupils in people]
                yield make
    finally:
        await db.close()


def _view(workspace: Workspace, service: SyntheticService) -> Workspace:
    """The workspace as the chat helpers see it, with `service`'s officers and pupils."""
    view = Workspace(workspace.scale, root=workspace.root)
    view._service = service  # noqa: SLF001 - the officers and allocations of this service
    return view


def _cards_result(workspace: Workspace, loads: dict[tuple[str, str], Load]) -> Result:
    pg, lite = loads["postgres", "small"], loads["sqlite", "small"]
    p95, lite_p95 = pg.percentile_ms(95), lite.percentile_ms(95)
    ratio = p95 / lite_p95
    scale = workspace.scale
    return Result(
        CARDS,
        figures={"p50_ms": pg.percentile_ms(50), "p95_ms": p95, "p99_ms": pg.percentile_ms(99),
                 "sqlite_p50_ms": lite.percentile_ms(50), "sqlite_p95_ms": lite_p95,
                 "sqlite_p99_ms": lite.percentile_ms(99), "cards": pg.exchanges},
        headline=f"at {PACED_RATE:g}/s p50/p95/p99 {pg.percentiles()} ms",
        baseline=f"SQLite at {PACED_RATE:g}/s: p50/p95/p99 {lite.percentiles()} ms",
        ratio=ratio, target="p95 ≤ 25 ms and ≤ 1.5 × SQLite's",
        met=p95 <= 25 and ratio <= 1.5,
        notes=[f"{scale.chat_officers} officers, {scale.paced_requests} cards each at"
               f" {PACED_RATE:g} cards a second in all, their own pupils among"
               f" {workspace.service().pupils:,}, half by /pupil and half typed; the best p95"
               f" of {ROUNDS} rounds each, taken in turn with SQLite's (and the larger"
               " service's). The bot, the stand-in and PostgreSQL share the machine."])


def _growth_results(small: SyntheticService, large: SyntheticService,
                    loads: dict[tuple[str, str], Load]) -> list[Result]:
    results = []
    for backend, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        big, base = loads[backend, "large"], loads[backend, "small"]
        ratio = big.percentile_ms(95) / base.percentile_ms(95)
        results.append(Result(
            f"{GROWTH} ({label})",
            figures={"large_p95_ms": big.percentile_ms(95),
                     "small_p95_ms": base.percentile_ms(95), "large_pupils": large.pupils,
                     "large_marks": large.marks, "small_pupils": small.pupils},
            headline=(f"{large.pupils:,} pupils, {large.marks:,} marks: p50/p95/p99"
                      f" {big.percentiles()} ms"),
            baseline=(f"{small.pupils:,} pupils, {small.marks:,} marks: p50/p95/p99"
                      f" {base.percentiles()} ms"),
            ratio=ratio, target="≤ 1.2", met=ratio <= 1.2,
            notes=[f"Cards at {PACED_RATE:g}/s as above, on a service of {large.pupils:,}"
                   f" pupils ({large.marks:,} marks, officers in proportion, so a caseload"
                   " is the same size) against the smaller one, in the same run."]))
    return results


# --- on its own --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.postgres", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SCALES), default=FULL.name)
    parser.add_argument("--large-pupils", type=int, metavar="N",
                        help=f"pupils in the larger service (default {GROWTH_FACTOR} × the size's)")
    parser.add_argument("--out", type=Path, help="write the table here as well")
    parser.add_argument("--import-only", action="store_true",
                        help="the attendance import and its baselines only")
    parser.add_argument("--cards-only", action="store_true",
                        help="the card latencies only (no import timed)")
    parser.add_argument("--explain", action="store_true",
                        help="print the plans of a card's statements on each database first")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build the services and databases in DIR and keep them there;"
                             " a later run with the same DIR reuses what was built")
    args = parser.parse_args(argv)
    if args.import_only and args.cards_only:
        parser.error("--import-only and --cards-only exclude each other")
    workspace = Workspace(SCALES[args.size], root=args.keep, keep=args.keep is not None)
    return run_alone(lambda: run(workspace, args.large_pupils, import_only=args.import_only,
                                 cards_only=args.cards_only, explain=args.explain),
                     workspace.close, scale=args.size, out=args.out)


if __name__ == "__main__":
    raise SystemExit(main())
