"""The service's clock: aware datetimes in the service time zone, injectable for tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """Wall-clock time in the service time zone."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()


class FixedClock(Clock):
    """A clock that moves only when told to (tests, the demo's replays)."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        super().__init__(moment.tzinfo)  # type: ignore[arg-type]
        self._moment = moment

    def now(self) -> datetime:
        return self._moment

    def set(self, moment: datetime) -> None:
        self._moment = moment.astimezone(self.tz)

    def advance(self, delta: timedelta) -> None:
        self._moment = self._moment + delta


class ShiftedClock(Clock):
    """Another clock's time, moved by a fixed span (the demo, run on a later day)."""

    def __init__(self, base: Clock, shift: timedelta) -> None:
        super().__init__(base.tz)
        self._base = base
        self.shift = shift

    def now(self) -> datetime:
        return self._base.now() + self.shift
