"""The pathway reminders' pure rules: the catch-up window, the key, and the attendance
comparison after an improvement period (bot/domain/pathway_reminders.py)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain import pathway_reminders as reminders

ISSUED = date(2026, 11, 2)  # a Monday


def _weekdays(first: date, last: date, code: str) -> list[tuple[date, str]]:
    marks, day = [], first
    while day <= last:
        if day.weekday() < 5:
            marks += [(day, code), (day, code)]
        day += timedelta(days=1)
    return marks


def test_due_today_or_missed_in_the_last_week_only() -> None:
    today = date(2026, 11, 25)
    assert reminders.in_window(today, today)
    assert reminders.in_window(today - timedelta(days=7), today)
    assert not reminders.in_window(today - timedelta(days=8), today)
    assert not reminders.in_window(today + timedelta(days=1), today)


def test_the_key_is_the_item_and_its_date() -> None:
    assert reminders.reminder_key("review", 5, None, ISSUED) == "review:5:0:2026-11-02"
    assert reminders.reminder_key("outcome_reminder", 5, 9, ISSUED) != reminders.reminder_key(
        "outcome_reminder", 5, 8, ISSUED)


def test_the_period_against_the_ten_school_weeks_before_it() -> None:
    # 12 weeks of absence before the notice, then full attendance in its 3 weeks.
    before = _weekdays(ISSUED - timedelta(weeks=12), ISSUED - timedelta(days=3), "O")
    # The two most distant weeks were present: outside the 10 school weeks counted.
    before[:20] = [(day, "/") for day, _ in before[:20]]
    during = _weekdays(ISSUED + timedelta(days=1), ISSUED + timedelta(weeks=3), "/")
    after = _weekdays(ISSUED + timedelta(weeks=3, days=1), ISSUED + timedelta(weeks=4), "O")
    in_period, earlier = reminders.improvement_tallies(before + during + after, ISSUED, 3)
    assert (in_period.attended, in_period.possible) == (30, 30)  # Tue 3/11 to Mon 23/11
    assert (earlier.attended, earlier.possible) == (0, 100)
    assert in_period.attendance_percent_text == "100.0 %"
    assert earlier.attendance_percent_text == "0.0 %"


def test_a_holiday_week_is_not_a_school_week() -> None:
    # Ten school weeks reach back past a week with planned closures only.
    marks = _weekdays(ISSUED - timedelta(weeks=11), ISSUED - timedelta(days=3), "/")
    holiday = [(day, "#") for day, code in marks if ISSUED - timedelta(weeks=3) <= day
               < ISSUED - timedelta(weeks=2)]
    marks = [(day, code) for day, code in marks
             if not ISSUED - timedelta(weeks=3) <= day < ISSUED - timedelta(weeks=2)] + holiday
    _, earlier = reminders.improvement_tallies(marks, ISSUED, 4)
    assert earlier.possible == 100  # 10 weeks of 10 sessions, the closed week skipped


def test_no_marks_before_gives_no_figure() -> None:
    in_period, earlier = reminders.improvement_tallies([], ISSUED, 6)
    assert in_period.attendance_percent_text == earlier.attendance_percent_text == "n/a"
