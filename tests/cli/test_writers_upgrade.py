"""Every command that writes implies `ewobot init` (PRODUCT.md): on a database an earlier
release created it brings the schema up to date, on either backend, and on SQLite it
creates a missing database, where commands that only read refuse."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from bot.settings import Settings
from bot.storage import schema, schema_postgres
from bot.storage.db import Database
from bot.storage.keys import create_private_file
from tests.cli.conftest import Cli
from tests.e2e.retention_files import upn
from tests.pg import BACKENDS, settings_for

# Each writing command with what it says once past opening the database (it is empty).
WRITERS = [
    (["requests", "add", upn(1), "--kind", "access"], "no pupil with that UPN is held"),
    (["requests", "extend", "1", "--reason", "complex"], "no request 1"),
    (["requests", "decide", "1", "--reject", "--reason", "excessive"], "no request 1"),
    (["requests", "lift", upn(1)], "no pupil with that UPN is held"),
    (["officers", "compliance", "EWO1", "--dbs", "2026-01-05"], "no officer EWO1"),
]
READERS = [["requests", "list"], ["officers", "list"], ["audit", "show"]]


async def _at_schema_1_on_postgres(url: str) -> None:
    """The schema as the first release left it: migration 1 alone."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as raw:
        await raw.execute(schema_postgres.MIGRATIONS[0].encode())
        await raw.execute(f"CREATE TABLE {schema_postgres.VERSION_TABLE} ("
                          " singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),"
                          " version INTEGER NOT NULL)")
        await raw.execute(f"INSERT INTO {schema_postgres.VERSION_TABLE} (version) VALUES (1)")


def _at_schema_1_on_sqlite(path: Path) -> None:
    create_private_file(path)
    raw = sqlite3.connect(path)
    try:
        raw.executescript(schema.MIGRATIONS[0])
        raw.execute("PRAGMA user_version = 1")
        raw.commit()
    finally:
        raw.close()


@pytest.fixture(params=BACKENDS)
def old(request: pytest.FixtureRequest, cli: Cli, tmp_path: Path) -> Cli:
    """The command line on a database at schema 1, on each backend."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_empty_url")
        asyncio.run(_at_schema_1_on_postgres(url))
        cli.settings = settings_for(tmp_path, url)
    else:
        _at_schema_1_on_sqlite(cli.settings.database)
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
def test_a_reading_command_creates_no_database(cli: Cli, argv: list[str]) -> None:
    result = cli(*argv)
    assert (result.code, result.out) == (1, "")
    assert result.err.endswith("(`ewobot init` creates one)\n")
    assert not cli.settings.database.exists()
