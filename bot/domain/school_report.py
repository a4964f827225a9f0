"""What a commissioning school's report says, worked out from plain values (no I/O).

A pupil is *referred* to a school's report when allocated to an officer at any time in
the period while at that school; the referral date is the first such day. Only the
pupil's time at the school counts (the marks, visits, steps and decisions dated while
there): a pupil who moved to another school is the other school's from the move on.
Attendance is the academic year's, as on the pupil card: "at referral" counts the marks
of the referral's academic year before the referral date, "now" those of the academic
year of the pupil's last day (the period's end, or their last day at the school) up to
that day. Bands follow the card's and the chart's rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.attendance import Tally, in_band
from bot.domain.caseload import Band, band_labels, band_of
from bot.domain.dates import YearEnd, academic_year_start, school_week_start


class EmptyPeriod(ValueError):
    """A period that ends before it starts, or starts in the future."""


@dataclass(frozen=True)
class Period:
    """The days a report covers, both ends included."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date | None, end: date | None, *, today: date,
           year_end: YearEnd) -> Period:
        """The period asked for; by default this academic year to date."""
        end = end or today
        start = start or academic_year_start(end, year_end)
        if start > today:
            raise EmptyPeriod("the period starts after today")
        if end < start:
            raise EmptyPeriod("the period ends before it starts")
        return cls(start, min(end, today))

    def weeks(self) -> list[date]:
        """The Monday of every week the period touches, in order."""
        first = school_week_start(self.start)
        count = (school_week_start(self.end) - first).days // 7 + 1
        return [first + timedelta(weeks=n) for n in range(count)]


@dataclass(frozen=True)
class Allocation:
    """One span of an allocation: the officer's ref, first and last day (None: open)."""

    officer_ref: str
    started: date
    ended: date | None


_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Stay:
    """One span of a pupil's time at the school: from `since` (None: the pupil's first
    school, held as theirs from before the service knew them) to the day before `until`,
    the first day at the next school (None: still there)."""

    since: date | None
    until: date | None

    def within(self, period: Period) -> tuple[date, date] | None:
        """The first and last day of the stay in `period`; None when it has none."""
        first = period.start if self.since is None else max(self.since, period.start)
        last = period.end if self.until is None else min(self.until - _DAY, period.end)
        return (first, last) if first <= last else None


@dataclass(frozen=True)
class Referral:
    """A pupil's place in a school's report: the referral date, the officer ref of the
    last allocation in it, the pupil's last day counted ("now": the period's end, or the
    last day at the school) and, for a pupil who left the school in the period, the day
    of the move (their first day at the next school)."""

    referred_on: date
    officer_ref: str
    last_day: date
    left_on: date | None = None


def referral(spans: Sequence[Allocation], stays: Sequence[Stay], period: Period
             ) -> Referral | None:
    """Where the pupil stands in the school's report for `period`, from their allocations
    and their stays at the school; None when they were not allocated on any day of the
    period they were at the school."""
    windows = [(window, stay) for stay in stays if (window := stay.within(period))]
    allocated = [(max(span.started, first), span) for span in spans
                 for (first, last), _ in windows
                 if span.started <= last and (span.ended is None or span.ended >= first)]
    if not allocated:
        return None
    referred_on = min(day for day, _ in allocated)
    officer = max((span for _, span in allocated), key=lambda span: span.started)
    (_, last_day), stay = max(windows, key=lambda one: one[0][1])
    left_on = stay.until if last_day < period.end else None
    return Referral(referred_on, officer.officer_ref, last_day, left_on)


def attendance_at_referral(marks: Iterable[tuple[date, str]], referred_on: date,
                           year_end: YearEnd) -> Tally:
    """The referral's academic year to the day before the referral."""
    first = academic_year_start(referred_on, year_end)
    return Tally.of(code for day, code in marks if first <= day < referred_on)


def attendance_now(marks: Iterable[tuple[date, str]], last_day: date,
                   year_end: YearEnd) -> Tally:
    """The academic year of `last_day` (the period's end, or the pupil's last day at the
    school) up to that day."""
    first = academic_year_start(last_day, year_end)
    return Tally.of(code for day, code in marks if first <= day <= last_day)


@dataclass(frozen=True)
class ReferredPupil:
    """One row of the report's table (the school holds these pupils' data already)."""

    pupil_id: int
    name: str
    year_group: str
    case_ref: str
    officer_ref: str
    referred_on: date
    at_referral: Tally
    now: Tally
    stage: str | None = None  # the pathway stage on the last day counted; None: no step
    left_on: date | None = None  # the day they moved to another school, in the period


@dataclass(frozen=True)
class Thresholds:
    """The persistent- and severe-absence thresholds in force (EWO_PA/SA_THRESHOLD)."""

    pa: int
    sa: int

    def band(self, tally: Tally) -> Band:
        return band_of(tally.attended, tally.possible, pa_threshold=self.pa,
                       sa_threshold=self.sa)

    def persistent(self, tally: Tally) -> bool:
        """In persistent absence, severe included."""
        return in_band(tally.attended, tally.possible, self.pa)

    def severe(self, tally: Tally) -> bool:
        return in_band(tally.attended, tally.possible, self.sa)


@dataclass(frozen=True)
class Headline:
    """The report's large numbers."""

    referred: int
    at_referral: Tally
    now: Tally
    persistent_at_referral: int
    persistent_now: int
    severe_at_referral: int
    severe_now: int


def headline(pupils: Sequence[ReferredPupil], thresholds: Thresholds) -> Headline:
    """Totals over the referred pupils: attendance as one pooled figure, bands as counts."""
    return Headline(
        referred=len(pupils),
        at_referral=sum((pupil.at_referral for pupil in pupils), Tally()),
        now=sum((pupil.now for pupil in pupils), Tally()),
        persistent_at_referral=sum(thresholds.persistent(p.at_referral) for p in pupils),
        persistent_now=sum(thresholds.persistent(p.now) for p in pupils),
        severe_at_referral=sum(thresholds.severe(p.at_referral) for p in pupils),
        severe_now=sum(thresholds.severe(p.now) for p in pupils),
    )


def band_mix(pupils: Sequence[ReferredPupil], thresholds: Thresholds
             ) -> tuple[list[int], list[int]]:
    """Pupils per band (in Band order) at referral and now."""
    at_referral = Counter(thresholds.band(pupil.at_referral) for pupil in pupils)
    now = Counter(thresholds.band(pupil.now) for pupil in pupils)
    return [at_referral[band] for band in Band], [now[band] for band in Band]


def weekly_attendance(marks: Mapping[int, Sequence[tuple[date, str]]], period: Period
                      ) -> list[tuple[date, Tally]]:
    """Every week of the period with the pooled tally of the referred pupils' marks in it."""
    codes: dict[date, Counter[str]] = {week: Counter() for week in period.weeks()}
    for pupil_marks in marks.values():
        for day, code in pupil_marks:
            if period.start <= day <= period.end:
                codes[school_week_start(day)][code] += 1
    return [(week, Tally.of_counts(counted)) for week, counted in codes.items()]


@dataclass(frozen=True)
class Decisions:
    """Sharing decisions with one type of recipient: shared, and not shared."""

    shared: int = 0
    not_shared: int = 0


@dataclass(frozen=True)
class Interventions:
    """What was delivered in the period to the referred pupils, counted by label: visits
    (by type, by who was seen), pathway steps and outcomes, sharing decisions by
    recipient type. Corrections count once (only current entries are read)."""

    by_type: Mapping[str, int] = field(default_factory=dict)
    by_contact: Mapping[str, int] = field(default_factory=dict)
    steps: Mapping[str, int] = field(default_factory=dict)
    outcomes: Mapping[str, int] = field(default_factory=dict)
    sharing: Mapping[str, Decisions] = field(default_factory=dict)

    @property
    def visits(self) -> int:
        return sum(self.by_type.values())

    @property
    def pathway_steps(self) -> int:
        return sum(self.steps.values())

    @property
    def pathway_outcomes(self) -> int:
        return sum(self.outcomes.values())

    @property
    def sharing_decisions(self) -> int:
        return sum(one.shared + one.not_shared for one in self.sharing.values())


@dataclass(frozen=True)
class SchoolReport:
    """Everything one school's PDF shows."""

    urn: str
    school: str
    period: Period
    made_at: str  # when it was made, as shown in the footer
    pupils: tuple[ReferredPupil, ...]
    headline: Headline
    band_mix: tuple[list[int], list[int]]
    thresholds: Thresholds
    weeks: tuple[tuple[date, Tally], ...]
    interventions: Interventions

    @property
    def band_labels(self) -> tuple[str, ...]:
        return band_labels(pa_threshold=self.thresholds.pa, sa_threshold=self.thresholds.sa)

    def counts(self) -> dict[str, int]:
        """The figures the audit entry keeps (counts only, never names)."""
        done = self.interventions
        return {"referred": self.headline.referred, "visits": done.visits,
                "pathway_steps": done.pathway_steps, "pathway_outcomes": done.pathway_outcomes,
                "sharing_decisions": done.sharing_decisions,
                "persistent_now": self.headline.persistent_now,
                "severe_now": self.headline.severe_now}
