"""The penalty-notice count, amounts and pathway dates at their edges (issue 19)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import penalty_notices as pn
from bot.domain.penalty_notices import Notice

TODAY = date(2026, 3, 10)
MUM, DAD = 1, 2


def _pn(issued: date, contact: int = MUM, outcome: str | None = None) -> Notice:
    return Notice(contact, "pn", issued, outcome)


def test_none_on_record_is_a_first_notice() -> None:
    result = pn.eligibility([], MUM, TODAY)
    assert result.ordinal == 1 and result.allowed
    assert result.text == "first notice: £80 if paid within 21 days, £160 within 28 days"


def test_referrals_awaiting_their_outcome_have_a_line_of_their_own() -> None:
    assert pn.awaiting_text([]) is None
    assert pn.awaiting_text(["20/11/2026"]) == "a referral of 20/11/2026 awaits its outcome"
    assert pn.awaiting_text(["02/11/2026", "20/11/2026"]) == (
        "referrals of 02/11/2026, 20/11/2026 await their outcome")


def test_one_on_record_is_a_second_notice_without_reduction() -> None:
    result = pn.eligibility([_pn(date(2025, 1, 6))], MUM, TODAY)
    assert result.ordinal == 2
    assert result.text == "second notice: £160, no reduction"


def test_two_on_record_refuse_a_third() -> None:
    result = pn.eligibility([_pn(date(2024, 9, 2)), _pn(date(2025, 6, 2))], MUM, TODAY)
    assert not result.allowed and result.ordinal is None
    assert "consider prosecution or an education supervision order" in result.text


def test_a_notice_issued_exactly_three_years_ago_no_longer_counts() -> None:
    exactly = date(2023, 3, 10)
    assert pn.notices_counted([_pn(exactly)], MUM, TODAY) == 0


def test_a_day_inside_the_window_counts_and_a_day_outside_does_not() -> None:
    inside = date(2023, 3, 11)
    outside = date(2023, 3, 9)
    assert pn.notices_counted([_pn(inside)], MUM, TODAY) == 1
    assert pn.notices_counted([_pn(outside)], MUM, TODAY) == 0


def test_the_guidance_example_counts_to_the_day_before_the_anniversary() -> None:
    first = _pn(date(2024, 9, 1))
    assert pn.notices_counted([first], MUM, date(2027, 8, 31)) == 1
    assert pn.notices_counted([first], MUM, date(2027, 9, 1)) == 0


def test_withdrawn_notices_are_not_counted() -> None:
    notices = [_pn(date(2025, 1, 6), outcome="withdrawn"), _pn(date(2025, 6, 2))]
    assert pn.eligibility(notices, MUM, TODAY).ordinal == 2


def test_unpaid_and_paid_notices_both_count() -> None:
    notices = [_pn(date(2025, 1, 6), outcome="paid"), _pn(date(2025, 6, 2), outcome="unpaid")]
    assert not pn.eligibility(notices, MUM, TODAY).allowed


def test_a_notice_to_improve_is_not_a_penalty_notice() -> None:
    notices = [Notice(MUM, "nti", date(2025, 1, 6)), Notice(MUM, "nti", date(2025, 6, 2))]
    assert pn.eligibility(notices, MUM, TODAY).ordinal == 1


def test_two_parents_are_counted_separately() -> None:
    notices = [_pn(date(2024, 9, 2), MUM), _pn(date(2025, 6, 2), MUM), _pn(date(2025, 6, 2), DAD)]
    mum, dad = pn.eligibility_per_parent(notices, [MUM, DAD], TODAY)
    assert not mum.allowed
    assert dad.ordinal == 2


def test_a_future_dated_notice_is_not_counted_yet() -> None:
    assert pn.notices_counted([_pn(TODAY + timedelta(days=1))], MUM, TODAY) == 0


def test_an_imported_history_gives_the_count_from_day_one() -> None:
    # As `ewobot import notices` brings it in: a paid first, a withdrawn, an unpaid second.
    history = [
        _pn(date(2023, 11, 1), outcome="paid"),
        _pn(date(2024, 5, 1), outcome="withdrawn"),
        _pn(date(2025, 2, 3), outcome="unpaid"),
        Notice(DAD, "nti", date(2026, 1, 5)),
    ]
    assert pn.eligibility(history, MUM, TODAY).ordinal is None
    assert pn.eligibility(history, MUM, date(2026, 11, 1)).ordinal == 2
    assert pn.eligibility(history, DAD, TODAY).ordinal == 1


@pytest.mark.parametrize(("paid_after", "amount"), [(0, 80), (21, 80), (22, 160), (28, 160),
                                                     (29, None)])
def test_a_first_notice_amount_from_the_dates(paid_after: int, amount: int | None) -> None:
    issued = date(2025, 9, 1)
    assert pn.amount_due(1, issued, issued + timedelta(days=paid_after)) == amount


@pytest.mark.parametrize(("paid_after", "amount"), [(1, 160), (21, 160), (28, 160), (29, None)])
def test_a_second_notice_has_no_reduction(paid_after: int, amount: int | None) -> None:
    issued = date(2025, 9, 1)
    assert pn.amount_due(2, issued, issued + timedelta(days=paid_after)) == amount


def test_paid_before_issue_is_refused() -> None:
    with pytest.raises(ValueError):
        pn.amount_due(1, date(2025, 9, 1), date(2025, 8, 31))


def test_the_ordinal_at_issue_counts_only_earlier_notices() -> None:
    first, second = _pn(date(2025, 1, 6)), _pn(date(2025, 6, 2))
    assert pn.ordinal_at_issue([first, second], first) == 1
    assert pn.ordinal_at_issue([first, second], second) == 2
    issued = second.issued
    assert pn.amount_due(pn.ordinal_at_issue([first, second], second), issued,
                         issued + timedelta(days=21)) == 160


@pytest.mark.parametrize(("rule", "nti_days_ago", "required"), [
    (True, 10, False),
    (True, 84, False),  # exactly 12 weeks: still within
    (True, 85, True),
    (False, 10, True),
    (True, None, True),
])
def test_when_a_referral_reason_is_required(rule: bool, nti_days_ago: int | None,
                                            required: bool) -> None:
    notices = [] if nti_days_ago is None else [
        Notice(MUM, "nti", TODAY - timedelta(days=nti_days_ago))]
    assert pn.reason_required(notices, MUM, TODAY, rule_holds=rule) is required


def test_a_notice_to_improve_to_the_other_parent_does_not_count() -> None:
    notices = [Notice(DAD, "nti", TODAY - timedelta(days=5))]
    assert pn.reason_required(notices, MUM, TODAY, rule_holds=True)


def test_the_reasons_are_the_specs() -> None:
    assert [label for _, label in pn.REFERRAL_REASONS] == [
        "Holiday in term time", "Support not appropriate", "Notice issued by the school"]
    assert pn.reason_label("holiday") == "Holiday in term time"
    with pytest.raises(ValueError):
        pn.reason_label("other")


def test_the_regulations_are_named_with_their_date() -> None:
    assert date(2024, 8, 19) == pn.REGULATIONS_IN_FORCE
    assert "2024" in pn.REGULATIONS


def test_a_support_plan_is_reviewed_six_weeks_on() -> None:
    assert pn.support_review_date(date(2026, 1, 5)) == date(2026, 2, 16)


@pytest.mark.parametrize("weeks", [3, 4, 5, 6])
def test_improvement_periods_and_their_reminder(weeks: int) -> None:
    issued = date(2026, 1, 5)
    end = pn.improvement_period_end(issued, weeks)
    assert end == issued + timedelta(weeks=weeks)
    assert pn.improvement_reminder_date(issued, weeks) == end + timedelta(days=1)


@pytest.mark.parametrize("weeks", [0, 2, 7])
def test_improvement_periods_outside_three_to_six_weeks_are_refused(weeks: int) -> None:
    with pytest.raises(ValueError):
        pn.improvement_period_end(date(2026, 1, 5), weeks)


def test_a_contract_needs_a_parent_with_parental_responsibility() -> None:
    assert pn.contract_allowed([False, True])
    assert not pn.contract_allowed([])
    assert not pn.contract_allowed([False, None])


def test_the_outcome_reminder_is_day_29_with_no_paid_or_withdrawn() -> None:
    issued = date(2026, 1, 5)
    assert pn.outcome_reminder_date(issued) == date(2026, 2, 3)
    assert not pn.needs_outcome_reminder(_pn(issued), date(2026, 2, 2))
    assert pn.needs_outcome_reminder(_pn(issued), date(2026, 2, 3))
    assert pn.needs_outcome_reminder(_pn(issued, outcome="unpaid"), date(2026, 2, 3))
    assert not pn.needs_outcome_reminder(_pn(issued, outcome="paid"), date(2026, 2, 3))
    assert not pn.needs_outcome_reminder(_pn(issued, outcome="withdrawn"), date(2026, 2, 3))


def test_an_eso_ends_twelve_months_on_and_is_reminded_four_weeks_before() -> None:
    assert pn.eso_end_date(date(2026, 1, 31)) == date(2027, 1, 31)
    assert pn.eso_end_date(date(2028, 2, 29)) == date(2029, 2, 28)
    assert pn.eso_reminder_date(date(2027, 1, 31)) == date(2027, 1, 3)


def test_unknown_kinds_and_outcomes_are_refused() -> None:
    with pytest.raises(ValueError):
        Notice(MUM, "fine", TODAY)
    with pytest.raises(ValueError):
        Notice(MUM, "pn", TODAY, "lost")


_DAYS = st.integers(min_value=0, max_value=5 * 366)


@given(st.lists(st.tuples(_DAYS, st.sampled_from([MUM, DAD]),
                          st.sampled_from([None, "paid", "withdrawn", "unpaid"])), max_size=8))
def test_the_count_is_the_brute_force_count(rows: list[tuple[int, int, str | None]]) -> None:
    notices = [_pn(TODAY - timedelta(days=ago), who, outcome) for ago, who, outcome in rows]
    for who in (MUM, DAD):
        expected = sum(1 for ago, w, outcome in rows if w == who and outcome != "withdrawn"
                       and pn.years_before(TODAY, 3) < TODAY - timedelta(days=ago))
        result = pn.eligibility(notices, who, TODAY)
        assert result.counted == expected
        assert result.allowed is (expected < 2)


@given(st.dates(min_value=date(2024, 8, 19), max_value=date(2040, 12, 31)))
def test_the_window_is_three_years_to_the_day(today: date) -> None:
    start = pn.window_start(today)
    assert pn.notices_counted([_pn(start)], MUM, today) == 1
    assert pn.notices_counted([_pn(start - timedelta(days=1))], MUM, today) == 0
    assert 365 * 3 - 1 <= (today - start).days <= 366 * 3
