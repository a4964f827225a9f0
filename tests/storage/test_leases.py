"""The jobs lease and its fence (bot/storage/leases.py, bot/jobs/leader.py): two
instances' handles on one PostgreSQL racing for it, taking it over, and the writes of
the one that lost it refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.jobs.leader import JobLease, NameInUse
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
    # Each name here is one process's: its token is its name.
    return await db.write(leases.take_or_renew, leases.JOBS, holder, holder, NOW + at, LEASE)


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
    await old.write(leases.seen, "a-job", "a-job", NOW, LEASE)  # still current: written
    assert await _take(second_db, "b", LEASE) == 2
    with pytest.raises(leases.LeaseLost):
        await old.write(leases.seen, "a-late", "a-late", NOW, LEASE)
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
        await leases.seen(conn, "a-slow", "a-slow", NOW, LEASE)

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
        await leases.FencedDatabase(db, leases.JOBS, 1).write(leases.seen, "x", "x", NOW, LEASE)


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


async def test_two_processes_given_one_name_never_both_run_the_jobs(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    """EWO_INSTANCE_NAME set to one fixed value for two live processes: the second
    neither renews the first one's lease under its fence nor writes its heartbeat."""
    first = JobLease(pg_db, "web-1", seconds=10, wall=lambda: NOW)
    second = JobLease(second_db, "web-1", seconds=10, wall=lambda: NOW + SECOND)
    assert await first.renew()
    await second.renew()
    assert first.held() == 1
    assert second.held() is None
    # Even past the heartbeat, the lease is the first process's, not its name's.
    assert await second_db.write(leases.take_or_renew, leases.JOBS, "web-1", second.token,
                                 NOW + SECOND, LEASE) is None


class _Paused:
    """A JobLease's pauses (its `sleep`), each awaited by the test: `waiting` is set when
    the lease pauses, and it goes on when the test calls `go`."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self._go = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waiting.set()
        await self._go.wait()
        self._go.clear()

    def go(self) -> None:
        self.waiting.clear()
        self._go.set()


async def test_a_second_process_under_a_live_instances_name_is_refused_at_start(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    first = JobLease(pg_db, "web-1", seconds=10, wall=lambda: NOW)
    await first.claim_name()
    assert await first.renew()
    paused = _Paused()
    second = JobLease(second_db, "web-1", seconds=10, wall=lambda: NOW + SECOND, sleep=paused)
    claim = asyncio.create_task(second.claim_name())
    await asyncio.wait_for(paused.waiting.wait(), 5)  # seen a second ago: maybe alive
    first._wall = lambda: NOW + 3 * SECOND
    await first.renew()  # its heartbeat moves: alive
    paused.go()
    with pytest.raises(NameInUse) as refused:
        await asyncio.wait_for(claim, 5)
    assert refused.value.instance == "web-1"
    seen = await pg_db.read(leases.seen_since, NOW - LEASE)
    assert [name for name, _ in seen] == ["web-1"]
    assert await first.renew() is False and first.held() == 1  # the first goes on leading


async def test_a_name_whose_process_was_killed_is_taken_once_its_heartbeat_is_a_lease_old(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    """A restart under a fixed name (systemd) just after a kill: the new process waits
    out the dead one's heartbeat, then takes the name and, once expired, the lease."""
    dead = JobLease(pg_db, "web-1", seconds=10, wall=lambda: NOW)
    await dead.claim_name()
    assert await dead.renew() and dead.fence == 1
    clock = [NOW + 2 * SECOND]

    async def later(seconds: float) -> None:
        clock[0] += 4 * SECOND

    restarted = JobLease(second_db, "web-1", seconds=10, wall=lambda: clock[0], sleep=later)
    await restarted.claim_name()
    assert clock[0] == NOW + LEASE  # two pauses: the heartbeat was then a lease old
    assert await restarted.renew() and restarted.fence == 2  # a new fence: a new process
    with pytest.raises(leases.LeaseLost):  # the killed one's late write, were it alive
        await leases.FencedDatabase(pg_db, leases.JOBS, 1).write(
            leases.seen, "late", "late", NOW, LEASE)


async def test_after_a_clean_stop_the_name_is_taken_at_once(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    stopped = JobLease(pg_db, "web-1", seconds=10, wall=lambda: NOW)
    await stopped.claim_name()
    assert await stopped.renew()
    await stopped.give_up()
    restarted = JobLease(second_db, "web-1", seconds=10, wall=lambda: NOW + SECOND,
                         sleep=_Paused())  # any pause would hang the test
    await asyncio.wait_for(restarted.claim_name(), 5)
    assert await restarted.renew() and restarted.fence == 2


async def test_a_frozen_process_whose_name_was_taken_meanwhile_stops_leading_and_stops(
        pg_db: PostgresDatabase, second_db: PostgresDatabase,
        caplog: pytest.LogCaptureFixture) -> None:
    """Frozen past the lease (a paused VM, SIGSTOP) while another process was started
    under its name: resumed, it finds the name taken, never leads again, and asks to be
    stopped; the newer process keeps the name and the jobs."""
    clock = [NOW]
    stops: list[str] = []
    paused = _Paused()
    frozen = JobLease(pg_db, "web-1", seconds=10, wall=lambda: clock[0], sleep=paused,
                      on_name_lost=lambda: stops.append("stop"))
    await frozen.claim_name()
    assert await frozen.renew()
    renewing = asyncio.create_task(frozen.run())
    await asyncio.wait_for(paused.waiting.wait(), 5)
    newer = JobLease(second_db, "web-1", seconds=10, wall=lambda: NOW + LEASE)
    await newer.claim_name()
    assert await newer.renew() and newer.fence == 2
    clock[0] = NOW + LEASE + SECOND  # resumed
    paused.go()
    await asyncio.wait_for(renewing, 5)  # its renewing ended by itself
    assert stops == ["stop"]
    assert frozen.name_lost and frozen.held() is None
    assert "another process has taken this EWO_INSTANCE_NAME" in caplog.text
    await frozen.give_up()  # its clean stop leaves the newer one's name and lease alone
    assert await newer.renew() is False and newer.held() == 2
    assert await second_db.write(leases.seen, "web-1", newer.token, NOW + LEASE, LEASE) is None
