"""The attendance pathway's legal numbers and the pure rules built on them.

Every amount, period and window the pathway depends on lives here, beside the
regulations it comes from, so a change in the law is a change in one place:

- The Education (Penalty Notices) (England) (Amendment) Regulations 2024, in force
  19 August 2024: £80 if paid within 21 days, £160 within 28 days; a second notice
  to the same parent for the same child within 3 years is £160 with no reduction;
  no more than two within 3 years.
- DfE *Working together to improve school attendance* (August 2024) and the national
  framework for penalty notices: a Notice to Improve first, with an improvement period
  of 3 to 6 weeks; support plans reviewed regularly.
- Children Act 1989 Schedule 3: an education supervision order lasts one year.

Nothing here reads the clock or the database: callers pass today's date and the
notices on record (issue 19; CASEWORK.md §1).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

REGULATIONS = "The Education (Penalty Notices) (England) (Amendment) Regulations 2024"
REGULATIONS_IN_FORCE = date(2024, 8, 19)

REDUCED_AMOUNT = 80  # pounds, a first notice paid within REDUCED_DAYS
FULL_AMOUNT = 160  # pounds, a first notice after REDUCED_DAYS, or any second notice
REDUCED_DAYS = 21
PAYMENT_DAYS = 28
COUNT_YEARS = 3  # notices are counted per parent per child over this rolling window
MAX_NOTICES = 2  # a third within COUNT_YEARS is not possible
OUTCOME_REMINDER_DAY = PAYMENT_DAYS + 1  # day 29: the payment window has closed

NTI_LOOKBACK_WEEKS = 12  # a penalty notice normally follows a Notice to Improve this recent
IMPROVEMENT_WEEKS = (3, 4, 5, 6)
SUPPORT_REVIEW_WEEKS = 6  # a support plan's default review date
ESO_MONTHS = 12
ESO_REMINDER_WEEKS = 4

# The reasons an officer chooses when a referral goes ahead without the usual grounds.
REFERRAL_REASONS: tuple[tuple[str, str], ...] = (
    ("holiday", "Holiday in term time"),
    ("support_not_appropriate", "Support not appropriate"),
    ("school_notice", "Notice issued by the school"),
)

FIRST_NOTICE_TEXT = (
    f"first notice: £{REDUCED_AMOUNT} if paid within {REDUCED_DAYS} days, "
    f"£{FULL_AMOUNT} within {PAYMENT_DAYS} days"
)
SECOND_NOTICE_TEXT = f"second notice: £{FULL_AMOUNT}, no reduction"
THIRD_REFUSED_TEXT = (
    f"a third notice within {COUNT_YEARS} years is not possible — "
    "consider prosecution or an education supervision order"
)
# Beside the count (which is of notices issued only): a parent's referrals not yet issued,
# so the officer sees one before referring again. `{dates}`: DD/MM/YYYY, as shown.
AWAITING_TEXT = "a referral of {dates} awaits its outcome"
AWAITING_SEVERAL_TEXT = "referrals of {dates} await their outcome"

NOTICE_KINDS = frozenset({"nti", "pn"})
OUTCOMES = frozenset({"paid", "withdrawn", "unpaid"})


@dataclass(frozen=True, slots=True)
class Notice:
    """A Notice to Improve (`nti`) or penalty notice (`pn`) issued to one parent."""

    contact_id: int
    kind: str
    issued: date
    outcome: str | None = None  # paid, withdrawn, unpaid, or None while awaited
    outcome_date: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in NOTICE_KINDS:
            raise ValueError(f"unknown notice kind: {self.kind}")
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(f"unknown notice outcome: {self.outcome}")


@dataclass(frozen=True, slots=True)
class Eligibility:
    """What a penalty-notice referral for one parent would be, today."""

    contact_id: int
    counted: int  # notices issued, not withdrawn, in the window
    ordinal: int | None  # 1 or 2 if a notice is possible, None if not
    text: str

    @property
    def allowed(self) -> bool:
        return self.ordinal is not None


def years_before(day: date, years: int) -> date:
    """The same calendar date `years` earlier; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def months_after(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day if it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def window_start(today: date) -> date:
    """The first day whose notices still count on `today`.

    A notice issued on 1 September 2024 counts up to and including 31 August 2027:
    the rolling 3 years end the day before the anniversary of the issue.
    """
    return years_before(today, COUNT_YEARS) + timedelta(days=1)


def _counts(notice: Notice, start: date, today: date) -> bool:
    return (notice.kind == "pn" and notice.outcome != "withdrawn"
            and start <= notice.issued <= today)


def notices_counted(notices: Iterable[Notice], contact_id: int, today: date) -> int:
    """Penalty notices issued to this parent, not withdrawn, in the 3 years to today.

    `notices` are this pupil's; other parents' notices are ignored, so two parents
    are counted separately.
    """
    start = window_start(today)
    return sum(1 for n in notices if n.contact_id == contact_id and _counts(n, start, today))


def eligibility(notices: Iterable[Notice], contact_id: int, today: date) -> Eligibility:
    """Whether a penalty notice to this parent for this pupil is possible today, and which."""
    counted = notices_counted(notices, contact_id, today)
    if counted == 0:
        return Eligibility(contact_id, counted, 1, FIRST_NOTICE_TEXT)
    if counted < MAX_NOTICES:
        return Eligibility(contact_id, counted, 2, SECOND_NOTICE_TEXT)
    return Eligibility(contact_id, counted, None, THIRD_REFUSED_TEXT)


def eligibility_per_parent(notices: Sequence[Notice], contact_ids: Iterable[int],
                           today: date) -> list[Eligibility]:
    """Eligibility for each parent named, in the order given."""
    return [eligibility(notices, contact_id, today) for contact_id in contact_ids]


def awaiting_text(days: Sequence[str]) -> str | None:
    """The line for a parent's penalty-notice referrals awaiting their Issued outcome,
    given their dates as shown; None when there are none. They are not counted: a
    referral is not a notice until it is issued."""
    if not days:
        return None
    return (AWAITING_TEXT if len(days) == 1 else AWAITING_SEVERAL_TEXT).format(
        dates=", ".join(days))


def nti_recent(notices: Iterable[Notice], contact_id: int, today: date) -> bool:
    """A Notice to Improve went to this parent in the last 12 weeks (today included)."""
    start = today - timedelta(weeks=NTI_LOOKBACK_WEEKS)
    return any(n.kind == "nti" and n.contact_id == contact_id and n.outcome != "withdrawn"
               and start <= n.issued <= today for n in notices)


def reason_required(notices: Iterable[Notice], contact_id: int, today: date, *,
                    rule_holds: bool) -> bool:
    """A referral reason must be chosen: the penalty-notice rule (attendance.
    penalty_notice_holds) does not hold now, or no recent Notice to Improve to this parent."""
    return not rule_holds or not nti_recent(notices, contact_id, today)


def payment_day(issued: date, paid: date) -> int:
    """The day of the payment window on which `paid` falls: the day after issue is day 1."""
    if paid < issued:
        raise ValueError("a notice cannot be paid before it was issued")
    return (paid - issued).days


def amount_due(ordinal: int, issued: date, paid: date) -> int | None:
    """The amount in pounds for a notice paid on `paid`, or None once the window closed.

    `ordinal` is 1 for a first notice, 2 for a second (no reduction).
    """
    if ordinal not in (1, 2):
        raise ValueError("only a first or second notice has an amount")
    day = payment_day(issued, paid)
    if day > PAYMENT_DAYS:
        return None
    if ordinal == 1 and day <= REDUCED_DAYS:
        return REDUCED_AMOUNT
    return FULL_AMOUNT


def ordinal_at_issue(notices: Iterable[Notice], notice: Notice) -> int:
    """Whether `notice` was a first or second: the notices counted the day before it."""
    earlier = [n for n in notices if n is not notice and n.issued < notice.issued]
    return min(notices_counted(earlier, notice.contact_id, notice.issued) + 1, MAX_NOTICES)


def outcome_reminder_date(issued: date) -> date:
    """Day 29 after issue: the reminder when neither Paid nor Withdrawn is recorded."""
    return issued + timedelta(days=OUTCOME_REMINDER_DAY)


def needs_outcome_reminder(notice: Notice, today: date) -> bool:
    """A penalty notice whose payment window has closed with no Paid or Withdrawn."""
    return (notice.kind == "pn" and notice.outcome not in ("paid", "withdrawn")
            and today >= outcome_reminder_date(notice.issued))


def support_review_date(start: date) -> date:
    """A support plan's (or contract's) default review date, 6 weeks after it starts."""
    return start + timedelta(weeks=SUPPORT_REVIEW_WEEKS)


def improvement_period_end(issued: date, weeks: int) -> date:
    """The last day of a Notice to Improve's improvement period of 3 to 6 weeks.

    The period runs from the day after issue, so a 3-week notice issued on a Monday
    ends on the Monday 3 weeks later.
    """
    if weeks not in IMPROVEMENT_WEEKS:
        raise ValueError("an improvement period is 3, 4, 5 or 6 weeks")
    return issued + timedelta(weeks=weeks)


def improvement_reminder_date(issued: date, weeks: int) -> date:
    """The day after the improvement period ends."""
    return improvement_period_end(issued, weeks) + timedelta(days=1)


def contract_allowed(parental_responsibility_present: Iterable[bool | None]) -> bool:
    """An attendance contract needs at least one parent present with parental
    responsibility; one flag per contact present (None: not known, which is not enough)."""
    return any(flag is True for flag in parental_responsibility_present)


def eso_end_date(granted: date) -> date:
    """An education supervision order ends 12 months after it is granted."""
    return months_after(granted, ESO_MONTHS)


def eso_reminder_date(end: date) -> date:
    """4 weeks before an education supervision order ends."""
    return end - timedelta(weeks=ESO_REMINDER_WEEKS)


def reason_label(code: str) -> str:
    """The label of a referral reason code; ValueError for an unknown one."""
    for known, label in REFERRAL_REASONS:
        if known == code:
            return label
    raise ValueError(f"unknown referral reason: {code}")
