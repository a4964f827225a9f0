"""End-to-end fixtures: the real bot polling the loopback stand-in, on a test database.

The clock is fixed (a Wednesday in term time) so tests can move it; everything else
is the bot exactly as `ewobot run` builds it. Every test that takes `settings` (or `db`)
runs on both backends, SQLite and PostgreSQL (tests/pg.py), unless marked sqlite_only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.harness import RunningBot, enrol_directly
from bot.sandbox import BotApiStandIn, FakeUser
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from tests.pg import backend_settings, on_postgres

LONDON = ZoneInfo("Europe/London")
PIN = "2580"


# The PostgreSQL half leaves out the modules about the Telegram side (what reaches the
# bot, its menu and router, its connections under load): their storage calls (gate
# counters, sessions) run on PostgreSQL in test_access; the doubling of the rest keeps
# the whole suite well under 10 minutes on 2 cores. EWO_TEST_E2E_POSTGRES=all runs them.
SQLITE_HALF_ONLY = ("test_flood", "test_gate", "test_registry", "test_telegram_connections")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("EWO_TEST_E2E_POSTGRES") == "all":
        return
    here = Path(__file__).parent
    left_out = [item for item in items if on_postgres(item) and item.path.parent == here
                and item.path.stem in SQLITE_HALF_ONLY]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Settings:
    return backend_settings(request, tmp_path, backend)  # type: ignore[no-any-return]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 25, 10, 0, tzinfo=LONDON))


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as server:
        yield server


# E2E_DELIVERY=webhook runs the end-to-end suite with updates posted to the bot's webhook
# server instead of long polling (what the officer sees must not change).
WEBHOOK = os.environ.get("E2E_DELIVERY", "polling") == "webhook"


@pytest.fixture
async def running(settings: Settings, standin: BotApiStandIn, db: Database,
                  clock: FixedClock) -> AsyncIterator[RunningBot]:
    async with RunningBot(settings, standin, clock=clock, db=db, webhook=WEBHOOK) as bot:
        yield bot


async def deliver(bot: RunningBot) -> None:
    """One poll of the outbox, as the repeating job runs it; returns once it is done (a
    test that waited for the next poll instead would race its own timeout)."""
    application = bot.application
    assert application is not None and application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name("outbox")
    await job.run(application)


class People:
    """Creates officers and their Telegram accounts for a test."""

    def __init__(self, db: Database, settings: Settings, standin: BotApiStandIn,
                 clock: FixedClock) -> None:
        self.db, self.settings, self.standin, self.clock = db, settings, standin, clock
        self._next_user = 1000

    async def add(self, ref: str, role: str = "officer", supervisor: str | None = None,
                  name: str | None = None) -> str:
        """Create the officer; returns a fresh enrolment code."""
        code = secrets.token_urlsafe(32)
        now = self.clock.now()
        async def _transaction(conn: Conn) -> None:
            officer = await officer_store.add_officer(
                conn, ref=ref, name=name or f"Officer {ref}", role=role,
                supervisor_ref=supervisor, now=now)
            await officer_store.issue_code(conn, officer, code=code, now=now,
                                           expires_at=now + timedelta(hours=24))
        await self.db.write(_transaction)
        return code

    def user(self) -> FakeUser:
        self._next_user += 1
        return self.standin.user(self._next_user, first_name=f"User{self._next_user}")

    async def enrolled(self, ref: str, role: str = "officer",
                       supervisor: str | None = None) -> FakeUser:
        """An officer already enrolled with PIN 2580 and an unlocked session."""
        await self.add(ref, role, supervisor)
        user = self.user()
        await enrol_directly(self.db, self.settings, ref=ref, user_id=user.user_id, pin=PIN,
                             now=self.clock.now())
        return user


@pytest.fixture
def people(db: Database, settings: Settings, standin: BotApiStandIn,
           clock: FixedClock) -> People:
    return People(db, settings, standin, clock)
