"""Retention rules without I/O: when a record comes due, holds, subject-access due dates."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.dates import YearEnd, academic_year_bounds, academic_year_of, retention_deadline

REMINDER_INTERVAL_DAYS = 7  # past-due records are reminded again after this many days
HOLD_REASONS = ("legal", "safeguarding", "complaint", "subject_access", "other")
HOLD_MAX_YEARS = 10  # a review date further ahead is almost certainly mistyped
# Backups are kept at most this long (README, "Backups"): disposed data leaves them within it.
BACKUP_WINDOW_DAYS = 35

COMING, PAST = "coming", "past"


def latest_base_date_due_by(limit: date, year_end: YearEnd) -> date:
    """The latest last-intervention date whose retention deadline is on or before `limit`.

    Deadlines only ever fall on a year end and grow with the intervention date, so
    "deadline <= limit" is the same as "intervention <= this date": a range a
    database index can answer for every pupil at once.
    """
    year = academic_year_of(limit, year_end)
    if academic_year_bounds(year, year_end)[1] > limit:
        year -= 1  # the latest year end on or before the limit closes the year before
    # Interventions in academic year (year - 1) have their deadline at the end of `year`.
    return academic_year_bounds(year - 1, year_end)[1]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The retention rule as it applies on one day."""

    today: date
    year_end: YearEnd
    notice_days: int

    def deadline(self, base_date: date) -> date:
        """The last day a record may be kept, from its last intervention (or import)."""
        return retention_deadline(base_date, self.year_end)

    @property
    def past_due_through(self) -> date:
        """Records whose base date is on or before this are past due (deadline < today)."""
        return latest_base_date_due_by(self.today - timedelta(days=1), self.year_end)

    @property
    def coming_due_through(self) -> date:
        """Records whose base date is on or before this are due within the notice days."""
        return latest_base_date_due_by(self.today + timedelta(days=self.notice_days),
                                       self.year_end)

    def stage(self, base_date: date) -> str | None:
        """PAST, COMING, or None when the record is not yet due."""
        deadline = self.deadline(base_date)
        if deadline < self.today:
            return PAST
        if deadline <= self.today + timedelta(days=self.notice_days):
            return COMING
        return None

    def hold_active(self, review_date: date | None) -> bool:
        """A hold stops reminders and disposal until its review date."""
        return review_date is not None and review_date > self.today


def review_date_problem(review: date, today: date) -> str | None:
    """Why a hold's review date is not acceptable, or None."""
    if review <= today:
        return "after today"
    if review > add_years(today, HOLD_MAX_YEARS):
        return f"within {HOLD_MAX_YEARS} years"
    return None


def add_years(d: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def one_calendar_month_after(d: date) -> date:
    """A subject-access request's due date: the same day next month, or that month's
    last day when it has no such day (31 January -> 28 or 29 February)."""
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))
