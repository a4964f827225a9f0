"""The alert rules give the same answers from the marks an import holds in memory as
from the marks read back from the database, import after import."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.importing.service import run_import
from bot.storage import alerts as alert_store
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.synthetic import SyntheticService, generate
from tests.conftest import make_settings

TODAY = date(2025, 3, 14)  # a Friday
NOW = datetime(2025, 3, 14, 16, 30, tzinfo=UTC)
# Three files: the first weeks; from 14 weeks back to today (the import's own marks
# cover the recent window); the last three weeks (they do not: earlier marks are read).
STARTS = (date(2024, 1, 1), date(2024, 12, 2), date(2025, 2, 24))
RUN = 6  # sessions of N or O in a row for continuous absence, fewer than the penalty's 10

Row = list[str]


def _day(row: Row) -> date:
    text = row[1]  # the generator writes both forms the import takes
    return date.fromisoformat(text) if "-" in text else datetime.strptime(text, "%d/%m/%Y").date()


def _write(path: Path, header: Row, rows: list[Row]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _remark(rows: list[Row], rng: random.Random) -> list[Row]:
    """One pupil's sessions with some recent ones re-marked, often just either side of a
    rule's threshold: late marks in the last 4 weeks, unauthorised absence in the last
    10, a run of N at the end, a closure, a missing afternoon, or back in school."""
    rows = sorted(rows, key=lambda row: (_day(row), row[2]))
    last = _day(rows[-1])
    recent = [i for i, row in enumerate(rows) if (last - _day(row)).days < 7 * 4]
    weeks_10 = [i for i, row in enumerate(rows) if (last - _day(row)).days < 7 * 10]
    pattern = rng.choice(["late", "unauthorised", "run", "closure", "gap", "present", "same"])
    count = rng.choice([-1, 0, 1])
    chosen: list[int] = []
    code = "/"
    if pattern == "late":
        chosen, code = rng.sample(recent, min(len(recent), 10 + count)), rng.choice("LU")
    elif pattern == "unauthorised":
        chosen, code = rng.sample(weeks_10, min(len(weeks_10), 10 + count)), rng.choice("OG")
    elif pattern == "run":
        chosen, code = list(range(len(rows)))[-(RUN + count):], rng.choice("NO")
    elif pattern == "closure":
        chosen, code = recent[-20:], "#"
    elif pattern == "gap":
        return [row for row in rows if row is not rows[-1] or row[2] == "AM"][:-1]
    elif pattern == "present":
        chosen = recent
    return [[*row[:3], code] if i in chosen else row for i, row in enumerate(rows)]


def _attendance_files(service: SyntheticService, folder: Path) -> list[Path]:
    """The files imported in turn: each of STARTS's spans, re-marked as time goes on
    (the first in shuffled order), then the whole generated file shuffled, putting
    every session back."""
    with service.files["attendance"].open(encoding="utf-8") as source:
        header, *rows = list(csv.reader(source))
    rng = random.Random(3)
    by_pupil: dict[str, list[Row]] = {}
    for row in rows:
        by_pupil.setdefault(row[0], []).append(row)
    files = []
    for number, start in enumerate(STARTS):
        if number:
            by_pupil = {upn: _remark(marks, rng) for upn, marks in by_pupil.items()}
        end = STARTS[1] if number == 0 else TODAY + timedelta(days=1)
        span = [row for marks in by_pupil.values() for row in marks
                if start <= _day(row) < end]
        if number == 0:
            rng.shuffle(span)  # a file may list a pupil's sessions in any order
        files.append(_write(folder / f"span{number}.csv", header, span))
    shuffled = rows[:]
    rng.shuffle(shuffled)
    return [*files, _write(folder / "again.csv", header, shuffled)]


async def _results(service: SyntheticService, folder: Path, files: list[Path]
                   ) -> list[list[tuple[Any, ...]]]:
    """Each attendance file imported in turn: the rule states and alerts after each."""
    settings = make_settings(folder, continuous_absence_sessions=RUN)
    db = await Database.open(settings)
    try:
        await db.write(officer_store.add_officers, service.officers, now=NOW)
        for kind in ("pupils", "allocations"):
            await run_import(db, kind, service.files[kind], actor="os:tester", today=TODAY,
                             settings=settings, now=NOW)
        after = []
        for path in files:
            await run_import(db, "attendance", path, actor="os:tester", today=TODAY,
                             settings=settings, now=NOW)
            async def _snapshot(conn: Conn):
                states = await conn.fetchall(
                    "SELECT pupil_id, rule, holding FROM rule_states ORDER BY 1, 2")
                alerts = await conn.fetchall(
                    "SELECT pupil_id, rule, attended, possible FROM alerts ORDER BY 1, 2, 3")
                return alerts, states
            alerts, states = await db.read(_snapshot)
            after.append([tuple(row) for row in [*states, *alerts]])
        return after
    finally:
        await db.close()


def _spy(evaluate: Callable[..., Any], *, keep: bool, seen: list[int]) -> Callable[..., Any]:
    async def evaluating(*args: Any, known: Any = None, **kwargs: Any) -> Any:
        seen.append(len(known or {}))
        return await evaluate(*args, known=known if keep else None, **kwargs)

    return evaluating


async def test_rules_from_the_imports_marks_match_the_marks_read_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = generate(tmp_path / "files", seed=11, pupils=150, weeks=20, today=TODAY)
    files = _attendance_files(service, tmp_path)
    evaluate = alert_store.evaluate_import
    answers = {}
    for keep in (True, False):
        seen: list[int] = []
        monkeypatch.setattr(alert_store, "evaluate_import", _spy(evaluate, keep=keep, seen=seen))
        answers[keep] = await _results(service, tmp_path / str(keep), files)
        assert seen[0] == 150 and all(seen)  # every import passes the marks it wrote
    assert answers[True] == answers[False]
    rules = {row[1] for rows in answers[True] for row in rows if len(row) == 4}
    assert rules == {"persistent_absence", "severe_absence", "penalty_notice",
                     "continuous_absence", "punctuality"}
