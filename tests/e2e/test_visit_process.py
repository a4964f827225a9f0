"""A real process restart mid-visit: `python -m bot run` killed (SIGKILL) and started again.

The bot runs in a child process against the stand-in served by this test process, on
the test database. The child reads the real clock, so this test sets the test's clock
to the real time before enrolling anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import visit
from bot.sandbox import BotApiStandIn, FakeUser
from bot.settings import Settings
from bot.storage.db import Database
from tests.e2e.conftest import People
from tests.e2e.visit_helpers import caseload, newest_with, rows

STARTUP = 60.0  # seconds a fresh interpreter may take to import and start polling


class BotProcess:
    """`python -m bot run` in a child process, started and killed on demand."""

    def __init__(self, settings: Settings, standin: BotApiStandIn, workdir: Path) -> None:
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("EWO_")}
        self.env.update({
            "EWO_TELEGRAM_TOKEN": standin.token,
            "EWO_TELEGRAM_API_URL": standin.base_url,
            "EWO_DATABASE": str(settings.database),
            "EWO_AUDIT_KEY": "test-audit-key",
            "EWO_QUIET_HOURS": "",
            "EWO_QUIET_DAYS": "",
            "EWO_EXPORT_DIR": str(workdir / "exports"),
        })
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"bot-{self.starts}.log").open("wb")
        with log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=self.workdir, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed."""
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(20):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.fixture
async def bot_process(settings: Settings, standin: BotApiStandIn,
                      tmp_path: Path) -> AsyncIterator[BotProcess]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    child = BotProcess(settings, standin, workdir)
    try:
        yield child
    finally:
        await child.stop()


async def press(user: FakeUser, label: str, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    shown = newest_with(user, label)
    pressed = await user.press(label, message_id=shown.message_id)
    await user.answer_to(pressed, timeout=timeout)


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
    await press(user, "Home visit")
    # The press was handled, and the next long poll confirmed it: kill the process now.
    await standin.wait_for_long_poll()
    assert standin.pending_updates == 0
    await bot_process.kill()
    drafts = await rows(db, "SELECT step, data FROM conversations")
    assert [row["step"] for row in drafts] == [flow.DATE]

    await bot_process.start()
    # The same message's buttons, for the step the draft is at, still work.
    await press(user, "Yesterday", timeout=STARTUP)
    for label in ("Parent/carer seen", "Illness", "Follow-up visit", "In 2 weeks"):
        await press(user, label)
    await user.send("Seen at home after the restart.")
    summary = await user.next_message()
    assert summary.text.endswith(visit.QUESTIONS[flow.SUMMARY])
    assert summary.message_id != shown.message_id
    await press(user, "Save")
    await bot_process.stop()

    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    saved = await rows(db, "SELECT pupil_id, visit_date, type, contact, notes FROM visits")
    assert [tuple(row) for row in saved] == [
        (case.amelia, yesterday, "home", "parent", "Seen at home after the restart.")]
    assert await rows(db, "SELECT * FROM conversations") == []
    with contextlib.suppress(FileNotFoundError):
        for log in bot_process.workdir.glob("bot-*.log"):
            assert "Traceback" not in log.read_text(), log.read_text()
