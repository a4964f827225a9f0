"""Jobs run only on the lease's holder, with their writes fenced (bot/jobs/leader.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.app import schedule_jobs
from bot.clock import Clock
from bot.handlers.common import Services
from bot.jobs.leader import LEASE_KEY, JobLease, fence_of, leader_only, still_held
from bot.settings import Settings
from bot.storage import leases
from bot.storage.audit import Appender
from bot.storage.db import Database
from bot.storage.postgres import PostgresDatabase
from tests.pg import settings_for


def _context(db: Database, settings: Settings, lease: JobLease | None) -> Any:
    services = Services(db, settings, Clock(settings.timezone), b"p" * 32, Appender(db))
    data: dict[str, Any] = {"services": services}
    if lease is not None:
        data[LEASE_KEY] = lease
    return SimpleNamespace(application=SimpleNamespace(bot_data=data))


async def test_on_sqlite_the_job_runs_unfenced(db: Database, settings: Settings) -> None:
    seen: list[int] = []

    @leader_only
    async def job(context: Any, svc: Any) -> None:
        seen.append(fence_of(svc))
        assert still_held(context, svc)

    await job(_context(db, settings, None))
    assert seen == [0]


async def test_a_job_runs_only_on_the_holder_and_a_lost_lease_ends_it_quietly(
        pg_db: PostgresDatabase, pg_url: str, tmp_path: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(tmp_path, pg_url)
    holder = JobLease(pg_db, "a", seconds=30)
    other = JobLease(pg_db, "b", seconds=30)
    assert await holder.renew()
    assert not await other.renew()
    ran: list[str] = []

    @leader_only
    async def job(context: Any, svc: Any) -> None:
        ran.append(f"fence {fence_of(svc)}")
        # The lease passes on while the job runs: its next write is refused.
        await svc.db.write(leases.give_up, leases.JOBS, holder.token, 1, datetime.now(UTC))
        await other.renew()
        await svc.db.write(leases.seen, "written-under-a-lost-lease", "t", datetime.now(UTC),
                           timedelta(seconds=30))
        ran.append("not reached")

    await job(_context(pg_db, settings, other))  # not the holder: nothing runs
    assert ran == []
    await job(_context(pg_db, settings, holder))
    assert ran == ["fence 1"]
    assert "its writes were refused" in caplog.text
    seen = await pg_db.read(leases.seen_since, datetime(2000, 1, 1, tzinfo=UTC))
    assert "written-under-a-lost-lease" not in [name for name, _ in seen]


class _Untouchable:
    """What a job not on the lease's holder must not use: any attribute fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a job ran on an instance not holding the lease: .{name}")


class _Jobs:
    """A job queue that keeps the callbacks `schedule_jobs` gives it."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.callbacks: list[Any] = []

    def run_once(self, callback: Any, **_: Any) -> None:
        self.callbacks.append(callback)

    def run_repeating(self, callback: Any, **_: Any) -> None:
        self.callbacks.append(callback)


async def test_every_scheduled_job_is_skipped_by_an_instance_not_holding_the_lease(
        settings: Settings) -> None:
    application = SimpleNamespace(bot_data={"wiring": SimpleNamespace(settings=settings)})
    application.job_queue = jobs = _Jobs(application)  # type: ignore[attr-defined]
    schedule_jobs(application)  # type: ignore[arg-type]
    services = Services(_Untouchable(), settings, _Untouchable(), b"p" * 32,  # type: ignore[arg-type]
                        _Untouchable())  # type: ignore[arg-type]
    not_holding = JobLease(_Untouchable(), "b", seconds=30)  # type: ignore[arg-type]
    context = SimpleNamespace(bot=_Untouchable(), application=SimpleNamespace(
        bot_data={"services": services, LEASE_KEY: not_holding}))

    assert len(jobs.callbacks) >= 12
    for callback in jobs.callbacks:
        await callback(context)
