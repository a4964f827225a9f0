"""Telegram's limit shared between instances (bot/jobs/send_budget.py): each keeps what
the others leave, never less than an even share among those sending."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.jobs.send_budget import SendBudget, allowance
from bot.processing import RateLimiter
from bot.storage import send_rates
from bot.storage.db import DatabaseError
from bot.storage.postgres import PostgresDatabase
from tests.storage.alert_seed import NOW


@pytest.mark.parametrize(("others", "share"), [
    ([], 30),             # alone: the whole limit
    ([0, 0], 30),         # the others idle (a balancer sends this one everything)
    ([30], 15),           # two busy: half each
    ([15], 15),           # ... and they stay there
    ([10, 10], 10),       # three busy: a third each
    ([2], 28),            # the other needs little: this one takes the rest
    ([25], 15),           # the other took a lot: this one still has its even share
    ([40, 40], 10),       # more than the limit reported (a burst): never below the share
])
def test_an_instance_keeps_what_the_others_leave_but_at_least_an_even_share(
        others: list[int], share: float) -> None:
    assert allowance(30, others) == share


class _Clock:
    def __init__(self) -> None:
        self.wall = NOW
        self.monotonic = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.monotonic += seconds


@pytest.fixture
async def limiters() -> AsyncIterator[tuple[_Clock, RateLimiter, RateLimiter]]:
    clock = _Clock()
    pair = (RateLimiter(clock=lambda: clock.monotonic), RateLimiter(clock=lambda: clock.monotonic))
    for limiter in pair:
        await limiter.initialize()
    yield clock, *pair
    for limiter in pair:
        await limiter.shutdown()


def _budgets(db: PostgresDatabase, clock: _Clock, first: RateLimiter,
             second: RateLimiter) -> tuple[SendBudget, SendBudget]:
    """web-1 and web-2 on one database, on the test's clock."""
    return (SendBudget(db, "web-1", first, wall=lambda: clock.wall),
            SendBudget(db, "web-2", second, wall=lambda: clock.wall))


async def _send(limiter: RateLimiter, count: int) -> None:
    async def sent() -> bool:
        return True
    for number in range(count):
        await limiter.process_request(sent, (), {}, "sendMessage", {"chat_id": number}, None)


async def test_two_instances_on_one_database_share_the_limit_and_hand_it_back(
        pg_db: PostgresDatabase,
        limiters: tuple[_Clock, RateLimiter, RateLimiter]) -> None:
    clock, first, second = limiters
    one, two = _budgets(pg_db, clock, first, second)
    assert await one.refresh() == 30  # it saw no one else when it asked
    assert first.burst == 30
    assert await two.refresh() == 15  # two running, web-2 quiet: its even part
    assert second.burst == 15
    await _send(first, 30)  # a burst from web-1 (the job leader delivering, say)
    assert await one.refresh() == 30  # web-2 sends nothing: web-1 keeps it all
    assert first.burst == 15  # but no more than half at once from now on
    assert await two.refresh() == 15  # web-1 takes it all: web-2 keeps its even share
    clock.advance(0.5)
    await _send(second, 7)
    assert await two.refresh() == 15
    assert await one.refresh() == 23  # web-2 needs 7: web-1 has the rest
    assert first.per_second == 23
    clock.advance(1.5)  # both bursts over a second old: each quiet, at its even part
    assert await one.refresh() == 15 and await two.refresh() == 15
    await _send(first, 15)
    assert await one.refresh() == 30  # web-1 sending, web-2 reported nothing sent
    assert await two.refresh() == 15
    clock.advance(0.5)
    await one.forget()  # a clean stop: its share is web-2's at once
    assert await two.refresh() == 30
    assert second.burst == 30


async def test_a_killed_instances_share_passes_on_when_its_report_goes_stale(
        pg_db: PostgresDatabase,
        limiters: tuple[_Clock, RateLimiter, RateLimiter]) -> None:
    clock, first, second = limiters
    one, two = _budgets(pg_db, clock, first, second)
    await _send(first, 30)
    await one.refresh()
    await _send(second, 1)
    assert await two.refresh() == 15
    clock.advance(2.5)  # web-1 killed: no report for longer than FRESH
    assert await two.refresh() == 30


async def test_a_quiet_instance_rewrites_its_report_once_a_second_and_reads_between(
        pg_db: PostgresDatabase,
        limiters: tuple[_Clock, RateLimiter, RateLimiter]) -> None:
    clock, first, second = limiters
    one, two = _budgets(pg_db, clock, first, second)
    began = clock.wall
    await two.refresh()  # its first report: written
    clock.advance(0.5)
    assert await two.refresh() == 30  # quiet, said so: only read
    assert await pg_db.read(send_rates.recent, began + timedelta(seconds=0.25)) == {}
    await _send(first, 10)
    assert await one.refresh() == 30
    clock.advance(0.5)
    assert await two.refresh() == 15  # a second after its last report: written again
    assert await pg_db.read(send_rates.recent, clock.wall) == {"web-2": 0}
    await _send(second, 1)
    clock.advance(0.25)
    assert await two.refresh() == 20  # sending: written at once (web-1's 10 left 20)
    assert (await pg_db.read(send_rates.recent, clock.wall))["web-2"] == 1


class _Away:
    dialect = "postgres"

    async def write(self, *args: Any) -> Any:
        raise DatabaseError("the database did not answer")


async def test_without_the_database_the_share_stays_as_it_was_with_one_warning(
        limiters: tuple[_Clock, RateLimiter, RateLimiter],
        caplog: pytest.LogCaptureFixture) -> None:
    clock, limiter, _ = limiters
    limiter.per_second = 15
    budget = SendBudget(_Away(), "web-1", limiter,  # type: ignore[arg-type]
                        wall=lambda: datetime(2026, 12, 6))
    assert await budget.refresh() == 15
    assert await budget.refresh() == 15
    assert caplog.text.count("send rate not shared") == 1
    assert limiter.per_second == 15
