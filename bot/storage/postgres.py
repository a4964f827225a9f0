"""The PostgreSQL backend (EWO_DATABASE_URL): the same Database and Conn interface as SQLite.

Storage functions are written once, `async def some_query(conn, ...)`, with SQLite's
`?` (or `:name`) placeholders; here they are turned into psycopg's `%s` (`%(name)s`)
and every literal `%` doubled, once per distinct SQL text. The translation reads string
literals, quoted names and comments as such, so a `?`, `:x` or `%` inside them stays
text (dollar-quoted bodies are not read: storage SQL has none; migrations, which do,
are run as they are).

Transactions:
- `read(fn, …)` runs in one REPEATABLE READ READ ONLY transaction: one snapshot. Its
  result is returned once `fn` has it; the transaction is ended (COMMIT) on the side
  before the connection goes back to the pool: ending a read-only transaction changes
  nothing, so no caller waits for it. A `@one_statement` read (the gate's) is one
  SELECT, a snapshot by itself: it runs in autocommit, with no BEGIN or COMMIT.
- `write(fn, …)` runs in one READ COMMITTED transaction: every statement sees what was
  committed before it started, so a function that reads and then writes on the
  strength of what it read (the audit chain's head, a code claim, an import's diff)
  takes `conn.lock(name)` first; every transaction taking the same name then runs one
  at a time, on any instance (`pg_advisory_xact_lock`, freed at COMMIT/ROLLBACK).
  Row locks (`SELECT … FOR UPDATE`) and `ON CONFLICT` serve where one row is at stake.
- A deadlock or serialisation failure, a lock wait past a `lock_timeout` the operator
  set, or a connection lost before COMMIT was sent, rolls back and runs `fn` again, a
  bounded number of times, so `fn` must be safe to run twice: database work only, no
  Telegram call, nothing sent, nothing appended to a list outside it. Still busy (or
  away) after the last try: `StayedBusy`, a `DatabaseBusy` as SQLite's locked database
  is, nothing of it saved. A connection lost *during* COMMIT is never retried (the change may
  or may not be in): DatabaseError, so no caller tells anyone it was saved.

Why psycopg 3 (not asyncpg): it is libpq itself, so `EWO_DATABASE_URL` takes every
libpq URL option (sslmode, sslrootcert, target_session_attrs, service files); it has
COPY for bulk imports, prepares repeated statements on the server by itself, offers
one library for synchronous and asyncio code, and ships binary wheels with a pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import random
import re
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Dumper, Loader
from psycopg.pq import TransactionStatus
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.logs import pin_library_loggers
from bot.settings import DatabaseUrl, Settings
from bot.storage import schema, schema_postgres
from bot.storage.base import BACKENDS
from bot.storage.db import (
    Conn,
    Database,
    DatabaseBusy,
    DatabaseError,
    StatementCounter,
    is_one_statement,
    load_audit_key,
    load_pepper,
    one_statement,
)

P = ParamSpec("P")
R = TypeVar("R")
Params = Sequence[Any] | Mapping[str, Any]

DIALECT = "postgres"
READ_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
WRITE_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"


class DatabaseUnavailable(DatabaseError):
    """The database could not be reached, or stayed busy, after the bounded retries (or
    the connection was lost while saving)."""


class StayedBusy(DatabaseUnavailable, DatabaseBusy):
    """A transaction still busy, or its database out of reach, after the bounded retries:
    rolled back each time, nothing of it saved, so the request can be made again."""


# --- SQL translation -------------------------------------------------------------------


def translate(sql: str) -> str:
    """SQLite-style SQL as psycopg takes it: `?` → `%s`, `:name` → `%(name)s`, `%` → `%%`.

    Literals ('…', with '' inside), quoted names ("…") and comments are copied as they
    are but for `%`, which psycopg reads everywhere. `?NNN` and a mix of `?` and `:name`
    in one statement are refused (ValueError): neither is portable."""
    return _scan(sql)[0]


@functools.lru_cache(maxsize=4096)
def _scan(sql: str) -> tuple[str, str]:
    """(the translated SQL, the SQL's own words without literals and comments)."""
    out: list[str] = []
    code: list[str] = []
    styles: set[str] = set()
    i, n = 0, len(sql)
    while i < n:
        end = _skipped_end(sql, i)
        if end is not None:  # a literal, quoted name or comment: text, not SQL
            out.append(sql[i:end].replace("%", "%%"))
            code.append(" ")
            i = end
            continue
        char = sql[i]
        if char == "?":
            if i + 1 < n and sql[i + 1].isdigit():
                raise ValueError("numbered ?NNN placeholders are SQLite's: use ? or :name")
            styles.add("?")
            piece, i = "%s", i + 1
        elif char == ":" and _named_at(sql, i):
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            styles.add(":")
            piece, i = f"%({sql[i + 1:end]})s", end
        elif sql.startswith("::", i):
            piece, i = "::", i + 2  # a cast, never a placeholder
        else:
            piece, i = ("%%" if char == "%" else char), i + 1
        out.append(piece)
        code.append(piece)
    if len(styles) > 1:
        raise ValueError("one statement mixes ? and :name placeholders")
    return "".join(out), "".join(code)


def _skipped_end(sql: str, i: int) -> int | None:
    """Where the literal, quoted name or comment starting at i ends; None if none does."""
    char = sql[i]
    if char in "'\"":
        return _closing(sql, i, char)
    if sql.startswith("--", i):
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end
    if sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return len(sql) if end < 0 else end + 2
    return None


def _closing(sql: str, start: int, quote: str) -> int:
    """The index just past the literal or quoted name opened at `start` (a doubled
    quote stays inside); the end of the text when it is never closed."""
    i = start + 1
    while True:
        end = sql.find(quote, i)
        if end < 0:
            return len(sql)
        if sql.startswith(quote * 2, end):
            i = end + 2
            continue
        return end + 1


def _named_at(sql: str, i: int) -> bool:
    """A `:name` placeholder starts at i (not `::`, not the second colon of a cast)."""
    nxt = sql[i + 1] if i + 1 < len(sql) else ""
    prev = sql[i - 1] if i > 0 else ""
    return (nxt.isalpha() or nxt == "_") and prev != ":"


@functools.lru_cache(maxsize=1024)
def insert_sql(sql: str) -> str:
    """An INSERT that returns the new row's id: ` RETURNING id` appended unless it
    already returns something."""
    translated = translate(sql)
    if _returns(sql):
        return translated
    return translated.rstrip().rstrip(";") + " RETURNING id"


def _returns(sql: str) -> bool:
    return re.search(r"\bRETURNING\b", _scan(sql)[1], re.IGNORECASE) is not None


@functools.lru_cache(maxsize=256)
def lock_key(name: str) -> int:
    """A stable signed 64-bit number for an advisory lock name (the same on every
    instance and every Python: not hash(), which is salted per process)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# --- rows and types --------------------------------------------------------------------


class Row(Sequence[Any]):
    """A result row like sqlite3.Row: `row["column"]` (any case), `row[0]`, `dict(row)`,
    iteration over the values, `keys()`."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence[Any], index: Mapping[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            position = self._index.get(key)
            if position is None:
                position = self._index.get(key.lower())
                if position is None:
                    raise IndexError(f"no such column: {key}")
            return self._values[position]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._index == other._index and tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def __repr__(self) -> str:
        return f"<Row {len(self._values)} columns>"  # values may be personal data


def _row_factory(cursor: psycopg.AsyncCursor[Any]) -> RowMaker[Row]:
    description = cursor.description or ()
    index: dict[str, int] = {}
    for position, column in enumerate(description):
        index.setdefault(column.name, position)
        index.setdefault(column.name.lower(), position)

    def make(values: Sequence[Any]) -> Row:
        return Row(values, index)
    return make


class _BoolAsInteger(Dumper):
    """True/False go in as 1/0: the schema's flags are integers, as in SQLite."""

    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _DateAsText(Dumper):
    """A date goes in as `YYYY-MM-DD` text and a datetime as sqlite3's default adapter
    writes it (`isoformat(" ")`): the schema keeps dates and moments as text."""

    oid = psycopg.postgres.types["text"].oid

    def dump(self, obj: Any) -> bytes:
        text = obj.isoformat(" ") if isinstance(obj, datetime) else obj.isoformat()
        return text.encode()


class _NumericAsNumber(Loader):
    """NUMERIC (what SUM of a BIGINT and AVG give) comes back as int or float, as SQLite
    gives it; the schema itself has no NUMERIC column, so no precision is lost."""

    def load(self, data: Any) -> int | float:
        text = bytes(data)
        if text.lstrip(b"-").isdigit():
            return int(text)
        return float(text)


async def _configure(raw: psycopg.AsyncConnection[Any]) -> None:
    raw.adapters.register_dumper(bool, _BoolAsInteger)
    raw.adapters.register_dumper(date, _DateAsText)
    raw.adapters.register_dumper(datetime, _DateAsText)
    raw.adapters.register_loader("numeric", _NumericAsNumber)
    raw.row_factory = _row_factory  # type: ignore[assignment]


# --- the connection inside a transaction -----------------------------------------------


# More rows than this go by executemany at once (an import's thousands of alert entries):
# one pipelined statement each is cheap for a few, not for thousands.
WITH_NEXT_AT_MOST = 64


class PgConn:
    """One transaction's connection: the Conn interface over a psycopg connection.

    `await connection()` is the psycopg connection itself, for what only PostgreSQL has
    (COPY for a bulk import); SQL through the helpers is translated, SQL on it is not."""

    dialect = DIALECT

    def __init__(self, raw: psycopg.AsyncConnection[Any], audit_key: bytes, writable: bool,
                 counter: StatementCounter, begin: str | None = None) -> None:
        self._raw = raw
        self.audit_key = audit_key
        self.writable = writable
        self._counter = counter
        # Statements whose answers nobody reads (the transaction's BEGIN, an advisory
        # lock), sent in one pipeline with the next statement: one round trip for all.
        self._pending: list[tuple[str, Params]] = [] if begin is None else [(begin, ())]
        self._writes_pending = False  # rows waiting in _pending: COMMIT must send them
        self.begun = False  # BEGIN has been sent: there is a transaction to end
        # No BEGIN: a @one_statement read, one SELECT in autocommit, its own snapshot.
        self._one_statement = begin is None
        self._sent = False

    def _one_more(self, sql: str | None) -> None:
        """Refuse what a @one_statement read may not send: a second statement, or one
        that is not a SELECT (`sql` None: a lock, a stream, the raw connection)."""
        if not self._one_statement:
            return
        if self._sent or sql is None or sql.lstrip()[:6].upper() != "SELECT":
            raise RuntimeError("a @one_statement read sends one SELECT and nothing else")
        self._sent = True

    async def _cursor(self, sql: str, params: Params | None) -> psycopg.AsyncCursor[Any]:
        self._one_more(sql)
        self._counter.add()
        values = () if params is None else params
        try:
            if not self._pending:
                return await self._raw.execute(sql, values)
            return (await self._send_pending((sql, values)))[-1]
        except psycopg.Error as exc:
            raise _terse(exc) from None

    async def connection(self) -> psycopg.AsyncConnection[Any]:
        """The psycopg connection, inside this transaction (its BEGIN sent)."""
        self._one_more(None)
        try:
            await self._send_pending()
        except psycopg.Error as exc:
            raise _terse(exc) from None
        return self._raw

    async def _send_pending(self, *then: tuple[str, Params]
                            ) -> list[psycopg.AsyncCursor[Any]]:
        """Send what waits for the next statement, with `then` (in one pipeline: one
        round trip), before psycopg sends anything itself; the cursors of `then`."""
        statements, self._pending = [*self._pending, *then], []
        self._writes_pending = False
        if not statements:
            return []
        self.begun = not self._one_statement
        cursors = []
        async with self._raw.pipeline():
            for text, given in statements:
                cursors.append(await self._raw.execute(text, given))
        return cursors[len(cursors) - len(then):]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        cursor = await self._cursor(translate(sql), params)
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row's id (0 when ON CONFLICT DO NOTHING
        inserted none)."""
        cursor = await self._cursor(insert_sql(sql), params)
        row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._counter.add()
        async with (await self.connection()).cursor() as cursor:
            try:
                await cursor.executemany(translate(sql), rows)
            except psycopg.Error as exc:
                raise _terse(exc) from None

    async def executemany_with_next(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Rows to write with the next statement, or the COMMIT: no round trip of their own."""
        self._one_more(None)
        rows = list(rows)
        if not self.writable or len(rows) > WITH_NEXT_AT_MOST:
            await self.executemany(sql, rows)  # a read refuses it as any write
            return
        self._counter.add()
        text = translate(sql)
        self._pending += [(text, tuple(row)) for row in rows]
        self._writes_pending = True

    async def commit(self) -> None:
        """End the transaction: COMMIT, with the rows still waiting to be written."""
        if self._writes_pending:
            await self._send_pending(("COMMIT", ()))
        elif self.begun:
            await self._raw.execute("COMMIT")

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        cursor = await self._cursor(translate(sql), params)
        return await cursor.fetchall()

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        cursor = await self._cursor(translate(sql), params)
        return await cursor.fetchone()

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def fetchall_together(self, *queries: tuple[str, Params]) -> list[list[Any]]:
        """Every row of each query: all sent in one pipeline, one round trip."""
        for sql, _ in queries:
            self._one_more(sql)
            self._counter.add()
        try:
            cursors = await self._send_pending(
                *((translate(sql), () if params is None else params) for sql, params in queries))
            return [await cursor.fetchall() for cursor in cursors]
        except psycopg.Error as exc:
            raise _terse(exc) from None

    async def lock(self, name: str) -> None:
        """Hold the lock `name` until this transaction ends: every other transaction
        taking it, on any instance, waits meanwhile."""
        self._one_more(None)
        self._counter.add()
        # Taken on the server before the next statement runs, sent in one go with it.
        self._pending.append(("SELECT pg_advisory_xact_lock(%s)", (lock_key(name),)))

    async def stream(self, sql: str, params: Params = ()) -> AsyncIterator[Any]:
        """The rows of a large query as the server sends them, not all held at once."""
        self._counter.add()
        async with (await self.connection()).cursor() as cursor:
            try:
                async for row in cursor.stream(translate(sql), params):
                    yield row
            except psycopg.Error as exc:
                raise _terse(exc) from None


def _terse(exc: psycopg.Error) -> psycopg.Error:
    """The error with its primary message only. The server's DETAIL ("Key (upn)=(…)
    already exists", "Failing row contains (…)") would carry row values, a child's name
    among them, into str(error) and so into any log line, where SQLite's messages name
    only the constraint; the fields stay on `error.diag` for code that needs them."""
    primary = exc.diag.message_primary
    if primary:
        exc.args = (primary,)
    return exc


# --- the database ----------------------------------------------------------------------


class _Retry(Exception):
    """A transaction that may run again: busy, or its connection was lost before COMMIT."""


class PostgresDatabase(Database):
    """The service database on PostgreSQL. Open with :meth:`open`, close with :meth:`close`.

    `read(fn, …)` and `write(fn, …)` run `await fn(conn, …)` in one transaction each
    (see the module's docstring for isolation and retries)."""

    dialect = DIALECT

    def __init__(self, url: DatabaseUrl, pool: AsyncConnectionPool[Any], audit_key: bytes, *,
                 attempts: int) -> None:
        self.url = url
        self.audit_key = audit_key
        self.counter = StatementCounter()
        self._pool = pool
        self._attempts = attempts
        self._ending: set[asyncio.Task[None]] = set()  # read transactions being ended

    def __repr__(self) -> str:
        return f"<PostgresDatabase {self.url.redacted}>"

    @classmethod
    async def open(cls, settings: Settings, *, create: bool = True, pool_size: int = 10,
                   attempts: int = 4, wait_seconds: float = 5.0) -> PostgresDatabase:
        """Connect to EWO_DATABASE_URL and migrate it (with `create=False`, a database
        without the current schema is a DatabaseError: nothing is created).

        `attempts` bounds how often a transaction runs before DatabaseUnavailable;
        `wait_seconds` how long each waits for a connection."""
        pin_library_loggers()
        url = settings.database_url
        if url is None:
            raise DatabaseError("EWO_DATABASE_URL is not set")
        audit_key = load_audit_key(settings, create=False)
        load_pepper(settings, create=False)  # a missing or loose pepper file stops here
        conninfo = _conninfo(url, wait_seconds)
        try:
            first = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to {url.redacted}: {_reason(exc, url)}") from None
        try:
            await migrate(first, create=create)
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot migrate {url.redacted}: {_reason(exc, url)}") from None
        finally:
            await first.close()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            conninfo, min_size=min(2, pool_size), max_size=pool_size, open=False,
            kwargs={"autocommit": True}, configure=_configure, name="ewo",
            timeout=wait_seconds)
        try:
            await pool.open(wait=True, timeout=wait_seconds)
        except PoolTimeout:
            await pool.close()
            raise DatabaseUnavailable(f"cannot connect to {url.redacted}") from None
        return cls(url, pool, audit_key, attempts=attempts)

    async def close(self) -> None:
        while self._ending:  # the reads' COMMITs, then their connections back in the pool
            await asyncio.gather(*self._ending, return_exceptions=True)
        await self._pool.close()

    async def checkpoint(self, attempts: int = 50) -> None:
        """Write every changed page to the data files and start a new checkpoint
        (`CHECKPOINT`: the role needs pg_checkpoint): what disposal rewrote reaches the
        files, and the WAL before it is no longer needed (recycled or removed, unless
        an archive, wal_keep_size or a replication slot keeps it: see the README)."""
        await self._outside_transaction(["CHECKPOINT"], attempts)

    async def scrub(self, attempts: int = 50) -> None:
        """Rewrite every table a disposal deletes from (`VACUUM FULL`: new files holding
        only the live rows, their indexes and TOAST tables rebuilt, the old files
        truncated at once), then checkpoint: after a disposal, nothing deleted can be
        read back from the data files. pg_statistic never held the values: personal
        columns have no statistics (schema_postgres.PERSONAL_COLUMNS).

        Each table is locked while it is rewritten (reads of it wait), so this is for
        disposals, never the hot path; an attempt gives up after a short lock wait
        rather than queue every chat behind a long transaction. DatabaseBusy when
        the tables stay busy (the retention job tries again)."""
        tables, may_switch = await self.read(_disposal_tables)
        await self._wait_for_older_transactions(attempts)
        await self._outside_transaction(
            [f"VACUUM (FULL) {_quoted(table)}" for table in tables], attempts)
        if may_switch:
            # The WAL segment being written holds the deleted rows until it is full:
            # switched now, the checkpoint lets it go (removed, with wal_recycle off).
            await self._outside_transaction(["SELECT pg_switch_wal()"], attempts)
        await self.checkpoint(attempts)

    async def _wait_for_older_transactions(self, attempts: int) -> None:
        """Until no transaction that began before now is open: VACUUM FULL copies a
        deleted row into the new file while one that may still read it lasts (a session
        left in a transaction, a long import or report, a standby's feedback, a slot).
        Waits about as long as a lock wait, then DatabaseBusy: the disposal's clean-up
        stays owed and the retention job tries again."""
        since = await self.read(_next_transaction)
        for attempt in range(1, attempts + 1):
            if not await self.read(_transactions_before, since):
                return
            if attempt < attempts:
                await asyncio.sleep(0.05 * (0.5 + random.random()))
        raise DatabaseBusy("the database stayed busy: a transaction older than the disposal"
                            " is still open, so the files cannot be cleaned yet; try again")

    async def _outside_transaction(self, statements: Sequence[str], attempts: int) -> None:
        """Run each statement on its own (VACUUM and CHECKPOINT cannot run inside a
        transaction block: pool connections are in autocommit), waiting at most
        SCRUB_LOCK_WAIT for a lock, a statement retried up to `attempts` times."""
        for statement in statements:
            for attempt in range(1, attempts + 1):
                try:
                    async with self._pool.connection() as raw:
                        await raw.execute(f"SET lock_timeout = '{SCRUB_LOCK_WAIT}'")
                        try:
                            await raw.execute(statement)
                        finally:
                            if not raw.broken:
                                await raw.execute("RESET lock_timeout")
                    break
                except (pg_errors.LockNotAvailable, pg_errors.DeadlockDetected, PoolTimeout):
                    if attempt == attempts:
                        raise DatabaseBusy(f"the database stayed busy: {statement.split()[0]}"
                                            " could not run; try again") from None
                    await asyncio.sleep(0.05 * (0.5 + random.random()))
                except psycopg.Error as exc:
                    raise DatabaseError(f"{statement.split()[0]} failed: "
                                        f"{_reason(_terse(exc), self.url)}") from None

    async def read(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                   *args: P.args, **kwargs: P.kwargs) -> R:
        """`await fn(conn, *args, **kwargs)` in one read-only snapshot; its result (a
        @one_statement read: its one SELECT on its own, with no BEGIN and no COMMIT)."""
        begin = None if is_one_statement(fn) else READ_BEGIN
        return await self._run(begin, False, lambda conn: fn(conn, *args, **kwargs))

    async def write(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                    *args: P.args, **kwargs: P.kwargs) -> R:
        """`await fn(conn, *args, **kwargs)` in one write transaction, committed when it
        returns, rolled back when it raises; run again after a deadlock, a serialisation
        failure or a connection lost before COMMIT, so `fn` must be safe to repeat."""
        return await self._run(WRITE_BEGIN, True, lambda conn: fn(conn, *args, **kwargs))

    async def _run(self, begin: str | None, writable: bool,
                   call: Callable[[PgConn], Awaitable[R]]) -> R:
        delay = 0.05
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._once(begin, writable, call)
            except _Retry as retry:
                if attempt == self._attempts:
                    raise StayedBusy(
                        f"the database did not answer after {attempt} attempts: {retry}"
                    ) from None
            await asyncio.sleep(delay * (0.5 + random.random()))  # apart, not in step
            delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    async def _once(self, begin: str | None, writable: bool,
                    call: Callable[[PgConn], Awaitable[R]]) -> R:
        try:
            raw = await self._pool.getconn()
        except PoolTimeout:
            raise _Retry("no connection could be had in time") from None
        handed_on = False
        try:
            # BEGIN goes with the transaction's first statement (one round trip for
            # both); a transaction that sent no statement has nothing to end.
            conn = PgConn(raw, self.audit_key, writable, self.counter, begin)
            result = await self._transaction(raw, conn, call)
            if conn.begun and not writable:
                self._end_read(raw)
                handed_on = True
            return result
        finally:
            if not handed_on:
                await self._pool.putconn(raw)

    def _end_read(self, raw: psycopg.AsyncConnection[Any]) -> None:
        """End a read transaction whose result is already in hand, then give the
        connection back: on the side, so that no reader waits for the round trip."""
        async def end() -> None:
            try:
                with contextlib.suppress(psycopg.Error):  # a lost one: the pool drops it
                    await raw.execute("COMMIT")
            finally:
                await self._pool.putconn(raw)
        task = asyncio.create_task(end(), name="read transaction end")
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _transaction(self, raw: psycopg.AsyncConnection[Any], conn: PgConn,
                           call: Callable[[PgConn], Awaitable[R]]) -> R:
        committing = False
        try:
            result = await call(conn)
            committing = True
            if conn.writable:
                await asyncio.shield(conn.commit())
            return result
        except BaseException as exc:
            lost = isinstance(exc, psycopg.OperationalError) and raw.broken
            if committing and lost:
                raise DatabaseUnavailable("the connection to the database was lost while "
                                          "saving: the change may not have been saved") from None
            # A failed COMMIT has ended the transaction already; rows sent with it that
            # failed left it aborted, the COMMIT not run.
            if not raw.broken and raw.info.transaction_status != TransactionStatus.IDLE:
                await _rollback(raw)
            if lost:
                raise _Retry(_reason(exc, self.url)) from None
            if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected
                          | pg_errors.LockNotAvailable):
                raise _Retry("the database stayed busy") from None
            raise


SCRUB_LOCK_WAIT = "2s"


async def _disposal_tables(conn: Conn) -> tuple[list[str], bool]:
    """The tables a disposal deletes from: each with a pupil_id column, and each with
    personal columns, but the audit trail, which is never deleted from. Read from the
    catalogue, so a table added later is rewritten too. With them, whether this role
    may switch WAL segments (granted pg_switch_wal, optional: see the README)."""
    rows = await conn.fetchall(
        "SELECT DISTINCT c.relname FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        " AND a.attname = 'pupil_id' AND NOT a.attisdropped")
    found = {str(row[0]) for row in rows} | set(schema_postgres.PERSONAL_COLUMNS)
    found.add("meta")  # it names a disposed record's exports until they are deleted
    may_switch = await conn.fetchval(
        "SELECT has_function_privilege('pg_switch_wal()', 'EXECUTE')")
    return sorted(found - {"audit"}), bool(may_switch)


@one_statement
async def _next_transaction(conn: Conn) -> str:
    """The id the next transaction will get: every one below it has begun already."""
    return str(await conn.fetchval("SELECT pg_snapshot_xmax(pg_current_snapshot())::text"))


@one_statement
async def _transactions_before(conn: Conn, since: str) -> bool:
    """Whether anything but this session keeps a transaction (or a snapshot) that began
    before `since` and may read rows deleted since: a session of this database (of any
    role: these two columns are shown to every role), a walsender's standby feedback,
    a replication slot, a prepared transaction. A (lazy) VACUUM's own holds no rows back;
    it is told by its progress row, as another role's backend_type is not shown."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
        " AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum)"
        " AND (datname = current_database() OR datname IS NULL)"
        " AND (age(backend_xmin) > age(xid(CAST(? AS xid8)))"
        " OR age(backend_xid) > age(xid(CAST(? AS xid8)))))"
        " OR EXISTS (SELECT 1 FROM pg_replication_slots"
        " WHERE age(xmin) > age(xid(CAST(? AS xid8))))"
        " OR EXISTS (SELECT 1 FROM pg_prepared_xacts"
        " WHERE age(transaction) > age(xid(CAST(? AS xid8))))",
        (since, since, since, since)))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _rollback(raw: psycopg.AsyncConnection[Any]) -> None:
    """Roll back, whatever the caller is going through (cancelled, failed); a connection
    that fails meanwhile is left for the pool to discard."""
    with contextlib.suppress(psycopg.Error):
        await asyncio.shield(raw.execute("ROLLBACK"))


def _conninfo(url: DatabaseUrl, wait_seconds: float) -> str:
    """The URL, with a connect timeout and application name unless it names its own;
    DatabaseError (one line, no password) for a URL libpq cannot read (a query
    parameter it does not know, a bad %-escape): a mistyped setting, not a bug."""
    try:
        given = psycopg.conninfo.conninfo_to_dict(url.get_secret_value())
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot use {url.redacted}: {_reason(exc, url)}") from None
    extra: dict[str, Any] = {}
    if "connect_timeout" not in given:
        extra["connect_timeout"] = max(2, int(wait_seconds))
    if "application_name" not in given:
        extra["application_name"] = "ewobot"
    # A server cut off by the network is noticed within a minute or so, not after
    # TCP's own two hours: the transaction then fails and is retried or reported.
    for key, value in (("keepalives_idle", 30), ("keepalives_interval", 10),
                       ("keepalives_count", 3), ("tcp_user_timeout", 60_000)):
        if key not in given:
            extra[key] = value
    # Every statement the bot sends reads or writes a few rows through an index: the
    # planner's guesses about names (kept out of its statistics) made it start parallel
    # workers for a search, at a few milliseconds each. The statements psycopg prepares
    # (those a connection runs five times or more: a chat's searches, cards, the gate)
    # keep one plan instead of being planned again at each run: a supervisor's search
    # took 3 to 4 ms to plan and under 1 ms to run (bench/results.md, 2026-12-06).
    # A URL's own options win.
    if "options" not in given:
        extra["options"] = ("-c max_parallel_workers_per_gather=0"
                            " -c plan_cache_mode=force_generic_plan")
    return psycopg.conninfo.make_conninfo(url.get_secret_value(), **extra)


def _reason(exc: BaseException, url: DatabaseUrl) -> str:
    """The first line of a driver error, with the password (should libpq quote it) hidden."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    for password in url.passwords:
        text = text.replace(password, "***")
    return text


async def migrate(raw: psycopg.AsyncConnection[Any], *, create: bool = True) -> int:
    """Bring the schema to SCHEMA_VERSION under an advisory lock (instances starting
    together migrate once, one after the other); returns the version found.

    With `create=False` nothing is written: a database behind this program is refused."""
    if not create:
        return await _check_version(raw)
    async with raw.transaction():
        await raw.execute("SELECT pg_advisory_xact_lock(%s)",
                          (lock_key(schema_postgres.MIGRATION_LOCK),))
        await raw.execute(
            f"CREATE TABLE IF NOT EXISTS {schema_postgres.VERSION_TABLE} ("
            " singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),"
            " version INTEGER NOT NULL)")
        found = await _version(raw)
        _refuse_newer(found)
        for number in range(found + 1, schema_postgres.SCHEMA_VERSION + 1):
            # A script without parameters goes as one simple query: many statements,
            # function bodies included.
            await raw.execute(schema_postgres.MIGRATIONS[number - 1].encode())
            for backfill in schema.BACKFILLS.get(number, ()):
                await _backfill(raw, backfill)
            await raw.execute(
                f"INSERT INTO {schema_postgres.VERSION_TABLE} (version) VALUES (%s)"
                " ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version", (number,))
    return found


async def _backfill(raw: psycopg.AsyncConnection[Any], backfill: schema.Backfill) -> None:
    """A migration's rows computed here (schema.BACKFILLS), as on SQLite."""
    cursor = await raw.execute(backfill.read)
    rows = [row for held in await cursor.fetchall() for row in backfill.rows(held)]
    async with raw.cursor() as writing:
        await writing.executemany(translate(backfill.write), rows)


async def _version(raw: psycopg.AsyncConnection[Any]) -> int:
    cursor = await raw.execute(f"SELECT version FROM {schema_postgres.VERSION_TABLE}")
    row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


async def _check_version(raw: psycopg.AsyncConnection[Any]) -> int:
    cursor = await raw.execute("SELECT to_regclass(%s)", (schema_postgres.VERSION_TABLE,))
    row = await cursor.fetchone()
    found = 0 if row is None or row[0] is None else await _version(raw)
    _refuse_newer(found)
    if found < schema_postgres.SCHEMA_VERSION:
        raise DatabaseError(f"the database has schema {found}, this program needs "
                            f"{schema_postgres.SCHEMA_VERSION}: run `ewobot init`")
    return found


def _refuse_newer(found: int) -> None:
    if found > schema_postgres.SCHEMA_VERSION:
        raise DatabaseError(f"the database is newer (schema {found}) than this program "
                            f"({schema_postgres.SCHEMA_VERSION})")


def connection_info(url: DatabaseUrl) -> str:
    """The libpq connection string this backend connects with, for the few sessions kept
    outside the pool (the per-chat locks, bot/storage/chatlocks.py)."""
    return _conninfo(url, 5.0)


BACKENDS["postgres"] = PostgresDatabase
