"""Date rules: parsing dates, academic years, retention deadlines, school age, quiet time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

_DIGITS = "[0-9]"  # never \d: it also matches non-ASCII digits
_ISO_DATE = re.compile(rf"({_DIGITS}{{4}})-({_DIGITS}{{2}})-({_DIGITS}{{2}})")
_UK_DATE = re.compile(rf"({_DIGITS}{{2}})/({_DIGITS}{{2}})/({_DIGITS}{{4}})")
_CHAT_DATE = re.compile(rf"({_DIGITS}{{1,2}})/({_DIGITS}{{1,2}})(?:/({_DIGITS}{{4}}))?")
_CLOCK_TIME = re.compile(rf"({_DIGITS}{{2}}):({_DIGITS}{{2}})")
_MONTH_DAY = re.compile(rf"({_DIGITS}{{2}})-({_DIGITS}{{2}})")

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")

# Error messages never repeat the value: import errors must not echo what a file held.


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("no such date") from None


def parse_import_date(text: str) -> date:
    """A date from an import file: `YYYY-MM-DD` or `DD/MM/YYYY`."""
    text = text.strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _UK_DATE.fullmatch(text):
        day, month, year = match.groups()
    else:
        raise ValueError("not a date (use YYYY-MM-DD or DD/MM/YYYY)")
    return _make_date(int(year), int(month), int(day))


def parse_chat_date(text: str, today: date) -> date:
    """A date typed in the chat: `DD/MM/YYYY` or `DD/MM` (this calendar year); the day
    and month may have one digit. Whether the date may be in the past or the future
    is for the caller to decide."""
    match = _CHAT_DATE.fullmatch(text.strip())
    if match is None:
        raise ValueError("not a date (use DD/MM/YYYY or DD/MM)")
    day, month, year = match.groups()
    return _make_date(int(year) if year else today.year, int(month), int(day))


def looks_like_chat_date(text: str) -> bool:
    """Whether typed text has the shape of a chat date (`DD/MM/YYYY` or `DD/MM`), a day
    that exists or not."""
    return _CHAT_DATE.fullmatch(text.strip()) is not None


def parse_clock_time(text: str) -> time:
    """A time of day, `HH:MM` (24-hour clock)."""
    match = _CLOCK_TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError("not a time (use HH:MM)")
    hour, minute = (int(part) for part in match.groups())
    if hour > 23 or minute > 59:
        raise ValueError("no such time")
    return time(hour, minute)


def _parse_weekday(text: str) -> int:
    try:
        return WEEKDAYS.index(text.strip().upper())
    except ValueError:
        raise ValueError("not a day (use MON, TUE, WED, THU, FRI, SAT or SUN)") from None


# --- academic year ---------------------------------------------------------------------


@dataclass(frozen=True)
class YearEnd:
    """The last day of the academic year (`EWO_ACADEMIC_YEAR_END`)."""

    month: int
    day: int

    def __post_init__(self) -> None:
        # 2001 is not a leap year, so 29 February is refused as well.
        try:
            date(2001, self.month, self.day)
        except ValueError:
            raise ValueError("not a day of the year that every year has") from None

    @classmethod
    def parse(cls, text: str) -> YearEnd:
        """`MM-DD`, e.g. `08-31`; not `02-29`."""
        match = _MONTH_DAY.fullmatch(text.strip())
        if match is None:
            raise ValueError("not a month and day (use MM-DD)")
        month, day = (int(part) for part in match.groups())
        return cls(month, day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


def academic_year_of(d: date, year_end: YearEnd) -> int:
    """The academic year holding `d`, named by the calendar year in which it ends."""
    if (d.month, d.day) <= (year_end.month, year_end.day):
        return d.year
    return d.year + 1


def academic_year_bounds(year: int, year_end: YearEnd) -> tuple[date, date]:
    """First and last day of the academic year that ends in calendar year `year`."""
    last = date(year, year_end.month, year_end.day)
    first = date(year - 1, year_end.month, year_end.day) + timedelta(days=1)
    return first, last


def year_label(academic_year: int, year_end: YearEnd) -> str:
    """The academic year ending in calendar year `academic_year`, as people write it:
    `2025/26`, or `2026` when it runs within one calendar year (it ends on 31 December)."""
    first, last = academic_year_bounds(academic_year, year_end)
    if first.year == last.year:
        return str(last.year)
    return f"{first.year}/{last.year % 100:02d}"


def academic_year_start(d: date, year_end: YearEnd) -> date:
    """The first day of the academic year holding `d`."""
    return academic_year_bounds(academic_year_of(d, year_end), year_end)[0]


def retention_deadline(last_intervention: date, year_end: YearEnd) -> date:
    """The last day of the academic year after the one holding `last_intervention`."""
    following = academic_year_of(last_intervention, year_end) + 1
    return academic_year_bounds(following, year_end)[1]


# --- compulsory school age ---------------------------------------------------------------

_PRESCRIBED_DAYS = ((3, 31), (8, 31), (12, 31))


def _birthday(date_of_birth: date, age: int) -> date:
    try:
        return date_of_birth.replace(year=date_of_birth.year + age)
    except ValueError:
        # Born on 29 February: in a common year the birthday is taken as 1 March.
        return date(date_of_birth.year + age, 3, 1)


def compulsory_school_age_starts(date_of_birth: date) -> date:
    """The first prescribed day (31 March, 31 August, 31 December) on or after the
    fifth birthday."""
    fifth = _birthday(date_of_birth, 5)
    return min(
        prescribed
        for year in (fifth.year, fifth.year + 1)
        for month, day in _PRESCRIBED_DAYS
        if (prescribed := date(year, month, day)) >= fifth
    )


def compulsory_school_age_ends(date_of_birth: date) -> date:
    """The last Friday in June of the school year (September to August) in which the
    pupil turns 16: the end of Year 11. Fixed by law, whatever the service's own
    academic-year end."""
    sixteenth = _birthday(date_of_birth, 16)
    leaving_year = sixteenth.year + 1 if sixteenth.month >= 9 else sixteenth.year
    june_30 = date(leaving_year, 6, 30)
    return june_30 - timedelta(days=(june_30.weekday() - 4) % 7)


def compulsory_school_age(date_of_birth: date, on: date) -> bool:
    """Whether the pupil is of compulsory school age on `on` (both ends inclusive)."""
    starts = compulsory_school_age_starts(date_of_birth)
    return starts <= on <= compulsory_school_age_ends(date_of_birth)


@lru_cache(maxsize=4096)
def school_week_start(d: date) -> date:
    """The Monday of the week holding `d` (cached: alert rules ask it of every mark)."""
    return d - timedelta(days=d.weekday())


# --- quiet time and weekly schedules -------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """Daily hours in which pushed messages wait: from `start` (inclusive) to `end`
    (exclusive), local wall-clock time; crosses midnight when `end` < `start`."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours must start and end at different times")

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """`HH:MM-HH:MM`, e.g. `20:00-07:30`."""
        start, separator, end = text.strip().partition("-")
        if not separator:
            raise ValueError("not quiet hours (use HH:MM-HH:MM)")
        return cls(parse_clock_time(start), parse_clock_time(end))

    def __contains__(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_days(text: str) -> frozenset[int]:
    """Days such as `SAT,SUN` as `date.weekday()` numbers; empty text means none."""
    if not text.strip():
        return frozenset()
    return frozenset(_parse_weekday(part) for part in text.split(","))


def parse_weekly(text: str) -> tuple[int, time]:
    """A weekly moment such as `MON 08:00`, as (`date.weekday()` number, time)."""
    parts = text.split()
    if len(parts) != 2:
        raise ValueError("not a day and time (use e.g. MON 08:00)")
    return _parse_weekday(parts[0]), parse_clock_time(parts[1])


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time would silently be read as UTC somewhere else.
        raise ValueError("quiet time needs a time-zone-aware moment")


def in_quiet_time(moment: datetime, hours: QuietHours | None, days: frozenset[int]) -> bool:
    """Whether pushed messages wait at `moment`, judged on its local wall-clock (the
    moment's own time zone): on a quiet day, or inside the quiet hours."""
    _require_aware(moment)
    if moment.weekday() in days:
        return True
    return hours is not None and moment.time() in hours


def next_delivery_time(
    moment: datetime, hours: QuietHours | None, days: frozenset[int]
) -> datetime:
    """The first moment at or after `moment` that is not quiet time, in the moment's
    time zone. Correct across clock changes: the result is a real instant, the earliest
    one whose wall-clock time is outside quiet time."""
    _require_aware(moment)
    if not in_quiet_time(moment, hours, days):
        return moment
    if len(days) >= 7:
        raise ValueError("every day is a quiet day: nothing could ever be delivered")
    zone = moment.tzinfo
    start = moment.astimezone(UTC)
    # Quiet time can end only when the wall-clock reaches midnight or the end of the
    # quiet hours, or jumps at a clock change. Try each such instant in order.
    for candidate in sorted(_turning_points(start, hours, zone)):
        if candidate >= start:
            local = candidate.astimezone(zone)
            if not in_quiet_time(local, hours, days):
                return local
    raise AssertionError("quiet time lasts at most eight days")  # pragma: no cover


_HORIZON_DAYS = 9  # six quiet days, then quiet hours into the eighth morning


def _turning_points(start: datetime, hours: QuietHours | None, zone: tzinfo) -> list[datetime]:
    """UTC instants, over the horizon after `start`, where quiet time may end."""
    walls = [time(0, 0)] + ([hours.end] if hours is not None else [])
    first_day = start.astimezone(zone).date()
    points = []
    for offset in range(_HORIZON_DAYS + 1):
        day = first_day + timedelta(days=offset)
        for wall in walls:
            for fold in (0, 1):  # both passes of a wall time repeated when clocks go back
                local = datetime.combine(day, wall, tzinfo=zone).replace(fold=fold)
                points.append(local.astimezone(UTC))
    points.extend(_clock_changes(start, start + timedelta(days=_HORIZON_DAYS + 1), zone))
    return points


_PROBE = timedelta(hours=6)  # no real time zone changes its clocks twice within this


def _clock_changes(start: datetime, stop: datetime, zone: tzinfo) -> list[datetime]:
    """UTC instants in [start, stop) at which the zone's offset from UTC changes."""
    changes = []
    low = start
    while low < stop:
        high = low + _PROBE
        if low.astimezone(zone).utcoffset() != high.astimezone(zone).utcoffset():
            changes.append(_first_with_offset_of(low, high, zone))
        low = high
    return changes


def _first_with_offset_of(low: datetime, high: datetime, zone: tzinfo) -> datetime:
    """The earliest whole second in (low, high] that has `high`'s offset."""
    target = high.astimezone(zone).utcoffset()
    lo, hi = 0, int((high - low).total_seconds())
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if (low + timedelta(seconds=middle)).astimezone(zone).utcoffset() == target:
            hi = middle
        else:
            lo = middle
    return low + timedelta(seconds=hi)
