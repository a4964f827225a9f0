"""The /step step table: which steps each kind asks, and the checks on each answer."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain import step_flow as flow
from bot.domain.penalty_notices import Notice
from bot.domain.step_flow import AnswerProblem, Parent, Problem, Record, Target

TODAY = date(2026, 11, 25)
NOTICE = Target("5.11", flow.PN_OUTCOME, 5, date(2026, 10, 30), 11, "Jane", date(2026, 11, 2),
                ("paid", "withdrawn", "unpaid"))
RECORD = Record(parents=(Parent(11, "Jane"), Parent(12, "Tom")), targets=(NOTICE,),
                notices=(Notice(12, "pn", date(2025, 1, 1)), Notice(12, "pn", date(2026, 1, 1)),
                         Notice(11, "nti", date(2026, 11, 1))), rule_holds=True)


def problem_of(call) -> Problem:
    with pytest.raises(AnswerProblem) as raised:
        call()
    return raised.value.problem


def test_each_kind_asks_its_own_steps() -> None:
    assert flow.sequence({"what": flow.SUPPORT_PLAN}) == (flow.DATE, flow.REVIEW)
    assert flow.sequence({"what": flow.PN_REFERRAL}) == (flow.PARENTS, flow.DATE)
    assert flow.sequence({"what": flow.PN_REFERRAL, "needs_reason": True}) == (
        flow.PARENTS, flow.DATE, flow.REASON)
    assert flow.sequence({"what": flow.PN_OUTCOME, "outcome": "paid"}) == (
        flow.TARGET, flow.OUTCOME, flow.DATE)
    assert flow.sequence({"what": flow.PN_OUTCOME, "outcome": "withdrawn"}) == (
        flow.TARGET, flow.OUTCOME, flow.DETAIL, flow.DATE)
    assert flow.sequence({"what": flow.HEARING}) == (flow.TARGET, flow.DETAIL, flow.DATE)
    assert flow.step_after(flow.WHAT, {"what": flow.SAO}) == flow.DATE
    assert flow.step_after(flow.DATE, {"what": flow.SAO, "date": "2026-11-25"}) == flow.SUMMARY


def test_returning_from_change_goes_to_the_first_unanswered_step_then_the_summary() -> None:
    draft = {"what": flow.PN_OUTCOME, "target": "5.11", "outcome": "withdrawn",
             "date": "2026-11-05", "returning": True}
    assert flow.step_after(flow.OUTCOME, draft) == flow.DETAIL
    assert flow.step_after(flow.DETAIL, {**draft, "detail": "x"}) == flow.SUMMARY
    assert flow.is_complete({**draft, "detail": "x"})
    assert not flow.is_complete(draft)


def test_parents_are_toggled_and_done_needs_one() -> None:
    draft = {"what": flow.CONTRACT}
    assert problem_of(lambda: flow.apply_choice(flow.PARENTS, flow.DONE, draft, RECORD,
                                                TODAY)) is Problem.NO_PARENT
    ticked = flow.apply_choice(flow.PARENTS, "11", draft, RECORD, TODAY)
    assert flow.chosen_parents(ticked) == (11,)
    assert flow.chosen_parents(flow.apply_choice(flow.PARENTS, "11", ticked, RECORD,
                                                 TODAY)) == ()
    for forged in ("13", "x", "-1"):
        assert problem_of(lambda f=forged: flow.apply_choice(flow.PARENTS, f, draft, RECORD,
                                                             TODAY)) is Problem.CHOOSE


def test_a_referral_refuses_a_third_notice_and_asks_a_reason_only_when_needed() -> None:
    draft = {"what": flow.PN_REFERRAL}
    assert problem_of(lambda: flow.apply_choice(flow.PARENTS, "12", draft, RECORD,
                                                TODAY)) is Problem.THIRD_NOTICE
    jane = flow.apply_choice(flow.PARENTS, "11", draft, RECORD, TODAY)
    done = flow.apply_choice(flow.PARENTS, flow.DONE, jane, RECORD, TODAY)
    assert done["needs_reason"] is False  # the rule holds, a recent NTI to Jane
    no_rule = Record(parents=RECORD.parents, notices=RECORD.notices, rule_holds=False)
    assert flow.apply_choice(flow.PARENTS, flow.DONE, jane, no_rule, TODAY)["needs_reason"]


def test_a_referral_awaiting_its_issued_outcome_is_shown_beside_its_parent_not_counted(
        ) -> None:
    """Jane's referral of 20/11 awaits Issued: shown before referring her again, not in
    her count; not shown correcting that referral, whose correction takes its place."""
    awaiting = Target("7.11", flow.PN_OUTCOME, 7, date(2026, 11, 20), 11, "Jane", None,
                      ("issued",))
    record = Record(parents=RECORD.parents, targets=(NOTICE, awaiting),
                    notices=(Notice(11, "pn", date(2026, 11, 2)),), rule_holds=True)
    draft = {"what": flow.PN_REFERRAL}
    assert flow.referrals_awaiting(draft, record, 11) == (date(2026, 11, 20),)
    assert flow.referrals_awaiting(draft, record, 12) == ()  # Tom has none
    assert record.eligibility(11, TODAY).ordinal == 2  # the count is of notices issued
    assert flow.apply_choice(flow.PARENTS, "11", draft, record, TODAY)["parents"] == [11]
    correcting = flow.step_draft(7, flow.PN_REFERRAL, date(2026, 11, 20), parents=(11,))
    assert flow.referrals_awaiting(correcting, record, 11) == ()
    # Correcting another step still shows it.
    other = flow.step_draft(5, flow.PN_REFERRAL, date(2026, 10, 30), parents=(11,))
    assert flow.referrals_awaiting(other, record, 11) == (date(2026, 11, 20),)


def test_dates_are_checked() -> None:
    draft = {"what": flow.SUPPORT_PLAN}
    for text, problem in (("31/02/2026", Problem.NOT_A_DATE), ("26/11/2026", Problem.FUTURE),
                          ("tomorrow", Problem.NOT_A_DATE)):
        assert problem_of(lambda t=text: flow.apply_text(flow.DATE, t, draft, RECORD,
                                                         TODAY)) is problem
    started = flow.apply_text(flow.DATE, "20/11", draft, RECORD, TODAY)
    assert started["date"] == "2026-11-20"
    assert problem_of(lambda: flow.apply_text(flow.REVIEW, "19/11/2026", started, RECORD,
                                              TODAY)) is Problem.BEFORE_START
    assert flow.apply_choice(flow.REVIEW, flow.DEFAULT, started, RECORD,
                             TODAY)["review"] == "2027-01-01"
    # An outcome is not dated before its notice was issued.
    outcome = flow.apply_choice(flow.TARGET, "5.11", {"what": flow.PN_OUTCOME}, RECORD, TODAY)
    assert problem_of(lambda: flow.apply_text(flow.DATE, "01/11/2026", outcome, RECORD,
                                              TODAY)) is Problem.BEFORE_START


def test_vocabularies_refuse_what_is_not_offered() -> None:
    assert problem_of(lambda: flow.apply_choice(flow.WHAT, "prosecution", {}, RECORD,
                                                date(2020, 1, 1))) is Problem.CHOOSE
    assert problem_of(lambda: flow.apply_choice(flow.WEEKS, "7", {"what": flow.NTI}, RECORD,
                                                TODAY)) is Problem.CHOOSE
    assert flow.apply_text(flow.WEEKS, "5 weeks", {"what": flow.NTI}, RECORD,
                           TODAY)["weeks"] == 5
    outcome = {"what": flow.PN_OUTCOME, "target": "5.11"}
    assert problem_of(lambda: flow.apply_choice(flow.OUTCOME, "issued", outcome, RECORD,
                                                TODAY)) is Problem.CHOOSE
    assert problem_of(lambda: flow.apply_text(flow.DETAIL, "x" * 201, outcome, RECORD,
                                              TODAY)) is Problem.DETAIL_TOO_LONG
    assert problem_of(lambda: flow.apply_text(flow.DETAIL, "  ", outcome, RECORD,
                                              TODAY)) is Problem.DETAIL_EMPTY


def test_a_date_typed_without_its_year_is_refused_with_the_year_hint() -> None:
    # DD/MM is read as this calendar year: in January, last December's date is in the
    # future; in December, next January's review is before the start. Either way the
    # officer is told to type the year, as /visit and /share tell them.
    january = date(2027, 1, 5)
    plan = {"what": flow.SUPPORT_PLAN}
    assert problem_of(lambda: flow.apply_text(flow.DATE, "15/12", plan, RECORD,
                                              january)) is Problem.FUTURE_NO_YEAR
    assert problem_of(lambda: flow.apply_text(flow.DATE, "15/12/2027", plan, RECORD,
                                              january)) is Problem.FUTURE
    december = date(2026, 12, 10)
    started = {**plan, "date": "2026-12-01"}
    assert problem_of(lambda: flow.apply_text(flow.REVIEW, "12/01", started, RECORD,
                                              december)) is Problem.BEFORE_START_NO_YEAR
    assert problem_of(lambda: flow.apply_text(flow.REVIEW, "12/01/2026", started, RECORD,
                                              december)) is Problem.BEFORE_START
    assert flow.apply_text(flow.REVIEW, "12/01/2027", started, RECORD,
                           december)["review"] == "2027-01-12"
    # An outcome dated before its notice's issue, this year, is not a matter of the year.
    outcome = flow.apply_choice(flow.TARGET, "5.11", {"what": flow.PN_OUTCOME}, RECORD, TODAY)
    assert problem_of(lambda: flow.apply_text(flow.DATE, "01/11", outcome, RECORD,
                                              TODAY)) is Problem.BEFORE_START


def test_a_date_buttons_label_typed_counts_as_pressing_it() -> None:
    # As at /visit's and /share's date steps: "Today" typed is the Today button.
    plan = {"what": flow.SUPPORT_PLAN}
    for typed, day in (("Today", "2026-11-25"), (" yesterday ", "2026-11-24")):
        assert flow.apply_text(flow.DATE, typed, plan, RECORD, TODAY)["date"] == day
    started = {**plan, "date": "2026-11-20"}
    assert problem_of(lambda: flow.apply_text(flow.REVIEW, "today", started, RECORD,
                                              TODAY)) is Problem.NOT_A_DATE
