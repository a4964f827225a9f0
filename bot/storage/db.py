"""The only database access path: one writer and one reader connection, serialised writes
(and, for the hot path's short reads, a query-only connection on the event loop's thread).

SQLite in WAL mode with `synchronous=FULL`, foreign keys, `secure_delete` and a busy
timeout on every connection. Write transactions are `BEGIN IMMEDIATE` under one lock
per process, so a coroutine's write can never ride in another's transaction; readers
use their own connection and see committed data only. With `EWO_DATABASE_KEY` the
file is encrypted with SQLCipher.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import sqlite3
import stat
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.logs import pin_library_loggers
from bot.settings import Settings
from bot.storage.schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 15_000
_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = FULL",
    "PRAGMA secure_delete = ON",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA temp_store = MEMORY",
)


def stamp(moment: datetime) -> str:
    """How a moment is stored: ISO 8601 in UTC, so text comparison is time order."""
    if moment.tzinfo is None:
        raise ValueError("moments must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class DatabaseError(Exception):
    """The database cannot be used; str() is one line for the person at the terminal."""


class StatementCounter:
    """Counts statements sent through Conn and SyncConn (executemany counts once).

    Statements run on the connections' worker threads, so counting takes a lock."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1


Params = Sequence[Any] | dict[str, Any]
P = ParamSpec("P")
R = TypeVar("R")


class SyncConn:
    """The synchronous twin of Conn, for a function that runs as one call on the
    connection's worker thread (`Conn.call`, `Database.read_call`, `Database.write_call`):
    the same helpers and the same rows (`sqlite3.Row`), with no thread hop per statement.

    Only used on that thread, inside the call it was made for."""

    def __init__(self, raw: sqlite3.Connection, audit_key: bytes, writable: bool,
                 counter: StatementCounter) -> None:
        self.raw = raw
        self.audit_key = audit_key
        self.writable = writable
        self._counter = counter

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        self._counter.add()
        cursor = self.raw.execute(sql, params)
        count = cursor.rowcount
        cursor.close()
        return count

    def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row's id."""
        self._counter.add()
        cursor = self.raw.execute(sql, params)
        row_id = cursor.lastrowid
        cursor.close()
        assert row_id is not None
        return row_id

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._counter.add()
        self.raw.executemany(sql, rows).close()

    def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        self._counter.add()
        cursor = self.raw.execute(sql, params)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def fetchone(self, sql: str, params: Params = ()) -> Any:
        self._counter.add()
        cursor = self.raw.execute(sql, params)
        row = cursor.fetchone()
        cursor.close()
        return row

    def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = self.fetchone(sql, params)  # counted there
        return None if row is None else row[0]


def _queue(raw: aiosqlite.Connection,
           fn: Callable[[sqlite3.Connection], R]) -> asyncio.Future[R]:
    """Queue `fn(sqlite3 connection)` on `raw`'s worker thread now, before returning; the
    future is its result (one hop there and back).

    aiosqlite runs each connection's calls one at a time, in the order queued, on its
    own thread: what `Connection._execute` does, except that the call is queued at once,
    not when a coroutine first runs, so a caller holding a lock knows where its call
    stands in the queue. The queue (`_tx`), its `(future, function)` items, `_running`,
    `_connection` and `_conn` are private, so this is the one place that uses them
    (tests/storage/test_db_calls.py checks them on the aiosqlite range pyproject allows).
    """
    if not raw._running or raw._connection is None:  # as _execute: a stopped worker
        raise ValueError("Connection closed")           # would leave the future waiting
    future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
    raw._tx.put_nowait((future, lambda: fn(raw._conn)))
    return future


class Conn:
    """A connection inside a read or write block: a few fetch helpers over aiosqlite.

    Each helper is one hop to the connection's worker thread; `call` runs a whole group
    of statements (a synchronous function over a SyncConn) as one hop."""

    def __init__(self, raw: aiosqlite.Connection, audit_key: bytes, writable: bool,
                 counter: StatementCounter) -> None:
        self.raw = raw
        self.audit_key = audit_key
        self.writable = writable
        self._counter = counter

    async def call(self, fn: Callable[Concatenate[SyncConn, P], R], /,
                   *args: P.args, **kwargs: P.kwargs) -> R:
        """`fn(sync_conn, *args, **kwargs)` on the worker thread, in this block's
        transaction; the event loop carries on meanwhile (a busy database waits there)."""

        def run(raw: sqlite3.Connection) -> R:
            return fn(SyncConn(raw, self.audit_key, self.writable, self._counter),
                      *args, **kwargs)

        return await _queue(self.raw, run)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        return await self.call(SyncConn.execute, sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row's id."""
        return await self.call(SyncConn.insert, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.call(SyncConn.executemany, sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        return await self.call(SyncConn.fetchall, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        return await self.call(SyncConn.fetchone, sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        return await self.call(SyncConn.fetchval, sql, params)


class Database:
    """The service database. Open with :meth:`open`, close with :meth:`close`."""

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
        # Statements issued through Conn, for tests that check a feature's query count.
        self.counter = StatementCounter()
        self._connector = _connector(path, key)
        self._quick: sqlite3.Connection | None = None  # quick_read's, on the loop's thread

    @classmethod
    async def open(cls, settings: Settings, *, create: bool = True) -> Database:
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
            _create_private_file(path)
        elif not path.is_file():
            raise DatabaseError(f"no database at {path}: check EWO_DATABASE "
                                "(`ewobot init` creates one)")
        audit_key = load_audit_key(settings, create=create)
        if settings.pin_pepper is None and settings.pepper_path.exists():
            load_pepper(settings, create=False)  # a loose pepper stops every command
        connector = _connector(path, key)
        writer = await _connect(connector)
        try:
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
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """One serialised write transaction: committed on success, rolled back on error."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Conn(self._writer, self.audit_key, True, self.counter)
            except BaseException:
                await asyncio.shield(self._writer.rollback())
                raise
            await asyncio.shield(self._writer.commit())

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A consistent read-only snapshot on the reader connection."""
        async with self._read_lock:
            await self._reader.execute("BEGIN")
            try:
                yield Conn(self._reader, self.audit_key, False, self.counter)
            finally:
                await asyncio.shield(self._reader.rollback())

    async def write_call(self, fn: Callable[Concatenate[SyncConn, P], R], /,
                         *args: P.args, **kwargs: P.kwargs) -> R:
        """A whole write transaction as one call on the writer's thread: BEGIN IMMEDIATE,
        `fn(sync_conn, *args, **kwargs)`, COMMIT; ROLLBACK and re-raise on error.

        The call is queued under the write lock, so never inside a `write()` block's
        transaction; the writer's thread runs its queue in order, so transactions queued
        one after another run one after another, without a round trip through the event
        loop between them (the lock is not held meanwhile). The event loop carries on
        while the call waits for a database another process keeps busy. A caller
        cancelled meanwhile does not cut the transaction short: it commits or rolls back
        before the next one begins."""
        return await self._queued(self._write_lock, self._writer, "BEGIN IMMEDIATE", True,
                                  lambda conn: fn(conn, *args, **kwargs))

    async def read_call(self, fn: Callable[Concatenate[SyncConn, P], R], /,
                        *args: P.args, **kwargs: P.kwargs) -> R:
        """`read()` as one call on the reader's thread: one consistent snapshot for
        `fn(sync_conn, *args, **kwargs)`; the reader connection is query-only. Queued
        under the read lock, so never inside a `read()` block (as `write_call`)."""
        return await self._queued(self._read_lock, self._reader, "BEGIN", False,
                                  lambda conn: fn(conn, *args, **kwargs))

    async def _queued(self, lock: asyncio.Lock, raw: aiosqlite.Connection, begin: str,
                      writable: bool, fn: Callable[[SyncConn], R]) -> R:
        """`fn` as a transaction of its own on `raw`'s thread, queued under `lock`."""
        async with lock:
            result = _queue(raw, functools.partial(
                _transaction, begin, writable, self.audit_key, self.counter, fn))
        return await result

    async def quick_read(self, fn: Callable[Concatenate[SyncConn, P], R], /,
                         *args: P.args, **kwargs: P.kwargs) -> R:
        """`read_call` run on the event loop's own thread, for a handful of index
        lookups on every update (the gate's, the search's, a card's): no hop to a worker thread,
        and no wait for Python's interpreter lock on the way back.

        It never waits for the database either (busy timeout 0): should another
        process keep it busy, the read goes the worker's way (`read_call`), where the
        waiting does not hold up every chat. Only for short reads: a long one would."""
        try:
            return _transaction("BEGIN", False, self.audit_key, self.counter,
                                lambda conn: fn(conn, *args, **kwargs), self._quick_conn())
        except self._operational_errors:
            return await self.read_call(fn, *args, **kwargs)

    def _quick_conn(self) -> sqlite3.Connection:
        """quick_read's connection, opened on first use (on the event loop's thread,
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
                row = (await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))[0]
            if row[0] == 0:
                return
            await asyncio.sleep(0.05)  # another process holds a read or write transaction
        raise DatabaseError("the write-ahead log could not be checkpointed (busy); try again")

    async def scrub(self, attempts: int = 50) -> None:
        """Rebuild the file from the rows it holds (VACUUM), then checkpoint: after a
        disposal, nothing deleted can be read back from the database's files.

        secure_delete zeroes a row where it is deleted, but a page rebuilt earlier (rows
        moved by inserts and deletes around them) can still hold an old copy of a row in
        its free space; only rebuilding the file clears those. It takes this process's
        writers for as long as it runs (about a second for 50 MB), so it is for
        disposals, never the hot path. DatabaseError when another process keeps the
        database busy (try again later).
        """
        async with self._write_lock, self._read_lock, self._not_waiting():
            try:
                await self._writer.execute_fetchall("VACUUM")
            except self._operational_errors:
                raise DatabaseError("the database could not be rebuilt (busy); try again") from None
        await self.checkpoint(attempts)

    @asynccontextmanager
    async def _not_waiting(self) -> AsyncIterator[None]:
        """The writer gives up at once on a busy database instead of waiting the busy
        timeout (which would hold this process's locks, and so every chat, meanwhile).
        Statements are read to the end: one left open would block VACUUM.

        Taken with both locks held; calls queued on the reader before them (read_call)
        are let finish first, so this process holds no snapshot meanwhile (the writer's
        queue runs before the pragma anyway)."""
        await _queue(self._reader, lambda raw: None)
        await self._writer.execute_fetchall("PRAGMA busy_timeout = 0")
        try:
            yield
        finally:
            await self._writer.execute_fetchall(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    async def backup(self, target: Path) -> None:
        """Copy the whole database, online (SQLite backup API), to a new 0600 file.

        The copy is encrypted with the same key when the database is."""
        if target.exists():
            raise DatabaseError(f"{target.name} already exists; choose a new file")
        _create_private_file(target)
        copy = _connector(target, self._key)()
        try:
            async with self._write_lock:
                await self._writer.backup(copy)
        finally:
            copy.close()


def _transaction(begin: str, writable: bool, audit_key: bytes, counter: StatementCounter,
                 fn: Callable[[SyncConn], R], raw: sqlite3.Connection) -> R:
    """`fn` in a transaction of its own on `raw` (on its worker thread, or the event
    loop's for quick_read), committed only when writable and `fn` returned; rolled back
    otherwise."""
    raw.execute(begin).close()
    try:
        result = fn(SyncConn(raw, audit_key, writable, counter))
        if writable:
            raw.commit()
    finally:
        if raw.in_transaction:
            raw.rollback()
    return result


def _sql_quote(text: str) -> str:
    return text.replace("'", "''")


def _create_private_file(path: Path) -> None:
    """Create the data folder 0700 and an empty file 0600 before SQLite does (umask)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)


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


def load_audit_key(settings: Settings, *, create: bool = True) -> bytes:
    """The audit chain's key: EWO_AUDIT_KEY, else EWO_AUDIT_KEY_FILE, else a key generated
    once into a 0600 file beside the database (when `create`)."""
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode()
    return _key_file(settings.audit_key_path, "EWO_AUDIT_KEY_FILE",
                     generated=settings.audit_key_file is None, create=create)


def load_pepper(settings: Settings, *, create: bool = True) -> bytes:
    """The PIN pepper: EWO_PIN_PEPPER, else EWO_PIN_PEPPER_FILE, else one generated once
    into a 0600 file beside the database (when `create`)."""
    if settings.pin_pepper is not None:
        return settings.pin_pepper.get_secret_value().strip().encode()
    return _key_file(settings.pepper_path, "EWO_PIN_PEPPER_FILE",
                     generated=settings.pin_pepper_file is None, create=create)


def check_private_files(path: Path) -> None:
    """Refuse a database whose folder group or others can write, or whose file (or -wal,
    -shm) they can read or write, as ssh's strict modes do: never used silently."""
    folder = path.parent
    if folder.is_dir() and folder.stat().st_mode & 0o022:
        raise DatabaseError(f"refused: the data folder {folder} can be written by group or "
                            f"others (mode {_mode(folder)}); chmod 700 it")
    for file in (path, *(path.with_name(path.name + tail) for tail in ("-wal", "-shm"))):
        if file.exists() and file.stat().st_mode & 0o077:
            raise DatabaseError(f"refused: {file} is open to group or others "
                                f"(mode {_mode(file)}); chmod 600 it")


def _mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def _key_file(path: Path, setting: str, *, generated: bool, create: bool) -> bytes:
    """A key read from a private, non-empty file; a file generated beside the database
    is made when missing (and `create`), one named by a setting never is."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not generated:
            raise DatabaseError(f"{setting}: no such file {path}") from None
        if not create:
            raise DatabaseError(f"no key file {path}: the database's keys are kept there "
                                "(`ewobot init` creates it)") from None
        return _generate_key_file(path)
    if mode & 0o077:
        raise DatabaseError(f"refused: key file {path} can be read by group or others "
                            f"(mode {_mode(path)}); chmod 600 it")
    value = path.read_bytes().strip()
    if not value:
        raise DatabaseError(f"refused: key file {path} is empty")
    return value


def _generate_key_file(path: Path) -> bytes:
    """A new random key in a 0600 file, which appears whole or not at all (a process
    starting meanwhile never reads it empty)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:  # another process made it first: theirs is the key
            return _key_file(path, "", generated=True, create=False)
    finally:
        draft.unlink()
    return value
