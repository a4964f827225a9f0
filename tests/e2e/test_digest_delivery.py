"""The weekly caseload digest reaches the supervisor's chat through the outbox.

(Once a week across restarts is tested on the job itself, tests/jobs/test_digest.py.)"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn
from bot.storage import caseload as caseload_store
from bot.storage.db import Database
from bot.usecases import digests as digest
from tests.e2e.conftest import LONDON, People
from tests.e2e.test_caseload import two_teams
from tests.pg import backend_settings


async def test_the_digest_reaches_the_supervisor(
        request: pytest.FixtureRequest, tmp_path: Path, backend: str,
        standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    # The fixed clock is Wednesday 25/11/2026 10:00: a digest due at 09:00 that day is owed.
    settings = backend_settings(request, tmp_path, backend, caseload_digest="WED 09:00")
    sup = await two_teams(people, db)
    async with RunningBot(settings, standin, clock=clock, db=db):
        message = await sup.next_message(timeout=10)
    assert message.text.startswith("Weekly caseload digest for your team")
    assert "EWO1" in message.text and "EWO2" in message.text
    assert "EWO9" not in message.text and "Otherteam" not in message.text
    assert message.labels() == [digest.OPEN_BUTTON]
    assert message.protect_content


async def test_a_digest_missed_while_down_over_midnight_arrives_on_return(
        request: pytest.FixtureRequest, tmp_path: Path, backend: str,
        standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    # Last week's digest went; the bot was down from 23:00 on Sunday 29/11/2026, when
    # this week's was due at 23:30, and comes back at 00:30 on Monday.
    settings = backend_settings(request, tmp_path, backend, caseload_digest="SUN 23:30")
    sup = await two_teams(people, db)
    await db.write(caseload_store.record_digest_week, "2026-W47")
    clock.set(datetime(2026, 11, 30, 0, 30, tzinfo=LONDON))
    async with RunningBot(settings, standin, clock=clock, db=db):
        message = await sup.next_message(timeout=10)
    assert message.text.startswith("Weekly caseload digest for your team, 30/11/2026\n")
    assert "EWO1" in message.text and "EWO9" not in message.text
    assert message.labels() == [digest.OPEN_BUTTON]
