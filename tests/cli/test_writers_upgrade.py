"""Every command that writes implies `ewobot init` (PRODUCT.md): on a database an earlier
release created it brings the schema up to date, on either backend, and on SQLite it
creates a missing database, where commands that only read refuse."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from bot.settings import Settings
from bot.storage.db import Database
from tests.cli.conftest import Cli
from tests.e2e.retention_files import upn
from tests.pg import BACKENDS, settings_for
from tests.storage.old_schema import postgres_at, sqlite_at

# Each writing command with what it says once past opening the database (it is empty).
WRITERS = [
    (["requests", "add", upn(1), "--kind", "access"], "no pupil with that UPN is held"),
    (["requests", "extend", "1", "--reason", "complex"], "no request 1"),
    (["requests", "decide", "1", "--reject", "--reason", "excessive"], "no request 1"),
    (["requests", "lift", upn(1)], "no pupil with that UPN is held"),
    (["officers", "compliance", "EWO1", "--dbs", "2026-01-05"], "no officer EWO1"),
]
READERS = [["requests", "list"], ["officers", "list"], ["audit", "show"], ["ropa"],
           ["status"], ["report", "school", "100000", "--out", "report.pdf"],
           ["report", "schools", "--out", "reports"]]


async def _at_schema_1_on_postgres(url: str) -> None:
    """The schema as the first release left it: migration 1 alone."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as raw:
        await postgres_at(raw, 1)


@pytest.fixture(params=BACKENDS)
def old(request: pytest.FixtureRequest, cli: Cli, tmp_path: Path) -> Cli:
    """The command line on a database at schema 1, on each backend."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_empty_url")
        asyncio.run(_at_schema_1_on_postgres(url))
        cli.settings = settings_for(tmp_path, url)
    else:
        sqlite_at(cli.settings.database, 1)
    return cli


async def _current(settings: Settings) -> bool:
    """The database opens as for a command that only reads: its schema is this program's."""
    db = await Database.open(settings, create=False)
    await db.close()
    return True


@pytest.mark.parametrize(("argv", "reason"), WRITERS)
def test_a_writing_command_brings_an_older_schema_up_to_date(
        old: Cli, argv: list[str], reason: str) -> None:
    result = old(*argv)
    assert (result.code, result.err, result.out) == (1, reason + "\n", "")
    assert asyncio.run(_current(old.settings))


@pytest.mark.parametrize(("argv", "reason"), WRITERS)
def test_a_writing_command_creates_a_missing_database(
        cli: Cli, argv: list[str], reason: str) -> None:
    result = cli(*argv)
    assert (result.code, result.err, result.out) == (1, reason + "\n", "")
    assert cli.settings.database.is_file()


@pytest.mark.parametrize("argv", READERS)
def test_a_reading_command_creates_no_database(
        cli: Cli, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli(*argv)
    assert (result.code, result.out) == (1, "")
    assert result.err.endswith("(`ewobot init` creates one)\n")
    assert not cli.settings.database.exists()
    assert not (tmp_path / "reports").exists()  # nor a report's folder
