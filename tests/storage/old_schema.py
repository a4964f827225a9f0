"""A database as an earlier release left it: the first `version` migrations only, on
either backend, for the tests that bring one up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from bot.storage import schema, schema_postgres
from bot.storage.keys import create_private_file


def sqlite_at(path: Path, version: int, *rows: str) -> None:
    """A new SQLite database at `path` at schema `version`, holding `rows` (SQL)."""
    create_private_file(path)
    raw = sqlite3.connect(path)
    try:
        raw.executescript(";".join(schema.MIGRATIONS[:version]))
        for statement in rows:
            raw.execute(statement)
        raw.execute(f"PRAGMA user_version = {version}")
        raw.commit()
    finally:
        raw.close()


async def postgres_at(raw: psycopg.AsyncConnection[Any], version: int, *rows: str) -> None:
    """The empty PostgreSQL database `raw` (autocommit) at schema `version`, holding
    `rows` (SQL both dialects take)."""
    for script in schema_postgres.MIGRATIONS[:version]:
        await raw.execute(script.encode())
    await raw.execute(f"CREATE TABLE {schema_postgres.VERSION_TABLE} ("
                      " singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),"
                      " version INTEGER NOT NULL)")
    await raw.execute(f"INSERT INTO {schema_postgres.VERSION_TABLE} (version) VALUES (%s)",
                      (version,))
    for statement in rows:
        await raw.execute(statement.encode())
