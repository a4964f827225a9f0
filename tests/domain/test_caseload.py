"""Caseload rules: bands at their boundaries, overdue and unvisited, need order."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.attendance import in_band
from bot.domain.caseload import (
    Band,
    Figures,
    PupilStanding,
    band_labels,
    band_of,
    follow_up_overdue,
    not_visited,
    recent_visit_window,
)

TODAY = date(2026, 11, 25)


def band(attended: int, possible: int) -> Band:
    return band_of(attended, possible, pa_threshold=90, sa_threshold=50)


def test_bands_at_their_boundaries() -> None:
    assert band(0, 0) is Band.NOT_AVAILABLE
    assert band(95, 100) is Band.GOOD
    assert band(189, 199) is Band.ABOVE_PA  # 94.97 %, shown as 95.0 %
    assert band(181, 201) is Band.ABOVE_PA  # 90.05 %, shown as 90.0 %
    assert band(72, 80) is Band.PERSISTENT  # exactly 90 %
    assert band(51, 100) is Band.PERSISTENT
    assert band(50, 100) is Band.SEVERE
    assert band(0, 10) is Band.SEVERE


def test_a_pa_threshold_above_95_leaves_the_middle_band_empty() -> None:
    assert band_of(95, 100, pa_threshold=96, sa_threshold=50) is Band.PERSISTENT
    assert band_of(97, 100, pa_threshold=96, sa_threshold=50) is Band.GOOD
    assert band_labels(pa_threshold=96, sa_threshold=50)[:2] == ("> 96 %", "above 96 %")
    assert band_labels(pa_threshold=90, sa_threshold=50) == (
        "≥ 95 %", "> 90 % and < 95 %", "persistent: > 50 % and ≤ 90 %", "severe: ≤ 50 %",
        "n/a: no sessions yet")
    assert band_labels(pa_threshold=85, sa_threshold=40)[1:4] == (
        "> 85 % and < 95 %", "persistent: > 40 % and ≤ 85 %", "severe: ≤ 40 %")


@given(st.integers(1, 400), st.integers(0, 400), st.integers(2, 98))
def test_bands_agree_with_the_alert_rules(possible: int, attended: int, pa: int) -> None:
    attended = min(attended, possible)
    sa = pa // 2
    result = band_of(attended, possible, pa_threshold=pa, sa_threshold=sa)
    assert (result in (Band.PERSISTENT, Band.SEVERE)) == in_band(attended, possible, pa)
    assert (result is Band.SEVERE) == in_band(attended, possible, sa)


def test_follow_ups_are_overdue_from_the_day_after() -> None:
    assert not follow_up_overdue(None, TODAY)
    assert not follow_up_overdue(TODAY, TODAY)
    assert follow_up_overdue(date(2026, 11, 24), TODAY)


def test_not_visited_counts_28_days_from_the_last_visit_or_the_allocation() -> None:
    assert recent_visit_window(TODAY) == (date(2026, 10, 29), TODAY)
    assert not not_visited(date(2026, 10, 29), date(2026, 1, 1), TODAY)
    assert not_visited(date(2026, 10, 28), date(2026, 1, 1), TODAY)
    assert not not_visited(None, date(2026, 10, 29), TODAY)
    assert not_visited(None, date(2026, 10, 28), TODAY)


def test_officers_most_in_need_come_first() -> None:
    calm = Figures(pupils=30, persistent=9, visits=12)
    overdue = Figures(pupils=10, overdue=3)
    severe = Figures(pupils=5, severe=1, persistent=1)
    unvisited = Figures(pupils=10, not_visited=4)
    ordered = sorted([calm, unvisited, overdue, severe], key=Figures.need_key)
    assert ordered == [severe, overdue, unvisited, calm]


def test_figures_add_up() -> None:
    standings = [PupilStanding(Band.SEVERE, True, False), PupilStanding(Band.GOOD, False, True),
                 PupilStanding(Band.PERSISTENT, False, False)]
    figures = Figures.of(standings, visits=4, undelivered=1)
    assert figures == Figures(3, 2, 1, 4, 1, 1, 1, (1, 0, 1, 1, 0))
    assert figures + figures == Figures(6, 4, 2, 8, 2, 2, 2, (2, 0, 2, 2, 0))
    assert [s.in_need for s in standings] == [True, True, True]
    assert not PupilStanding(Band.ABOVE_PA, False, False).in_need
