"""The attendance import on PostgreSQL (its first import's marks go in by COPY) leaves
exactly the rows the SQLite import leaves: marks, each pupil's figures, and a re-import
with changed marks applied as a difference."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.importing.service import run_import
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.synthetic import IMPORT_ORDER, SyntheticService, generate
from tests.conftest import make_settings
from tests.pg import settings_for

TODAY = date(2025, 3, 14)
NOW = datetime(2025, 3, 14, 16, 30, tzinfo=UTC)


async def imported(settings: Settings, service: SyntheticService,
                   attendance: list[Path]) -> dict[str, list[tuple[Any, ...]]]:
    db = await Database.open(settings)
    try:
        await db.write(officer_store.add_officers, service.officers, now=NOW)
        for kind in IMPORT_ORDER:
            if kind != "attendance":
                await run_import(db, kind, service.files[kind], actor="os:test", today=TODAY,
                                 settings=settings, now=NOW)
        for path in attendance:
            await run_import(db, "attendance", path, actor="os:test", today=TODAY,
                             settings=settings, now=NOW)
        return await db.read(_contents)
    finally:
        await db.close()


async def _contents(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    """Marks and figures by UPN (ids may differ between the two databases)."""
    marks = await conn.fetchall(
        "SELECT p.upn, m.date, m.session, m.code FROM marks m JOIN pupils p"
        " ON p.id = m.pupil_id")
    stats = await conn.fetchall(
        "SELECT p.upn, s.academic_year, s.possible, s.attended, s.authorised,"
        " s.unauthorised, s.lates_l, s.lates_u, s.latest_mark FROM pupil_stats s"
        " JOIN pupils p ON p.id = s.pupil_id")
    return {"marks": sorted(tuple(row) for row in marks),
            "stats": sorted(tuple(row) for row in stats)}


def changed_copy(path: Path, out: Path) -> Path:
    """The same file with every tenth mark's code changed (a re-import's differences)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    swapped = [lines[0]]
    for number, line in enumerate(lines[1:]):
        upn, day, session, code = line.split(",")
        if number % 10 == 0 and code not in ("", "-"):
            code = "O" if code != "O" else "/"
        swapped.append(",".join((upn, day, session, code)))
    out.write_text("\n".join(swapped) + "\n", encoding="utf-8")
    return out


async def test_an_attendance_import_leaves_the_same_rows_on_both_backends(
        tmp_path: Path, pg_url: str) -> None:
    service = generate(tmp_path / "files", seed=5, pupils=60, weeks=4, today=TODAY)
    again = changed_copy(service.files["attendance"], tmp_path / "again.csv")
    files = [service.files["attendance"], again]
    on_sqlite = await imported(make_settings(tmp_path / "sqlite"), service, files)
    on_postgres = await imported(settings_for(tmp_path / "pg", pg_url), service, files)
    assert len(on_sqlite["marks"]) > 1000
    # The PM present mark is a backslash, which COPY's text format must escape.
    assert any(row[3] == "\\" for row in on_sqlite["marks"])
    assert on_postgres == on_sqlite
