"""Date rules at their boundaries: parsing, academic years, retention, school age, quiet time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.dates import (
    QuietHours,
    YearEnd,
    academic_year_bounds,
    academic_year_of,
    academic_year_start,
    compulsory_school_age,
    in_quiet_time,
    next_delivery_time,
    parse_chat_date,
    parse_clock_time,
    parse_import_date,
    parse_quiet_days,
    parse_weekly,
    retention_deadline,
    school_week_start,
    year_label,
)

LONDON = ZoneInfo("Europe/London")
AUGUST = YearEnd(8, 31)
DECEMBER = YearEnd(12, 31)
JULY = YearEnd(7, 31)
WEEKEND = frozenset({5, 6})
EVENINGS = QuietHours(time(20, 0), time(7, 30))


def london(*parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=LONDON, fold=fold)  # type: ignore[misc]


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-09-01", date(2025, 9, 1)),
        ("01/09/2025", date(2025, 9, 1)),
        (" 31/08/2025 ", date(2025, 8, 31)),
        ("2024-02-29", date(2024, 2, 29)),
        ("29/02/2024", date(2024, 2, 29)),
    ],
)
def test_parse_import_date(text: str, expected: date) -> None:
    assert parse_import_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2025-02-29",
        "29/02/2025",
        "31/04/2025",
        "2025-13-01",
        "2025-9-1",
        "1/9/2025",
        "2025/09/01",
        "01-09-2025",
        "01/09/25",
        "١١/٠٩/٢٠٢٥",  # digits, but not ASCII ones
        "2025-09-01T00:00",
    ],
)
def test_parse_import_date_refuses_without_echoing(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_import_date(text)
    assert not text.strip() or text.strip() not in str(caught.value)


TODAY = date(2025, 3, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/09/2024", date(2024, 9, 1)),
        ("1/9/2024", date(2024, 9, 1)),
        ("28/02", date(2025, 2, 28)),
        ("3/3", date(2025, 3, 3)),
        (" 31/12 ", date(2025, 12, 31)),  # the future is for the caller to refuse
    ],
)
def test_parse_chat_date(text: str, expected: date) -> None:
    assert parse_chat_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text", ["", "29/02", "32/01", "01/13", "1/9/24", "2025-03-01", "1.9.2024", "today", "123/4"]
)
def test_parse_chat_date_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_chat_date(text, TODAY)


def test_parse_chat_date_29_february_in_a_leap_year() -> None:
    assert parse_chat_date("29/02", date(2024, 3, 1)) == date(2024, 2, 29)


def test_parse_clock_time() -> None:
    assert parse_clock_time("09:00") == time(9, 0)
    assert parse_clock_time("23:59") == time(23, 59)
    for text in ("24:00", "9:00", "09:60", "0900", "", "09:00:00"):
        with pytest.raises(ValueError):
            parse_clock_time(text)


# --- academic year -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "year_end"),
    [("08-31", AUGUST), ("12-31", DECEMBER), ("07-31", JULY), ("02-28", YearEnd(2, 28))],
)
def test_year_end_parse(text: str, year_end: YearEnd) -> None:
    assert YearEnd.parse(text) == year_end
    assert str(year_end) == text


@pytest.mark.parametrize("text", ["02-29", "13-01", "00-10", "04-31", "8-31", "08/31", "", "0831"])
def test_year_end_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        YearEnd.parse(text)


@pytest.mark.parametrize(
    ("day", "year_end", "year"),
    [
        (date(2025, 3, 3), AUGUST, 2025),
        (date(2025, 8, 31), AUGUST, 2025),
        (date(2025, 9, 1), AUGUST, 2026),
        (date(2024, 2, 29), AUGUST, 2024),
        (date(2025, 12, 31), DECEMBER, 2025),
        (date(2026, 1, 1), DECEMBER, 2026),
        (date(2025, 7, 31), JULY, 2025),
        (date(2025, 8, 1), JULY, 2026),
        (date(2024, 2, 29), YearEnd(2, 28), 2025),
    ],
)
def test_academic_year_of(day: date, year_end: YearEnd, year: int) -> None:
    assert academic_year_of(day, year_end) == year


@pytest.mark.parametrize(
    ("year", "year_end", "bounds"),
    [
        (2025, AUGUST, (date(2024, 9, 1), date(2025, 8, 31))),
        (2025, DECEMBER, (date(2025, 1, 1), date(2025, 12, 31))),
        (2026, JULY, (date(2025, 8, 1), date(2026, 7, 31))),
        (2025, YearEnd(2, 28), (date(2024, 2, 29), date(2025, 2, 28))),
        (2024, YearEnd(2, 28), (date(2023, 3, 1), date(2024, 2, 28))),
    ],
)
def test_academic_year_bounds(year: int, year_end: YearEnd, bounds: tuple[date, date]) -> None:
    assert academic_year_bounds(year, year_end) == bounds


year_ends = st.builds(
    lambda day: YearEnd(day.month, day.day), st.dates(date(2001, 1, 1), date(2001, 12, 31))
)


@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), year_ends)
def test_every_day_lies_in_its_academic_year(day: date, year_end: YearEnd) -> None:
    year = academic_year_of(day, year_end)
    first, last = academic_year_bounds(year, year_end)
    assert first <= day <= last
    assert academic_year_of(first - timedelta(days=1), year_end) == year - 1
    assert academic_year_of(last + timedelta(days=1), year_end) == year + 1


@pytest.mark.parametrize(
    ("last_intervention", "year_end", "deadline"),
    [
        (date(2025, 3, 3), AUGUST, date(2026, 8, 31)),
        (date(2025, 8, 31), AUGUST, date(2026, 8, 31)),
        (date(2025, 9, 1), AUGUST, date(2027, 8, 31)),
        (date(2024, 2, 29), AUGUST, date(2025, 8, 31)),
        (date(2025, 12, 31), DECEMBER, date(2026, 12, 31)),
        (date(2026, 1, 1), DECEMBER, date(2027, 12, 31)),
        (date(2025, 7, 31), JULY, date(2026, 7, 31)),
        (date(2025, 8, 1), JULY, date(2027, 7, 31)),
    ],
)
def test_retention_deadline(last_intervention: date, year_end: YearEnd, deadline: date) -> None:
    assert retention_deadline(last_intervention, year_end) == deadline


# --- compulsory school age -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_of_birth", "first_day"),
    [
        (date(2019, 9, 15), date(2024, 12, 31)),  # autumn birthday: 31 December
        (date(2019, 1, 1), date(2024, 3, 31)),  # spring: 31 March
        (date(2019, 4, 1), date(2024, 8, 31)),  # summer: 31 August
        (date(2019, 3, 31), date(2024, 3, 31)),  # a birthday on a prescribed day counts
        (date(2019, 8, 31), date(2024, 8, 31)),
        (date(2019, 12, 31), date(2024, 12, 31)),
        (date(2016, 2, 29), date(2021, 3, 31)),  # leap-day birthday, common year
    ],
)
def test_compulsory_school_age_starts_on_a_prescribed_day(
    date_of_birth: date, first_day: date
) -> None:
    assert not compulsory_school_age(date_of_birth, first_day - timedelta(days=1))
    assert compulsory_school_age(date_of_birth, first_day)


@pytest.mark.parametrize(
    ("date_of_birth", "last_day"),
    [
        # Turns 16 on 31 August 2025, in the school year 2024/25: leaves at 15.
        (date(2009, 8, 31), date(2025, 6, 27)),
        # Turns 16 on 1 September 2025, in the school year 2025/26.
        (date(2009, 9, 1), date(2026, 6, 26)),
        # 30 June 2023 is itself a Friday.
        (date(2007, 1, 15), date(2023, 6, 30)),
        (date(2008, 2, 29), date(2024, 6, 28)),
    ],
)
def test_compulsory_school_age_ends_on_the_last_friday_in_june(
    date_of_birth: date, last_day: date
) -> None:
    assert last_day.weekday() == 4
    assert compulsory_school_age(date_of_birth, last_day)
    assert not compulsory_school_age(date_of_birth, last_day + timedelta(days=1))


def test_compulsory_school_age_at_the_fifth_and_sixteenth_birthdays() -> None:
    date_of_birth = date(2010, 10, 10)
    assert not compulsory_school_age(date_of_birth, date(2015, 10, 10))  # 5 today
    assert compulsory_school_age(date_of_birth, date(2026, 10, 10))  # 16 today, in Year 11


# --- weeks and times ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (date(2025, 9, 1), date(2025, 9, 1)),
        (date(2025, 9, 7), date(2025, 9, 1)),
        (date(2025, 1, 1), date(2024, 12, 30)),
        (date(2024, 3, 3), date(2024, 2, 26)),
    ],
)
def test_school_week_start(day: date, monday: date) -> None:
    assert school_week_start(day) == monday


def test_quiet_hours_parse_and_boundaries() -> None:
    hours = QuietHours.parse("20:00-07:30")
    assert hours == EVENINGS
    assert str(hours) == "20:00-07:30"
    assert time(20, 0) in hours  # start inclusive
    assert time(7, 30) not in hours  # end exclusive
    assert time(7, 29, 59) in hours
    assert time(0, 0) in hours
    assert time(19, 59, 59) not in hours
    daytime = QuietHours.parse("09:00-17:00")
    assert time(9, 0) in daytime
    assert time(17, 0) not in daytime
    assert time(8, 59) not in daytime


@pytest.mark.parametrize("text", ["20:00-20:00", "20:00", "", "20:00-24:00", "8:00-9:00", "-"])
def test_quiet_hours_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        QuietHours.parse(text)


def test_parse_quiet_days() -> None:
    assert parse_quiet_days("SAT,SUN") == WEEKEND
    assert parse_quiet_days(" sat , Sun ") == WEEKEND
    assert parse_quiet_days("MON,TUE,WED,THU,FRI,SAT,SUN") == frozenset(range(7))
    assert parse_quiet_days("") == frozenset()
    for text in ("SAT,FUNDAY", "SATURDAY", "SAT,,SUN", "SAT SUN"):
        with pytest.raises(ValueError):
            parse_quiet_days(text)


def test_parse_weekly() -> None:
    assert parse_weekly("MON 08:00") == (0, time(8, 0))
    assert parse_weekly(" sun   23:59 ") == (6, time(23, 59))
    for text in ("", "MON", "MONDAY 08:00", "MON 8:00", "MON 08:00 extra", "08:00 MON"):
        with pytest.raises(ValueError):
            parse_weekly(text)


def test_in_quiet_time() -> None:
    assert in_quiet_time(london(2025, 9, 5, 20, 0), EVENINGS, WEEKEND)  # Friday evening
    assert not in_quiet_time(london(2025, 9, 5, 19, 59), EVENINGS, WEEKEND)
    assert in_quiet_time(london(2025, 9, 6, 12, 0), EVENINGS, WEEKEND)  # Saturday
    assert not in_quiet_time(london(2025, 9, 6, 12, 0), EVENINGS, frozenset())
    assert not in_quiet_time(london(2025, 9, 6, 12, 0), None, frozenset())
    assert in_quiet_time(london(2025, 9, 8, 7, 29), None, frozenset({0}))


def test_quiet_time_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError):
        in_quiet_time(datetime(2025, 9, 5, 21, 0), EVENINGS, WEEKEND)
    with pytest.raises(ValueError):
        next_delivery_time(datetime(2025, 9, 5, 21, 0), EVENINGS, WEEKEND)


@pytest.mark.parametrize(
    ("moment", "hours", "days", "delivery"),
    [
        # Outside quiet time: at once.
        (london(2025, 9, 3, 12, 0), EVENINGS, WEEKEND, london(2025, 9, 3, 12, 0)),
        (london(2025, 9, 3, 7, 30), EVENINGS, WEEKEND, london(2025, 9, 3, 7, 30)),
        # Wednesday night, before and after midnight: Thursday 07:30.
        (london(2025, 9, 3, 20, 0), EVENINGS, WEEKEND, london(2025, 9, 4, 7, 30)),
        (london(2025, 9, 4, 0, 0), EVENINGS, WEEKEND, london(2025, 9, 4, 7, 30)),
        (london(2025, 9, 4, 7, 29, 59), EVENINGS, WEEKEND, london(2025, 9, 4, 7, 30)),
        # Friday evening: the weekend, then Monday's quiet morning.
        (london(2025, 9, 5, 21, 0), EVENINGS, WEEKEND, london(2025, 9, 8, 7, 30)),
        # Quiet days only: the weekend ends at midnight.
        (london(2025, 9, 6, 10, 0), None, WEEKEND, london(2025, 9, 8, 0, 0)),
        # Hours that do not cross midnight.
        (london(2025, 9, 3, 13, 0), QuietHours(time(12), time(14)), frozenset(),
         london(2025, 9, 3, 14, 0)),
        # Clocks go forward (Sunday 30 March 2025): the morning is an hour shorter.
        (london(2025, 3, 28, 21, 0), EVENINGS, frozenset(), london(2025, 3, 29, 7, 30)),
        (london(2025, 3, 29, 21, 0), EVENINGS, frozenset(), london(2025, 3, 30, 7, 30)),
        # Clocks go back (Sunday 26 October 2025).
        (london(2025, 10, 25, 21, 0), EVENINGS, frozenset(), london(2025, 10, 26, 7, 30)),
    ],
)  # fmt: skip
def test_next_delivery_time(
    moment: datetime, hours: QuietHours | None, days: frozenset[int], delivery: datetime
) -> None:
    result = next_delivery_time(moment, hours, days)
    assert result.tzinfo is LONDON
    assert (result.astimezone(UTC), result.utcoffset()) == (
        delivery.astimezone(UTC),
        delivery.utcoffset(),
    )


def test_next_delivery_time_when_the_end_falls_in_the_skipped_hour() -> None:
    # 01:30 does not exist on 30 March 2025: at 01:00 GMT the clocks show 02:00 BST.
    hours = QuietHours(time(23, 0), time(1, 30))
    result = next_delivery_time(london(2025, 3, 29, 23, 30), hours, frozenset())
    assert result.astimezone(UTC) == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    assert (result.hour, result.minute) == (2, 0)


def test_next_delivery_time_in_the_repeated_hour() -> None:
    # 01:00–02:00 happens twice on 26 October 2025; each pass is judged on its clock.
    hours = QuietHours(time(0, 30), time(1, 30))
    first_pass = next_delivery_time(london(2025, 10, 26, 1, 0), hours, frozenset())
    assert first_pass.astimezone(UTC) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    second_pass = next_delivery_time(london(2025, 10, 26, 1, 0, fold=1), hours, frozenset())
    assert second_pass.astimezone(UTC) == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)


def test_next_delivery_time_when_every_day_is_quiet() -> None:
    with pytest.raises(ValueError):
        next_delivery_time(london(2025, 9, 3, 12, 0), None, frozenset(range(7)))


def test_next_delivery_time_with_no_quiet_time_is_now() -> None:
    moment = london(2025, 9, 6, 3, 0)
    assert next_delivery_time(moment, None, frozenset()) is moment


clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 30, 59]))


@settings(max_examples=60, deadline=None)
@given(
    # Around both 2025 clock changes in London.
    st.sampled_from([datetime(2025, 3, 26, tzinfo=UTC), datetime(2025, 10, 22, tzinfo=UTC)]),
    st.integers(0, 7 * 24 * 60),
    st.tuples(clock_times, clock_times).filter(lambda pair: pair[0] != pair[1]),
    st.frozensets(st.integers(0, 6), max_size=2),
)
def test_next_delivery_time_is_the_first_minute_outside_quiet_time(
    base: datetime, minutes: int, pair: tuple[time, time], days: frozenset[int]
) -> None:
    hours = QuietHours(*pair)
    moment = (base + timedelta(minutes=minutes)).astimezone(LONDON)
    result = next_delivery_time(moment, hours, days)
    assert result.astimezone(UTC) >= moment.astimezone(UTC)
    assert not in_quiet_time(result, hours, days)
    # Every minute between was quiet (quiet time changes only on whole minutes here).
    probe = moment.astimezone(UTC)
    while probe < result.astimezone(UTC):
        assert in_quiet_time(probe.astimezone(LONDON), hours, days)
        probe += timedelta(minutes=1)


def test_next_delivery_time_when_clocks_go_back_out_of_quiet_hours() -> None:
    # Quiet from 01:30: at 01:40 BST the clocks go back to 01:00 GMT, before 01:30
    # again, so quiet time is over (it returns at 01:30 GMT).
    hours = QuietHours(time(1, 30), time(7, 0))
    result = next_delivery_time(london(2025, 10, 26, 1, 40), hours, frozenset())
    assert result.astimezone(UTC) == datetime(2025, 10, 26, 1, 0, tzinfo=UTC)
    assert (result.hour, result.minute, result.fold) == (1, 0, 1)


def test_the_academic_year_starts_the_day_after_the_year_end() -> None:
    end = YearEnd.parse("08-31")
    assert academic_year_start(date(2026, 8, 31), end) == date(2025, 9, 1)
    assert academic_year_start(date(2026, 9, 1), end) == date(2026, 9, 1)
    assert academic_year_start(date(2027, 2, 28), YearEnd.parse("07-31")) == date(2026, 8, 1)


@pytest.mark.parametrize(
    ("year", "year_end", "label"),
    [
        (2026, AUGUST, "2025/26"),
        (2026, JULY, "2025/26"),
        (2000, AUGUST, "1999/00"),
        (2010, AUGUST, "2009/10"),
        (2026, DECEMBER, "2026"),  # 1 January to 31 December 2026: one calendar year
        (2026, YearEnd(12, 30), "2025/26"),  # from 31 December 2025
        (2026, YearEnd(1, 1), "2025/26"),
    ],
)
def test_year_label(year: int, year_end: YearEnd, label: str) -> None:
    assert year_label(year, year_end) == label
