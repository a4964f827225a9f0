"""Shared by the tests that run `python -m bot run` as a child process: pressing a
button and waiting for its answer, and the days a press ran on by the real clock (the
child's clock, which no test can fix)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.sandbox import FakeUser
from tests.e2e.visit_helpers import newest_with


async def press(user: FakeUser, label: str, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    shown = newest_with(user, label)
    pressed = await user.press(label, message_id=shown.message_id)
    await user.answer_to(pressed, timeout=timeout)


async def days_of(tz: ZoneInfo, action: Awaitable[None]) -> frozenset[date]:
    """The day on which `action` ran in `tz`, or the two days when it ran across
    midnight: the child read its date from the real clock somewhere in between."""
    before = datetime.now(tz).date()
    await action
    return frozenset({before, datetime.now(tz).date()})
