"""Copying an SQLite service into an empty PostgreSQL database (`ewobot db copy`).

Every table the PostgreSQL schema has, every row, in one transaction on the target
(a copy that fails leaves it as empty as it was): parents before the tables that refer
to them, each table's rows in primary-key order through COPY, ids as they are, then
each identity sequence moved past the largest id so the next insert gets a fresh one,
and past every id SQLite has handed out (AUTOINCREMENT: a disposed pupil's id, named
by its audit entries, is never given to another pupil there, nor on the copy).
The audit trail is copied entry by entry as it stands: inserting is all its triggers
allow, and all a copy needs; its hashes still follow, since the key is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from bot.settings import DatabaseUrl
from bot.storage import schema_postgres
from bot.storage.db import Conn, Database, DatabaseError
from bot.storage.postgres import PgConn, _conninfo, _reason
from bot.storage.sqlite import last_issued_id


@dataclass(frozen=True, slots=True)
class Table:
    """A table to copy: its columns in order, its primary key, its identity column."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    identity: str | None


@dataclass(frozen=True, slots=True)
class Copied:
    name: str
    rows: int


async def first_occupied(url: DatabaseUrl) -> tuple[str, int] | None:
    """A table of the target's schema that holds rows, with how many (None when every
    table is empty, or there is none): only an empty database is copied into."""
    try:
        async with await psycopg.AsyncConnection.connect(
                _conninfo(url, 5.0), autocommit=True) as raw:
            cursor = await raw.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
                " AND c.relkind IN ('r', 'p') AND c.relname <> %s ORDER BY c.relname",
                (schema_postgres.VERSION_TABLE,))
            for (name,) in await cursor.fetchall():
                counted = await raw.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(
                        sql.Identifier(name)))
                row = await counted.fetchone()
                if row is not None and row[0]:
                    return str(name), int(row[0])
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to {url.redacted}: {_reason(exc, url)}") from None
    return None


async def tables(conn: Conn) -> list[Table]:
    """The target's tables but the schema version, each after every table it refers to."""
    rows = await conn.fetchall(
        "SELECT c.relname, a.attname, a.attidentity,"
        " COALESCE(a.attnum = ANY (k.conkey), false) AS in_key,"
        " array_position(k.conkey, a.attnum) AS key_position"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> ?"
        " ORDER BY c.relname, a.attnum", (schema_postgres.VERSION_TABLE,))
    refers = await conn.fetchall(
        "SELECT DISTINCT c.relname, p.relname FROM pg_constraint f"
        " JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class p ON p.oid = f.confrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE f.contype = 'f' AND n.nspname = current_schema() AND c.oid <> p.oid")
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        table = found.setdefault(row[0], {"columns": [], "key": {}, "identity": None})
        table["columns"].append(row[1])
        if row[3]:
            table["key"][row[4]] = row[1]
        if row[2]:
            table["identity"] = row[1]
    parents: dict[str, set[str]] = {name: set() for name in found}
    for child, parent in refers:
        parents[child].add(parent)
    return [Table(name, tuple(found[name]["columns"]),
                  tuple(found[name]["key"][n] for n in sorted(found[name]["key"])),
                  found[name]["identity"]) for name in _parents_first(parents)]


def _parents_first(parents: dict[str, set[str]]) -> list[str]:
    ordered: list[str] = []
    placed: set[str] = set()
    while len(ordered) < len(parents):
        ready = sorted(name for name, needs in parents.items()
                       if name not in placed and needs <= placed)
        if not ready:
            raise DatabaseError("the schema's tables refer to each other in a circle")
        ordered += ready
        placed.update(ready)
    return ordered


async def source_tables(conn: Conn, wanted: Sequence[Table]) -> list[str]:
    """Which of the target's tables the source lacks (a schema that does not match:
    nothing may be left behind or guessed)."""
    missing = []
    for table in wanted:
        try:
            await conn.fetchall(f"SELECT {', '.join(table.columns)} FROM {table.name} LIMIT 0")
        except Exception:  # noqa: BLE001 - a missing table or column: reported by name
            missing.append(table.name)
    return missing


async def copy_all(conn: Conn, source: Database, wanted: Sequence[Table]) -> list[Copied]:
    """Every row of every table from `source` into this (PostgreSQL) transaction, then
    each identity sequence past the largest id copied."""
    assert isinstance(conn, PgConn)
    copied = []
    for table in wanted:
        columns = sql.SQL(", ").join(map(sql.Identifier, table.columns))
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), columns)
        # A row referring to a later one of its table (an officer moved to a supervisor
        # added since) is no problem: a foreign key is checked at the statement's end.
        try:
            raw = await conn.connection()
            async with raw.cursor() as cursor, cursor.copy(statement) as pipe:
                rows = await source.read(_pour, table, pipe)
        except psycopg.Error as exc:  # the primary message only: it names no row's values
            raise DatabaseError(f"the copy stopped at {table.name}: "
                                f"{exc.diag.message_primary or type(exc).__name__}") from None
        copied.append(Copied(table.name, rows))
        if table.identity is not None:
            issued = await source.read(last_issued_id, table.name)
            await conn.fetchval(
                f"SELECT setval(pg_get_serial_sequence(?, ?), GREATEST(max({table.identity}), ?))"
                f" FROM {table.name} HAVING GREATEST(max({table.identity}), ?) > 0",
                (table.name, table.identity, issued, issued))
    return copied


async def _pour(conn: Conn, table: Table, pipe: Any) -> int:
    """The source's rows of `table`, in key order, written to the COPY `pipe`."""
    order = ", ".join(table.key or table.columns)
    count = 0
    async with aclosing(conn.stream(
            f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {order}")) as rows:
        async for row in rows:
            await pipe.write_row(tuple(row))
            count += 1
    return count
