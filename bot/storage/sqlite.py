"""The SQLite backend: one writer and one reader connection (aiosqlite), serialised
writes, and for the hot path's `@quick` reads a query-only connection on the event
loop's own thread; its `@quick` writes run whole on the writer's twin, a plain
connection on a thread of its own, in one hop.

SQLite in WAL mode with `synchronous=FULL`, foreign keys, `secure_delete` and a busy
timeout on every connection. Write transactions are `BEGIN IMMEDIATE` under one lock
per process, so a coroutine's write can never ride in another's transaction; readers
use their own connection and see committed data only. With `EWO_DATABASE_KEY` the
file is encrypted with SQLCipher.

Another process (an `ewobot import`, a backup) holding the write lock past the busy
timeout makes SQLite raise "database is locked": a read or write meeting it is rolled
back and raised as `DatabaseBusy`, as PostgreSQL's backend raises a database that stays
busy, so callers have one thing to catch.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.files import os_reason
from bot.logs import pin_library_loggers
from bot.settings import Settings
from bot.storage.base import (
    BACKENDS,
    Conn,
    Database,
    DatabaseBusy,
    DatabaseError,
    Params,
    StatementCounter,
    is_quick,
)
from bot.storage.keys import (
    check_private_files,
    create_private_file,
    load_audit_key,
    load_pepper,
)
from bot.storage.schema import BACKFILLS, MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 15_000
# DatabaseBusy's line: the write lock was held past BUSY_TIMEOUT_MS by another process.
LOCKED = "the database is busy: another process kept it locked; try again"
WORKER_STOP_SECONDS = 5.0  # a failed connection's aiosqlite thread, waited for at most
_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = FULL",
    "PRAGMA secure_delete = ON",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA temp_store = MEMORY",
)

P = ParamSpec("P")
R = TypeVar("R")


class _InTurn:
    """Statements sent "together" or "with the next" run at once, one after another:
    SQLite has no round trip to save."""

    async def fetchall_together(self, *queries: tuple[str, Params]) -> list[list[Any]]:
        return [await self.fetchall(sql, params)  # type: ignore[attr-defined]
                for sql, params in queries]

    async def executemany_with_next(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.executemany(sql, rows)  # type: ignore[attr-defined]


class AioConn(_InTurn):
    """A transaction's connection over aiosqlite's public API: each statement is one hop
    to the connection's worker thread."""

    dialect = "sqlite"

    def __init__(self, raw: aiosqlite.Connection, audit_key: bytes, writable: bool,
                 counter: StatementCounter) -> None:
        self.raw = raw
        self.audit_key = audit_key
        self.writable = writable
        self._counter = counter

    async def execute(self, sql: str, params: Params = ()) -> int:
        self._counter.add()
        cursor = await self.raw.execute(sql, params)
        changed = cursor.rowcount
        # A statement that returns no rows is finished and reset by the time execute
        # returns: nothing is left for a close to do, so it costs no second hop.
        if cursor.description is not None:
            await cursor.close()
        return changed

    async def insert(self, sql: str, params: Params = ()) -> int:
        self._counter.add()
        row = await self.raw.execute_insert(sql, params)
        assert row is not None
        return int(row[0])

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        # executemany takes only statements that return no rows: nothing to close.
        self._counter.add()
        await self.raw.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        self._counter.add()
        return list(await self.raw.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        # One hop, not three (execute, fetch, close): the queries asking for one row
        # return one (a key or a LIMIT), so reading them whole costs nothing.
        self._counter.add()
        rows = await self.raw.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def lock(self, name: str) -> None:
        """SQLite has one writer: a write transaction is already serialised."""

    async def stream(self, sql: str, params: Params = ()) -> AsyncIterator[Any]:
        self._counter.add()
        async with self.raw.execute(sql, params) as cursor:
            async for row in cursor:
                yield row


class QuickConn(_InTurn):
    """A read-only Conn over a plain sqlite3 connection used on the event loop's
    thread: its methods complete at once, with no hop to a worker thread."""

    dialect = "sqlite"
    writable = False

    def __init__(self, raw: sqlite3.Connection, audit_key: bytes,
                 counter: StatementCounter) -> None:
        self.raw = raw
        self.audit_key = audit_key
        self._counter = counter

    async def execute(self, sql: str, params: Params = ()) -> int:
        raise sqlite3.OperationalError("a quick read cannot write")

    async def insert(self, sql: str, params: Params = ()) -> int:
        raise sqlite3.OperationalError("a quick read cannot write")

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise sqlite3.OperationalError("a quick read cannot write")

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        self._counter.add()
        cursor = self.raw.execute(sql, params)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        self._counter.add()
        cursor = self.raw.execute(sql, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def lock(self, name: str) -> None:
        """Nothing to serialise in a read."""

    async def stream(self, sql: str, params: Params = ()) -> AsyncIterator[Any]:
        for row in await self.fetchall(sql, params):
            yield row


class WriterConn(QuickConn):
    """A write transaction's Conn over the writer's twin, a plain sqlite3 connection
    used only on its own thread: as QuickConn, its methods complete at once, so a
    `@quick` write runs whole there in one hop from the event loop."""

    writable = True

    async def execute(self, sql: str, params: Params = ()) -> int:
        self._counter.add()
        cursor = self.raw.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    async def insert(self, sql: str, params: Params = ()) -> int:
        self._counter.add()
        cursor = self.raw.execute(sql, params)
        try:
            cursor.execute("SELECT last_insert_rowid()")
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._counter.add()
        self.raw.executemany(sql, rows).close()

    async def lock(self, name: str) -> None:
        """SQLite has one writer: a write transaction is already serialised."""


class NotQuick(RuntimeError):
    """A @quick function waited on something other than its Conn."""


def _run_now(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine that never suspends to its end, now: a @quick read must not let
    another coroutine use the loop's connection in the middle of its transaction, and a
    @quick write runs on a thread with no event loop to wait on."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise NotQuick("a @quick storage function awaited something other than its Conn")


class SqliteDatabase(Database):
    """The service database on SQLite."""

    dialect = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection,
                 audit_key: bytes, key: str | None = None) -> None:
        self.path = path
        self._key = key
        self._operational_errors = _operational_errors(key)
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()
        self.audit_key = audit_key
        self.counter = StatementCounter()
        self._connector = _connector(path, key)
        self._quick: sqlite3.Connection | None = None  # @quick reads', on the loop's thread
        # @quick writes': the writer's twin, opened and used on its one thread only.
        self._twin_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ewo-writer")
        self._twin: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, settings: Settings, *, create: bool = True) -> SqliteDatabase:
        """Open (creating and migrating if needed) the database the settings name.

        With `create=False` (commands that only read) a missing database, or a missing
        generated key file, is a DatabaseError: nothing is created. A database file, its
        -wal/-shm or its folder open to group or others is refused either way."""
        # At DEBUG aiosqlite logs every statement with its parameters (pupils' data):
        # pinned here, so no process that reads the data can log it, whoever set the level.
        pin_library_loggers()
        path = settings.database
        key = settings.database_key.get_secret_value() if settings.database_key else None
        check_private_files(path)
        if create:
            create_private_file(path)
        elif not path.is_file():
            raise DatabaseError(f"no database at {path}: check EWO_DATABASE "
                                "(`ewobot init` creates one)")
        connector = _connector(path, key)
        writer = await _connect(connector)
        try:
            # Keys only for a file found to be (or to become) this service's database:
            # none is generated beside a file that is refused.
            await _refuse_another_applications(writer, path)
            audit_key = load_audit_key(settings, create=create)
            if settings.pin_pepper is None and settings.pepper_path.exists():
                load_pepper(settings, create=False)  # a loose pepper stops every command
            with _busy_as_error():
                await _migrate(writer)
            reader = await _connect(connector)
        except BaseException:
            await writer.close()
            raise
        await reader.execute("PRAGMA query_only = ON")
        return cls(path, writer, reader, audit_key, key)

    async def close(self) -> None:
        if self._quick is not None:
            self._quick.close()
        await asyncio.get_running_loop().run_in_executor(self._twin_thread, self._close_twin)
        self._twin_thread.shutdown()
        await self._reader.close()
        await self._writer.close()

    async def write(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                    *args: P.args, **kwargs: P.kwargs) -> R:
        """One serialised write transaction: committed on success, rolled back on error
        (a caller cancelled meanwhile rolls back too).

        A `@quick` function runs whole on the writer's twin's thread: BEGIN, its
        statements and COMMIT in one hop, instead of a round trip through the busy
        event loop for each (bench/findings.md, issue 17). A caller cancelled meanwhile
        does not cut it short: it commits or rolls back before the next write begins.

        Another process holding the database past the busy timeout: DatabaseBusy, nothing
        of the transaction saved."""
        with _busy_as_error():
            if is_quick(fn):
                return await self._write_in_one_hop(lambda conn: fn(conn, *args, **kwargs))
            async with self._write_lock:
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    result = await fn(AioConn(self._writer, self.audit_key, True,
                                              self.counter), *args, **kwargs)
                except BaseException:
                    await asyncio.shield(self._writer.rollback())
                    raise
                await asyncio.shield(self._writer.commit())
                return result

    async def read(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                   *args: P.args, **kwargs: P.kwargs) -> R:
        """A consistent read-only snapshot. A `@quick` function runs on the event loop's
        own thread (no hop, no wait for the interpreter lock on the way back); it never
        waits for the database there (busy timeout 0): should another process keep it
        busy, the read goes the worker's way, where waiting holds up no other chat (and
        still busy past the busy timeout: DatabaseBusy)."""
        if is_quick(fn):
            try:
                return self._quick_read(fn, *args, **kwargs)
            except self._operational_errors:
                pass
        with _busy_as_error():
            async with self._read_lock:
                await self._reader.execute("BEGIN")
                try:
                    return await fn(AioConn(self._reader, self.audit_key, False,
                                            self.counter), *args, **kwargs)
                finally:
                    await asyncio.shield(self._reader.rollback())

    async def _write_in_one_hop(self, fn: Callable[[Conn], Awaitable[R]]) -> R:
        """`fn` as a transaction on the twin's thread, under the write lock until it ends
        there (even if the caller is cancelled meanwhile)."""
        await self._write_lock.acquire()
        try:
            done = asyncio.get_running_loop().run_in_executor(
                self._twin_thread, self._write_now, fn)
        except BaseException:
            self._write_lock.release()
            raise
        done.add_done_callback(self._written)
        return await asyncio.shield(done)

    def _written(self, done: asyncio.Future[Any]) -> None:
        self._write_lock.release()
        if not done.cancelled():
            done.exception()  # a cancelled caller's error is not "never retrieved"

    def _write_now(self, fn: Callable[[Conn], Awaitable[R]]) -> R:
        """On the twin's thread: BEGIN IMMEDIATE, `fn` to its end, COMMIT (ROLLBACK and
        re-raise on error). A busy database is waited for here, up to the busy timeout."""
        if self._twin is None:
            twin = self._connector()
            for pragma in _PRAGMAS:
                twin.execute(pragma).close()
            self._twin = twin
        raw = self._twin
        raw.execute("BEGIN IMMEDIATE").close()
        try:
            result = _run_now(fn(WriterConn(raw, self.audit_key, self.counter)))
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
        return result

    def _close_twin(self) -> None:
        if self._twin is not None:
            self._twin.close()
            self._twin = None

    def _quick_read(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                    *args: P.args, **kwargs: P.kwargs) -> R:
        raw = self._quick_conn()
        raw.execute("BEGIN").close()
        try:
            coroutine = fn(QuickConn(raw, self.audit_key, self.counter), *args, **kwargs)
            return _run_now(coroutine)  # type: ignore[arg-type]
        finally:
            if raw.in_transaction:
                raw.rollback()

    def _quick_conn(self) -> sqlite3.Connection:
        """The quick reads' connection, opened on first use (on the event loop's thread,
        the only one that uses it): query-only, never waiting."""
        if self._quick is None:
            quick = self._connector()
            quick.execute("PRAGMA query_only = ON")
            quick.execute("PRAGMA busy_timeout = 0")
            self._quick = quick
        return self._quick

    async def checkpoint(self, attempts: int = 50) -> None:
        """Move the WAL into the main file and truncate it, confirmed not busy.

        After a disposal this is what makes deleted pages unrecoverable from the WAL
        (secure_delete has already zeroed them in the pages written there).

        Each attempt gives up at once when another process reads or writes (the busy
        timeout would hold this process's locks, and so every chat, for up to 15 s an
        attempt); between attempts this process's readers and writers carry on.
        """
        for _ in range(attempts):
            async with self._write_lock, self._read_lock, self._not_waiting():
                row = (await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
            if next(iter(row))[0] == 0:
                return
            await asyncio.sleep(0.05)  # another process holds a read or write transaction
        raise DatabaseBusy("the write-ahead log could not be checkpointed (busy); try again")

    async def scrub(self, attempts: int = 50) -> None:
        """Rebuild the file from the rows it holds (VACUUM), then checkpoint: after a
        disposal, nothing deleted can be read back from the database's files.

        secure_delete zeroes a row where it is deleted, but a page rebuilt earlier (rows
        moved by inserts and deletes around them) can still hold an old copy of a row in
        its free space; only rebuilding the file clears those. It takes this process's
        writers for as long as it runs (about a second for 50 MB), so it is for
        disposals, never the hot path. DatabaseBusy when another process keeps the
        database busy (try again later).
        """
        async with self._write_lock, self._read_lock, self._not_waiting():
            try:
                await self._writer.execute_fetchall("VACUUM")
            except self._operational_errors:
                raise DatabaseBusy("the database could not be rebuilt (busy); try again") from None
        await self.checkpoint(attempts)

    @asynccontextmanager
    async def _not_waiting(self) -> AsyncIterator[None]:
        """The writer gives up at once on a busy database instead of waiting the busy
        timeout (which would hold this process's locks, and so every chat, meanwhile).
        Taken with both locks held, so this process holds no snapshot meanwhile (a read
        holds the read lock for as long as it runs; a quick read never outlives its
        call). Statements are read to the end: one left open would block VACUUM."""
        await self._writer.execute_fetchall("PRAGMA busy_timeout = 0")
        try:
            yield
        finally:
            await self._writer.execute_fetchall(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    async def backup(self, target: Path) -> None:
        """Copy the whole database, online (SQLite backup API), to a new 0600 file.

        The copy is encrypted with the same key when the database is. DatabaseError (one
        line) when the file cannot be written; a copy that fails midway is removed."""
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise DatabaseError(f"{target.name} already exists; choose a new file") from None
        except OSError as exc:
            raise DatabaseError(f"cannot write {target}: {os_reason(exc)}") from None
        try:
            copy = _connector(target, self._key)()
            try:
                async with self._write_lock:
                    await self._writer.backup(copy)
            finally:
                copy.close()
        except BaseException as exc:
            for leftover in (target, target.with_name(target.name + "-journal")):
                leftover.unlink(missing_ok=True)
            if isinstance(exc, (OSError, sqlite3.Error, *self._operational_errors)):
                reason = os_reason(exc) if isinstance(exc, OSError) else _reason(exc)
                raise DatabaseError(f"cannot write {target}: {reason}") from None
            raise


BACKENDS["sqlite"] = SqliteDatabase


def _sql_quote(text: str) -> str:
    return text.replace("'", "''")


async def last_issued_id(conn: Conn, table: str) -> int:
    """The largest id SQLite has handed out in `table` (AUTOINCREMENT keeps it in
    sqlite_sequence, rows deleted since included; `ewobot db copy` starts PostgreSQL's
    sequence past it, so a disposed pupil's id is never given again); 0 for a table
    without it."""
    kept = await conn.fetchval(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
    if not kept:
        return 0
    issued = await conn.fetchval("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
    return int(issued or 0)


def is_busy(exc: BaseException) -> bool:
    """Whether `exc` is SQLite's (or SQLCipher's) "database is locked": another process
    held the database past the busy timeout, and the transaction never began."""
    classes: list[type[Exception]] = [sqlite3.OperationalError]
    sqlcipher = sys.modules.get("sqlcipher3.dbapi2")  # only if it was loaded
    if sqlcipher is not None:
        classes.append(sqlcipher.OperationalError)
    return isinstance(exc, tuple(classes)) and str(exc) == "database is locked"


@contextmanager
def _busy_as_error() -> Iterator[None]:
    """SQLite's "database is locked" (`is_busy`) raised as DatabaseBusy."""
    try:
        yield
    except Exception as exc:
        if is_busy(exc):
            raise DatabaseBusy(LOCKED) from None
        raise


def _operational_errors(key: str | None) -> tuple[type[Exception], ...]:
    """SQLCipher raises its own error classes, not sqlite3's subclasses."""
    if key is None:
        return (sqlite3.OperationalError,)
    from sqlcipher3 import dbapi2 as sqlcipher  # type: ignore[import-not-found]
    return (sqlite3.OperationalError, sqlcipher.OperationalError)


def _connector(path: Path, key: str | None) -> Callable[[], sqlite3.Connection]:
    if key is None:
        def plain() -> sqlite3.Connection:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            return conn
        return plain
    try:
        from sqlcipher3 import dbapi2 as sqlcipher  # type: ignore[import-not-found]
    except ImportError:
        raise DatabaseError(
            "EWO_DATABASE_KEY is set but SQLCipher cannot be loaded "
            "(install sqlcipher3-binary); nothing was written"
        ) from None

    def encrypted() -> sqlite3.Connection:
        conn = sqlcipher.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlcipher.Row
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = '{_sql_quote(key)}'")
        return conn  # type: ignore[no-any-return]
    return encrypted


async def _connect(connector: Callable[[], sqlite3.Connection]) -> aiosqlite.Connection:
    old_umask = os.umask(0o077)  # -wal and -shm files: owner only
    try:
        conn = aiosqlite.Connection(connector, iter_chunk_size=256)
        try:
            await conn
        except Exception as exc:
            # aiosqlite stops its worker thread but does not wait: left running, it would
            # report to this event loop after it has closed (a thread traceback on stderr).
            # Its thread is not public: waited for when there, and never for long.
            worker = getattr(conn, "_thread", None)
            if isinstance(worker, threading.Thread):
                await asyncio.to_thread(worker.join, WORKER_STOP_SECONDS)
            raise DatabaseError(f"cannot open the database: {_reason(exc)}") from None
        try:
            # A wrong key shows here: the first read fails with "file is not a database".
            await conn.execute_fetchall("SELECT count(*) FROM sqlite_master")
            mode = (await conn.execute_fetchall("PRAGMA journal_mode = WAL"))[0]
            if mode is None or str(mode[0]).lower() != "wal":
                raise DatabaseError("cannot switch the database to WAL mode")
            for pragma in _PRAGMAS:
                await conn.execute(pragma)
        except DatabaseError:
            await conn.close()
            raise
        except Exception as exc:
            await conn.close()
            raise DatabaseError(f"cannot open the database: {_reason(exc)}") from None
        return conn
    finally:
        os.umask(old_umask)


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "not a database" in text:
        return "wrong EWO_DATABASE_KEY, or the file is not an EWO database"
    return text.splitlines()[0] if text else type(exc).__name__


async def _refuse_another_applications(conn: aiosqlite.Connection, path: Path) -> None:
    """A file with tables but no EWO schema version, or a version without the service's
    meta table, is some other application's SQLite database (a mistyped EWO_DATABASE):
    never written into."""
    version = (await conn.execute_fetchall("PRAGMA user_version"))[0][0]
    found = (await conn.execute_fetchall(
        "SELECT count(*), count(CASE WHEN type = 'table' AND name = 'meta' THEN 1 END)"
        " FROM sqlite_master"))[0]
    objects, ours = found[0], found[1]
    if (version == 0 and objects) or (version != 0 and not ours):
        raise DatabaseError(f"{path} is an SQLite database of something else, not EWO Bot's:"
                            " check EWO_DATABASE")


async def _migrate(conn: aiosqlite.Connection) -> None:
    version = (await conn.execute_fetchall("PRAGMA user_version"))[0][0]
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"the database is newer (schema {version}) than this program ({SCHEMA_VERSION})"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[number - 1]
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # Statements one by one: executescript would commit the open transaction.
            for statement in _statements(script):
                await conn.execute(statement)
            for backfill in BACKFILLS.get(number, ()):
                found = await conn.execute_fetchall(backfill.read)
                await conn.executemany(
                    backfill.write, [row for held in found for row in backfill.rows(held)])
            await conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()


def _statements(script: str) -> list[str]:
    """Split a migration into statements (trigger bodies keep their inner semicolons)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
