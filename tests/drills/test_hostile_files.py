"""Drill 5a: hostile import files through the real import service and command line give
the import error or a whole import, never another exception or a traceback, and a
refused file changes nothing (`python -m bench.drills hostile-files` does more)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.drills import hostile_files
from bench.drills.common import SUITE
from bench.drills.hostile_files import COLUMNS, NEAR, TRICKY
from bench.drills.stage import upn
from bot.cli import CliEnv, main
from bot.importing.csvfile import MAX_REPORTED, ImportRejected
from bot.importing.service import run_import
from bot.settings import Settings
from bot.storage.db import Conn, Database
from tests.conftest import make_settings

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
PIECES = [*TRICKY, *NEAR, upn(1), upn(2), ",", "\n", '"']
hostile_text = st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=80).map("".join)
hostile_bytes = st.binary(max_size=600) | hostile_text.map(
    lambda text: text.encode("utf-8", "surrogatepass"))


async def held(db: Database) -> list[int]:
    async def _snapshot(conn: Conn):
        return [await conn.fetchval(f"SELECT count(*) FROM {table}")
                for table in ("pupils", "contacts", "marks", "allocations", "visits", "audit")]
    return await db.read(_snapshot)


async def import_or_refuse(db: Database, settings: Settings, kind: str, path: Path) -> None:
    before = await held(db)
    try:
        await run_import(db, kind, path, actor="os:test", today=date(2026, 11, 25),
                         settings=settings)
    except ImportRejected as rejected:
        assert rejected.reason and "\n" not in rejected.reason
        assert len(rejected.problems) <= MAX_REPORTED
        assert await held(db) == before, "a refused file changed the database"


@pytest.mark.parametrize("kind", list(COLUMNS))
@FUZZ
@given(body=hostile_bytes, bom=st.booleans())
async def test_any_file_through_the_import_service(db: Database, settings: Settings,
                                                   tmp_path: Path, kind: str, body: bytes,
                                                   bom: bool) -> None:
    header = ",".join(COLUMNS[kind]).encode()
    path = tmp_path / f"{kind}.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + header + b"\n" + body)
    await import_or_refuse(db, settings, kind, path)


def cli(settings: Settings, *argv: str) -> tuple[int, str]:
    err = io.StringIO()
    code = main(list(argv), CliEnv(settings_factory=lambda: settings, out=io.StringIO(),
                                   err=err))
    return code, err.getvalue()


@FUZZ
@given(body=hostile_bytes, kind=st.sampled_from(list(COLUMNS)))
def test_any_file_through_the_command_line(tmp_path_factory: pytest.TempPathFactory,
                                           body: bytes, kind: str) -> None:
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "file.csv"
    path.write_bytes(",".join(COLUMNS[kind]).encode() + b"\n" + body)
    code, err = cli(make_settings(folder), "import", kind, str(path))
    assert code in (0, 1), err
    assert "Traceback" not in err
    if code == 1:
        lines = err.splitlines()
        assert lines and len(lines) <= MAX_REPORTED + 2, err


async def test_the_drill_s_hostile_files(tmp_path: Path) -> None:
    drill = await hostile_files.hostile_files_drill(tmp_path, SUITE)
    assert any("100,000 rows" in line for line in drill.lines)


