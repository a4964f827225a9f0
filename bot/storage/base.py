"""The one interface storage is written against: a transaction's connection (`Conn`),
the database that hands them out (`Database`), and the `@quick` mark for the hot path's
short reads (`@one_statement` for those that are a single SELECT).

Storage functions are written once, as `async def some_query(conn: Conn, ...)`, in
portable SQL (`?` or `:name` placeholders, ON CONFLICT, RETURNING, COALESCE); callers run
them through `await db.read(fn, ...)` or `await db.write(fn, ...)`. Backends implement
both (bot/storage/sqlite.py, bot/storage/postgres.py).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from bot.settings import Settings

Params = Sequence[Any] | dict[str, Any]
P = ParamSpec("P")
R = TypeVar("R")


def placed_as_corrected(table: str) -> str:
    """SQL for where a new entry of `table` stands in the order entries were saved
    (`placed_at`, schema 3 and 4; parameters: the entry it corrects, or None, and its own
    saved_at): where the entry it corrects stood, else at its own saving. Visits, pathway
    steps and outcomes are corrected by new rows; this keeps a correction in its place."""
    return (f"COALESCE((SELECT COALESCE(x.placed_at, x.saved_at) FROM {table} x"
            " WHERE x.id = ?), ?)")


def stamp(moment: datetime) -> str:
    """How a moment is stored: ISO 8601 in UTC, so text comparison is time order."""
    if moment.tzinfo is None:
        raise ValueError("moments must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def row_lock(conn: Conn, sql: str, clause: str = "FOR UPDATE") -> str:
    """`sql`, a SELECT, reading its rows held until the transaction ends: on PostgreSQL
    with `clause` (FOR UPDATE, FOR SHARE, FOR UPDATE OF a table), for a write decided
    from what is read; unchanged on SQLite, whose one writer holds the whole file."""
    return f"{sql} {clause}" if conn.dialect == "postgres" else sql


class DatabaseError(Exception):
    """The database cannot be used; str() is one line for the person at the terminal."""


class DatabaseBusy(DatabaseError):
    """The database stayed busy past the wait (SQLite: another process held the write
    lock past the busy timeout; PostgreSQL: lock waits or no free connection, past the
    retries): what was asked did not happen (a transaction is rolled back whole), so
    the same request can simply be made again. Not a bug: said briefly, never with a
    traceback."""


class Conn(Protocol):
    """One transaction's connection. Rows behave like sqlite3.Row (by name, by index,
    dict()). `writable` says whether this is a write transaction, `audit_key` keys the
    audit chain, `dialect` names the backend ("sqlite")."""

    writable: bool
    audit_key: bytes
    dialect: str

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; the new row's id."""

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each of `rows`."""

    async def executemany_with_next(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """`executemany` for rows nothing in the transaction reads back: on PostgreSQL
        they are sent with the transaction's next statement, or with its COMMIT (one
        round trip for both), so an error they meet is raised there; at once on SQLite."""

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        """Every row a query returns."""

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        """The first row a query returns, or None."""

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""

    async def fetchall_together(self, *queries: tuple[str, Params]) -> list[list[Any]]:
        """Every row of each query, in order, for reads that do not depend on each
        other: sent in one round trip on PostgreSQL (a pipeline), one after another
        on SQLite (where a statement costs no round trip)."""

    async def lock(self, name: str) -> None:
        """Serialise the rest of this transaction against every other taking the same
        name, until it ends: call it before a read-then-write that must be safe across
        processes (the audit chain's head, code claims, import diffs, digests). A no-op
        on SQLite, whose writer is single."""

    def stream(self, sql: str, params: Params = ()) -> AsyncIterator[Any]:
        """The rows of a large query a chunk at a time (`async for row in ...`)."""


QUICK = "__ewo_quick__"


def quick(fn: Callable[Concatenate[Any, P], Awaitable[R]]
          ) -> Callable[Concatenate[Any, P], Awaitable[R]]:
    """Marks a short read for the hot path (the gate's, the router's, the search's, a
    card's): `Database.read` may run it on the event loop's own thread, with no hop to
    a worker thread. On a write (the card views' audit entries): `Database.write` may
    run it whole on a writer's thread in one hop. It must await nothing but its Conn's
    methods."""
    setattr(fn, QUICK, True)
    return fn


def is_quick(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, QUICK, False))


ONE_STATEMENT = "__ewo_one_statement__"


def one_statement(fn: Callable[Concatenate[Any, P], Awaitable[R]]
                  ) -> Callable[Concatenate[Any, P], Awaitable[R]]:
    """Marks a quick read that sends exactly one SELECT (the gate's): a statement is a
    consistent snapshot by itself, so PostgreSQL runs it with no transaction around it
    (no COMMIT to wait for: one round trip). A second statement fails, loudly."""
    setattr(fn, ONE_STATEMENT, True)
    return quick(fn)


def is_one_statement(fn: Callable[..., Any]) -> bool:
    return bool(getattr(fn, ONE_STATEMENT, False))


class StatementCounter:
    """Counts statements sent through a Conn (executemany counts once), for tests that
    check a feature's query count. Statements may run on worker threads: a lock."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1


class Database:  # noqa: B024 - the backends fill it in; `open` dispatches to one
    """The service database, the one entry to it. Open with :meth:`open`, close with
    :meth:`close`; run storage functions with :meth:`read` and :meth:`write`. Never
    await Telegram (or anything slow) inside them: a write holds the writer."""

    dialect: str
    audit_key: bytes
    counter: StatementCounter
    path: Path

    @classmethod
    async def open(cls, settings: Settings, *, create: bool = True) -> Database:
        """Open (creating and migrating if needed, unless `create=False`) the database
        the settings name, on its backend: PostgreSQL when EWO_DATABASE_URL is set,
        otherwise SQLite in EWO_DATA_DIR."""
        if cls is not Database:
            return await cls.open(settings, create=create)
        name = "postgres" if settings.database_url is not None else "sqlite"
        if name not in BACKENDS:
            # Imported on first use: a SQLite service never loads psycopg.
            import_module(f"bot.storage.{name}")
        return await BACKENDS[name].open(settings, create=create)

    async def close(self) -> None:
        raise NotImplementedError

    async def read(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                   *args: P.args, **kwargs: P.kwargs) -> R:
        """`await fn(conn, *args, **kwargs)` in one consistent read-only snapshot."""
        raise NotImplementedError

    async def write(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                    *args: P.args, **kwargs: P.kwargs) -> R:
        """`await fn(conn, *args, **kwargs)` in one serialised write transaction:
        committed when it returns, rolled back when it raises."""
        raise NotImplementedError

    async def checkpoint(self, attempts: int = 50) -> None:
        """Make deleted data unrecoverable from the files' logs."""
        raise NotImplementedError

    async def scrub(self, attempts: int = 50) -> None:
        """Rebuild the files from the rows they hold (after a disposal)."""
        raise NotImplementedError

    async def backup(self, target: Path) -> None:
        """Copy the whole database, online, to a new private file."""
        raise NotImplementedError


# The backends by name, filled in as each one's module is imported (bot/storage/db.py
# imports them), so this interface needs none of them.
BACKENDS: dict[str, type[Database]] = {}
