"""Per-chat locks held in the database while an update is handled, so that several
instances behind one load balancer treat a chat's updates one at a time, as one
instance does (SCALE.md, "Behaviour with several instances").

SQLite serves one process: the update processor's own per-chat lock is enough, and
`chat_locks(db)` gives locks that cost nothing. On PostgreSQL each instance keeps ONE
connection of its own, outside the pool, on which it holds a session-level advisory
lock per chat being handled (`pg_try_advisory_lock`, tried again with a short, growing
pause: a waiting chat never blocks the connection for the others). Because the lock
lives in that session:

- an instance killed outright frees its chats at once (the server sees the socket close);
- an instance that stops answering (frozen, cut off) stops pinging, and the server ends
  its idle session after IDLE_SESSION_SECONDS, freeing its chats: a lock never holds
  a chat, or a connection, hostage for good;
- the pool's connections are never held for an update's whole duration.

A chat whose lock cannot be had within `wait_seconds` (its holder's update is still
running, or the database is away) is handled anyway, with a warning: a late reply in
order is better than none, and handling takes its own database locks where it matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import psycopg

    from bot.storage.base import Database

log = logging.getLogger(__name__)

WAIT_SECONDS = 30.0
IDLE_SESSION_SECONDS = 30
PING_SECONDS = 10.0
FIRST_PAUSE_SECONDS = 0.005
MAX_PAUSE_SECONDS = 0.1


class ChatLocks(Protocol):
    """`async with locks.hold(chat_id):` while one update of that chat is handled."""

    def hold(self, chat: int, abandon: Callable[[], bool] | None = None
             ) -> contextlib.AbstractAsyncContextManager[bool]:
        """Held until the block ends; yields whether the lock was had (False: waited
        `wait_seconds` in vain, `abandon()` came true while waiting, or no database
        to hold it in)."""

    async def close(self) -> None:
        """Free every lock and the connection holding them."""


class LocalOnly:
    """One process (SQLite): the update processor's own lock per chat is the lock."""

    @contextlib.asynccontextmanager
    async def hold(self, chat: int, abandon: Callable[[], bool] | None = None
                   ) -> AsyncIterator[bool]:
        yield True

    async def close(self) -> None:
        return None


def chat_locks(db: Database, *, wait_seconds: float = WAIT_SECONDS) -> ChatLocks:
    """The locks for this database's backend."""
    if db.dialect != "postgres":
        return LocalOnly()
    from bot.storage import postgres
    assert isinstance(db, postgres.PostgresDatabase)
    return SessionLocks(postgres.connection_info(db.url), wait_seconds=wait_seconds)


class SessionLocks:
    """Advisory locks in one dedicated PostgreSQL session (see the module docstring)."""

    def __init__(self, conninfo: str, *, wait_seconds: float = WAIT_SECONDS,
                 idle_session_seconds: int = IDLE_SESSION_SECONDS,
                 ping_seconds: float = PING_SECONDS) -> None:
        self._conninfo = conninfo
        self._wait = wait_seconds
        self._idle = idle_session_seconds
        self._ping_every = ping_seconds
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._connecting = asyncio.Lock()
        self._pinger: asyncio.Task[None] | None = None
        self._closed = False

    @contextlib.asynccontextmanager
    async def hold(self, chat: int, abandon: Callable[[], bool] | None = None
                   ) -> AsyncIterator[bool]:
        key = _key(chat)
        conn = await self._acquire(key, abandon)
        try:
            yield conn is not None
        finally:
            if conn is not None:
                await self._release(conn, key)

    async def _acquire(self, key: int, abandon: Callable[[], bool] | None
                       ) -> psycopg.AsyncConnection[Any] | None:
        import psycopg
        deadline = time.monotonic() + self._wait
        pause = FIRST_PAUSE_SECONDS
        while not self._closed:
            if abandon is not None and abandon():
                return None
            try:
                conn = await self._connection()
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                row = await cursor.fetchone()
                if row is not None and row[0]:
                    return conn
            except (psycopg.Error, OSError) as exc:
                log.warning("chat lock: the database did not answer (%s)", type(exc).__name__)
            if time.monotonic() + pause > deadline:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)
        log.warning("chat lock not had within %.0f s: the update is handled without it",
                    self._wait)
        return None

    async def _release(self, conn: psycopg.AsyncConnection[Any], key: int) -> None:
        import psycopg
        if conn is not self._conn or conn.broken:
            return  # the session ended: its locks went with it
        with contextlib.suppress(psycopg.Error, OSError):
            await asyncio.shield(conn.execute("SELECT pg_advisory_unlock(%s)", (key,)))

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        import psycopg
        async with self._connecting:
            if self._conn is not None and not self._conn.broken and not self._conn.closed:
                return self._conn
            conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            # Pinged while this instance lives; ended by the server once it stops.
            await conn.execute(f"SET idle_session_timeout = '{int(self._idle)}s'")
            self._conn = conn
            if self._pinger is None or self._pinger.done():
                self._pinger = asyncio.create_task(self._ping(), name="chat-lock ping")
            return conn

    async def _ping(self) -> None:
        import psycopg
        while not self._closed:
            await asyncio.sleep(self._ping_every)
            conn = self._conn
            if conn is None or conn.broken or conn.closed:
                continue
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.execute("SELECT 1")

    async def close(self) -> None:
        self._closed = True
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def _key(chat: int) -> int:
    from bot.storage.postgres import lock_key
    return lock_key(f"ewo.chat:{chat}")
