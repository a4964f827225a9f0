"""The PostgreSQL schema: the same tables as SQLite's, migrated once and safely, byte-order
text, an audit trail the database itself keeps append-only, no personal data in the
planner's statistics."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from bot.storage import schema, schema_postgres
from bot.storage.db import DatabaseError
from bot.storage.postgres import PgConn, PostgresDatabase, migrate
from tests.pg import Cluster, settings_for
from tests.storage.old_schema import postgres_at
from tests.storage.test_db import (
    CHAIN_PLACED,
    CORRECTION_CHAIN,
    NAMED_FOUND,
    NAMED_PUPILS,
    NAMED_SCHOOLS,
    NAMED_TAILS,
    PATHWAY_CHAIN,
    PATHWAY_PLACED,
    PATHWAY_TABLES,
    SCHOOL_SPANS,
    found_by_name,
)
from tests.storage.test_postgres import NOW, add_pupil, add_school

# What each dialect calls SQLite's two storage classes the schema uses.
_KIND = {"INTEGER": "integer", "TEXT": "text", "bigint": "integer", "text": "text"}


def sqlite_shape() -> tuple[dict[str, dict[str, tuple[str, bool]]], set[str]]:
    """{table: {column: (kind, nullable)}} and the index names of the SQLite schema."""
    conn = sqlite3.connect(":memory:")
    for script in schema.MIGRATIONS:
        conn.executescript(script)
    tables: dict[str, dict[str, tuple[str, bool]]] = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                 " AND name NOT LIKE 'sqlite_%'"):
        tables[table] = {}
        for _, column, declared, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})"):
            # A single-column INTEGER PRIMARY KEY is never NULL (it is the rowid).
            tables[table][column] = (_KIND[declared], not (notnull or pk))
    indexes = {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    conn.close()
    return tables, indexes


async def postgres_shape(conn: PgConn) -> tuple[dict[str, dict[str, tuple[str, bool]]],
                                                 set[str], set[str | None]]:
    rows = await conn.fetchall(
        "SELECT table_name, column_name, data_type, is_nullable, collation_name"
        " FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> ?",
        (schema_postgres.VERSION_TABLE,))
    tables: dict[str, dict[str, tuple[str, bool]]] = {}
    for row in rows:
        tables.setdefault(row["table_name"], {})[row["column_name"]] = (
            _KIND[row["data_type"]], row["is_nullable"] == "YES")
    collations = {row["collation_name"] for row in rows if row["data_type"] == "text"}
    # Indexes behind PRIMARY KEY and UNIQUE constraints are named by each dialect itself.
    indexes = {row[0] for row in await conn.fetchall(
        "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = 'public'"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)")}
    return tables, indexes, collations


async def test_both_dialects_have_the_same_tables_columns_and_indexes(
        pg_db: PostgresDatabase) -> None:
    assert len(schema_postgres.MIGRATIONS) == len(schema.MIGRATIONS), (
        "every SQLite migration needs its PostgreSQL twin in bot/storage/schema_postgres.py")
    lite_tables, lite_indexes = sqlite_shape()
    pg_tables, pg_indexes, collations = await pg_db.read(postgres_shape)
    assert sorted(pg_tables) == sorted(lite_tables)
    for table, columns in lite_tables.items():
        assert pg_tables[table] == columns, table
    assert pg_indexes == lite_indexes
    # Byte order on every text column, whatever the database's own collation.
    assert collations == {"C"}


async def test_audit_trail_refuses_update_delete_and_truncate(pg_db: PostgresDatabase) -> None:
    await pg_db.write(lambda conn: conn.execute(
        "INSERT INTO audit (seq, at, actor, action, reason, prev_hash, hash)"
        " VALUES (1, ?, 'system', 'test', 'r', 'p', 'h')", (NOW,)))
    for statement in ("UPDATE audit SET reason = 'changed'", "DELETE FROM audit",
                      "TRUNCATE audit"):
        with pytest.raises(psycopg.errors.IntegrityError, match="append-only"):
            await pg_db.write(lambda conn, sql=statement: conn.execute(sql))
    assert await pg_db.read(lambda conn: conn.fetchval("SELECT reason FROM audit")) == "r"


async def test_text_is_in_byte_order(pg_db: PostgresDatabase) -> None:
    await pg_db.write(add_school)
    for number, surname in enumerate(["smith", "Smíth", "smíth", "smithers", "smiti", "Zed"]):
        await pg_db.write(add_pupil, f"A{number}", last=surname)
    in_range = await pg_db.read(lambda conn: conn.fetchall(
        "SELECT search_last FROM pupils WHERE search_last >= ? AND search_last < ?"
        " ORDER BY search_last", ("smith", "smiti")))
    assert [row[0] for row in in_range] == ["smith", "smithers"]  # 'smíth' is outside
    ordered = await pg_db.read(lambda conn: conn.fetchall(
        "SELECT last_name FROM pupils ORDER BY last_name"))
    assert [row[0] for row in ordered] == ["Smíth", "Zed", "smith", "smithers", "smiti", "smíth"]


async def test_personal_data_stays_out_of_the_planners_statistics(
        pg_db: PostgresDatabase, pg_cluster: Cluster, pg_url: str) -> None:
    await pg_db.write(add_school)
    for number in range(30):
        await pg_db.write(add_pupil, f"A{number}", last="Canaryson")
    name = pg_url.rsplit("/", 1)[1]
    with pg_cluster.admin(name) as admin:
        admin.execute("ANALYZE")
        kept = admin.execute(
            "SELECT tablename, attname FROM pg_stats WHERE schemaname = 'public'"
            " AND (most_common_vals::text ILIKE '%canary%'"
            "      OR histogram_bounds::text ILIKE '%canary%')").fetchall()
        analysed = admin.execute("SELECT COUNT(*) FROM pg_stats WHERE tablename = 'pupils'"
                                 " AND attname = 'year_group'").fetchone()[0]
    assert kept == []
    assert analysed == 1  # ANALYZE did run: the columns that are not personal have stats


async def test_every_personal_looking_column_is_kept_out_of_statistics(
        pg_db: PostgresDatabase) -> None:
    rows = await pg_db.read(lambda conn: conn.fetchall(
        "SELECT c.relname AS rel, c.relkind AS kind, a.attnum, a.attname AS col,"
        " a.attstattarget AS target FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') AND a.attnum > 0"))
    tables = {(row["rel"], row["col"]): row["target"] for row in rows if row["kind"] == "r"}
    indexes = {(row["rel"], row["attnum"]): row["target"] for row in rows if row["kind"] == "i"}
    for table, columns in schema_postgres.PERSONAL_COLUMNS.items():
        for column in columns:
            assert tables[(table, column)] == 0, f"{table}.{column}"
    for index, numbers in schema_postgres.PERSONAL_INDEX_COLUMNS.items():
        for number in numbers:
            assert indexes[(index, number)] == 0, f"{index} column {number}"
    # A column added later whose name says it holds personal data must be listed too.
    words = ("name", "address", "postcode", "phone", "email", "birth", "notes", "health",
             "reason", "contact", "pending_update", "payload", "detail")
    not_personal = {("schools", "name")}
    for (table, column), target in tables.items():
        if any(word in column for word in words) and (table, column) not in not_personal:
            assert target == 0, f"{table}.{column} looks personal: list it in PERSONAL_COLUMNS"


async def test_migrating_again_changes_nothing(pg_url: str, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, pg_url)
    for _ in range(2):
        database = await PostgresDatabase.open(settings)
        await database.close()
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as raw:
        assert await migrate(raw) == schema_postgres.SCHEMA_VERSION
        assert await migrate(raw, create=False) == schema_postgres.SCHEMA_VERSION


async def test_instances_starting_together_migrate_once(pg_empty_url: str,
                                                        tmp_path: Path) -> None:
    async def start() -> int:
        async with await psycopg.AsyncConnection.connect(pg_empty_url, autocommit=True) as raw:
            return await migrate(raw)

    found = await asyncio.gather(*(start() for _ in range(4)))
    latest = schema_postgres.SCHEMA_VERSION
    assert sorted(found) == [0, latest, latest, latest]  # one migrated, the others waited
    opened = await asyncio.gather(*(PostgresDatabase.open(settings_for(tmp_path, pg_empty_url))
                                    for _ in range(3)))
    await asyncio.gather(*(database.close() for database in opened))
    database = await PostgresDatabase.open(settings_for(tmp_path, pg_empty_url), create=False)
    try:
        assert await database.read(lambda conn: conn.fetchval(
            f"SELECT version FROM {schema_postgres.VERSION_TABLE}")) == latest
    finally:
        await database.close()


async def test_a_database_at_schema_1_is_brought_up_to_date_keeping_its_rows(
        pg_empty_url: str, tmp_path: Path) -> None:
    """`ewobot init` on a service created by an earlier release: the later migrations
    run, once, and nothing of what was there is lost."""
    async with await psycopg.AsyncConnection.connect(pg_empty_url, autocommit=True) as raw:
        await postgres_at(raw, 1, "INSERT INTO instances (instance, seen) VALUES ('web-1', 'then')")
        assert await migrate(raw) == 1
        assert await migrate(raw) == schema_postgres.SCHEMA_VERSION
        cursor = await raw.execute("SELECT instance FROM instances")
        assert await cursor.fetchall() == [("web-1",)]
        cursor = await raw.execute("SELECT count(*) FROM send_rates")
        assert await cursor.fetchall() == [(0,)]


async def test_a_database_at_schema_2_places_its_corrections_where_their_visits_stood(
        pg_empty_url: str) -> None:
    """Schema 3 back-fills where each visit stands in the saved order, through every
    chain of corrections (as on SQLite: tests/storage/test_db.py)."""
    async with await psycopg.AsyncConnection.connect(pg_empty_url, autocommit=True) as raw:
        await postgres_at(raw, 2, *CORRECTION_CHAIN)
        assert await migrate(raw) == 2
        assert await migrate(raw) == schema_postgres.SCHEMA_VERSION
        cursor = await raw.execute("SELECT id, placed_at FROM visits ORDER BY id")
        assert await cursor.fetchall() == CHAIN_PLACED


async def test_a_database_at_schema_3_places_its_pathway_corrections_where_they_stood(
        pg_empty_url: str) -> None:
    """Schema 4 back-fills where each pathway step and outcome stands in the saved
    order, through every chain of corrections (as on SQLite: tests/storage/test_db.py)."""
    async with await psycopg.AsyncConnection.connect(pg_empty_url, autocommit=True) as raw:
        await postgres_at(raw, 3, *PATHWAY_CHAIN)
        assert await migrate(raw) == 3
        assert await migrate(raw) == schema_postgres.SCHEMA_VERSION
        for table in PATHWAY_TABLES:
            cursor = await raw.execute(f"SELECT id, placed_at FROM {table} ORDER BY id".encode())
            assert await cursor.fetchall() == PATHWAY_PLACED[table]


async def test_a_database_at_schema_5_finds_its_pupils_by_later_words_of_their_names(
        pg_empty_url: str, tmp_path: Path) -> None:
    """Schema 6 back-fills the tails of the last names held, folded as on SQLite
    (tests/storage/test_db.py): "Jones" then finds Amelia Smith-Jones."""
    async with await psycopg.AsyncConnection.connect(pg_empty_url, autocommit=True) as raw:
        await postgres_at(raw, 5, *NAMED_PUPILS)
        assert await migrate(raw) == 5
        assert await migrate(raw) == schema_postgres.SCHEMA_VERSION
        cursor = await raw.execute(
            "SELECT pupil_id, search_tail FROM pupil_name_tails ORDER BY pupil_id, search_tail")
        assert await cursor.fetchall() == NAMED_TAILS
    database = await PostgresDatabase.open(settings_for(tmp_path, pg_empty_url), create=False)
    try:
        assert await database.read(found_by_name) == NAMED_FOUND
    finally:
        await database.close()


async def test_a_database_at_schema_6_holds_each_pupil_at_its_school_since_first_imported(
        pg_empty_url: str) -> None:
    """Schema 7 back-fills one open school span a pupil held (as on SQLite:
    tests/storage/test_db.py)."""
    async with await psycopg.AsyncConnection.connect(pg_empty_url, autocommit=True) as raw:
        await postgres_at(raw, 6, *NAMED_PUPILS)
        assert await migrate(raw) == 6
        assert await migrate(raw) == schema_postgres.SCHEMA_VERSION
        cursor = await raw.execute(SCHOOL_SPANS)
        assert await cursor.fetchall() == NAMED_SCHOOLS


async def test_opening_without_create_refuses_a_database_without_the_schema(
        pg_empty_url: str, tmp_path: Path, pg_cluster: Cluster) -> None:
    settings = settings_for(tmp_path, pg_empty_url)
    with pytest.raises(DatabaseError, match=r"^the database has schema 0, .*`ewobot init`$"):
        await PostgresDatabase.open(settings, create=False)
    database = await PostgresDatabase.open(settings)
    await database.close()
    name = pg_empty_url.rsplit("/", 1)[1]
    with pg_cluster.admin(name) as admin:
        admin.execute(f"UPDATE {schema_postgres.VERSION_TABLE} SET version = 99")
    for create in (True, False):
        with pytest.raises(DatabaseError, match=r"^the database is newer \(schema 99\)"):
            await PostgresDatabase.open(settings, create=create)


def test_personal_columns_named_exist_in_the_schema() -> None:
    tables, _ = sqlite_shape()
    for table, columns in schema_postgres.PERSONAL_COLUMNS.items():
        assert set(columns) <= set(tables[table]), table


async def test_a_role_that_may_not_create_tables_is_one_line(pg_cluster: Cluster,
                                                             tmp_path: Path) -> None:
    with pg_cluster.admin() as admin:
        admin.execute("CREATE DATABASE ewo_not_owned")  # owned by the superuser
    try:
        with pytest.raises(DatabaseError) as refused:
            await PostgresDatabase.open(settings_for(tmp_path, pg_cluster.url("ewo_not_owned")))
        assert str(refused.value).startswith("cannot migrate postgresql://ewo_service:***@")
        assert "permission denied" in str(refused.value) and "\n" not in str(refused.value)
    finally:
        with pg_cluster.admin() as admin:
            admin.execute("DROP DATABASE ewo_not_owned WITH (FORCE)")
