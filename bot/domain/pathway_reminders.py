"""The attendance pathway's pushed reminders: which dates remind, each reminder's key (so
it is queued once, ever) and the attendance comparison after an improvement period.
Pure: the caller passes the dated items, the marks and today; bot/chat/reminders.py
words them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain import penalty_notices as rules
from bot.domain.attendance import PLANNED_CLOSURE, Tally, school_weeks
from bot.domain.dates import school_week_start

# A date missed while the bot was down is still reminded this many days late; older ones
# (a service going live with a long history) are not pushed at all, /due lists them.
CATCH_UP_DAYS = 7
BEFORE_WEEKS = 10  # the comparison after an improvement period: the 10 school weeks before


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder ready to queue, for the officer the pupil is allocated to."""

    key: str
    pupil_id: int
    officer_id: int
    case_ref: str
    initials: str
    school: str
    kind: str  # review, improvement_reminder, outcome_reminder, eso_reminder
    due: date
    step_kind: str
    step_date: date
    during: Tally | None = None  # improvement_reminder: the improvement period
    before: Tally | None = None  # and the 10 school weeks before it


def reminder_key(kind: str, step_id: int, contact_id: int | None, due: date) -> str:
    """What makes a reminder the same one: the item and its date (a corrected date is a
    new reminder; the same date is never pushed twice)."""
    return f"{kind}:{step_id}:{contact_id or 0}:{due.isoformat()}"


def in_window(due: date, today: date) -> bool:
    """Due today, or missed on a recent day (the bot was down)."""
    return today - timedelta(days=CATCH_UP_DAYS) <= due <= today


def improvement_tallies(marks: Iterable[tuple[date, str]], issued: date,
                        weeks: int) -> tuple[Tally, Tally]:
    """Sessions in the improvement period (the day after issue to its last day) and in
    the pupil's 10 school weeks before it (weeks with any mark other than `#`)."""
    end = rules.improvement_period_end(issued, weeks)
    marks = list(marks)
    during = Tally.of(code for day, code in marks if issued < day <= end)
    earlier = [(day, code) for day, code in marks if day <= issued]
    mondays = school_weeks(earlier)[:BEFORE_WEEKS]
    if not mondays:
        return during, Tally()
    first = mondays[-1]
    before = Tally.of(code for day, code in earlier
                      if school_week_start(day) >= first and code != PLANNED_CLOSURE)
    return during, before
