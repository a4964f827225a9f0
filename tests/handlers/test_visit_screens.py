"""The /visit screens as pure functions: the draft in, the text and buttons out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.domain import visit_flow as flow
from bot.handlers import visit
from bot.handlers.visit import screens
from bot.storage.conversations import Conversation
from bot.storage.pupils import PupilSummary
from bot.storage.visits import NewVisit, VisitPupil

TODAY = date(2026, 11, 25)
PUPIL = VisitPupil(1, "C00001", "Amelia", "Hughes", "Hillside Primary School")
FULL: dict[str, Any] = {"type": "home", "date": "2026-11-24", "contact": "parent",
                        "reason": "illness", "action": "nfa", "follow_up": None,
                        "notes": "Mum was worried."}


def talk(step: str, data: dict[str, Any]) -> Conversation:
    at = datetime(2026, 11, 25, 10, tzinfo=UTC)
    return Conversation(1, visit.KIND, step, "tok", PUPIL.id, data, None, at, at)


def labels(screen: screens.Screen) -> list[str]:
    assert screen.markup is not None
    return [button.text for row in screen.markup.inline_keyboard for button in row]


STEPS = (flow.TYPE, flow.DATE, flow.DATE_CHECK, flow.CONTACT, flow.REASON, flow.ACTION,
         flow.FOLLOW_UP, flow.NOTES, flow.SUMMARY, flow.CHANGE)


@pytest.mark.parametrize("step", STEPS)
def test_every_step_names_the_pupil_by_initials_only(step: str) -> None:
    screen = screens.screen(talk(step, FULL), PUPIL, today=TODAY)
    assert screen.text.startswith("Visit for A.H. (C00001)")
    assert "Amelia" not in screen.text and "Hughes" not in screen.text


def test_a_kept_day_that_a_button_offers_is_marked_not_repeated() -> None:
    for kept, expected in (("2026-11-24", ["Today", "✓ Yesterday"]),
                           ("2026-11-25", ["✓ Today", "Yesterday"]),
                           ("2026-11-20", ["Today", "Yesterday", "✓ 20/11/2026"])):
        screen = screens.screen(talk(flow.DATE, {**FULL, "date": kept}), PUPIL, today=TODAY)
        assert labels(screen) == expected
    assert labels(screens.screen(talk(flow.DATE, {}), PUPIL, today=TODAY)) == [
        "Today", "Yesterday"]
    for kept, expected in (("2026-12-02", ["✓ In 1 week", "In 2 weeks", "None"]),
                           (None, ["In 1 week", "In 2 weeks", "✓ None"]),
                           ("2026-12-24", ["In 1 week", "In 2 weeks", "None", "✓ 24/12/2026"])):
        screen = screens.screen(talk(flow.FOLLOW_UP, {**FULL, "follow_up": kept}), PUPIL,
                               today=TODAY)
        assert labels(screen) == expected


def test_the_notes_step_shows_kept_notes_and_matching_buttons() -> None:
    kept = screens.screen(talk(flow.NOTES, FULL), PUPIL, today=TODAY)
    assert "Notes so far:\nMum was worried.\n\nKeep them, remove them" in kept.text
    assert labels(kept) == ["Keep notes", "Remove notes"] and kept.sensitive
    fresh = screens.screen(talk(flow.NOTES, {**FULL, "notes": None}), PUPIL, today=TODAY)
    assert fresh.text.endswith(visit.QUESTIONS[flow.NOTES])
    assert labels(fresh) == ["Skip"] and not fresh.sensitive
    long = screens.screen(talk(flow.NOTES, {**FULL, "notes": "x" * 4096}), PUPIL, today=TODAY)
    assert len(long.text) <= 4096 and "(4,096 characters in all)" in long.text


def test_after_no_reply_the_reason_step_offers_not_known_first() -> None:
    draft = flow.apply_choice(flow.CONTACT, flow.NO_REPLY, FULL, TODAY)
    reason = screens.screen(talk(flow.REASON, draft), PUPIL, today=TODAY)
    assert reason.text == f"Visit for A.H. (C00001)\n\n{visit.QUESTIONS[flow.REASON]}"
    assert labels(reason) == [
        "Not known", "✓ Illness", "Medical", "Anxiety or mental health", "SEN needs",
        "Bullying or peer issues", "Family circumstances", "Young carer", "Holiday",
        "Transport"]
    seen = screens.screen(talk(flow.REASON, FULL), PUPIL, today=TODAY)
    assert labels(seen)[0] == "✓ Illness" and labels(seen)[-1] == "Not known"


def test_an_older_drafts_unasked_not_known_shows_as_not_known() -> None:
    older = {**FULL, "contact": "noreply", "reason": "unknown", "reason_skipped": True}
    summary = screens.screen(talk(flow.SUMMARY, older), PUPIL, today=TODAY)
    assert "Contact: No reply – card left\nMain reason: Not known\nAction agreed" \
        in summary.text
    assert "not asked" not in summary.text
    assert labels(summary) == ["Save", "Change", "Cancel"]


def test_the_confirmation_says_who_was_told() -> None:
    saved = NewVisit(pupil_id=1, visit_date=TODAY, type="home", contact="child",
                     reason="illness", action="escalate", follow_up=None, notes=None)
    assert screens.told_text(saved, screens.Told(1, True)) == (
        "Escalate to supervisor: 1 person was told, your supervisor.")
    assert screens.told_text(saved, screens.Told(1, False)) == (
        "Escalate to supervisor: you have no supervisor, so 1 other supervisor was told.")
    assert screens.told_text(saved, screens.Told(3, False)) == (
        "Escalate to supervisor: you have no supervisor, so 3 other supervisors were told.")
    assert screens.told_text(saved, screens.Told(0, False)).endswith(
        "Contact the DSL directly.")


def test_the_confirmation_says_who_is_told_instead_of_a_blocked_supervisor() -> None:
    saved = NewVisit(pupil_id=1, visit_date=TODAY, type="home", contact="child",
                     reason="illness", action="escalate", follow_up=None, notes=None)
    told = screens.told_text
    assert told(saved, screens.Told(2, True, instead=True)) == (
        "Escalate to supervisor: your supervisor's access is paused, so 2 other supervisors"
        " were told.")
    assert told(saved, screens.Told(1, True, instead=True, controllers=True)) == (
        "Escalate to supervisor: your supervisor's access is paused, so 1 controller was told.")
    assert told(saved, screens.Told(3, False, instead=True, controllers=True)) == (
        "Escalate to supervisor: you have no supervisor and the other supervisors' access is"
        " paused, so 3 controllers were told.")
    assert told(saved, screens.Told(0, False, instead=True)) == (
        "Escalate to supervisor: nobody could be told, as no supervisor's access is current"
        " and there is no controller. Contact the DSL directly.")


def data_of(screen: screens.Screen) -> list[str]:
    assert screen.markup is not None
    return [str(button.callback_data) for row in screen.markup.inline_keyboard for button in row]


def test_each_step_asks_its_question_with_buttons_of_this_draft_and_step() -> None:
    for step in (flow.TYPE, flow.DATE, flow.CONTACT, flow.REASON, flow.ACTION,
                 flow.FOLLOW_UP):
        screen = screens.screen(talk(step, {}), PUPIL, today=TODAY)
        assert screen.text == f"Visit for A.H. (C00001)\n\n{visit.QUESTIONS[step]}"
        assert all(data.startswith(f"v:tok:{step}:") for data in data_of(screen))
        assert not screen.sensitive
    kept = screens.screen(talk(flow.CONTACT, FULL), PUPIL, today=TODAY)
    assert "✓ Parent/carer seen" in labels(kept)


def test_the_old_date_check_names_the_date_and_offers_keep_or_change() -> None:
    draft = flow.apply_text(flow.DATE, "01/10/2026", {"type": "home"}, TODAY)
    assert flow.step_after(flow.DATE, draft) == flow.DATE_CHECK
    check = screens.screen(talk(flow.DATE_CHECK, draft), PUPIL, today=TODAY)
    assert check.text.endswith(
        "01/10/2026 is more than 28 days ago. Is that the right date? Or type another as "
        "DD/MM/YYYY or DD/MM.")
    assert labels(check) == ["Yes, keep it", "Change the date"]
    assert data_of(check) == ["v:tok:date_check:yes", "v:tok:date_check:change"]


def test_change_offers_every_answer_then_the_way_back_and_a_letter_has_no_contact() -> None:
    change = screens.screen(talk(flow.CHANGE, FULL), PUPIL, today=TODAY)
    assert change.text.endswith(visit.QUESTIONS[flow.CHANGE])
    assert labels(change) == ["Type", "Date", "Contact", "Main reason", "Action agreed",
                              "Next follow-up", "Notes", "Back to the summary"]
    assert data_of(change)[-1] == "v:tok:change:back"
    letter = {**FULL, "type": "letter"}
    del letter["contact"]
    assert "Contact" not in labels(screens.screen(talk(flow.CHANGE, letter), PUPIL, today=TODAY))
    summary = screens.screen(talk(flow.SUMMARY, letter), PUPIL, today=TODAY)
    assert "Contact:" not in summary.text and "Type: Letter" in summary.text


def test_the_summary_shows_every_answer_and_is_sensitive() -> None:
    summary = screens.screen(talk(flow.SUMMARY, FULL), PUPIL, today=TODAY)
    assert summary.text == "\n".join([
        "Visit for A.H. (C00001)", "", "Type: Home visit", "Date: 24/11/2026",
        "Contact: Parent/carer seen", "Main reason: Illness", "Action agreed: No further action",
        "Next follow-up: None", "Notes: Mum was worried.", "", "Save this visit?"])
    assert summary.sensitive
    assert data_of(summary) == ["v:tok:summary:save", "v:tok:summary:change",
                                "v:tok:summary:cancel"]


def test_the_pupil_step_lists_its_choices_and_audits_them() -> None:
    found = [PupilSummary(7, "C00007", "Noah", "Green", "Hillside", "Y3", 0, 0, "own", "EWO01")]
    several = screens.screen(talk(flow.PUPIL, {}), None, today=TODAY, choices=found,
                             several=True)
    assert several.text == visit.SEVERAL_MATCH and several.listed == (7,)
    assert labels(several) == ["Noah Green"] and data_of(several) == ["v:tok:pupil:7"]
    hinted = screens.screen(talk(flow.PUPIL, {}), None, today=TODAY, hint=visit.NO_MATCH)
    assert hinted.text == f"{visit.NO_MATCH}\n\n{visit.CHOOSE_PUPIL}" and hinted.markup is None
