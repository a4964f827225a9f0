"""One job leader: the scheduled jobs (outbox delivery, the sensitive-message sweep, the
retention check, the weekly digest, the pathway reminders, draft expiry) run only on the
instance holding the jobs lease in the database (bot/storage/leases.py).

Every instance tries to take or renew the lease every third of EWO_JOB_LEASE_SECONDS
and records that it is running; the holder renews it, and when it stops (killed, cut
off, frozen) another takes it once it has expired: within 4/3 of the lease, at most
60 s. A job of the holder runs with its database fenced: each write transaction checks
that the lease is still under the fence the job started with, so the writes of a
holder that has lost the lease without knowing (frozen past its expiry, then resumed)
are refused (LeaseLost, logged and swallowed here). It also stops by itself before
anything goes to Telegram once its own clock says the lease may have lapsed
(`still_held`): the lease is trusted locally for 80 % of its length after a renewal
began, less than the database's expiry by a margin.

An instance's name (EWO_INSTANCE_NAME) is one live process's: at start `claim_name`
takes it, under a random token drawn by this process, or raises NameInUse when another
process running under that name renews its heartbeat meanwhile; a name whose holder
has stopped renewing for a whole lease (killed) is taken over, so a restart under a
fixed name works. A process that finds its name taken while it runs (it was frozen
past the lease, and another started under the name) no longer leads and stops
(`on_name_lost`). The lease is renewed by the process that took it, not by its name.

SQLite serves one process: there the lease is held without asking (`JobLease` is
not made, `leader_only` runs the job as it is), at no cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.ext import ContextTypes

from bot.storage import leases
from bot.storage.db import Conn, Database, DatabaseBusy, DatabaseError

log = logging.getLogger(__name__)

LEASE_KEY = "ewo.job_lease"  # bot_data: this instance's JobLease (absent on SQLite)
STOP_KEY = "ewo.stop"  # bot_data: stops the webhook server cleanly (else stop_running)
NAME_LOST_KEY = "ewo.name_lost"  # bot_data: True once another process took the name
TRUSTED_SHARE = 0.8

Job = Callable[[ContextTypes.DEFAULT_TYPE, Any], Coroutine[Any, Any, None]]
NAME_LOST = ("instance %s: another process has taken this EWO_INSTANCE_NAME (this one did "
             "not renew it for longer than the jobs lease); it no longer runs the scheduled "
             "jobs and stops")
NAME_TAKEN_OVER = ("instance %s: the process last seen under this name at %s has stopped "
                   "(killed?); this one takes the name")


class NameInUse(Exception):
    """Another live process runs under this instance's name (EWO_INSTANCE_NAME)."""

    def __init__(self, instance: str, now: datetime, last_seen: str) -> None:
        self.instance = instance
        self.seconds_ago = max(0, int((now - datetime.fromisoformat(last_seen)).total_seconds()))
        super().__init__(f"instance name {instance!r} is in use (seen {self.seconds_ago} s ago)")


class JobLease:
    """This instance's hold on its name and the jobs lease: renewed by `run`, read by
    `held`."""

    def __init__(self, db: Database, instance: str, *, seconds: float,
                 on_taken: Callable[[], None] | None = None,
                 on_name_lost: Callable[[], None] | None = None,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.db = db
        self.instance = instance
        self.token = secrets.token_hex(16)  # this process, whatever its name
        self.duration = timedelta(seconds=seconds)
        self.on_taken = on_taken
        self.on_name_lost = on_name_lost
        self._wall = wall
        self._monotonic = monotonic
        self._sleep = sleep
        self.fence: int | None = None
        self.name_lost = False
        self._trusted_until = 0.0

    @property
    def renew_every(self) -> float:
        return self.duration.total_seconds() / 3

    def held(self) -> int | None:
        """The fence while this instance may act as leader, else None."""
        if self.fence is None or self._monotonic() >= self._trusted_until:
            return None
        return self.fence

    async def claim_name(self, *, poll: float = 0.5) -> None:
        """Take this instance's name before anything else (NameInUse while another live
        process holds it). A holder not seen for a lease is dead; one seen more recently
        may still be (a restart just after a kill): its heartbeat is watched until it
        either moves (alive: NameInUse) or grows as old as the lease (dead: taken)."""
        first: str | None = None
        while True:
            now = self._wall()
            other = await self.db.write(leases.seen, self.instance, self.token, now,
                                        self.duration)
            if other is None:
                break
            if first is not None and other != first:
                raise NameInUse(self.instance, now, other)
            first = other
            await self._sleep(poll)
        if first is not None:
            log.info(NAME_TAKEN_OVER, self.instance, first)

    async def renew(self) -> bool:
        """Take or renew the lease once; True when it was just taken (newly leader)."""
        began, now = self._monotonic(), self._wall()
        try:
            fence = await self.db.write(_take_or_renew, self.instance, self.token, now,
                                        self.duration)
        except DatabaseError as exc:
            log.warning("jobs lease not renewed: %s", exc)
            return False
        except NameInUse:
            log.error(NAME_LOST, self.instance)
            self.fence, self.name_lost = None, True
            return False
        taken = fence is not None and fence != self.fence
        if fence is None and self.fence is not None:
            log.info("instance %s no longer runs the scheduled jobs", self.instance)
        elif taken:
            log.info("instance %s now runs the scheduled jobs (fence %s)", self.instance, fence)
        self.fence = fence
        if fence is not None:
            self._trusted_until = began + self.duration.total_seconds() * TRUSTED_SHARE
        return taken

    async def run(self) -> None:
        """Renew until cancelled; on becoming leader, `on_taken` (the jobs run at once);
        on finding the name taken by another process, `on_name_lost`, and no more."""
        while True:
            await self._sleep(self.renew_every)
            taken = await self.renew()
            if self.name_lost:
                if self.on_name_lost is not None:
                    self.on_name_lost()
                return
            if taken and self.on_taken is not None:
                self.on_taken()

    async def give_up(self) -> None:
        """A clean stop: let the lease and the name go, so that another instance takes
        the lease at once, and a restart under this name need not wait."""
        fence, self.fence = self.fence, None
        with contextlib.suppress(DatabaseError):
            await self.db.write(_give_up, self.instance, self.token, fence, self._wall())


async def _take_or_renew(conn: Conn, instance: str, token: str, now: datetime,
                         duration: timedelta) -> int | None:
    """The heartbeat, then the lease; neither (NameInUse) while another live process
    holds the name."""
    other = await leases.seen(conn, instance, token, now, duration)
    if other is not None:
        raise NameInUse(instance, now, other)
    return await leases.take_or_renew(conn, leases.JOBS, instance, token, now, duration)


async def _give_up(conn: Conn, instance: str, token: str, fence: int | None,
                   now: datetime) -> None:
    if fence is not None:
        await leases.give_up(conn, leases.JOBS, token, fence, now)
    await leases.release(conn, instance, token)


def leader_only(job: Job) -> Callable[[ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
    """The job as the scheduler runs it: only on the lease's holder, with the services'
    database fenced (nothing at all on another instance); a lease lost meanwhile ends
    it with one log line. So does a database that stays busy (another process holding
    it): the transaction it stopped saved nothing, what is due stays in its tables, and
    the job's next run does it."""

    @functools.wraps(job)
    async def run(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await _as_leader(job, context)
        except DatabaseBusy as exc:
            log.warning("%s: the database is busy (%s); tried again at the next run",
                        job.__name__, exc)

    return run


async def _as_leader(job: Job, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run `job` if this instance holds the jobs lease, under its fence."""
    svc = context.application.bot_data["services"]
    lease: JobLease | None = context.application.bot_data.get(LEASE_KEY)
    if lease is None:  # one process (SQLite): always the leader
        await job(context, svc)
        return
    fence = lease.held()
    if fence is None:
        return
    fenced = leases.FencedDatabase(svc.db, leases.JOBS, fence)
    try:
        await job(context, dataclasses.replace(svc, db=fenced))
    except leases.LeaseLost as exc:
        log.warning("%s: its writes were refused, the jobs lease has passed on (%s)",
                    job.__name__, exc)


def fence_of(svc: Any) -> int:
    """The fence the job runs under (0 on SQLite, where there is no lease)."""
    db = svc.db
    return db.fence if isinstance(db, leases.FencedDatabase) else 0


def still_held(context: ContextTypes.DEFAULT_TYPE, svc: Any) -> bool:
    """Whether this instance may still act for the lease the job began under: checked
    before each message goes to Telegram, which no database can take back."""
    lease: JobLease | None = context.application.bot_data.get(LEASE_KEY)
    return lease is None or lease.held() == fence_of(svc)
