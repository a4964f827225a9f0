"""The attendance import of a whole service (20,000 pupils × 300 sessions) and the alert
evaluation that runs with it, against raw `executemany` of the same rows."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.report import Result, Unavailable
from bench.workspace import (
    Workspace,
    add_officers,
    bench_clock,
    bench_settings,
    import_file,
    import_files,
    need,
)
from bot.storage.db import Conn, Database
from bot.synthetic import SyntheticService

IMPORT = "attendance import"
ALERTS = "alert evaluation"
INSERT_MARK = "INSERT INTO marks (pupil_id, date, session, code) VALUES (?, ?, ?, ?)"
_CHUNK = 50_000  # rows per timed executemany: the rows are built between the calls


async def run(workspace: Workspace) -> list[Result]:
    """Both figures: the import against the raw insert, the alerts against the import."""
    try:
        need("bot.importing.service", "run_import")
    except Unavailable as missing:
        return [Result.skip(IMPORT, str(missing)), Result.skip(ALERTS, str(missing))]
    service = workspace.service()
    raw_seconds, raw_rows = await raw_insert(workspace, service)
    settings = bench_settings(workspace.folder("import"))
    db = await Database.open(settings)
    try:
        await add_officers(db, service, bench_clock().now())
        await import_files(db, settings, service, ("pupils", "contacts", "allocations"))
        with (stopwatch_on("bot.storage.alerts", "evaluate_import") as alerts,
              stopwatch_on("bot.storage.imports", "apply_marks") as writing):
            started = time.perf_counter()
            await import_file(db, settings, service, "attendance")
            import_seconds = time.perf_counter() - started
        await import_file(db, settings, service, "visits")
    finally:
        await db.close()
    workspace.mark_loaded(settings)
    return [_import_result(service, import_seconds, raw_seconds, raw_rows, writing, alerts),
            _alerts_result(alerts, import_seconds)]


def _import_result(service: SyntheticService, seconds: float, raw_seconds: float,
                   raw_rows: int, writing: Stopwatch, alerts: Stopwatch) -> Result:
    rate = service.marks / seconds
    raw_rate = raw_rows / raw_seconds
    ratio = rate / raw_rate
    # Reading and checking the file (and resolving its pupils) is what is left over.
    reading = seconds - writing.seconds - alerts.seconds
    return Result(
        IMPORT,
        figures={"marks": service.marks, "pupils": service.pupils, "seconds": seconds,
                 "marks_per_s": rate, "reading_s": reading, "writing_s": writing.seconds,
                 "alerts_s": alerts.seconds, "raw_seconds": raw_seconds,
                 "raw_marks_per_s": raw_rate},
        headline=f"{service.marks:,} marks in {seconds:.1f} s = {rate:,.0f} marks/s",
        baseline=f"raw executemany {raw_rate:,.0f} rows/s ({raw_seconds:.1f} s)",
        ratio=ratio, target="≥ 0.5", met=ratio >= 0.5,
        notes=[f"{service.pupils:,} pupils × {service.sessions} sessions. Of the"
               f" {seconds:.1f} s: reading and checking the whole file {reading:.1f} s (before"
               f" the write transaction, as the contract asks), writing marks and each pupil's"
               f" figures {writing.seconds:.1f} s, alert rules {alerts.seconds:.1f} s. The"
               " baseline's rows are built in memory outside its timed calls."])


def _alerts_result(alerts: Stopwatch, import_seconds: float) -> Result:
    if alerts.calls == 0:
        return Result.skip(ALERTS, "the attendance import does not evaluate alerts yet")
    ratio = alerts.seconds / import_seconds
    return Result(
        ALERTS,
        figures={"seconds": alerts.seconds, "calls": alerts.calls,
                 "import_seconds": import_seconds},
        headline=f"{alerts.seconds:.2f} s",
        baseline=f"the import, {import_seconds:.1f} s (alerts included)",
        ratio=ratio, target="≤ 0.2", met=ratio <= 0.2,
        notes=["Timed around bot.storage.alerts.evaluate_import as the import calls it, in"
               " the import's transaction, for every pupil the import touched."])


class Stopwatch:
    """Time spent inside one function while it was being watched."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0


@contextmanager
def stopwatch_on(module: str, name: str) -> Iterator[Stopwatch]:
    """Time every call of an async function `module.name`, wherever the bot's modules
    imported it from; the function itself runs unchanged."""
    try:
        original = need(module, name)
    except Unavailable:
        yield Stopwatch()
        return
    watch = Stopwatch()

    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            watch.seconds += time.perf_counter() - started
            watch.calls += 1

    holders = [held for held in list(sys.modules.values())
               if getattr(held, "__name__", "").startswith("bot.")
               and getattr(held, name, None) is original]
    for holder in holders:
        setattr(holder, name, timed)
    try:
        yield watch
    finally:
        for holder in holders:
            setattr(holder, name, original)


async def raw_insert(workspace: Workspace, service: SyntheticService) -> tuple[float, int]:
    """Seconds spent in `executemany` (and the commit) inserting the service's marks into
    the marks table of a fresh database with the same schema and settings."""
    settings = bench_settings(workspace.folder("raw-insert"))
    db = await Database.open(settings)
    try:
        await import_file(db, settings, service, "pupils")
        async def _snapshot(conn: Conn):
            return {row[1]: row[0] for row in await conn.fetchall(
                "SELECT id, upn FROM pupils")}
        pupil_ids = await db.read(_snapshot)
        spent, rows = 0.0, 0
        async def _transaction(conn: Conn):
            nonlocal rows, spent
            for chunk in _mark_rows(service.files["attendance"], pupil_ids):
                started = time.perf_counter()
                await conn.executemany(INSERT_MARK, chunk)
                spent += time.perf_counter() - started
                rows += len(chunk)
            started = time.perf_counter()
            return started
        started = await db.write(_transaction)
        spent += time.perf_counter() - started  # the commit
    finally:
        await db.close()
    return spent, rows


def _mark_rows(path: Path, pupil_ids: dict[str, int]) -> Iterator[list[tuple[int, str, str, str]]]:
    """(pupil id, ISO date, session, code) of the file's marks for pupils held, in chunks."""
    iso_dates: dict[str, str] = {}
    chunk: list[tuple[int, str, str, str]] = []
    with path.open(encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            upn, day, session, code = line.rstrip("\n").split(",")
            pupil_id = pupil_ids.get(upn)
            if pupil_id is None or code in ("", "-"):
                continue
            iso = iso_dates.get(day)
            if iso is None:
                iso = iso_dates[day] = _iso(day)
            chunk.append((pupil_id, iso, session, code))
            if len(chunk) == _CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _iso(day: str) -> str:
    if "/" in day:
        dd, mm, yyyy = day.split("/")
        return f"{yyyy}-{mm}-{dd}"
    return day
