"""Attendance codes, figures and the five alert rules (shared/spec/ATTENDANCE.md)."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from bot.domain.dates import school_week_start


class CodeGroup(enum.Enum):
    """The group a session code belongs to; it decides how the session counts."""

    PRESENT = "present"
    APPROVED = "approved educational activity"
    AUTHORISED = "authorised absence"
    UNAUTHORISED = "unauthorised absence"
    UNAVOIDABLE = "unable to attend, unavoidable cause"
    ADMINISTRATIVE = "administrative"


def _group(group: CodeGroup, codes: str) -> dict[str, CodeGroup]:
    return dict.fromkeys(codes.split(), group)


CODES: Mapping[str, CodeGroup] = MappingProxyType(
    {
        **_group(CodeGroup.PRESENT, "/ \\ L"),
        **_group(CodeGroup.APPROVED, "K V P W B"),
        **_group(CodeGroup.AUTHORISED, "C C1 C2 M J1 S I R T E"),
        **_group(CodeGroup.UNAUTHORISED, "G N O U"),
        **_group(CodeGroup.UNAVOIDABLE, "Q Y1 Y2 Y3 Y4 Y5 Y6 Y7"),
        **_group(CodeGroup.ADMINISTRATIVE, "D X Z #"),
        # Retired codes that older files may still hold.
        "H": CodeGroup.AUTHORISED,
        "J": CodeGroup.APPROVED,
        "F": CodeGroup.AUTHORISED,
        "Y": CodeGroup.UNAVOIDABLE,
    }
)

# What each code means (DfE school attendance guidance, codes in force from 19 August
# 2024), for `ewobot codes` and the attendance import's errors.
CODE_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "/": "present (morning)",
        "\\": "present (afternoon)",
        "L": "late, arrived before the register closed",
        "K": "attending education provision arranged by the local authority",
        "V": "attending an educational visit or trip",
        "P": "participating in a supervised sporting activity",
        "W": "attending work experience",
        "B": "attending any other approved educational activity",
        "C": "leave of absence for exceptional circumstances",
        "C1": "leave of absence for a regulated performance or employment abroad",
        "C2": "leave of absence for a part-time timetable",
        "M": "leave of absence for a medical or dental appointment",
        "J1": "leave of absence for an interview for employment or further education",
        "S": "leave of absence for study leave",
        "I": "illness (not medical or dental appointments)",
        "R": "religious observance",
        "T": "parent travelling for occupational purposes",
        "E": "suspended or permanently excluded, no alternative provision",
        "G": "holiday not authorised by the school",
        "N": "reason for absence not yet provided",
        "O": "absent in other or unknown circumstances",
        "U": "arrived after the register closed",
        "Q": "unable to attend: lack of access arrangements",
        "Y1": "unable to attend: transport normally provided not available",
        "Y2": "unable to attend: widespread disruption to travel",
        "Y3": "unable to attend: part of the school premises closed",
        "Y4": "unable to attend: whole school site unexpectedly closed",
        "Y5": "unable to attend: in criminal justice detention",
        "Y6": "unable to attend: public health guidance or law",
        "Y7": "unable to attend: any other unavoidable cause",
        "D": "dual registered, attending the other school",
        "X": "not of compulsory school age, not required to attend",
        "Z": "prospective pupil, not yet on roll",
        "#": "planned whole or partial school closure",
        "H": "retired: holiday authorised by the school",
        "J": "retired: interview",
        "F": "retired: extended family holiday agreed",
        "Y": "retired: unable to attend, exceptional circumstances",
    }
)
RETIRED_CODES = ("H", "J", "F", "Y")

NO_MARK = "-"
PLANNED_CLOSURE = "#"
SESSIONS = ("AM", "PM")

_POSSIBLE = frozenset(
    {CodeGroup.PRESENT, CodeGroup.APPROVED, CodeGroup.AUTHORISED, CodeGroup.UNAUTHORISED}
)
_ATTENDED = frozenset({CodeGroup.PRESENT, CodeGroup.APPROVED})
_LATE = frozenset({"L", "U"})
_CONTINUOUS_ABSENCE = frozenset({"N", "O"})

PENALTY_WEEKS = 10
PENALTY_SESSIONS = 10
PUNCTUALITY_WEEKS = 4
PUNCTUALITY_LATES = 10


class UnknownCode(ValueError):
    """A session code that is neither in force, retired, nor "no mark"."""


def normalise_code(raw: str) -> str | None:
    """The code as stored, or None for "no mark yet" (`-` or blank).

    The message of UnknownCode never repeats the value: import errors must not
    echo what the file held.
    """
    code = raw.strip().upper()
    if code in ("", NO_MARK):
        return None
    if code not in CODES:
        raise UnknownCode("not an attendance code")
    return code


def code_group(code: str) -> CodeGroup:
    """The group of a normalised code; UnknownCode for anything else."""
    try:
        return CODES[code]
    except KeyError:
        raise UnknownCode("not an attendance code") from None


def is_possible(code: str) -> bool:
    """Whether the session counts among possible sessions."""
    return code_group(code) in _POSSIBLE


def is_attended(code: str) -> bool:
    """Present or at an approved educational activity."""
    return code_group(code) in _ATTENDED


def is_authorised(code: str) -> bool:
    """An authorised absence."""
    return code_group(code) is CodeGroup.AUTHORISED


def is_unauthorised(code: str) -> bool:
    """An unauthorised absence (G, N, O, U)."""
    return code_group(code) is CodeGroup.UNAUTHORISED


def is_late(code: str) -> bool:
    """A late mark: L (present) or U (unauthorised absence)."""
    code_group(code)  # refuse unknown codes here too
    return code in _LATE


# --- figures -------------------------------------------------------------------------


def percent_text(numerator: int, denominator: int) -> str:
    """`numerator / denominator` as a percentage to one decimal place, rounded half
    up, then ` %`; `n/a` when the denominator is 0.

    Integer arithmetic only, so 1/8 is exactly 12.5 % and never 12.4 % by float error.
    """
    if denominator < 0 or numerator < 0:
        raise ValueError("percentages of negative counts are meaningless")
    if denominator == 0:
        return "n/a"
    # tenths of a per cent = numerator * 1000 / denominator; floor(x + 1/2) rounds half up.
    tenths = (2 * numerator * 1000 + denominator) // (2 * denominator)
    return f"{tenths // 10}.{tenths % 10} %"


def in_band(attended: int, possible: int, threshold: int) -> bool:
    """Whether attendance is at or below `threshold` per cent, compared exactly."""
    if possible == 0:
        return False
    return attended * 100 <= threshold * possible


@dataclass(frozen=True, slots=True)
class Tally:
    """Session counts behind the attendance figures."""

    possible: int = 0
    attended: int = 0
    authorised: int = 0
    unauthorised: int = 0
    lates_l: int = 0
    lates_u: int = 0

    @classmethod
    def of(cls, codes: Iterable[str]) -> Tally:
        """The tally of normalised codes (one per session)."""
        # Count first, then weigh each distinct code once: a year holds ~380 sessions.
        return cls.of_counts(Counter(codes))

    @classmethod
    def of_counts(cls, counts: Mapping[str, int]) -> Tally:
        """The tally of sessions counted by normalised code (`{"/": 170, "N": 3}`)."""
        totals = [0] * _TALLY_FIELDS
        for code, times in counts.items():
            for index, count in enumerate(_weights(code)):
                totals[index] += times * count
        return cls(*totals)

    @classmethod
    def _one(cls, code: str) -> Tally:
        return cls(*_weights(code))

    @classmethod
    def _work_out_one(cls, code: str) -> Tally:
        group = code_group(code)
        if group not in _POSSIBLE:
            return cls()
        return cls(
            possible=1,
            attended=int(group in _ATTENDED),
            authorised=int(group is CodeGroup.AUTHORISED),
            unauthorised=int(group is CodeGroup.UNAUTHORISED),
            lates_l=int(code == "L"),
            lates_u=int(code == "U"),
        )

    def __add__(self, other: object) -> Tally:
        if not isinstance(other, Tally):
            return NotImplemented
        return Tally(
            *(mine + theirs for mine, theirs in zip(self._counts(), other._counts(), strict=True))
        )

    def __sub__(self, other: object) -> Tally:
        if not isinstance(other, Tally):
            return NotImplemented
        counts = [
            mine - theirs for mine, theirs in zip(self._counts(), other._counts(), strict=True)
        ]
        if min(counts) < 0:
            # A negative count means the caller took away a mark it never added.
            raise ValueError("cannot take away sessions the tally does not hold")
        return Tally(*counts)

    def _counts(self) -> tuple[int, ...]:
        return (self.possible, self.attended, self.authorised, self.unauthorised,
                self.lates_l, self.lates_u)

    def with_code(self, code: str) -> Tally:
        """This tally with one more session marked `code`."""
        return self + Tally._one(code)

    def without_code(self, code: str) -> Tally:
        """This tally with one session marked `code` taken away (a replaced mark)."""
        return self - Tally._one(code)

    @property
    def absent(self) -> int:
        """Authorised plus unauthorised absences."""
        return self.authorised + self.unauthorised

    @property
    def lates(self) -> int:
        """Late marks of both kinds (L and U)."""
        return self.lates_l + self.lates_u

    @property
    def attendance_percent_text(self) -> str:
        """Attendance as shown to people, e.g. `85.0 %` or `n/a`."""
        return percent_text(self.attended, self.possible)

    @property
    def absence_percent_text(self) -> str:
        """Absence (authorised and unauthorised) as shown to people."""
        return percent_text(self.absent, self.possible)


_TALLY_FIELDS = len(fields(Tally))


@lru_cache(maxsize=64)  # the codes of ATTENDANCE.md
def _weights(code: str) -> tuple[int, ...]:
    """How one session marked `code` counts, field by field (worked out once a code)."""
    return Tally._work_out_one(code)._counts()


# --- rules ---------------------------------------------------------------------------


class Rule(enum.StrEnum):
    """The five alert rules; the values are what the database stores."""

    PERSISTENT = "persistent_absence"
    SEVERE = "severe_absence"
    PENALTY = "penalty_notice"
    CONTINUOUS = "continuous_absence"
    PUNCTUALITY = "punctuality"


RULE_LABELS: dict[Rule, str] = {
    Rule.PERSISTENT: "persistent absence",
    Rule.SEVERE: "severe absence",
    Rule.PENALTY: "penalty-notice consideration",
    Rule.CONTINUOUS: "continuous absence (possible CME — check)",
    Rule.PUNCTUALITY: "punctuality concern",
}


def school_weeks(marks: Iterable[tuple[date, str]]) -> list[date]:
    """The Mondays of the weeks in which the pupil has any mark other than `#`,
    most recent first."""
    mondays = {school_week_start(day) for day, code in marks if code != PLANNED_CLOSURE}
    return sorted(mondays, reverse=True)


def _count_in_recent_weeks(
    marks: Sequence[tuple[date, str]], weeks: int, counted: frozenset[str]
) -> int:
    return _WeekCounts(marks).count(weeks, counted)


class _WeekCounts:
    """A pupil's marks by school week, worked out once for every window rule."""

    def __init__(self, marks: Iterable[tuple[date, str]]) -> None:
        self._marks = [(school_week_start(day), code) for day, code in marks]
        mondays = {monday for monday, code in self._marks if code != PLANNED_CLOSURE}
        self._weeks = sorted(mondays, reverse=True)

    def count(self, weeks: int, counted: frozenset[str]) -> int:
        """Marks with a code in `counted` in the `weeks` most recent school weeks."""
        if not self._weeks:
            return 0
        earliest = self._weeks[: weeks][-1]
        return sum(1 for monday, code in self._marks if code in counted and monday >= earliest)


_UNAUTHORISED_CODES = frozenset(c for c, g in CODES.items() if g is CodeGroup.UNAUTHORISED)


def penalty_notice_holds(marks: Sequence[tuple[date, str]]) -> bool:
    """10 or more unauthorised sessions in the pupil's 10 most recent school weeks.

    `marks` are (date, code) in any order and must include every mark of those weeks.
    """
    count = _count_in_recent_weeks(marks, PENALTY_WEEKS, _UNAUTHORISED_CODES)
    return count >= PENALTY_SESSIONS


def punctuality_holds(marks: Sequence[tuple[date, str]]) -> bool:
    """10 or more late marks (L or U) in the pupil's 4 most recent school weeks.

    `marks` are (date, code) in any order and must include every mark of those weeks.
    """
    return _count_in_recent_weeks(marks, PUNCTUALITY_WEEKS, _LATE) >= PUNCTUALITY_LATES


def _continuous_run(marks: Sequence[tuple[date, str, str]], sessions: int, *,
                    in_order: bool = True) -> bool | None:
    """Walk back from the latest session: True once `sessions` possible sessions are
    all N/O, False at the first thing that breaks the run, None if the marks ran out
    first (earlier marks could still decide it). Marks `in_order` (by date) are read
    from the end only as far back as the run goes; others are sorted first."""
    if sessions < 1:
        raise ValueError("the continuous-absence run needs at least one session")
    days = _days_latest_first(marks) if in_order else _days_sorted(marks)
    count = 0
    for index, day_marks in enumerate(days):
        slots = ["PM", "AM"]
        if index == 0 and "PM" not in day_marks:
            slots = ["AM"]  # the latest afternoon is not marked yet: the run ends at AM
        for session in slots:
            code = day_marks.get(session)
            if code is None:
                return False  # a gap in a day that has the other session marked
            if not is_possible(code):
                continue
            if code not in _CONTINUOUS_ABSENCE:
                return False
            count += 1
            if count >= sessions:
                return True
    return None


def _days_sorted(marks: Iterable[tuple[date, str, str]]) -> list[dict[str, str]]:
    """Each day's marks by session, the latest day first (of two marks for the same
    session, the later one counts)."""
    by_day: dict[date, dict[str, str]] = {}
    for day, session, code in marks:
        if session not in SESSIONS:
            raise ValueError("a session is AM or PM")
        by_day.setdefault(day, {})[session] = code
    return [by_day[day] for day in sorted(by_day, reverse=True)]


def _days_latest_first(marks: Sequence[tuple[date, str, str]]) -> Iterator[dict[str, str]]:
    """`_days_sorted` for marks in order of date, read from the end as asked."""
    day: date | None = None
    day_marks: dict[str, str] = {}
    for when, session, code in reversed(marks):
        if session not in SESSIONS:
            raise ValueError("a session is AM or PM")
        if when != day:
            if day is not None:
                if when > day:
                    raise ValueError("marks must be in chronological order")
                yield day_marks
            day, day_marks = when, {}
        day_marks.setdefault(session, code)
    if day is not None:
        yield day_marks


def continuous_absence_holds(marks: Sequence[tuple[date, str, str]], sessions: int) -> bool:
    """The pupil's latest `sessions` possible sessions are all N or O.

    `marks` are (date, 'AM'/'PM', code) in chronological order. Sessions that are not
    possible neither break nor extend the run. A missing mark breaks it: a day that
    has one session marked and not the other is missing that session (except the
    afternoon of the latest day, which may simply not be marked yet). A day with no
    marks at all is not missing: weekends, bank holidays and closures often carry no
    marks, and the data cannot tell those apart from a school day left unmarked.
    Of two marks for the same session, the later in `marks` counts.
    """
    return _continuous_run(marks, sessions, in_order=False) is True


def rules_holding(
    *,
    year_tally: Tally,
    marks_recent: Sequence[tuple[date, str, str]],
    pa_threshold: int,
    sa_threshold: int,
    continuous_sessions: int,
) -> frozenset[Rule]:
    """The rules that hold for one pupil.

    Persistent and severe absence come from `year_tally` (this academic year); severe
    absence always brings persistent absence with it. The other three come from
    `marks_recent`: (date, 'AM'/'PM', code) in chronological order, holding at least
    every mark from `recent_window_start(latest mark)` onwards, and all earlier marks
    as well when `covers_recent_window` says those are not enough. Passing every mark
    the pupil has is always correct, only slower. Whether the pupil is of compulsory
    school age, and has enough possible sessions, is for the caller to check.
    """
    holding: set[Rule] = set()
    if in_band(year_tally.attended, year_tally.possible, sa_threshold):
        holding |= {Rule.SEVERE, Rule.PERSISTENT}
    elif in_band(year_tally.attended, year_tally.possible, pa_threshold):
        holding.add(Rule.PERSISTENT)
    weeks = _WeekCounts((day, code) for day, _session, code in marks_recent)
    if weeks.count(PENALTY_WEEKS, _UNAUTHORISED_CODES) >= PENALTY_SESSIONS:
        holding.add(Rule.PENALTY)
    if weeks.count(PUNCTUALITY_WEEKS, _LATE) >= PUNCTUALITY_LATES:
        holding.add(Rule.PUNCTUALITY)
    if _continuous_run(marks_recent, continuous_sessions) is True:
        holding.add(Rule.CONTINUOUS)
    return frozenset(holding)


# How far back a first query for recent marks reaches: 10 school weeks plus a summer
# holiday and a half-term on the way, with room to spare.
_FIRST_GUESS_WEEKS = 20


def recent_window_start(latest: date) -> date:
    """A Monday from which to fetch a pupil's marks for `rules_holding`.

    It is a first guess, not a guarantee: after fetching every mark from this date
    on, ask `covers_recent_window`; when it says no (a long absence of marks, a very
    long continuous-absence setting), fetch all the pupil's marks instead.
    """
    return school_week_start(latest) - timedelta(weeks=_FIRST_GUESS_WEEKS - 1)


def covers_recent_window(
    marks: Sequence[tuple[date, str, str]], *, since: date, continuous_sessions: int
) -> bool:
    """Whether `marks` — every mark the pupil has from `since` (a Monday) onwards, in
    chronological order — are enough for `rules_holding` to give the same answer as
    the pupil's whole history would.

    When the pupil has no earlier marks, the answer is the same either way; a False
    only means earlier marks must be looked at.
    """
    if since.weekday() != 0:
        raise ValueError("the window must start on a Monday")
    weeks = school_weeks((day, code) for day, _session, code in marks)
    if len(weeks) < max(PENALTY_WEEKS, PUNCTUALITY_WEEKS):
        return False
    return _continuous_run(marks, continuous_sessions) is not None
