"""Leases and fencing: which instance runs the scheduled jobs, and refusing the writes of
one that has lost that role (SCALE.md, "Behaviour with several instances").

A lease is one row: its holder (the instance's name and its process's `token`), its
`fence` (a number that goes up each time the lease changes hands) and when it expires
unless renewed. Taking and renewing are one conditional upsert, so two instances racing
for it never both get it. A job's write
transaction starts with `check_fence`, which compares the fence the job started under
with the current one; on PostgreSQL it reads the row `FOR SHARE`, so a takeover (an
UPDATE of that row) waits for the job's transaction to end, and a job's transaction
starting after the takeover sees the new fence: a write under a lost lease is refused
(LeaseLost), never committed after another instance began the same work.

Moments are the instances' own UTC clocks (kept in step by NTP, as TLS needs anyway);
`instances` is each instance's heartbeat, for `ewobot status`, and who holds its name:
a name is one live process's (the random `token` it drew at start). Another process
given the same EWO_INSTANCE_NAME is refused while that one's heartbeat is younger than
the lease, and takes the name once it is older (the first was killed: a restart under
a fixed name) or released (a clean stop). The lease, too, is renewed only by the
process that took it, so two processes under one name never share a fence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from bot.storage.db import Conn, Database, row_lock, stamp

P = ParamSpec("P")
R = TypeVar("R")

JOBS = "jobs"  # the lease of the scheduled jobs (outbox, sweeps, retention, digest, drafts)
FORGET_INSTANCES_AFTER = timedelta(days=7)


class LeaseLost(Exception):
    """The lease this work was started under has passed to another instance."""

    def __init__(self, name: str, fence: int, current: int | None) -> None:
        super().__init__(f"lease {name!r}: fence {fence} is no longer current ({current})")
        self.name = name
        self.fence = fence
        self.current = current


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    fence: int
    expires: str  # stamp()

    def live(self, now: datetime) -> bool:
        return self.expires > stamp(now)


async def take_or_renew(conn: Conn, name: str, holder: str, token: str, now: datetime,
                        duration: timedelta) -> int | None:
    """Take the lease (free, expired, or never held) or renew it (already this process's:
    `holder` under its `token`); its fence, or None while another holds it. The fence
    goes up only when the lease changes hands, from one process to another (another
    process under the same name included)."""
    return await conn.fetchval(
        "INSERT INTO leases (lease, holder, token, fence, expires)"
        " VALUES (:name, :holder, :token, 1, :expires)"
        " ON CONFLICT (lease) DO UPDATE SET"
        " fence = CASE WHEN leases.holder = excluded.holder AND leases.token = excluded.token"
        "              THEN leases.fence ELSE leases.fence + 1 END,"
        " holder = excluded.holder, token = excluded.token, expires = excluded.expires"
        " WHERE (leases.holder = excluded.holder AND leases.token = excluded.token)"
        "    OR leases.expires <= :now"
        " RETURNING fence",
        {"name": name, "holder": holder, "token": token, "expires": stamp(now + duration),
         "now": stamp(now)})


async def give_up(conn: Conn, name: str, token: str, fence: int, now: datetime) -> bool:
    """Let the lease go at once (a clean stop): the next instance need not wait for it to
    expire. Nothing changes when it is no longer this process's (`token`) under `fence`."""
    changed = await conn.execute(
        "UPDATE leases SET expires = ? WHERE lease = ? AND token = ? AND fence = ?",
        (stamp(now), name, token, fence))
    return changed > 0


async def check_fence(conn: Conn, name: str, fence: int) -> None:
    """Raise LeaseLost unless `fence` is still the lease's (see the module docstring)."""
    current = await conn.fetchval(
        row_lock(conn, "SELECT fence FROM leases WHERE lease = ?", "FOR SHARE"), (name,))
    if current != fence:
        raise LeaseLost(name, fence, current)


async def current(conn: Conn, name: str) -> Lease | None:
    row = await conn.fetchone(
        "SELECT lease, holder, fence, expires FROM leases WHERE lease = ?", (name,))
    return None if row is None else Lease(row["lease"], row["holder"], row["fence"],
                                          row["expires"])


async def seen(conn: Conn, instance: str, token: str, now: datetime,
               alive: timedelta) -> str | None:
    """This instance is running (its heartbeat), the name held by this process (`token`):
    None. While another process holds the name, seen within `alive` of `now` (it is
    running), nothing is written: that one's last heartbeat. Instances gone a week are
    forgotten."""
    held = await conn.fetchval(
        "INSERT INTO instances (instance, seen, token) VALUES (:instance, :now, :token)"
        " ON CONFLICT (instance) DO UPDATE SET seen = excluded.seen, token = excluded.token"
        " WHERE instances.token IS NULL OR instances.token = excluded.token"
        "    OR instances.seen <= :dead"
        " RETURNING instance",
        {"instance": instance, "now": stamp(now), "token": token,
         "dead": stamp(now - alive)})
    if held is None:
        other: str | None = await conn.fetchval(
            "SELECT seen FROM instances WHERE instance = ?", (instance,))
        return other
    await conn.execute("DELETE FROM instances WHERE seen < ?",
                       (stamp(now - FORGET_INSTANCES_AFTER),))
    return None


async def release(conn: Conn, instance: str, token: str) -> None:
    """A clean stop: the name is free at once for the next process (a restart)."""
    await conn.execute("UPDATE instances SET token = NULL WHERE instance = ? AND token = ?",
                       (instance, token))


async def seen_since(conn: Conn, since: datetime) -> list[tuple[str, str]]:
    """(name, last seen) of every instance seen since `since`, by name."""
    rows = await conn.fetchall(
        "SELECT instance, seen FROM instances WHERE seen >= ? ORDER BY instance",
        (stamp(since),))
    return [(row["instance"], row["seen"]) for row in rows]


class FencedDatabase(Database):
    """The database as a job running under a lease sees it: reads as they are; each
    write transaction first checks that the lease is still under `fence` (LeaseLost,
    and nothing written, once it has passed to another instance). Anything else (the
    disposal's checkpoint and scrub, the path) is the database's own."""

    def __init__(self, db: Database, name: str, fence: int) -> None:
        self.inner = db
        self.name = name
        self.fence = fence
        self.dialect = db.dialect
        self.audit_key = db.audit_key
        self.counter = db.counter

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    async def close(self) -> None:
        await self.inner.close()

    async def read(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                   *args: P.args, **kwargs: P.kwargs) -> R:
        return await self.inner.read(fn, *args, **kwargs)

    async def write(self, fn: Callable[Concatenate[Conn, P], Awaitable[R]], /,
                    *args: P.args, **kwargs: P.kwargs) -> R:
        async def _fenced(conn: Conn) -> R:
            await check_fence(conn, self.name, self.fence)
            return await fn(conn, *args, **kwargs)
        return await self.inner.write(_fenced)

    async def checkpoint(self, attempts: int = 50) -> None:
        await self.inner.checkpoint(attempts)

    async def scrub(self, attempts: int = 50) -> None:
        await self.inner.scrub(attempts)

    async def backup(self, target: Path) -> None:
        await self.inner.backup(target)
