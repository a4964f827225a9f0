"""The /step screens as pure functions: the draft and the pupil's record in, the text and
buttons out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.domain import penalty_notices as rules
from bot.domain import step_flow as flow
from bot.domain.penalty_notices import Notice
from bot.domain.step_flow import Parent, Record, Target
from bot.handlers import step
from bot.handlers.step import screens
from bot.storage.conversations import Conversation
from bot.storage.visits import VisitPupil

TODAY = date(2026, 11, 25)
PUPIL = VisitPupil(1, "C00001", "Amelia", "Hughes", "Hillside Primary School")
JANE, TOM = Parent(11, "Jane Hughes"), Parent(12, "Tom Hughes")
ISSUED = date(2026, 11, 2)
NOTICE = Target("5.11", flow.PN_OUTCOME, 5, date(2026, 10, 30), 11, "Jane Hughes", ISSUED,
                ("paid", "withdrawn", "unpaid"))
RECORD = Record(parents=(JANE, TOM), targets=(NOTICE,),
                notices=(Notice(11, "pn", ISSUED),), rule_holds=True)


def talk(step_: str, data: dict[str, Any]) -> Conversation:
    at = datetime(2026, 11, 25, 10, tzinfo=UTC)
    return Conversation(1, step.KIND, step_, "tok", PUPIL.id, data, None, at, at)


def labels(screen: screens.Screen) -> list[str]:
    assert screen.markup is not None
    return [button.text for row in screen.markup.inline_keyboard for button in row]


def data(screen: screens.Screen) -> list[str]:
    assert screen.markup is not None
    return [str(button.callback_data) for row in screen.markup.inline_keyboard for button in row]


def show(step_: str, draft: dict[str, Any], record: Record = RECORD) -> screens.Screen:
    return screens.screen(talk(step_, draft), PUPIL, record, today=TODAY)


DRAFTS = {
    flow.WHAT: {},
    flow.PARENTS: {"what": flow.PN_REFERRAL},
    flow.DATE: {"what": flow.SUPPORT_PLAN},
    flow.REVIEW: {"what": flow.SUPPORT_PLAN, "date": "2026-11-25"},
    flow.WEEKS: {"what": flow.NTI, "parents": [11], "parents_done": True, "date": "2026-11-25"},
    flow.TARGET: {"what": flow.PN_OUTCOME},
    flow.OUTCOME: {"what": flow.PN_OUTCOME, "target": "5.11"},
    flow.DETAIL: {"what": flow.HEARING},
    flow.SUMMARY: {"what": flow.SUPPORT_PLAN, "date": "2026-11-25", "review": "2027-01-06"},
}


@pytest.mark.parametrize("step_", list(DRAFTS))
def test_every_step_names_the_pupil_by_initials_only(step_: str) -> None:
    screen = show(step_, DRAFTS[step_])
    assert screen.text.startswith("Pathway step for A.H. (C00001)")
    assert "Amelia" not in screen.text
    if screen.markup is not None:  # the typed steps have no buttons
        assert all(button.startswith("st:tok:") for button in data(screen))


def test_what_offers_outcomes_awaited_and_prosecution_only_when_due() -> None:
    assert labels(show(flow.WHAT, {})) == [
        "Support plan", "Attendance contract", "Notice to Improve", "Penalty-notice referral",
        "ESO application", "SAO notice", "Penalty-notice outcome"]
    unpaid = Record(notices=(Notice(11, "pn", ISSUED, "unpaid", TODAY),))
    assert "Prosecution referral" in labels(show(flow.WHAT, {}, unpaid))
    third = Record(notices=(Notice(11, "pn", date(2025, 1, 1)), Notice(11, "pn", ISSUED)))
    assert "Prosecution referral" in labels(show(flow.WHAT, {}, third))
    withdrawn = Record(notices=(Notice(11, "pn", ISSUED, "withdrawn", TODAY),
                                Notice(11, "pn", date(2025, 1, 1))))
    assert "Prosecution referral" not in labels(show(flow.WHAT, {}, withdrawn))


def test_the_parents_step_shows_each_parents_count_and_ticks_those_chosen() -> None:
    screen = show(flow.PARENTS, {"what": flow.PN_REFERRAL, "parents": [12]})
    assert f"Jane Hughes: {rules.SECOND_NOTICE_TEXT}" in screen.text
    assert f"Tom Hughes: {rules.FIRST_NOTICE_TEXT}" in screen.text
    assert labels(screen) == ["Jane Hughes", "✓ Tom Hughes", "Done"]
    assert screen.sensitive  # it names the parents
    contract = show(flow.PARENTS, {"what": flow.CONTRACT})
    assert "first notice" not in contract.text
    none = show(flow.PARENTS, {"what": flow.CONTRACT}, Record())
    assert step.NO_PARENTS in none.text and labels(none) == ["Done"]


def test_dates_offer_today_yesterday_and_a_review_six_weeks_on() -> None:
    assert labels(show(flow.DATE, {"what": flow.SUPPORT_PLAN})) == ["Today", "Yesterday"]
    kept = show(flow.DATE, {"what": flow.SUPPORT_PLAN, "date": "2026-11-20"})
    assert labels(kept) == ["Today", "Yesterday", "✓ 20/11/2026"]
    assert labels(show(flow.DATE, {"what": flow.SUPPORT_PLAN, "date": "2026-11-24"})) == [
        "Today", "✓ Yesterday"]
    assert labels(show(flow.REVIEW, DRAFTS[flow.REVIEW])) == ["In 6 weeks: 06/01/2027"]
    review = show(flow.REVIEW, {**DRAFTS[flow.REVIEW], "review": "2027-02-01"})
    assert labels(review) == ["In 6 weeks: 06/01/2027", "✓ 01/02/2027"]
    assert show(flow.DATE, {"what": flow.NTI}).text.endswith("Date issued?" + step.DATE_HOW)
    paid = show(flow.DATE, {"what": flow.PN_OUTCOME, "outcome": "paid"})
    assert paid.text.endswith("Date paid?" + step.DATE_HOW)


def test_an_outcome_names_its_notice_and_offers_what_it_can_take() -> None:
    assert labels(show(flow.TARGET, DRAFTS[flow.TARGET])) == [
        "Referral 30/10/2026 · Jane Hughes · issued 02/11/2026"]
    assert labels(show(flow.OUTCOME, DRAFTS[flow.OUTCOME])) == ["Paid", "Withdrawn", "Unpaid"]
    eso = Target("6", flow.ESO_DECISION, 6, date(2026, 9, 1), None, None, None,
                 ("granted", "refused"))
    assert screens.target_label(eso) == "ESO application 01/09/2026"
    assert labels(show(flow.OUTCOME, {"what": flow.ESO_DECISION, "target": "6"},
                       Record(targets=(eso,)))) == ["Granted", "Refused"]


@pytest.mark.parametrize(("paid", "amount"), [
    ("2026-11-23", "Amount: £80"),  # day 21
    ("2026-11-24", "Amount: £160"),  # day 22
    ("2026-11-30", "Amount: £160"),  # day 28
    ("2026-12-01", step.AMOUNT_CLOSED),  # day 29
])
def test_a_notice_paid_shows_its_amount_from_the_dates(paid: str, amount: str) -> None:
    draft = {"what": flow.PN_OUTCOME, "target": "5.11", "outcome": "paid", "date": paid}
    assert amount in show(flow.SUMMARY, draft).text


def test_a_second_notice_paid_early_has_no_reduction() -> None:
    record = Record(parents=(JANE,), targets=(NOTICE,),
                    notices=(Notice(11, "pn", date(2025, 5, 1)), Notice(11, "pn", ISSUED)))
    draft = {"what": flow.PN_OUTCOME, "target": "5.11", "outcome": "paid",
             "date": "2026-11-05"}
    assert "Amount: £160" in show(flow.SUMMARY, draft, record).text


def test_the_summary_lists_the_answers_and_the_counts_before_save() -> None:
    draft = {"what": flow.PN_REFERRAL, "parents": [11, 12], "parents_done": True,
             "date": "2026-11-25", "needs_reason": True, "reason": "holiday"}
    screen = show(flow.SUMMARY, draft)
    assert screen.text == "\n".join([
        "Pathway step for A.H. (C00001)", "Penalty-notice referral", "",
        "Parents: Jane Hughes, Tom Hughes", "Date: 25/11/2026", "Reason: Holiday in term time",
        "", f"Jane Hughes: {rules.SECOND_NOTICE_TEXT}", f"Tom Hughes: {rules.FIRST_NOTICE_TEXT}",
        "", "Save this?"])
    assert labels(screen) == ["Save", "Change", "Cancel"] and screen.sensitive
    granted = show(flow.SUMMARY, {"what": flow.ESO_DECISION, "target": "6",
                                  "outcome": "granted", "date": "2026-11-25"})
    assert "Order ends: 25/11/2027" in granted.text


def test_change_offers_the_steps_of_this_kind_only() -> None:
    draft = {"what": flow.PN_OUTCOME, "target": "5.11", "outcome": "withdrawn",
             "detail": "Wrong address", "date": "2026-11-05"}
    assert labels(show(flow.CHANGE, draft)) == ["For", "Outcome", "Detail", "Date",
                                                "Back to the summary"]
    paid = {**draft, "outcome": "paid"}
    assert labels(show(flow.CHANGE, paid)) == ["For", "Outcome", "Date", "Back to the summary"]


def test_the_pupil_step_with_no_pupils_has_no_buttons() -> None:
    screen = screens.screen(talk(flow.PUPIL, {}), None, None, today=TODAY, choices=[])
    assert screen.text == step.CHOOSE_PUPIL and screen.markup is None and screen.listed == ()
