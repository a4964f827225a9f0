"""The database access path: file modes, migrations, serialised writes, encryption."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from bot.domain.dates import YearEnd
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage import pupils
from bot.storage.db import Conn, Database, DatabaseError
from bot.storage.schema import SCHEMA_VERSION
from tests.conftest import make_settings, needs_sqlcipher
from tests.held import held_write
from tests.pg import READ_ONLY_ERRORS
from tests.storage.old_schema import sqlite_at


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.asynccontextmanager
async def upgraded(settings: Settings, version: int, *rows: str) -> AsyncIterator[Database]:
    """The service as a release at schema `version` left it (holding `rows`), opened by
    this one: brought up to date, then closed however the block ends."""
    sqlite_at(settings.database, version, *rows)
    db = await Database.open(settings)
    try:
        assert await db.read(lambda conn: conn.fetchval("PRAGMA user_version")) == SCHEMA_VERSION
        yield db
    finally:
        await db.close()


@pytest.mark.sqlite_only("file modes of the SQLite file")
async def test_files_are_private(settings: Settings) -> None:
    db = await Database.open(settings)
    async def _transaction(conn: Conn) -> None:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    await db.write(_transaction)
    try:
        path = settings.database
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            assert mode(path.with_name(path.name + suffix)) == 0o600
        assert mode(settings.audit_key_path.parent) == 0o700
    finally:
        await db.close()


@pytest.mark.sqlite_only("SQLite's PRAGMAs")
async def test_open_is_idempotent_and_sets_pragmas(settings: Settings) -> None:
    for _ in range(2):
        db = await Database.open(settings)
        async def _snapshot(conn: Conn) -> None:
            assert await conn.fetchval("PRAGMA user_version") == SCHEMA_VERSION
            assert await conn.fetchval("PRAGMA foreign_keys") == 1
            assert await conn.fetchval("PRAGMA secure_delete") == 1
            assert await conn.fetchval("PRAGMA synchronous") == 2  # FULL
            assert await conn.fetchval("PRAGMA journal_mode") == "wal"
        await db.read(_snapshot)
        await db.close()


@pytest.mark.sqlite_only("PRAGMA user_version")
async def test_newer_schema_is_refused(settings: Settings) -> None:
    await (await Database.open(settings)).close()
    raw = sqlite3.connect(settings.database)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(DatabaseError, match="newer"):
        await Database.open(settings)


@pytest.mark.sqlite_only("PRAGMA user_version")
async def test_a_database_at_schema_1_is_brought_up_to_date_keeping_its_rows(
        settings: Settings) -> None:
    """Opening a service an earlier release created (schema 1: all but the send rates
    and where visits, pathway steps and outcomes stand) runs the later migrations and
    loses nothing."""
    async with upgraded(settings, 1,
                        "INSERT INTO instances (instance, seen) VALUES ('web-1', 'then')") as db:
        assert await db.read(lambda conn: conn.fetchval("SELECT instance FROM instances")) \
            == "web-1"
        assert await db.read(lambda conn: conn.fetchval("SELECT count(*) FROM send_rates")) == 0


# A pupil's visits as a release before schema 3 kept them: A, B, then A corrected and
# the correction corrected. Plain SQL that both dialects take.
CORRECTION_CHAIN = (
    "INSERT INTO schools (urn, name) VALUES ('100001', 'Hillside Primary')",
    "INSERT INTO officers (id, ref, name, role, created_at)"
    " VALUES (1, 'EWO1', 'Ann Officer', 'officer', '2026-09-01T00:00:00+00:00')",
    "INSERT INTO pupils (id, upn, case_ref, first_name, last_name, search_first, search_last,"
    " date_of_birth, year_group, school_urn, first_imported, last_imported)"
    " VALUES (1, 'A123456789012', 'C00001', 'Amy', 'Hughes', 'amy', 'hughes', '2016-05-01',"
    " '5', '100001', '2026-09-01', '2026-09-01')",
    "INSERT INTO visits (id, pupil_id, officer_id, visit_date, type, follow_up, supersedes,"
    " saved_at) VALUES"
    " (1, 1, 1, '2026-11-16', 'home', '2026-11-23', NULL, '2026-11-16T09:00:00+00:00'),"
    " (2, 1, 1, '2026-11-18', 'home', NULL, NULL, '2026-11-18T09:00:00+00:00'),"
    " (3, 1, 1, '2026-11-16', 'home', '2026-11-23', 1, '2026-11-19T09:00:00+00:00'),"
    " (4, 1, 1, '2026-11-16', 'home', '2026-11-23', 3, '2026-11-21T09:00:00+00:00')",
)
# Where schema 3 places them: each correction where A stood, so B stays the latest.
CHAIN_PLACED = [(1, "2026-11-16T09:00:00+00:00"), (2, "2026-11-18T09:00:00+00:00"),
                (3, "2026-11-16T09:00:00+00:00"), (4, "2026-11-16T09:00:00+00:00")]


@pytest.mark.sqlite_only("PRAGMA user_version")
async def test_a_database_at_schema_2_places_its_corrections_where_their_visits_stood(
        settings: Settings) -> None:
    """Schema 3 back-fills where each visit stands in the saved order, through every
    chain of corrections, on a service an earlier release created."""
    async with upgraded(settings, 2, *CORRECTION_CHAIN) as db:
        placed = await db.read(lambda conn: conn.fetchall(
            "SELECT id, placed_at FROM visits ORDER BY id"))
        assert [tuple(row) for row in placed] == CHAIN_PLACED


PATHWAY_TABLES = ("pathway_steps", "pathway_outcomes")
# A pupil's pathway as a release before schema 4 kept it: a support plan, a contract the
# same day, then the plan corrected and the correction corrected; a penalty notice
# issued, Unpaid, Withdrawn, then the Unpaid corrected twice.
PATHWAY_CHAIN = (
    *CORRECTION_CHAIN[:3],
    "INSERT INTO pathway_steps (id, pupil_id, officer_id, kind, step_date, supersedes,"
    " saved_at) VALUES"
    " (1, 1, 1, 'support_plan', '2026-11-02', NULL, '2026-11-16T09:00:00+00:00'),"
    " (2, 1, 1, 'contract', '2026-11-02', NULL, '2026-11-17T09:00:00+00:00'),"
    " (3, 1, 1, 'support_plan', '2026-11-02', 1, '2026-11-18T09:00:00+00:00'),"
    " (4, 1, 1, 'support_plan', '2026-11-02', 3, '2026-11-20T09:00:00+00:00'),"
    " (5, 1, 1, 'pn_referral', '2026-10-01', NULL, '2026-11-16T10:00:00+00:00')",
    "INSERT INTO pathway_outcomes (id, step_id, pupil_id, officer_id, outcome, outcome_date,"
    " supersedes, saved_at) VALUES"
    " (1, 5, 1, 1, 'issued', '2026-10-01', NULL, '2026-11-16T10:00:00+00:00'),"
    " (2, 5, 1, 1, 'unpaid', '2026-10-29', NULL, '2026-11-17T10:00:00+00:00'),"
    " (3, 5, 1, 1, 'withdrawn', '2026-11-02', NULL, '2026-11-18T10:00:00+00:00'),"
    " (4, 5, 1, 1, 'unpaid', '2026-10-30', 2, '2026-11-19T10:00:00+00:00'),"
    " (5, 5, 1, 1, 'unpaid', '2026-10-31', 4, '2026-11-21T10:00:00+00:00')",
)
# Where schema 4 places them: each correction where the entry it corrects stood, so the
# contract stays the later step of the day and Withdrawn the notice's last outcome.
PATHWAY_PLACED = {
    "pathway_steps": [(1, "2026-11-16T09:00:00+00:00"), (2, "2026-11-17T09:00:00+00:00"),
                      (3, "2026-11-16T09:00:00+00:00"), (4, "2026-11-16T09:00:00+00:00"),
                      (5, "2026-11-16T10:00:00+00:00")],
    "pathway_outcomes": [(1, "2026-11-16T10:00:00+00:00"), (2, "2026-11-17T10:00:00+00:00"),
                         (3, "2026-11-18T10:00:00+00:00"), (4, "2026-11-17T10:00:00+00:00"),
                         (5, "2026-11-17T10:00:00+00:00")],
}


@pytest.mark.sqlite_only("PRAGMA user_version")
async def test_a_database_at_schema_3_places_its_pathway_corrections_where_they_stood(
        settings: Settings) -> None:
    """Schema 4 back-fills where each pathway step and outcome stands in the saved
    order, through every chain of corrections, on a service an earlier release created."""
    async with upgraded(settings, 3, *PATHWAY_CHAIN) as db:
        for table in PATHWAY_TABLES:
            placed = await db.read(lambda conn, table=table: conn.fetchall(
                f"SELECT id, placed_at FROM {table} ORDER BY id"))
            assert [tuple(row) for row in placed] == PATHWAY_PLACED[table]


# Pupils as a release before schema 6 kept them (no tails of their last names), EWO1's.
NAMED_PUPILS = (
    *CORRECTION_CHAIN[:2],
    "INSERT INTO pupils (id, upn, case_ref, first_name, last_name, search_first, search_last,"
    " date_of_birth, year_group, school_urn, first_imported, last_imported) VALUES"
    " (1, 'A123456789012', 'C00001', 'Amelia', 'Smith-Jones', 'amelia', 'smithjones',"
    "  '2016-05-01', '5', '100001', '2026-09-01', '2026-09-01'),"
    " (2, 'A123456789013', 'C00002', 'Rosa', 'De La Cruz', 'rosa', 'delacruz',"
    "  '2016-05-01', '5', '100001', '2026-09-01', '2026-09-01'),"
    " (3, 'A123456789014', 'C00003', 'Mateo', 'García López', 'mateo', 'garcialopez',"
    "  '2016-05-01', '5', '100001', '2026-09-01', '2026-09-01'),"
    " (4, 'A123456789015', 'C00004', 'Dylan', 'O’Brien', 'dylan', 'obrien',"
    "  '2016-05-01', '5', '100001', '2026-09-01', '2026-09-01')",
    "INSERT INTO allocations (pupil_id, officer_id, allocated_at) VALUES"
    " (1, 1, '2026-09-01T00:00:00+00:00'), (2, 1, '2026-09-01T00:00:00+00:00'),"
    " (3, 1, '2026-09-01T00:00:00+00:00'), (4, 1, '2026-09-01T00:00:00+00:00')",
)
# What schema 6 back-fills: each last name from each of its later words on, folded.
NAMED_TAILS = [(1, "jones"), (2, "cruz"), (2, "lacruz"), (3, "lopez")]
# And what the upgraded service's search then finds for EWO1.
NAMED_FOUND = {"Jones": ["Amelia Smith-Jones"], "amelia jo": ["Amelia Smith-Jones"],
               "lopez": ["Mateo García López"], "la cruz": ["Rosa De La Cruz"], "brien": []}


async def found_by_name(conn: Conn) -> dict[str, list[str]]:
    """What EWO1's search finds for each of NAMED_FOUND's queries."""
    officer = await officer_store.officer_by_ref(conn, "EWO1")
    assert officer is not None
    return {typed: [pupil.name for pupil in await pupils.find_pupils(
        conn, officer, typed, today=date(2026, 11, 25), year_end=YearEnd(8, 31))]
        for typed in NAMED_FOUND}


@pytest.mark.sqlite_only("PRAGMA user_version")
async def test_a_database_at_schema_5_finds_its_pupils_by_later_words_of_their_names(
        settings: Settings) -> None:
    """Schema 6 back-fills the tails of the last names held, on a service an earlier
    release created: "Jones" then finds Amelia Smith-Jones."""
    async with upgraded(settings, 5, *NAMED_PUPILS) as db:
        tails = await db.read(lambda conn: conn.fetchall(
            "SELECT pupil_id, search_tail FROM pupil_name_tails ORDER BY pupil_id, search_tail"))
        assert [tuple(row) for row in tails] == NAMED_TAILS
        assert await db.read(found_by_name) == NAMED_FOUND


# What schema 7 back-fills from NAMED_PUPILS: each pupil at its school since it was
# first imported, still there.
NAMED_SCHOOLS = [(1, "100001", "2026-09-01", None), (2, "100001", "2026-09-01", None),
                 (3, "100001", "2026-09-01", None), (4, "100001", "2026-09-01", None)]
SCHOOL_SPANS = "SELECT pupil_id, school_urn, started, ended FROM school_history ORDER BY id"


@pytest.mark.sqlite_only("PRAGMA user_version")
async def test_a_database_at_schema_6_holds_each_pupil_at_its_school_since_first_imported(
        settings: Settings) -> None:
    """Schema 7 back-fills one open school span a pupil held, at its school since it was
    first imported, on a service an earlier release created."""
    async with upgraded(settings, 6, *NAMED_PUPILS) as db:
        spans = await db.read(lambda conn: conn.fetchall(SCHOOL_SPANS))
        assert [tuple(row) for row in spans] == NAMED_SCHOOLS


async def test_failed_write_rolls_back_only_its_own_rows(db: Database) -> None:
    """A coroutine's insert never rides in another coroutine's transaction."""
    entered = asyncio.Event()
    release = asyncio.Event()

    async def failing() -> None:
        async def _transaction(conn: Conn) -> None:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
            entered.set()
            await release.wait()
            raise RuntimeError("boom")
        await db.write(_transaction)

    async def other() -> None:
        await entered.wait()
        async def _transaction(conn: Conn) -> None:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
        await db.write(_transaction)

    task_a = asyncio.create_task(failing())
    task_b = asyncio.create_task(other())
    await entered.wait()
    release.set()
    with pytest.raises(RuntimeError):
        await task_a
    await task_b
    async def _snapshot(conn: Conn):
        return [row["key"] for row in await conn.fetchall("SELECT key FROM meta")]
    keys = await db.read(_snapshot)
    assert keys == ["b"]


async def test_reader_sees_only_committed_data(db: Database) -> None:
    async def _transaction(conn: Conn) -> None:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('x', '1')")
        async def _snapshot2(reader: Conn) -> None:
            assert await reader.fetchval("SELECT count(*) FROM meta") == 0
        await db.read(_snapshot2)
    await db.write(_transaction)
    async def _snapshot(reader: Conn) -> None:
        assert await reader.fetchval("SELECT count(*) FROM meta") == 1
    await db.read(_snapshot)


async def test_reader_cannot_write(db: Database) -> None:
    async def _snapshot(conn: Conn) -> None:
        with pytest.raises(READ_ONLY_ERRORS):
            await conn.execute("INSERT INTO meta (key, value) VALUES ('x', '1')")
    await db.read(_snapshot)


@pytest.mark.sqlite_only("SQLite's -wal file")
async def test_checkpoint_empties_the_wal(db: Database, settings: Settings) -> None:
    async def _transaction(conn: Conn) -> None:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('x', '1')")
    await db.write(_transaction)
    await db.checkpoint()
    wal = settings.database.with_name(settings.database.name + "-wal")
    assert wal.stat().st_size == 0


@pytest.mark.sqlite_only("the SQLite backup file (PostgreSQL's backups are the server's)")
async def test_backup_is_private_and_complete(db: Database, tmp_path: Path) -> None:
    async def _transaction(conn: Conn) -> None:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'kept')")
    await db.write(_transaction)
    target = tmp_path / "backup.sqlite3"
    await db.backup(target)
    assert mode(target) == 0o600
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT value FROM meta").fetchone()[0] == "kept"
    copy.close()
    with pytest.raises(DatabaseError, match="already exists"):
        await db.backup(target)


@needs_sqlcipher
async def test_encrypted_file_holds_no_plain_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_key="correct horse battery staple")
    db = await Database.open(settings)
    async def _transaction(conn: Conn) -> None:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('canary', 'Zebediah Quuxworth')")
    await db.write(_transaction)
    await db.checkpoint()
    await db.close()
    raw = settings.database.read_bytes()
    assert b"Zebediah" not in raw
    assert not raw.startswith(b"SQLite format 3")


@needs_sqlcipher
async def test_wrong_key_fails_with_one_line(tmp_path: Path) -> None:
    db = await Database.open(make_settings(tmp_path, database_key="right"))
    await db.close()
    with pytest.raises(DatabaseError) as caught:
        await Database.open(make_settings(tmp_path, database_key="wrong"))
    message = str(caught.value)
    assert "wrong EWO_DATABASE_KEY" in message
    assert "\n" not in message


@needs_sqlcipher
async def test_encrypted_backup_needs_the_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_key="k3y")
    db = await Database.open(settings)
    async def _transaction(conn: Conn) -> None:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('canary', 'Zebediah')")
    await db.write(_transaction)
    target = tmp_path / "backup.sqlite3"
    await db.backup(target)
    await db.close()
    assert b"Zebediah" not in target.read_bytes()
    assert os.stat(target).st_size > 0


@needs_sqlcipher
async def test_busy_scrub_of_an_encrypted_database_is_one_line(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_key="k3y")
    db = await Database.open(settings)
    other = await Database.open(settings)  # another process's write transaction
    try:
        async with held_write(other):
            with pytest.raises(DatabaseError, match="could not be rebuilt"):
                await db.scrub(attempts=1)
    finally:
        await other.close()
        await db.close()
