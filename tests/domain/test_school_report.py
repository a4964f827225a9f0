"""Who a school's report refers, from when, and to which day: allocations and the
pupil's stays at the school, both clipped to the period."""

from __future__ import annotations

from datetime import date

from bot.domain.school_report import Allocation, Period, Referral, Stay, referral

PERIOD = Period(date(2025, 10, 1), date(2025, 12, 5))
MOVED = date(2025, 11, 3)  # the first day at the next school
ALWAYS = Stay(None, None)  # the pupil's first school, still there
EWO1 = Allocation("EWO1", date(2025, 9, 15), None)


def test_a_pupil_who_stayed_is_referred_from_the_periods_start_to_its_end() -> None:
    assert referral([EWO1], [ALWAYS], PERIOD) == Referral(PERIOD.start, "EWO1", PERIOD.end)


def test_a_pupil_who_left_counts_to_the_day_before_the_move() -> None:
    assert referral([EWO1], [Stay(None, MOVED)], PERIOD) == Referral(
        PERIOD.start, "EWO1", date(2025, 11, 2), MOVED)


def test_a_pupil_who_joined_is_referred_from_the_move() -> None:
    assert referral([EWO1], [Stay(MOVED, None)], PERIOD) == Referral(MOVED, "EWO1", PERIOD.end)


def test_a_move_after_the_period_is_no_leaving_in_it() -> None:
    after = Stay(None, date(2025, 12, 6))
    assert referral([EWO1], [after], PERIOD) == Referral(PERIOD.start, "EWO1", PERIOD.end)


def test_allocated_only_while_at_another_school_is_not_referred() -> None:
    ended = Allocation("EWO1", date(2025, 9, 15), date(2025, 11, 2))
    assert referral([ended], [Stay(MOVED, None)], PERIOD) is None
    later = Allocation("EWO2", date(2025, 11, 10), None)
    assert referral([later], [Stay(None, MOVED)], PERIOD) is None


def test_the_officer_is_the_last_allocated_while_at_the_school() -> None:
    spans = [Allocation("EWO1", date(2025, 9, 15), date(2025, 11, 20)),
             Allocation("EWO2", date(2025, 11, 20), None)]
    old, new = referral(spans, [Stay(None, MOVED)], PERIOD), referral(spans, [Stay(MOVED, None)],
                                                                      PERIOD)
    assert old is not None and new is not None
    assert (old.officer_ref, new.officer_ref) == ("EWO1", "EWO2")


def test_a_pupil_back_at_the_school_by_the_periods_end_has_not_left() -> None:
    stays = [Stay(None, date(2025, 10, 13)), Stay(MOVED, None)]
    assert referral([EWO1], stays, PERIOD) == Referral(PERIOD.start, "EWO1", PERIOD.end)
    gone = [Stay(None, date(2025, 10, 13)), Stay(MOVED, date(2025, 11, 24))]
    assert referral([EWO1], gone, PERIOD) == Referral(PERIOD.start, "EWO1",
                                                      date(2025, 11, 23), date(2025, 11, 24))


def test_a_span_ended_and_opened_on_one_day_holds_no_day() -> None:
    same_day = Stay(MOVED, MOVED)
    assert referral([EWO1], [same_day], PERIOD) is None
