"""Shared by the tests that run `python -m bot run` as a child process: the days a
press ran on by the real clock (the child's clock, which no test can fix)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from zoneinfo import ZoneInfo


async def days_of(tz: ZoneInfo, action: Awaitable[object]) -> frozenset[date]:
    """The day on which `action` ran in `tz`, or the two days when it ran across
    midnight: the child read its date from the real clock somewhere in between."""
    before = datetime.now(tz).date()
    await action
    return frozenset({before, datetime.now(tz).date()})
