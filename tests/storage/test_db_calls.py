"""Groups of statements run as one call on a connection's worker thread: Conn.call,
Database.read_call and write_call over a SyncConn."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest

from bot.settings import Settings
from bot.storage import db as db_module
from bot.storage.db import Database, SyncConn
from tests.conftest import make_settings


def put(conn: SyncConn, key: str, value: str) -> int:
    return conn.insert("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))


def keys(conn: SyncConn) -> list[str]:
    return [row["key"] for row in conn.fetchall("SELECT key FROM meta ORDER BY key")]


def put_then_fail(conn: SyncConn, key: str) -> None:
    put(conn, key, "never kept")
    raise RuntimeError("boom")


async def test_the_private_aiosqlite_parts_db_relies_on_are_there(db: Database) -> None:
    """bot/storage/db.py `_queue` puts `(future, function)` on Connection._tx and reads
    `_running`, `_connection` and `_conn`: checked on the aiosqlite range pyproject allows
    (>=0.20,<0.23); a newer aiosqlite must be checked again before that range is widened."""
    version = tuple(int(part) for part in aiosqlite.__version__.split(".")[:2])
    assert (0, 20) <= version < (0, 23)
    raw = aiosqlite.Connection(lambda: sqlite3.connect(":memory:", check_same_thread=False),
                               iter_chunk_size=64)
    await raw
    try:
        assert raw._running is True
        assert isinstance(raw._connection, sqlite3.Connection)
        assert raw._conn is raw._connection
        future = asyncio.get_running_loop().create_future()
        raw._tx.put_nowait((future, lambda: "ran"))
        assert await asyncio.wait_for(future, timeout=5) == "ran"
    finally:
        await raw.close()


def keys_in_order(conn: SyncConn) -> list[str]:
    return [row["key"] for row in conn.fetchall("SELECT key FROM meta ORDER BY rowid")]


async def test_calls_queue_in_order_and_never_inside_a_write_block(db: Database) -> None:
    """The lock is not held while a call runs, yet each transaction stays whole: calls
    wait for an open write() block, and run in the order they were queued."""
    async with db.write() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('a', 'block')")
        early = [asyncio.create_task(db.write_call(put, f"k{n:02}", "call")) for n in range(10)]
        await asyncio.sleep(0)  # each call is waiting for the lock
        await conn.execute("INSERT INTO meta (key, value) VALUES ('b', 'block')")
    await asyncio.gather(*early)
    late = [asyncio.create_task(db.write_call(put, f"k{n:02}", "call")) for n in range(10, 20)]
    await asyncio.sleep(0)  # each call is queued on the writer's thread
    async with db.write() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('z', 'block')")
    await asyncio.gather(*late)
    assert await db.read_call(keys_in_order) == ["a", "b"] + [f"k{n:02}" for n in range(20)] + ["z"]


async def test_a_call_runs_on_the_worker_thread_and_counts_statements(db: Database) -> None:
    loop_thread = threading.get_ident()

    def look(conn: SyncConn) -> tuple[int, int | None, list[str]]:
        one = conn.fetchone("SELECT count(*) AS n FROM meta")
        return threading.get_ident(), conn.fetchval("SELECT 1"), [one["n"]] + keys(conn)

    before = db.counter.count
    thread, one, found = await db.read_call(look)
    assert thread != loop_thread
    assert (one, found) == (1, [0])
    assert db.counter.count - before == 3
    before = db.counter.count
    async with db.write() as conn:
        await conn.call(put, "a", "1")
        await conn.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
    assert db.counter.count - before == 2
    assert await db.read_call(keys) == ["a", "b"]


async def test_write_call_commits_and_returns_what_the_function_returns(db: Database) -> None:
    row_id = await db.write_call(put, "k", "v")
    assert row_id > 0
    async with db.read() as conn:
        assert await conn.fetchval("SELECT value FROM meta WHERE key = 'k'") == "v"


async def test_write_call_rolls_back_on_error_and_the_writer_carries_on(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        await db.write_call(put_then_fail, "lost")
    await db.write_call(put, "kept", "1")  # no transaction was left open
    async with db.write() as conn:
        assert await conn.fetchval("SELECT count(*) FROM meta") == 1
    assert await db.read_call(keys) == ["kept"]


async def test_conn_call_joins_the_blocks_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await conn.call(put, "a", "1")
            raise RuntimeError("the block fails after the call")
    assert await db.read_call(keys) == []


async def test_read_call_cannot_write(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.read_call(put, "x", "1")
    assert await db.read_call(keys) == []
    await db.write_call(put, "y", "1")  # nor did the reader keep anything open
    assert await db.read_call(keys) == ["y"]


async def test_read_call_sees_only_committed_data(db: Database) -> None:
    async with db.write() as conn:
        await conn.call(put, "x", "1")
        assert await db.read_call(keys) == []
    assert await db.read_call(keys) == ["x"]


async def test_the_event_loop_runs_while_a_call_waits_for_a_busy_database(
        db: Database, settings: Settings) -> None:
    """Another process holds the write lock: the call waits on its worker thread (up to
    the busy timeout) and every other coroutine carries on meanwhile."""
    other = sqlite3.connect(settings.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(db.write_call(put, "after", "1"))
        await asyncio.sleep(0)  # the call is queued on the writer's thread, which waits
        others_ran = await asyncio.wait_for(db.read_call(keys), timeout=5)
        ticker = asyncio.Event()
        asyncio.get_running_loop().call_soon(ticker.set)
        await asyncio.wait_for(ticker.wait(), timeout=5)
        assert others_ran == []
        assert not waiting.done()
        other.execute("INSERT INTO meta (key, value) VALUES ('before', '1')")
        other.execute("COMMIT")
        await asyncio.wait_for(waiting, timeout=10)
    finally:
        other.close()
    assert await db.read_call(keys) == ["after", "before"]


async def test_a_cancelled_callers_transaction_ends_before_the_next_begins(
        db: Database, settings: Settings) -> None:
    other = sqlite3.connect(settings.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(db.write_call(put, "cancelled", "1"))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        other.execute("COMMIT")
    finally:
        other.close()
    await db.write_call(put, "next", "1")
    assert "next" in await db.read_call(keys)


pytest.importorskip("sqlcipher3")


async def test_calls_work_on_an_encrypted_database(tmp_path: Path) -> None:
    db = await Database.open(make_settings(tmp_path, database_key="k3y"))
    try:
        await db.write_call(put, "canary", "Zebediah")
        with pytest.raises(RuntimeError):
            await db.write_call(put_then_fail, "lost")
        assert await db.read_call(keys) == ["canary"]
        async with db.read() as conn:
            assert await conn.call(keys) == ["canary"]
    finally:
        await db.close()


# --- quick reads, on the event loop's thread --------------------------------------------


async def test_a_quick_read_sees_what_is_committed_and_runs_on_the_loops_thread(
    db: Database,
) -> None:
    await db.write_call(put, "b", "2")
    threads: list[threading.Thread] = []

    def where_and_keys(conn: SyncConn) -> list[str]:
        threads.append(threading.current_thread())
        return keys(conn)

    assert await db.quick_read(where_and_keys) == await db.read_call(where_and_keys) == ["b"]
    assert threads[0] is threading.current_thread()  # no hop for the quick one
    assert threads[1] is not threading.current_thread()


async def test_a_quick_read_cannot_write(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.quick_read(put, "x", "1")
    assert await db.read_call(keys) == []


async def test_a_busy_database_sends_a_quick_read_the_workers_way(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the loop's thread a read never waits; on SQLITE_BUSY it is read on the reader's
    thread instead (where waiting holds up no chat), and gives the same answer."""
    await db.write_call(put, "a", "1")
    loop_thread = threading.current_thread()


    original = db_module._transaction

    def busy_on_the_loops_thread(*args: object) -> object:
        if threading.current_thread() is loop_thread:
            raise sqlite3.OperationalError("database is locked")
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(db_module, "_transaction", busy_on_the_loops_thread)
    assert await db.quick_read(keys) == ["a"]


async def test_a_quick_read_of_an_encrypted_database(tmp_path: Path) -> None:
    db = await Database.open(make_settings(tmp_path, database_key="k3y"))
    try:
        await db.write_call(put, "k", "v")
        assert await db.quick_read(keys) == ["k"]
    finally:
        await db.close()
