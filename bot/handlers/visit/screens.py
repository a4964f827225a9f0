"""The /visit screens, pure: the draft (and its pupil, and today) in, text and buttons
out. No I/O: tests/handlers/test_visit_screens.py calls them without a bot.

A step's message stays in the chat, so it names the pupil by initials only; the
summary and a step showing kept notes are sensitive (deleted after a while).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bot.chat import render
from bot.chat.render import keyboard
from bot.domain import visit_flow as flow
from bot.domain.visits import ACTIONS, NO_CONTACT_TYPES, label_of
from bot.handlers import drafts
from bot.handlers.drafts import MARK, Screen
from bot.handlers.visit.save import Told
from bot.handlers.visit.texts import (
    CORRECTING,
    DATE_CHECK_QUESTION,
    HEADER,
    LABEL_1_WEEK,
    LABEL_2_WEEKS,
    LABEL_BACK,
    LABEL_CANCEL,
    LABEL_CHANGE,
    LABEL_DATE_CHANGE,
    LABEL_DATE_YES,
    LABEL_KEEP_NOTES,
    LABEL_NONE,
    LABEL_REMOVE_NOTES,
    LABEL_SAVE,
    LABEL_SKIP,
    LABEL_TODAY,
    LABEL_YESTERDAY,
    NOTES_KEPT,
    QUESTIONS,
    TOLD_CONTROLLER,
    TOLD_CONTROLLERS,
    TOLD_INSTEAD_OF_OTHERS,
    TOLD_INSTEAD_OF_SUPERVISOR,
    TOLD_MANY,
    TOLD_NOBODY,
    TOLD_NOBODY_INSTEAD,
    TOLD_ONE,
    TOLD_OTHERS,
    TOLD_SUPERVISOR,
    VISIT,
)
from bot.storage.conversations import Conversation
from bot.storage.pupils import PupilSummary
from bot.storage.visits import NewVisit, VisitPupil

__all__ = ["Screen", "screen", "told_text"]


_MESSAGE_LIMIT = 4000  # under Telegram's 4,096, leaving room for the summary's frame
_FIELD_LABELS = (
    (flow.TYPE, "Type"), (flow.DATE, "Date"), (flow.CONTACT, "Contact"),
    (flow.REASON, "Main reason"), (flow.ACTION, "Action agreed"),
    (flow.FOLLOW_UP, "Next follow-up"),
)
_CHANGE_LABELS = (*_FIELD_LABELS, (flow.NOTES, "Notes"))
def _header(talk: Conversation, pupil: VisitPupil) -> str:
    # Initials, as in "Continue visit for A.H.?" and the pushed messages: a step's
    # message stays in the chat, and a glance over the shoulder should not name the child.
    lines = [HEADER.format(initials=pupil.initials, case_ref=pupil.case_ref)]
    corrects = talk.data.get("corrects_date")
    if corrects:
        lines.append(CORRECTING.format(date=render.day(corrects)))
    return "\n".join(lines)


def _step_keyboard(talk: Conversation, today: date) -> list[list[tuple[str, str]]]:
    step, draft = talk.step, talk.data
    if step in flow.VOCABULARIES:
        buttons = [(drafts.marked(label, draft.get(step) == code), VISIT.data(talk, step, code))
                   for code, label in flow.choices(step, draft)]
        return drafts.rows(buttons, 1 if step in (flow.CONTACT, flow.ACTION) else 2)
    if step in (flow.DATE, flow.FOLLOW_UP):
        return _date_keyboard(talk, today)
    if step == flow.DATE_CHECK:
        return [[(LABEL_DATE_YES, VISIT.data(talk, step, flow.YES)),
                 (LABEL_DATE_CHANGE, VISIT.data(talk, step, flow.CHANGE_DATE))]]
    if step == flow.NOTES:
        if draft.get(flow.NOTES):
            return [[(LABEL_KEEP_NOTES, VISIT.data(talk, step, flow.KEEP)),
                     (LABEL_REMOVE_NOTES, VISIT.data(talk, step, flow.SKIP))]]
        return [[(LABEL_SKIP, VISIT.data(talk, step, flow.SKIP))]]
    if step == flow.SUMMARY:
        return drafts.summary_rows(VISIT, talk, (LABEL_SAVE, LABEL_CHANGE, LABEL_CANCEL))
    if step == flow.CHANGE:
        fields = [(field, label) for field, label in _CHANGE_LABELS
                  if field in flow.changeable(draft)]
        return drafts.change_rows(VISIT, talk, fields, LABEL_BACK)
    raise ValueError(f"no keyboard for step {step}")


def _date_keyboard(talk: Conversation, today: date) -> list[list[tuple[str, str]]]:
    """The date or follow-up step: its fixed choices, then the kept date unless one of
    them is that same day already (then that one is marked)."""
    step, draft = talk.step, talk.data
    offered: list[tuple[str, str, date | None]]
    if step == flow.DATE:
        offered = [(LABEL_TODAY, flow.TODAY, today),
                   (LABEL_YESTERDAY, flow.YESTERDAY, today - timedelta(days=1))]
    else:
        offered = [(LABEL_1_WEEK, flow.IN_1_WEEK, today + timedelta(weeks=1)),
                   (LABEL_2_WEEKS, flow.IN_2_WEEKS, today + timedelta(weeks=2)),
                   (LABEL_NONE, flow.NONE, None)]  # None: no follow-up
    kept = draft.get(step)
    kept_day = date.fromisoformat(kept) if kept else None
    answered = step in draft
    buttons = [(drafts.marked(label, answered and day == kept_day), VISIT.data(talk, step, choice))
               for label, choice, day in offered]
    rows = drafts.rows(buttons, 2)
    if kept_day is not None and kept_day not in {day for _, _, day in offered}:
        rows.append([(MARK + render.day(kept_day), VISIT.data(talk, step, flow.KEEP))])
    return rows


def _question(talk: Conversation) -> tuple[str, bool]:
    """The step's question, and whether it shows the officer's notes (sensitive)."""
    draft = talk.data
    if talk.step == flow.DATE_CHECK:
        return DATE_CHECK_QUESTION.format(date=render.day(draft.get(flow.DATE))), False
    if talk.step == flow.NOTES and draft.get(flow.NOTES):
        notes = draft[flow.NOTES]
        room = _MESSAGE_LIMIT - len(NOTES_KEPT) - 200  # the header and a hint
        if len(notes) > room:
            tail = f"… ({len(notes):,} characters in all)"
            notes = notes[:room - len(tail)] + tail
        return NOTES_KEPT.format(notes=notes), True
    return QUESTIONS[talk.step], False


def _field_value(step: str, value: Any) -> str:
    if step in (flow.DATE, flow.FOLLOW_UP):
        return render.day(value)
    return label_of(flow.VOCABULARIES[step], value)


def _summary_text(talk: Conversation, pupil: VisitPupil) -> str:
    draft = talk.data
    lines = [_header(talk, pupil), ""]
    for step, label in _FIELD_LABELS:
        if step == flow.CONTACT and draft.get(flow.TYPE) in NO_CONTACT_TYPES:
            continue
        lines.append(f"{label}: {_field_value(step, draft.get(step))}")
    frame = "\n".join(lines) + "\nNotes: \n\n" + QUESTIONS[flow.SUMMARY]
    notes = draft.get(flow.NOTES) or "none"
    room = _MESSAGE_LIMIT - len(frame)
    if len(notes) > room:
        tail = f"… ({len(notes):,} characters in all)"
        notes = notes[:room - len(tail)] + tail
    lines.append(f"Notes: {notes}")
    return "\n".join([*lines, "", QUESTIONS[flow.SUMMARY]])


def screen(talk: Conversation, pupil: VisitPupil | None, *, today: date,
           hint: str | None = None, choices: Sequence[PupilSummary] = (),
           several: bool = False) -> Screen:
    """The current step of `talk` (the pupil step lists `choices`: `several` matches of
    a search, or the officer's most urgent pupils), as of `today`."""
    prefix = f"{hint}\n\n" if hint else ""
    if talk.step == flow.PUPIL or pupil is None:
        return drafts.choose_pupil(VISIT, talk, flow.PUPIL, choices, hint=hint, several=several)
    if talk.step == flow.SUMMARY:
        return Screen(prefix + _summary_text(talk, pupil),
                      keyboard(_step_keyboard(talk, today)), sensitive=True)
    question, sensitive = _question(talk)
    text = f"{_header(talk, pupil)}\n\n{question}"
    return Screen(prefix + text, keyboard(_step_keyboard(talk, today)), sensitive=sensitive)


def told_text(visit: NewVisit, told: Told) -> str:
    """Who an escalation or safeguarding concern went to, or that nobody could be told."""
    assert visit.action is not None
    action = label_of(ACTIONS, visit.action)
    if told.count == 0:
        return (TOLD_NOBODY_INSTEAD if told.instead else TOLD_NOBODY).format(action=action)
    if told.own_supervisor and not told.instead:
        return TOLD_SUPERVISOR.format(action=action)
    if told.controllers:
        people = TOLD_CONTROLLER if told.count == 1 else TOLD_CONTROLLERS.format(
            count=told.count)
    else:
        people = TOLD_ONE if told.count == 1 else TOLD_MANY.format(count=told.count)
    if not told.instead:
        return TOLD_OTHERS.format(action=action, people=people)
    return (TOLD_INSTEAD_OF_SUPERVISOR if told.own_supervisor else TOLD_INSTEAD_OF_OTHERS
            ).format(action=action, people=people)
