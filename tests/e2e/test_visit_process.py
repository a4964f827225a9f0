"""A real process restart mid-visit: `python -m bot run` killed (SIGKILL) and started again.

The bot runs in a child process against the stand-in served by this test process, on
the test database. The child reads the real clock, so this test sets the test's clock
to the real time before enrolling anyone, and expects the date of the day the child
pressed on (either, across midnight).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bench.drills.processes import STARTUP, BotProcess
from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import visit
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage.db import Database
from tests.e2e.conftest import People
from tests.e2e.process_helpers import days_of
from tests.e2e.visit_helpers import caseload, rows, tap


@pytest.fixture
async def bot_process(settings: Settings, standin: BotApiStandIn,
                      tmp_path: Path) -> AsyncIterator[BotProcess]:
    child = BotProcess(settings, standin, tmp_path / "work")
    try:
        yield child
    finally:
        await child.terminate()


async def test_a_killed_bot_process_resumes_the_visit(
        bot_process: BotProcess, standin: BotApiStandIn, people: People, db: Database,
        clock: FixedClock) -> None:
    clock.set(datetime.now(clock.tz))
    case = await caseload(people, db)
    user = case.user

    await bot_process.start()
    await user.send("/visit Amelia")
    shown = await user.next_message(timeout=STARTUP)
    assert shown.text.endswith(visit.QUESTIONS[flow.TYPE])
    await tap(user, "Home visit")
    # The press was handled, and the next long poll confirmed it: kill the process now.
    await standin.wait_for_long_poll()
    assert standin.pending_updates == 0
    await bot_process.kill()
    drafts = await rows(db, "SELECT step, data FROM conversations")
    assert [row["step"] for row in drafts] == [flow.DATE]

    await bot_process.start()
    # The same message's buttons, for the step the draft is at, still work.
    pressed_on = await days_of(clock.tz, tap(user, "Yesterday", timeout=STARTUP))
    for label in ("Parent/carer seen", "Illness", "Follow-up visit", "In 2 weeks"):
        await tap(user, label)
    await user.send("Seen at home after the restart.")
    summary = await user.edited(await user.next_message())
    assert summary.text.endswith(visit.QUESTIONS[flow.SUMMARY])
    assert summary.message_id != shown.message_id
    await tap(user, "Save")
    await bot_process.terminate()

    saved = await rows(db, "SELECT pupil_id, visit_date, type, contact, notes FROM visits")
    assert [tuple(row) for row in saved] == [
        (case.amelia, saved[0]["visit_date"], "home", "parent",
         "Seen at home after the restart.")]
    assert saved[0]["visit_date"] in {(day - timedelta(days=1)).isoformat()
                                      for day in pressed_on}  # the day before the press
    assert await rows(db, "SELECT * FROM conversations") == []
    with contextlib.suppress(FileNotFoundError):
        for log in bot_process.workdir.glob("bot-*.log"):
            assert "Traceback" not in log.read_text(), log.read_text()
