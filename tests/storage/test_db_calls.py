"""The one way in: `await db.read(fn, ...)` and `await db.write(fn, ...)` over one Conn
interface, with `@quick` reads on the event loop's own thread."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.storage import sqlite as sqlite_module
from bot.storage.db import LOCKED, Conn, Database, DatabaseBusy, quick
from tests.conftest import make_settings, needs_sqlcipher
from tests.pg import READ_ONLY_ERRORS


async def put(conn: Conn, key: str, value: str) -> int:
    return await conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))


@quick
async def keys(conn: Conn) -> list[str]:
    return [row["key"] for row in await conn.fetchall("SELECT key FROM meta ORDER BY key")]


async def slow_keys(conn: Conn) -> list[str]:
    """`keys` through the reader connection (not marked quick)."""
    return [row["key"] for row in await conn.fetchall("SELECT key FROM meta ORDER BY key")]


@quick
async def quick_put(conn: Conn, key: str, value: str) -> int:
    """`put` on the writer's twin, in one hop."""
    return await put(conn, key, value)


async def put_then_fail(conn: Conn, key: str) -> None:
    await put(conn, key, "never kept")
    raise RuntimeError("boom")


@pytest.mark.sqlite_only("SQLite's single writer")
async def test_writes_are_serialised_whole_in_the_order_they_were_asked_for(
        db: Database) -> None:
    """A transaction that waits midway is never joined by another's statements."""
    started = asyncio.Event()

    async def two_halves(conn: Conn) -> None:
        await put(conn, "a", "first half")
        started.set()
        await asyncio.sleep(0.01)  # others are asking meanwhile
        await put(conn, "b", "second half")

    first = asyncio.create_task(db.write(two_halves))
    await started.wait()
    others = [asyncio.create_task(db.write(put, f"k{n:02}", "later")) for n in range(5)]
    failing = asyncio.create_task(db.write(put_then_fail, "lost"))
    await first
    await asyncio.gather(*others)
    with pytest.raises(RuntimeError, match="boom"):
        await failing

    async def in_order(conn: Conn) -> list[str]:
        rows = await conn.fetchall("SELECT key FROM meta ORDER BY rowid")
        return [row["key"] for row in rows]

    assert await db.read(slow_keys) == ["a", "b"] + [f"k{n:02}" for n in range(5)]
    assert await db.read(in_order) == ["a", "b"] + [f"k{n:02}" for n in range(5)]


async def test_statements_are_counted(db: Database) -> None:
    async def look(conn: Conn) -> tuple[int, list[str]]:
        one = await conn.fetchone("SELECT count(*) AS n FROM meta")
        return await conn.fetchval("SELECT 1"), [one["n"], *await slow_keys(conn)]

    before = db.counter.count
    assert await db.read(look) == (1, [0])
    assert db.counter.count - before == 3
    before = db.counter.count
    await db.write(put, "a", "1")
    assert db.counter.count - before == 1


async def test_a_write_commits_and_returns_what_the_function_returns(db: Database) -> None:
    row_id = await db.write(put, "k", "v")
    assert row_id > 0
    assert await db.read(keys) == ["k"]


async def test_a_write_rolls_back_on_error_and_the_writer_carries_on(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        await db.write(put_then_fail, "lost")
    await db.write(put, "kept", "1")  # no transaction was left open
    assert await db.read(keys) == ["kept"]


async def test_a_read_cannot_write_nor_keep_anything_open(db: Database) -> None:
    with pytest.raises(READ_ONLY_ERRORS):
        await db.read(put, "x", "1")
    with pytest.raises(READ_ONLY_ERRORS):
        await db.read(quick_put, "x", "1")
    assert await db.read(slow_keys) == []
    await db.write(put, "y", "1")
    assert await db.read(slow_keys) == await db.read(keys) == ["y"]


async def test_a_read_sees_only_committed_data(db: Database) -> None:
    async def put_and_look(conn: Conn) -> tuple[list[str], list[str]]:
        await put(conn, "x", "1")
        return await db.read(slow_keys), await db.read(keys)

    assert await db.write(put_and_look) == ([], [])
    assert await db.read(slow_keys) == await db.read(keys) == ["x"]


@pytest.mark.sqlite_only("a second sqlite3 connection holding the file's write lock")
async def test_the_event_loop_runs_while_a_write_waits_for_a_busy_database(
        db: Database, settings: Settings) -> None:
    """Another process holds the write lock: the write waits on the worker's thread (up
    to the busy timeout) and every other coroutine carries on meanwhile."""
    other = sqlite3.connect(settings.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(db.write(put, "after", "1"))
        await asyncio.sleep(0)
        others_ran = await asyncio.wait_for(db.read(slow_keys), timeout=5)
        assert others_ran == []
        assert not waiting.done()
        other.execute("INSERT INTO meta (key, value) VALUES ('before', '1')")
        other.execute("COMMIT")
        await asyncio.wait_for(waiting, timeout=10)
    finally:
        other.close()
    assert await db.read(keys) == ["after", "before"]


@pytest.mark.sqlite_only("a second sqlite3 connection holding the file's write lock")
async def test_a_database_locked_past_the_busy_timeout_is_database_busy_and_saves_nothing(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's "database is locked" is raised as DatabaseBusy, as PostgreSQL's backend
    raises a database that stays busy: one thing for callers to catch, on either path."""
    monkeypatch.setattr(sqlite_module, "_PRAGMAS", tuple(
        "PRAGMA busy_timeout = 20" if pragma.startswith("PRAGMA busy_timeout") else pragma
        for pragma in sqlite_module._PRAGMAS))
    db = await Database.open(settings)
    other = sqlite3.connect(settings.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseBusy, match=f"^{LOCKED}$"):
            await db.write(put, "slow", "1")  # the writer's own connection
        with pytest.raises(DatabaseBusy, match=f"^{LOCKED}$"):
            await db.write(quick_put, "quick", "1")  # the writer's twin, in one hop
        other.rollback()
        assert await db.read(keys) == []
        await db.write(put, "after", "1")  # and both carry on once it is free
        await db.write(quick_put, "quick after", "1")
        assert await db.read(keys) == ["after", "quick after"]
    finally:
        other.close()
        await db.close()


async def test_a_cancelled_write_rolls_back_before_the_next_begins(db: Database) -> None:
    started = asyncio.Event()

    async def put_and_wait(conn: Conn) -> None:
        await put(conn, "cancelled", "1")
        started.set()
        await asyncio.Event().wait()

    waiting = asyncio.create_task(db.write(put_and_wait))
    await started.wait()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await db.write(put, "next", "1")
    assert await db.read(keys) == ["next"]


# --- quick reads, on the event loop's thread --------------------------------------------


@pytest.mark.sqlite_only("the quick path: SQLite's connection on the loop's thread")
async def test_a_quick_read_completes_without_waiting_for_anything(db: Database) -> None:
    """No hop to a worker thread: the read's coroutine ends at its first step."""
    await db.write(put, "b", "2")
    reading = db.read(keys)
    with pytest.raises(StopIteration) as done:
        reading.send(None)  # type: ignore[attr-defined]
    assert done.value.value == ["b"]
    slow = db.read(slow_keys)
    assert slow.send(None) is not None  # type: ignore[attr-defined] # suspended: a hop
    slow.close()  # type: ignore[attr-defined]


@pytest.mark.sqlite_only("the quick path: SQLite's connection on the loop's thread")
async def test_a_quick_function_must_await_only_its_conn(db: Database) -> None:
    @quick
    async def sleeps(conn: Conn) -> None:
        await asyncio.sleep(0)

    with pytest.raises(sqlite_module.NotQuick):
        await db.read(sleeps)
    assert await db.read(keys) == []  # the loop's connection is not left in a transaction


@pytest.mark.sqlite_only("a second sqlite3 connection holding the file's write lock")
async def test_a_busy_database_sends_a_quick_read_the_workers_way(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the loop's thread a read never waits; on SQLITE_BUSY it goes the reader's way
    instead (where waiting holds up no chat), and gives the same answer."""
    await db.write(put, "a", "1")

    async def busy(*args: object) -> object:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(sqlite_module.QuickConn, "fetchall", busy)
    assert await db.read(keys) == ["a"]


def test_storage_uses_no_private_part_of_aiosqlite() -> None:
    source = Path(sqlite_module.__file__).read_text(encoding="utf-8")
    assert not re.search(r"\._(tx|running|connection|conn|execute)\b", source)


@needs_sqlcipher
async def test_reads_and_writes_on_an_encrypted_database(tmp_path: Path) -> None:
    db = await Database.open(make_settings(tmp_path, database_key="k3y"))
    try:
        await db.write(put, "canary", "Zebediah")
        with pytest.raises(RuntimeError):
            await db.write(put_then_fail, "lost")
        assert await db.read(keys) == await db.read(slow_keys) == ["canary"]
    finally:
        await db.close()


async def test_queries_sent_together_answer_as_each_would_alone(db: Database) -> None:
    for key in ("b", "a", "c"):
        await db.write(put, key, key.upper())
    queries = (("SELECT key FROM meta WHERE key IN ('a', 'b', 'c') ORDER BY key", ()),
               ("SELECT value FROM meta WHERE key = ?", ("b",)),
               ("SELECT key FROM meta WHERE key = :key", {"key": "none"}))

    async def together(conn: Conn) -> list[list[tuple[str, ...]]]:
        return [[tuple(row) for row in rows] for rows in await conn.fetchall_together(*queries)]

    async def alone(conn: Conn) -> list[list[tuple[str, ...]]]:
        return [[tuple(row) for row in await conn.fetchall(sql, params)]
                for sql, params in queries]

    expected = [[("a",), ("b",), ("c",)], [("B",)], []]
    assert await db.read(alone) == expected
    # Through a plain read, a @quick one and a write: every Conn the backends hand out.
    for run in (db.read, db.write):
        assert await run(together) == expected
        assert await run(quick(together)) == expected
