"""The /share screens and step table as pure functions: the draft in, text and buttons
(or the next step) out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.domain import sharing as flow
from bot.domain.sharing import AnswerProblem, Problem
from bot.handlers.share import screens
from bot.handlers.share.save import new_sharing
from bot.handlers.share.texts import HINTS, KIND, NOT_SHARED_QUESTIONS, QUESTIONS
from bot.storage.conversations import Conversation
from bot.storage.pupils import PupilSummary
from bot.storage.visits import VisitPupil

TODAY = date(2026, 11, 25)
PUPIL = VisitPupil(1, "C00001", "Amelia", "Hughes", "Hillside Primary School")
SHARED: dict[str, Any] = {
    "to": "police", "decision": "shared", "what": ["attendance", "sen_health"],
    "basis": "public_task", "condition": "safeguarding", "reason": "safeguarding",
    "date": "2026-11-24", "note": "Asked by PC Jones."}
NOT_SHARED: dict[str, Any] = {
    "to": "other", "other": "Westshire Youth Club", "decision": "not_shared",
    "what": ["contact"], "reason": "referral", "date": "2026-11-25", "note": None}


def talk(step: str, data: dict[str, Any]) -> Conversation:
    at = datetime(2026, 11, 25, 10, tzinfo=UTC)
    return Conversation(1, KIND, step, "tok", PUPIL.id, data, None, at, at)


def labels(screen: screens.Screen) -> list[str]:
    assert screen.markup is not None
    return [button.text for row in screen.markup.inline_keyboard for button in row]


def walk(draft: dict[str, Any]) -> list[str]:
    """The steps asked, from the recipient to the summary, for these answers."""
    asked, step = [], flow.RECIPIENT
    while step != flow.SUMMARY:
        asked.append(step)
        step = flow.step_after(step, draft)
    return asked


@pytest.mark.parametrize("step", [flow.RECIPIENT, flow.OTHER, flow.DECISION, flow.WHAT_STEP,
                                  flow.BASIS, flow.CONDITION, flow.REASON, flow.DATE,
                                  flow.NOTE, flow.SUMMARY, flow.CHANGE])
def test_every_step_names_the_pupil_by_initials_only(step: str) -> None:
    screen = screens.screen(talk(step, {**SHARED, "other": "X"}), PUPIL, today=TODAY)
    assert screen.text.startswith("Sharing decision for A.H. (C00001)")
    assert "Amelia" not in screen.text and "Hughes" not in screen.text


def test_the_condition_is_asked_exactly_when_sen_or_health_is_shared() -> None:
    assert walk(SHARED) == ["to", "decision", "what", "basis", "condition", "reason", "date",
                            "note"]
    without = {**SHARED, "what": ["attendance", "visits"]}
    assert walk(without) == ["to", "decision", "what", "basis", "reason", "date", "note"]
    # Not shared: nothing was disclosed, so no basis and no condition, even for SEN.
    refused = {**SHARED, "decision": "not_shared"}
    assert walk(refused) == ["to", "decision", "what", "reason", "date", "note"]
    assert walk({**NOT_SHARED}) == ["to", "other", "decision", "what", "reason", "date", "note"]


def test_a_not_shared_draft_saves_without_basis_or_condition() -> None:
    # Answers left from before the decision changed are not saved.
    entry = new_sharing(talk(flow.SUMMARY, {**SHARED, "decision": "not_shared",
                                            "other": "stale"}))
    assert (entry.decision, entry.lawful_basis, entry.special_condition,
            entry.recipient_other, entry.items) == (
        "not_shared", None, None, None, ("attendance", "sen_health"))
    assert flow.is_complete({**SHARED, "decision": "not_shared"})
    assert not flow.is_complete({**SHARED, "condition": None})


def test_the_summary_shows_what_applies() -> None:
    screen = screens.screen(talk(flow.SUMMARY, SHARED), PUPIL, today=TODAY)
    assert screen.text == "\n".join([
        "Sharing decision for A.H. (C00001)", "",
        "With: Police", "Decision: Shared", "What was shared: Attendance, SEN or health",
        "Lawful basis: Public task", "Special-category condition: Safeguarding of children",
        "Reason: Safeguarding", "Date: 24/11/2026", "Note: Asked by PC Jones.", "",
        "Save this sharing decision?"])
    assert screen.sensitive and labels(screen) == ["Save", "Change", "Cancel"]
    refused = screens.screen(talk(flow.SUMMARY, NOT_SHARED), PUPIL, today=TODAY)
    assert refused.text.splitlines()[2:7] == [
        "With: Other: Westshire Youth Club", "Decision: Not shared",
        "What was asked for: Contact details", "Reason: Referral for support",
        "Date: 25/11/2026"]


def test_what_ticks_and_needs_one_before_done() -> None:
    draft = flow.apply_choice(flow.WHAT_STEP, "visits", {}, TODAY)
    draft = flow.apply_choice(flow.WHAT_STEP, "attendance", draft, TODAY)
    assert draft["what"] == ["attendance", "visits"]  # in the list's order
    screen = screens.screen(talk(flow.WHAT_STEP, draft), PUPIL, today=TODAY)
    assert labels(screen) == ["✓ Attendance", "Contact details", "SEN or health",
                              "✓ Visit records", "Pathway records", "Done"]
    assert flow.stays(flow.WHAT_STEP, "visits") and not flow.stays(flow.WHAT_STEP, "done")
    untick = flow.apply_choice(flow.WHAT_STEP, "attendance", draft, TODAY)
    assert untick["what"] == ["visits"]
    with pytest.raises(AnswerProblem) as problem:
        flow.apply_choice(flow.WHAT_STEP, "done", {"what": []}, TODAY)
    assert problem.value.problem is Problem.CHOOSE_SOME


def test_the_questions_of_a_decision_not_to_share() -> None:
    screen = screens.screen(talk(flow.WHAT_STEP, NOT_SHARED), PUPIL, today=TODAY)
    assert screen.text.endswith(NOT_SHARED_QUESTIONS[flow.WHAT_STEP])
    screen = screens.screen(talk(flow.REASON, NOT_SHARED), PUPIL, today=TODAY)
    assert screen.text.endswith(NOT_SHARED_QUESTIONS[flow.REASON])
    screen = screens.screen(talk(flow.REASON, SHARED), PUPIL, today=TODAY)
    assert screen.text.endswith(QUESTIONS[flow.REASON])


@pytest.mark.parametrize(("step", "typed", "problem"), [
    (flow.OTHER, "x" * 101, Problem.OTHER_TOO_LONG),
    (flow.OTHER, "   ", Problem.CHOOSE),
    (flow.NOTE, "x" * 1001, Problem.NOTE_TOO_LONG),
    (flow.DATE, "31/02/2026", Problem.NOT_A_DATE),
    (flow.DATE, "26/11/2026", Problem.FUTURE),
    (flow.DATE, "26/11", Problem.FUTURE_NO_YEAR),
    (flow.RECIPIENT, "The moon", Problem.CHOOSE),
])
def test_bad_typed_answers(step: str, typed: str, problem: Problem) -> None:
    with pytest.raises(AnswerProblem) as raised:
        flow.apply_text(step, typed, {}, TODAY)
    assert raised.value.problem is problem
    assert HINTS[problem]


def test_typed_answers_taken() -> None:
    assert flow.apply_text(flow.OTHER, " GP surgery ", {}, TODAY)["other"] == "GP surgery"
    assert flow.apply_text(flow.OTHER, "x" * 100, {}, TODAY)["other"] == "x" * 100
    assert flow.apply_text(flow.NOTE, "y" * 1000, {}, TODAY)["note"] == "y" * 1000
    assert flow.apply_text(flow.DATE, "3/11", {}, TODAY)["date"] == "2026-11-03"
    assert flow.apply_text(flow.RECIPIENT, "camhs", {}, TODAY)["to"] == "camhs"


def test_forged_choices_are_refused() -> None:
    for step, choice in ((flow.RECIPIENT, "martians"), (flow.BASIS, "whim"),
                         (flow.WHAT_STEP, "everything"), (flow.NOTE, "keep"),
                         (flow.DATE, "tomorrow")):
        with pytest.raises(AnswerProblem):
            flow.apply_choice(step, choice, {}, TODAY)


def test_change_goes_back_and_asks_only_what_now_applies() -> None:
    # Changing "what" to add SEN or health asks the condition, then returns to the summary.
    draft = {**SHARED, "what": ["attendance"], "condition": None, flow.RETURNING: True}
    draft = flow.apply_choice(flow.WHAT_STEP, "sen_health", draft, TODAY)
    assert flow.step_after(flow.WHAT_STEP, draft) == flow.CONDITION
    draft = flow.apply_choice(flow.CONDITION, "statutory", draft, TODAY)
    assert flow.step_after(flow.CONDITION, draft) == flow.SUMMARY
    screen = screens.screen(talk(flow.CHANGE, NOT_SHARED), PUPIL, today=TODAY)
    assert labels(screen) == ["With", "Decision", "What was asked for", "Reason", "Date",
                              "Note", "Back to the summary"]


def test_kept_typed_text_is_offered_and_sensitive() -> None:
    screen = screens.screen(talk(flow.OTHER, NOT_SHARED), PUPIL, today=TODAY)
    assert "Westshire Youth Club" in screen.text and screen.sensitive
    assert labels(screen) == ["Keep it"]
    fresh = screens.screen(talk(flow.OTHER, {"to": "other"}), PUPIL, today=TODAY)
    assert fresh.markup is None and not fresh.sensitive
    note = screens.screen(talk(flow.NOTE, SHARED), PUPIL, today=TODAY)
    assert labels(note) == ["Keep it", "Remove it"] and note.sensitive


def test_the_pupil_step_lists_choices_for_the_audit() -> None:
    choice = PupilSummary(7, "C00007", "Noah", "Patel", "Hillside", "Y5", 100, 50, "own",
                          "EWO1")
    screen = screens.screen(talk(flow.PUPIL, {}), None, today=TODAY, choices=[choice])
    assert screen.listed == (7,) and labels(screen) == ["Noah Patel · 50.0 %"]


def test_a_correction_starts_from_the_entrys_answers() -> None:
    draft = flow.from_entry("police", None, "shared", ("sen_health", "attendance"),
                            "public_task", "safeguarding", "safeguarding",
                            date(2026, 11, 24), None)
    assert draft == {**SHARED, "note": None}
    assert flow.is_complete(draft)
    retired = flow.from_entry("police", None, "shared", ("attendance",), "retired_basis",
                              None, "safeguarding", date(2026, 11, 24), None)
    assert "basis" not in retired and not flow.is_complete(retired)  # asked again
    screen = screens.screen(talk(flow.SUMMARY, {**draft, "corrects_date": "2026-11-24"}),
                            PUPIL, today=TODAY)
    assert screen.text.splitlines()[1] == (
        "Correcting the decision of 24/11/2026: change what was wrong, then Save.")
