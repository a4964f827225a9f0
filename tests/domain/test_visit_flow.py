"""The /visit steps: their order, each answer's checks, and when a draft is complete."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain import visit_flow as flow
from bot.domain.visit_flow import AnswerProblem, Problem

TODAY = date(2026, 11, 25)
FULL = {"type": "home", "date": "2026-11-24", "contact": "parent", "reason": "illness",
        "action": "nfa", "follow_up": None, "notes": None}


def test_steps_follow_the_spec_and_a_letter_skips_contact() -> None:
    order, step = [], flow.TYPE
    while step != flow.SUMMARY:
        order.append(step)
        step = flow.step_after(step, {"type": "home"})
    assert order == ["type", "date", "contact", "reason", "action", "follow_up", "notes"]
    assert flow.step_after(flow.DATE, {"type": "letter"}) == flow.REASON
    assert flow.step_after(flow.PUPIL, {}) == flow.TYPE


def test_buttons_store_codes_and_refuse_foreign_choices() -> None:
    draft = flow.apply_choice(flow.TYPE, "phone", {}, TODAY)
    assert draft == {"type": "phone"}
    for step, choice in ((flow.TYPE, "visit"), (flow.REASON, "home"), (flow.DATE, "tomorrow"),
                         (flow.NOTES, "keep"), (flow.FOLLOW_UP, "3w"), (flow.ACTION, "")):
        with pytest.raises(AnswerProblem) as caught:
            flow.apply_choice(step, choice, {}, TODAY)
        assert caught.value.problem is Problem.CHOOSE


def test_a_letter_has_no_contact_and_changing_away_asks_again() -> None:
    letter = flow.apply_choice(flow.TYPE, "letter", {"contact": "child"}, TODAY)
    assert letter["contact"] is None
    home = flow.apply_choice(flow.TYPE, "home", letter, TODAY)
    assert "contact" not in home


def test_date_buttons_and_typed_dates() -> None:
    assert flow.apply_choice(flow.DATE, "today", {}, TODAY)["date"] == "2026-11-25"
    assert flow.apply_choice(flow.DATE, "yesterday", {}, TODAY)["date"] == "2026-11-24"
    assert flow.apply_text(flow.DATE, "Yesterday", {}, TODAY)["date"] == "2026-11-24"
    assert flow.apply_text(flow.DATE, "3/11", {}, TODAY)["date"] == "2026-11-03"
    assert flow.apply_text(flow.DATE, " 25/11/2026 ", {}, TODAY)["date"] == "2026-11-25"
    assert flow.apply_text(flow.DATE, "30/12/2025", {}, TODAY)["date"] == "2025-12-30"


@pytest.mark.parametrize(("typed", "problem"), [
    ("26/11/2026", Problem.FUTURE_VISIT),
    ("26/11", Problem.FUTURE_VISIT_NO_YEAR),
    ("31/11/2026", Problem.NOT_A_DATE),
    ("next week", Problem.NOT_A_DATE),
    ("2026-11-20", Problem.NOT_A_DATE),
])
def test_bad_visit_dates(typed: str, problem: Problem) -> None:
    with pytest.raises(AnswerProblem) as caught:
        flow.apply_text(flow.DATE, typed, {}, TODAY)
    assert caught.value.problem is problem


def test_follow_up_choices_and_limits() -> None:
    assert flow.apply_choice(flow.FOLLOW_UP, "1w", {}, TODAY)["follow_up"] == "2026-12-02"
    assert flow.apply_choice(flow.FOLLOW_UP, "2w", {}, TODAY)["follow_up"] == "2026-12-09"
    assert flow.apply_choice(flow.FOLLOW_UP, "none", {}, TODAY) == {"follow_up": None}
    assert flow.apply_text(flow.FOLLOW_UP, "in 2 weeks", {}, TODAY)["follow_up"] == "2026-12-09"
    assert flow.apply_text(flow.FOLLOW_UP, "25/11", {}, TODAY)["follow_up"] == "2026-11-25"
    for typed, problem in (("24/11/2026", Problem.PAST_FOLLOW_UP),
                           ("1/1", Problem.PAST_FOLLOW_UP_NO_YEAR),
                           ("soon", Problem.NOT_A_DATE)):
        with pytest.raises(AnswerProblem) as caught:
            flow.apply_text(flow.FOLLOW_UP, typed, {}, TODAY)
        assert caught.value.problem is problem


def test_typed_labels_count_as_their_buttons() -> None:
    assert flow.apply_text(flow.CONTACT, "no reply - card left", {}, TODAY) == {
        "contact": "noreply"}
    assert flow.apply_text(flow.ACTION, "  escalate to SUPERVISOR ", {}, TODAY) == {
        "action": "escalate"}
    with pytest.raises(AnswerProblem):
        flow.apply_text(flow.REASON, "he was poorly", {}, TODAY)


def test_notes_up_to_the_limit() -> None:
    longest = "n" * flow.NOTES_MAX
    assert flow.apply_text(flow.NOTES, f"  {longest}\n", {}, TODAY)["notes"] == longest
    with pytest.raises(AnswerProblem) as caught:
        flow.apply_text(flow.NOTES, longest + "!", {}, TODAY)
    assert caught.value.problem is Problem.NOTES_TOO_LONG
    assert flow.apply_choice(flow.NOTES, "skip", {"notes": "x"}, TODAY)["notes"] is None


def test_keep_is_only_for_a_value_already_there() -> None:
    kept = flow.apply_choice(flow.FOLLOW_UP, "keep", {"follow_up": "2026-11-01"}, TODAY)
    assert kept["follow_up"] == "2026-11-01"  # a correction may keep a date now past
    with pytest.raises(AnswerProblem):
        flow.apply_choice(flow.DATE, "keep", {}, TODAY)


def test_complete_drafts() -> None:
    assert flow.is_complete(FULL)
    assert flow.is_complete({**FULL, "type": "letter", "contact": None})
    assert not flow.is_complete({**FULL, "contact": None})
    without_notes = dict(FULL)
    del without_notes["notes"]
    assert not flow.is_complete(without_notes)
