"""Retention stages as date ranges, holds, review dates and subject-access due dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.dates import YearEnd, retention_deadline
from bot.domain.retention import (
    COMING,
    PAST,
    RetentionPolicy,
    latest_base_date_due_by,
    one_calendar_month_after,
    review_date_problem,
)

AUGUST = YearEnd(8, 31)
year_ends = st.builds(YearEnd, st.integers(1, 12), st.integers(1, 28)) | st.just(AUGUST)
days = st.dates(date(2000, 1, 1), date(2100, 12, 31))


@given(days, days, year_ends)
def test_the_range_is_exactly_the_records_due_by_the_limit(base: date, limit: date,
                                                           year_end: YearEnd) -> None:
    due = retention_deadline(base, year_end) <= limit
    assert (base <= latest_base_date_due_by(limit, year_end)) == due


@pytest.mark.parametrize(
    ("today", "base", "stage"),
    [
        (date(2026, 8, 31), date(2025, 8, 31), COMING),  # the deadline itself: kept
        (date(2026, 9, 1), date(2025, 8, 31), PAST),  # past due from the next day
        (date(2026, 9, 1), date(2025, 9, 1), None),  # next academic year: a year more
        (date(2026, 8, 1), date(2025, 8, 31), COMING),  # 30 days before the deadline
        (date(2026, 7, 31), date(2025, 8, 31), None),  # 31 days before: not yet
        (date(2025, 9, 1), date(2024, 2, 29), PAST),  # leap day: deadline 31 Aug 2025
        (date(2025, 8, 31), date(2024, 2, 29), COMING),
    ],
)
def test_stages_at_the_boundaries(today: date, base: date, stage: str | None) -> None:
    assert RetentionPolicy(today, AUGUST, 30).stage(base) == stage


def test_a_configured_year_end_moves_every_boundary() -> None:
    july = RetentionPolicy(date(2026, 8, 1), YearEnd(7, 31), 0)
    assert july.deadline(date(2025, 7, 31)) == date(2026, 7, 31)
    assert july.stage(date(2025, 7, 31)) == PAST
    assert july.stage(date(2025, 8, 1)) is None


def test_a_hold_lasts_until_its_review_date() -> None:
    policy = RetentionPolicy(date(2026, 11, 25), AUGUST, 30)
    assert policy.hold_active(date(2026, 11, 26))
    assert not policy.hold_active(date(2026, 11, 25))
    assert not policy.hold_active(None)


def test_review_dates() -> None:
    today = date(2026, 11, 25)
    assert review_date_problem(today, today) == "after today"
    assert review_date_problem(today + timedelta(days=1), today) is None
    assert review_date_problem(date(2036, 11, 25), today) is None
    assert review_date_problem(date(2036, 11, 26), today) == "within 10 years"


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 11, 25), date(2026, 12, 25)),
        (date(2026, 12, 31), date(2027, 1, 31)),
        (date(2027, 1, 31), date(2027, 2, 28)),
        (date(2028, 1, 30), date(2028, 2, 29)),
    ],
)
def test_subject_access_is_due_one_calendar_month_later(received: date, due: date) -> None:
    assert one_calendar_month_after(received) == due
