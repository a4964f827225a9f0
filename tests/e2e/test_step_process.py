"""A real process restart mid-/step: `python -m bot run` killed (SIGKILL) and started
again. The child reads the real clock, so this test sets the test's clock to the real
time before enrolling anyone, and expects the date of the day the child pressed on
(either, across midnight)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bench.drills.processes import STARTUP, BotProcess
from bot.clock import FixedClock
from bot.domain import step_flow as flow
from bot.handlers import step
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage.db import Database
from tests.e2e.conftest import People
from tests.e2e.process_helpers import days_of
from tests.e2e.step_helpers import JANE, add_parents
from tests.e2e.visit_helpers import caseload, rows, tap


@pytest.fixture
async def bot_process(settings: Settings, standin: BotApiStandIn,
                      tmp_path: Path) -> AsyncIterator[BotProcess]:
    child = BotProcess(settings, standin, tmp_path / "work")
    try:
        yield child
    finally:
        await child.terminate()


async def test_a_killed_bot_process_resumes_the_step(
        bot_process: BotProcess, standin: BotApiStandIn, people: People, db: Database,
        clock: FixedClock) -> None:
    clock.set(datetime.now(clock.tz))
    case = await caseload(people, db)
    parents = await add_parents(db, case.amelia)
    user = case.user

    await bot_process.start()
    await user.send("/step Amelia")
    shown = await user.next_message(timeout=STARTUP)
    assert shown.text.endswith(step.QUESTIONS[flow.WHAT])
    await tap(user, "Notice to Improve")
    await tap(user, JANE)
    # The press was handled, and the next long poll confirmed it: kill the process now.
    await standin.wait_for_long_poll()
    assert standin.pending_updates == 0
    await bot_process.kill()
    drafts = await rows(db, "SELECT kind, step, data FROM conversations")
    assert [(row["kind"], row["step"]) for row in drafts] == [("step", flow.PARENTS)]

    await bot_process.start()
    # The same message's buttons, for the step the draft is at, still work.
    await tap(user, "Done", timeout=STARTUP)
    pressed_on = await days_of(clock.tz, tap(user, "Today"))
    await tap(user, "5 weeks")
    await tap(user, "Save")
    await bot_process.terminate()

    saved = await rows(db, "SELECT s.kind, s.step_date, s.period_weeks, p.contact_id"
                           " FROM pathway_steps s JOIN pathway_parents p ON p.step_id = s.id")
    assert [tuple(row) for row in saved] == [("nti", saved[0]["step_date"], 5, parents[JANE])]
    assert saved[0]["step_date"] in {day.isoformat() for day in pressed_on}
    assert await rows(db, "SELECT * FROM conversations") == []
    with contextlib.suppress(FileNotFoundError):
        for log in bot_process.workdir.glob("bot-*.log"):
            assert "Traceback" not in log.read_text(), log.read_text()
