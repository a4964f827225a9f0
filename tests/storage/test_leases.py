"""The jobs lease and its fence (bot/storage/leases.py, bot/jobs/leader.py): two
instances' handles on one PostgreSQL racing for it, taking it over, and the writes of
the one that lost it refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.jobs.leader import JobLease
from bot.storage import leases
from bot.storage.db import Conn, Database
from bot.storage.postgres import PostgresDatabase
from tests.pg import Cluster, settings_for
from tests.storage.alert_seed import NOW

SECOND = timedelta(seconds=1)
LEASE = 10 * SECOND


@pytest.fixture
async def second_db(pg_url: str, tmp_path: Path) -> AsyncIterator[PostgresDatabase]:
    database = await PostgresDatabase.open(settings_for(tmp_path, pg_url), attempts=5)
    try:
        yield database
    finally:
        await database.close()


async def _take(db: Database, holder: str, at: timedelta = timedelta(0)) -> int | None:
    return await db.write(leases.take_or_renew, leases.JOBS, holder, NOW + at, LEASE)


async def test_two_instances_racing_for_the_lease_one_gets_it(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    tries = [_take(db, name) for _ in range(10)
             for db, name in ((pg_db, "a"), (second_db, "b"))]
    fences = await asyncio.gather(*tries)
    lease = await pg_db.read(leases.current, leases.JOBS)
    assert lease is not None and lease.fence == 1
    winners = {name for name, fence in zip("ab" * 10, fences, strict=True) if fence is not None}
    assert winners == {lease.holder}
    assert {fence for fence in fences if fence is not None} == {1}


async def test_the_lease_passes_only_once_expired_and_its_fence_goes_up(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    assert await _take(pg_db, "a") == 1
    assert await _take(second_db, "b", 9 * SECOND) is None  # not yet expired
    assert await _take(pg_db, "a", 5 * SECOND) == 1  # renewed: now good until 15 s
    assert await _take(second_db, "b", 14 * SECOND) is None
    assert await _take(second_db, "b", 15 * SECOND) == 2  # taken over
    assert await _take(pg_db, "a", 16 * SECOND) is None  # the old holder cannot renew
    assert await _take(second_db, "b", 20 * SECOND) == 2


async def test_a_write_under_a_lost_lease_is_refused_and_nothing_is_written(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    assert await _take(pg_db, "a") == 1
    old = leases.FencedDatabase(pg_db, leases.JOBS, 1)
    await old.write(leases.seen, "a-job", NOW)  # still current: written
    assert await _take(second_db, "b", LEASE) == 2
    with pytest.raises(leases.LeaseLost):
        await old.write(leases.seen, "a-late", NOW)
    seen = await pg_db.read(leases.seen_since, NOW - SECOND)
    assert [name for name, _ in seen] == ["a-job"]


async def test_a_takeover_waits_for_the_old_holders_write_in_progress(
        pg_db: PostgresDatabase, second_db: PostgresDatabase, pg_cluster: Cluster) -> None:
    """The fence check holds the lease row: the takeover is ordered after the write
    that passed the check, never in the middle of it."""
    assert await _take(pg_db, "a") == 1
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def slow_job(conn: Conn) -> None:
        inside.set()
        await go_on.wait()
        await leases.seen(conn, "a-slow", NOW)

    old = leases.FencedDatabase(pg_db, leases.JOBS, 1)
    job = asyncio.create_task(old.write(slow_job))
    await asyncio.wait_for(inside.wait(), 5)
    takeover = asyncio.create_task(_take(second_db, "b", LEASE))
    await pg_cluster.lock_waiter("transactionid")  # the takeover waits for the lease row
    assert not takeover.done()
    go_on.set()
    await asyncio.wait_for(job, 5)
    assert await asyncio.wait_for(takeover, 5) == 2


async def test_giving_the_lease_up_lets_another_take_it_at_once(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    assert await _take(pg_db, "a") == 1
    assert await pg_db.write(leases.give_up, leases.JOBS, "a", 1, NOW + SECOND)
    assert await _take(second_db, "b", 2 * SECOND) == 2
    assert not await pg_db.write(leases.give_up, leases.JOBS, "a", 1, NOW + SECOND)


async def test_the_lease_works_the_same_on_sqlite(db: Database) -> None:
    assert await _take(db, "a") == 1
    assert await _take(db, "b", SECOND) is None
    assert await _take(db, "b", LEASE) == 2
    with pytest.raises(leases.LeaseLost):
        await leases.FencedDatabase(db, leases.JOBS, 1).write(leases.seen, "x", NOW)


async def test_a_holder_trusts_its_lease_for_less_than_it_lasts(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    """A frozen holder, resumed, no longer believes it leads (its own clock), before
    the database would even let another take over."""
    clock = [100.0]
    wall = [NOW]
    lease = JobLease(pg_db, "a", seconds=10, monotonic=lambda: clock[0], wall=lambda: wall[0])
    assert await lease.renew()
    assert lease.held() == 1
    clock[0] += 7.9
    assert lease.held() == 1
    clock[0] += 0.2  # 80 % of the lease gone without a renewal
    assert lease.held() is None
    other = JobLease(second_db, "b", seconds=10, wall=lambda: NOW + LEASE)
    assert await other.renew() and other.held() == 2
    wall[0] = NOW + LEASE + SECOND
    assert not await lease.renew()
    assert lease.fence is None and lease.held() is None
    seen = await pg_db.read(leases.seen_since, NOW)
    assert [name for name, _ in seen] == ["a", "b"]
