"""Caseload rules for supervisors: attendance bands for the chart, what counts as overdue
or unvisited, and the order in which officers most in need of support come first."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.domain.attendance import in_band

NOT_VISITED_DAYS = 28
RECENT_VISIT_DAYS = 28
GOOD_ATTENDANCE = 95  # the top band of the chart: 95 % or more


class Band(enum.IntEnum):
    """A pupil's attendance band this academic year, best first (the chart's order)."""

    GOOD = 0  # ≥ 95 %
    ABOVE_PA = 1  # above the PA threshold and below 95 %
    PERSISTENT = 2  # persistent absence, not severe
    SEVERE = 3  # severe absence
    NOT_AVAILABLE = 4  # no possible sessions yet


def band_of(attended: int, possible: int, *, pa_threshold: int, sa_threshold: int) -> Band:
    """The band, compared exactly in whole numbers; the deepest band wins."""
    if possible == 0:
        return Band.NOT_AVAILABLE
    if in_band(attended, possible, sa_threshold):
        return Band.SEVERE
    if in_band(attended, possible, pa_threshold):
        return Band.PERSISTENT
    if attended * 100 >= GOOD_ATTENDANCE * possible:
        return Band.GOOD
    return Band.ABOVE_PA


def band_labels(*, pa_threshold: int, sa_threshold: int) -> tuple[str, ...]:
    """Labels for the bands, in Band order, with their edges exactly as band_of compares
    them (whole per cent, "≤" where the threshold is in the band), so no two overlap."""
    pa, sa, good = pa_threshold, sa_threshold, GOOD_ATTENDANCE
    if pa < good:
        top, middle = f"≥ {good} %", f"> {pa} % and < {good} %"
    else:  # the threshold reaches 95 %: the middle band cannot hold anyone
        top, middle = f"> {pa} %", f"above {pa} %"
    return (top, middle, f"persistent: > {sa} % and ≤ {pa} %", f"severe: ≤ {sa} %",
            "n/a: no sessions yet")


def follow_up_overdue(follow_up: date | None, today: date) -> bool:
    """An open follow-up dated before today."""
    return follow_up is not None and follow_up < today


def recent_visit_window(today: date) -> tuple[date, date]:
    """First and last day of "the last 28 days", today included."""
    return today - timedelta(days=RECENT_VISIT_DAYS - 1), today


def not_visited(last_visit: date | None, allocated_on: date, today: date) -> bool:
    """No visit in the last 28 days, counting from allocation when never visited."""
    since = last_visit if last_visit is not None else allocated_on
    return since <= today - timedelta(days=NOT_VISITED_DAYS)


@dataclass(frozen=True, slots=True)
class PupilStanding:
    """One allocated pupil's position, as the caseload counts it."""

    band: Band
    overdue: bool
    not_visited: bool

    @property
    def persistent(self) -> bool:
        """In persistent absence, severe included."""
        return self.band in (Band.PERSISTENT, Band.SEVERE)

    @property
    def severe(self) -> bool:
        return self.band is Band.SEVERE

    @property
    def in_need(self) -> bool:
        """Listed under "pupils in need": a band of concern, overdue, or not visited."""
        return self.persistent or self.overdue or self.not_visited

    def need_key(self) -> tuple[int, ...]:
        """Sort key: severe, then persistent, then overdue, then not visited, first."""
        return (-self.severe, -self.persistent, -self.overdue, -self.not_visited)


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of one caseload line (an officer's, or a team's total)."""

    pupils: int = 0
    persistent: int = 0
    severe: int = 0
    visits: int = 0
    overdue: int = 0
    not_visited: int = 0
    undelivered: int = 0
    bands: tuple[int, ...] = field(default=(0,) * len(Band))
    # Notices to Improve whose improvement period is running, and penalty notices
    # issued and awaiting an outcome (CASEWORK.md §1).
    open_notices: int = 0

    @classmethod
    def of(cls, standings: Iterable[PupilStanding], *, visits: int = 0,
           undelivered: int = 0, open_notices: int = 0) -> Figures:
        bands = [0] * len(Band)
        pupils = persistent = severe = overdue = unvisited = 0
        for standing in standings:
            pupils += 1
            persistent += standing.persistent
            severe += standing.severe
            overdue += standing.overdue
            unvisited += standing.not_visited
            bands[standing.band] += 1
        return cls(pupils, persistent, severe, visits, overdue, unvisited, undelivered,
                   tuple(bands), open_notices)

    def __add__(self, other: object) -> Figures:
        if not isinstance(other, Figures):
            return NotImplemented
        return Figures(
            self.pupils + other.pupils, self.persistent + other.persistent,
            self.severe + other.severe, self.visits + other.visits,
            self.overdue + other.overdue, self.not_visited + other.not_visited,
            self.undelivered + other.undelivered,
            tuple(a + b for a, b in zip(self.bands, other.bands, strict=True)),
            self.open_notices + other.open_notices)

    def need_key(self) -> tuple[int, ...]:
        """Most in need of support first: more pupils in severe absence, then more
        follow-ups overdue, then more pupils not visited for 28 days, then more in
        persistent absence, then more undelivered alerts."""
        return (-self.severe, -self.overdue, -self.not_visited, -self.persistent,
                -self.undelivered)
