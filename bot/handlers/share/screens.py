"""The /share screens, pure: the draft (and its pupil, and today) in, text and buttons
out. No I/O: tests/handlers/test_share_screens.py calls them without a bot.

A step's message stays in the chat, so it names the pupil by initials only; the
summary and a step showing a kept note or typed recipient are sensitive (deleted after
a while).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bot.chat import render
from bot.chat.render import keyboard
from bot.domain import sharing as flow
from bot.handlers import drafts
from bot.handlers.drafts import MARK, Rows, Screen
from bot.handlers.share.texts import (
    ASKED_FOR,
    CORRECTING,
    FIELD_LABELS,
    HEADER,
    LABEL_BACK,
    LABEL_CANCEL,
    LABEL_CHANGE,
    LABEL_DONE,
    LABEL_KEEP,
    LABEL_REMOVE_NOTE,
    LABEL_SAVE,
    LABEL_SKIP,
    LABEL_TODAY,
    LABEL_YESTERDAY,
    NOT_SHARED_QUESTIONS,
    NOTE_KEPT,
    OTHER_KEPT,
    QUESTIONS,
    SHARE,
)
from bot.storage.conversations import Conversation
from bot.storage.pupils import PupilSummary
from bot.storage.visits import VisitPupil

__all__ = ["Screen", "screen"]

_ONE_PER_ROW = (flow.CONDITION, flow.REASON, flow.WHAT_STEP)


def _header(talk: Conversation, pupil: VisitPupil) -> str:
    lines = [HEADER.format(initials=pupil.initials, case_ref=pupil.case_ref)]
    corrects = talk.data.get("corrects_date")
    if corrects:
        lines.append(CORRECTING.format(date=render.day(corrects)))
    return "\n".join(lines)


def _vocabulary_rows(talk: Conversation) -> Rows:
    step, draft = talk.step, talk.data
    buttons = [(drafts.marked(label, draft.get(step) == code), SHARE.data(talk, step, code))
               for code, label in flow.VOCABULARIES[step]]
    return drafts.rows(buttons, 1 if step in _ONE_PER_ROW else 2)


def _what_rows(talk: Conversation) -> Rows:
    ticked = set(talk.data.get(flow.WHAT_STEP) or ())
    rows = [[(drafts.marked(label, code in ticked), SHARE.data(talk, flow.WHAT_STEP, code))]
            for code, label in flow.WHAT]
    return [*rows, [(LABEL_DONE, SHARE.data(talk, flow.WHAT_STEP, flow.DONE))]]


def _date_rows(talk: Conversation, today: date) -> Rows:
    kept = talk.data.get(flow.DATE)
    offered = ((LABEL_TODAY, flow.TODAY, today),
               (LABEL_YESTERDAY, flow.YESTERDAY, today - timedelta(days=1)))
    rows = drafts.rows([(drafts.marked(label, kept == day.isoformat()),
                         SHARE.data(talk, flow.DATE, choice))
                        for label, choice, day in offered], 2)
    if kept and kept not in {day.isoformat() for _, _, day in offered}:
        rows.append([(MARK + render.day(kept), SHARE.data(talk, flow.DATE, flow.KEEP))])
    return rows


def _step_rows(talk: Conversation, today: date) -> Rows:
    step, draft = talk.step, talk.data
    if step in flow.VOCABULARIES:
        return _vocabulary_rows(talk)
    if step == flow.WHAT_STEP:
        return _what_rows(talk)
    if step == flow.DATE:
        return _date_rows(talk, today)
    if step == flow.OTHER:
        return [[(LABEL_KEEP, SHARE.data(talk, step, flow.KEEP))]] if draft.get(step) else []
    if step == flow.NOTE:
        if draft.get(flow.NOTE):
            return [[(LABEL_KEEP, SHARE.data(talk, step, flow.KEEP)),
                     (LABEL_REMOVE_NOTE, SHARE.data(talk, step, flow.SKIP))]]
        return [[(LABEL_SKIP, SHARE.data(talk, step, flow.SKIP))]]
    if step == flow.SUMMARY:
        return drafts.summary_rows(SHARE, talk, (LABEL_SAVE, LABEL_CHANGE, LABEL_CANCEL))
    if step == flow.CHANGE:
        fields = [(field, _field_label(field, draft)) for field in flow.changeable(draft)]
        return drafts.change_rows(SHARE, talk, fields, LABEL_BACK)
    raise ValueError(f"no keyboard for step {step}")


def _field_label(step: str, draft: dict[str, Any]) -> str:
    if step == flow.WHAT_STEP and draft.get(flow.DECISION) == flow.NOT_SHARED:
        return ASKED_FOR
    return FIELD_LABELS[step]


def question(talk: Conversation) -> tuple[str, bool]:
    """The step's question, and whether it shows typed text kept in the draft."""
    step, draft = talk.step, talk.data
    if step == flow.OTHER and draft.get(flow.OTHER):
        return OTHER_KEPT.format(other=draft[flow.OTHER]), True
    if step == flow.NOTE and draft.get(flow.NOTE):
        return NOTE_KEPT.format(note=draft[flow.NOTE]), True
    if draft.get(flow.DECISION) == flow.NOT_SHARED and step in NOT_SHARED_QUESTIONS:
        return NOT_SHARED_QUESTIONS[step], False
    return QUESTIONS[step], False


def _value(step: str, draft: dict[str, Any]) -> str:
    value = draft.get(step)
    if step == flow.RECIPIENT:
        return flow.recipient_label(value, draft.get(flow.OTHER))
    if step == flow.WHAT_STEP:
        return ", ".join(flow.labels(flow.WHAT, value or ()))
    if step == flow.DATE:
        return render.day(value)
    if step == flow.NOTE:
        return value or "none"
    return dict(flow.VOCABULARIES[step]).get(value, "")


def summary_text(talk: Conversation, pupil: VisitPupil) -> str:
    draft = talk.data
    lines = [_header(talk, pupil), ""]
    for step in flow.CHANGEABLE:
        if flow.applies(step, draft):
            lines.append(f"{_field_label(step, draft)}: {_value(step, draft)}")
    return "\n".join([*lines, "", QUESTIONS[flow.SUMMARY]])


def screen(talk: Conversation, pupil: VisitPupil | None, *, today: date,
           hint: str | None = None, choices: Sequence[PupilSummary] = (),
           several: bool = False) -> Screen:
    """The current step of `talk` (the pupil step lists `choices`: `several` matches of
    a search, or the officer's most urgent pupils), as of `today`."""
    prefix = f"{hint}\n\n" if hint else ""
    if talk.step == flow.PUPIL or pupil is None:
        return drafts.choose_pupil(SHARE, talk, flow.PUPIL, choices, hint=hint, several=several)
    rows = _step_rows(talk, today)
    markup = keyboard(rows) if rows else None
    if talk.step == flow.SUMMARY:
        return Screen(prefix + summary_text(talk, pupil), markup, sensitive=True)
    asked, sensitive = question(talk)
    return Screen(f"{prefix}{_header(talk, pupil)}\n\n{asked}", markup, sensitive=sensitive)
