"""/visit — record a visit step by step; Correct (`vc:`); /cancel; /due.

The conversation lives in the `conversations` table (kind "visit") and is written at
every step, so a crash, a restart or a PIN lock resumes it where it was. Its buttons
carry the conversation's token and step, `v:<token>:<step>:<choice>`: only the buttons
of the draft's current step work; any other is stale. Every press and every typed
answer re-checks that the pupil is still allocated to this officer. The flow is drawn
in visit.mmd beside this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.domain import visit_flow as flow
from bot.domain.visit_flow import AnswerProblem, Problem
from bot.domain.visits import (
    ACTIONS,
    NO_CONTACT_TYPES,
    VISIT_TYPES,
    label_of,
)
from bot.handlers.common import (
    Context,
    answer,
    button_data,
    current_officer,
    edit_sensitive,
    keyboard,
    parse_id,
    refuse,
    requires_role,
    schedule_sensitive,
    send_sensitive,
    services,
)
from bot.storage import audit, conversations
from bot.storage import pupils as pupil_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.visits import NewVisit, VisitPupil
from bot.usecases.visits import Saved, Told, cancel_conversation, save_visit

KIND = "visit"
PREFIX = "v"
CORRECT_PREFIX = "vc"
RECORDERS = ("officer", "supervisor")
PUPIL_BUTTONS = 10
DUE_LINES = 40
DUE_BUTTONS = 10

CHOOSE_PUPIL = "Record a visit: choose a pupil, or type a name."
SEVERAL_MATCH = "Several pupils of yours match: choose one, or type more of the name."
NO_MATCH = "No pupil of yours matches"
NO_PUPILS = "You have no pupils allocated to you, so there is no visit to record."
QUESTIONS = {
    flow.TYPE: "What kind of contact was it?",
    flow.DATE: "When was it? Choose, or type the date as DD/MM/YYYY or DD/MM.",
    flow.CONTACT: "Who was seen?",
    flow.REASON: "Main reason for absence?",
    flow.ACTION: "Action agreed?",
    flow.FOLLOW_UP: "Next follow-up? Choose, or type the date as DD/MM/YYYY or DD/MM.",
    flow.NOTES: "Notes? Type them (up to 4,096 characters), or Skip.",
    flow.SUMMARY: "Save this visit?",
    flow.CHANGE: "Which answer do you want to change? Then you come back to the summary.",
}
DATE_CHECK_QUESTION = ("{date} is more than 28 days ago. Is that the right date? Or type "
                       "another as DD/MM/YYYY or DD/MM.")
NOTES_KEPT = ("Notes so far:\n{notes}\n\nKeep them, remove them, or type new notes "
              "(up to 4,096 characters) to replace them.")
REASON_NOT_ASKED = "{label} (not asked: no reply)"
HINTS = {
    Problem.CHOOSE: "Please choose one of the buttons.",
    Problem.NOT_A_DATE: "That is not a date I can read: type it as DD/MM/YYYY or DD/MM.",
    Problem.FUTURE_VISIT: "The visit date cannot be in the future.",
    Problem.FUTURE_VISIT_NO_YEAR: ("The visit date cannot be in the future. For a date last "
                                   "year, type the year too: DD/MM/YYYY."),
    Problem.PAST_FOLLOW_UP: "The follow-up cannot be in the past.",
    Problem.PAST_FOLLOW_UP_NO_YEAR: ("The follow-up cannot be in the past. For a date next "
                                     "year, type the year too: DD/MM/YYYY."),
    Problem.NOTES_TOO_LONG: ("Notes can be up to 4,096 characters: please shorten them and "
                             "send them again."),
}
HEADER = "Visit for {initials} ({case_ref})"
RESUME = "Continue visit for {initials}?"
SAVED = "Saved: {type} for {initials} on {date}. Next follow-up: {follow_up}."
TOLD_SUPERVISOR = "{action}: 1 person was told, your supervisor."
TOLD_OTHERS = "{action}: you have no supervisor, so {people} told."
TOLD_ONE = "1 other supervisor was"
TOLD_MANY = "{count} other supervisors were"
TOLD_NOBODY = ("{action}: nobody could be told, as you have no supervisor and there is no "
               "other supervisor. Contact the DSL directly.")
ALREADY_SAVED = "That visit is already saved."
CANCELLED = "Visit cancelled. Nothing was saved."
CANCELLED_OTHER = "Cancelled. Nothing was saved."
NOTHING_TO_CANCEL = "There is nothing to cancel."
STALE = "That button is from an earlier step or visit. Send /visit to carry on."
STALE_ENDED = ("That button is from a visit that has ended: no visit is open. Send /visit to "
               "record a new one.")
DRAFT_OPEN = "A visit for {initials} is still open. Send /visit to carry on."
DRAFT_OPEN_NO_PUPIL = "A visit is still open. Send /visit to carry on."
NOT_ALLOCATED = ("This pupil is no longer allocated to you, so the visit has ended. "
                 "Nothing was saved.")
CANNOT_CORRECT = "That visit cannot be corrected."
TOO_OLD = "A visit can be corrected only within 7 days of saving it."
ALREADY_CORRECTED = "That visit has already been corrected: correct the newer entry instead."
CORRECTION_ENDED = f"{ALREADY_CORRECTED} Nothing was saved."
CORRECTING = "Correcting the visit of {date}; your earlier answers are marked ✓."
ESCALATION = "{action}: case {case_ref}, {initials}, {school}. Recorded by {officer} on {date}."
NO_FOLLOW_UPS = "No follow-ups are due."
DUE_HEADER = "Follow-ups due, oldest first:"
DUE_MORE = "…and {count} more."
# Audit reasons of the lists of pupils shown: /due, and the visit's pupil step.
DUE_COMMAND, VISIT_COMMAND = "due_command", "visit_command"
DUE_TODAY, OVERDUE_ONE, OVERDUE = "today", "1 day overdue", "{days} days overdue"

LABEL_TODAY, LABEL_YESTERDAY = "Today", "Yesterday"
LABEL_1_WEEK, LABEL_2_WEEKS, LABEL_NONE = "In 1 week", "In 2 weeks", "None"
LABEL_SKIP, LABEL_KEEP_NOTES, LABEL_REMOVE_NOTES = "Skip", "Keep notes", "Remove notes"
LABEL_SAVE, LABEL_CHANGE, LABEL_CANCEL = "Save", "Change", "Cancel"
LABEL_DATE_YES, LABEL_DATE_CHANGE = "Yes, keep it", "Change the date"
LABEL_BACK = "Back to the summary"
LABEL_CONTINUE, LABEL_DISCARD = "Continue", "Discard"
MARK = "✓ "

# Choices of the resume prompt: carry on, or discard the draft and then start anew,
# with one pupil (`p<id>`), or correcting a visit (`c<id>`).
RESUME_STEP, GO, NEW = "resume", "go", "new"
SAVE, CHANGE, CANCEL = "save", "change", "cancel"

_MESSAGE_LIMIT = 4000  # under Telegram's 4,096, leaving room for the summary's frame
_FIELD_LABELS = (
    (flow.TYPE, "Type"), (flow.DATE, "Date"), (flow.CONTACT, "Contact"),
    (flow.REASON, "Main reason"), (flow.ACTION, "Action agreed"),
    (flow.FOLLOW_UP, "Next follow-up"),
)
_CHANGE_LABELS = (*_FIELD_LABELS, (flow.NOTES, "Notes"))


@dataclass(frozen=True, slots=True)
class Screen:
    """One step as the chat shows it."""

    text: str
    markup: InlineKeyboardMarkup | None
    sensitive: bool = False  # visit summaries with notes and details: deleted later
    listed: tuple[int, ...] = ()  # pupils the pupil step lists by name: audited as a list


# --- rendering ------------------------------------------------------------------------


def _day(value: date | str | None) -> str:
    if value is None:
        return LABEL_NONE
    when = date.fromisoformat(value) if isinstance(value, str) else value
    return when.strftime("%d/%m/%Y")


def _data(talk: Conversation, step: str, choice: str) -> str:
    return f"{PREFIX}:{talk.token}:{step}:{choice}"


def _marked(label: str, chosen: bool) -> str:
    return MARK + label if chosen else label


def _rows(buttons: Sequence[tuple[str, str]], per_row: int) -> list[list[tuple[str, str]]]:
    return [list(buttons[i:i + per_row]) for i in range(0, len(buttons), per_row)]


def _header(talk: Conversation, pupil: VisitPupil) -> str:
    # Initials, as in "Continue visit for A.H.?" and the pushed messages: a step's
    # message stays in the chat, and a glance over the shoulder should not name the child.
    lines = [HEADER.format(initials=pupil.initials, case_ref=pupil.case_ref)]
    corrects = talk.data.get("corrects_date")
    if corrects:
        lines.append(CORRECTING.format(date=_day(corrects)))
    return "\n".join(lines)


def _step_keyboard(talk: Conversation, today: date) -> list[list[tuple[str, str]]]:
    step, draft = talk.step, talk.data
    if step in flow.VOCABULARIES:
        buttons = [(_marked(label, draft.get(step) == code), _data(talk, step, code))
                   for code, label in flow.VOCABULARIES[step]]
        return _rows(buttons, 1 if step in (flow.CONTACT, flow.ACTION) else 2)
    if step in (flow.DATE, flow.FOLLOW_UP):
        return _date_keyboard(talk, today)
    if step == flow.DATE_CHECK:
        return [[(LABEL_DATE_YES, _data(talk, step, flow.YES)),
                 (LABEL_DATE_CHANGE, _data(talk, step, flow.CHANGE_DATE))]]
    if step == flow.NOTES:
        if draft.get(flow.NOTES):
            return [[(LABEL_KEEP_NOTES, _data(talk, step, flow.KEEP)),
                     (LABEL_REMOVE_NOTES, _data(talk, step, flow.SKIP))]]
        return [[(LABEL_SKIP, _data(talk, step, flow.SKIP))]]
    if step == flow.SUMMARY:
        return [[(LABEL_SAVE, _data(talk, step, SAVE)), (LABEL_CHANGE, _data(talk, step, CHANGE)),
                 (LABEL_CANCEL, _data(talk, step, CANCEL))]]
    if step == flow.CHANGE:
        buttons = [(label, _data(talk, step, field)) for field, label in _CHANGE_LABELS
                   if field in flow.changeable(draft)]
        return [*_rows(buttons, 2), [(LABEL_BACK, _data(talk, step, flow.BACK))]]
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
    buttons = [(_marked(label, answered and day == kept_day), _data(talk, step, choice))
               for label, choice, day in offered]
    rows = _rows(buttons, 2)
    if kept_day is not None and kept_day not in {day for _, _, day in offered}:
        rows.append([(MARK + _day(kept_day), _data(talk, step, flow.KEEP))])
    return rows


def _question(talk: Conversation) -> tuple[str, bool]:
    """The step's question, and whether it shows the officer's notes (sensitive)."""
    draft = talk.data
    if talk.step == flow.DATE_CHECK:
        return DATE_CHECK_QUESTION.format(date=_day(draft.get(flow.DATE))), False
    if talk.step == flow.NOTES and draft.get(flow.NOTES):
        notes = draft[flow.NOTES]
        room = _MESSAGE_LIMIT - len(NOTES_KEPT) - 200  # the header and a hint
        if len(notes) > room:
            tail = f"… ({len(notes):,} characters in all)"
            notes = notes[:room - len(tail)] + tail
        return NOTES_KEPT.format(notes=notes), True
    return QUESTIONS[talk.step], False


def _field_value(step: str, value: Any, draft: dict[str, Any]) -> str:
    if step in (flow.DATE, flow.FOLLOW_UP):
        return _day(value)
    label = label_of(flow.VOCABULARIES[step], value)
    if step == flow.REASON and draft.get(flow.REASON_SKIPPED):
        return REASON_NOT_ASKED.format(label=label)
    return label


def _summary_text(talk: Conversation, pupil: VisitPupil) -> str:
    draft = talk.data
    lines = [_header(talk, pupil), ""]
    for step, label in _FIELD_LABELS:
        if step == flow.CONTACT and draft.get(flow.TYPE) in NO_CONTACT_TYPES:
            continue
        lines.append(f"{label}: {_field_value(step, draft.get(step), draft)}")
    frame = "\n".join(lines) + "\nNotes: \n\n" + QUESTIONS[flow.SUMMARY]
    notes = draft.get(flow.NOTES) or "none"
    room = _MESSAGE_LIMIT - len(frame)
    if len(notes) > room:
        tail = f"… ({len(notes):,} characters in all)"
        notes = notes[:room - len(tail)] + tail
    lines.append(f"Notes: {notes}")
    return "\n".join([*lines, "", QUESTIONS[flow.SUMMARY]])


def _pupil_label(pupil: PupilSummary) -> str:
    if not pupil.possible:
        return pupil.name
    return f"{pupil.name} · {pupil.attendance_text}"


def _screen(talk: Conversation, pupil: VisitPupil | None, *, today: date,
            hint: str | None = None, choices: Sequence[PupilSummary] = (),
            several: bool = False) -> Screen:
    """The current step of `talk` (the pupil step lists `choices`: `several` matches of
    a search, or the officer's most urgent pupils), as of `today`."""
    prefix = f"{hint}\n\n" if hint else ""
    if talk.step == flow.PUPIL or pupil is None:
        buttons = [[(_pupil_label(choice), _data(talk, flow.PUPIL, str(choice.id)))]
                   for choice in choices]
        text = SEVERAL_MATCH if several else CHOOSE_PUPIL
        return Screen(prefix + text, keyboard(buttons) if buttons else None,
                      listed=tuple(choice.id for choice in choices))
    if talk.step == flow.SUMMARY:
        return Screen(prefix + _summary_text(talk, pupil),
                      keyboard(_step_keyboard(talk, today)), sensitive=True)
    question, sensitive = _question(talk)
    text = f"{_header(talk, pupil)}\n\n{question}"
    return Screen(prefix + text, keyboard(_step_keyboard(talk, today)), sensitive=sensitive)


# --- showing --------------------------------------------------------------------------


async def _ack(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the press (a replayed press after the PIN was answered already)."""
    query = update.callback_query
    if query is None:
        return
    with contextlib.suppress(BadRequest):
        await query.answer(text, show_alert=alert)


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _show(update: Update, context: Context, talk: Conversation, screen: Screen, *,
                edit: bool) -> None:
    """Show the step: edit the pressed message, or send a new one; then remember it.

    One screen per answer: an earlier message's buttons are left alone (pressed, they
    are refused as stale unless they are the current step's).
    """
    svc = services(context)
    chat_id = _chat_id(update)
    if screen.listed:  # a list of pupils shows only once its audit entry is committed
        await svc.audit_trail.append(audit.listing(
            actor=current_officer(context).actor, reason=VISIT_COMMAND, pupil_ids=screen.listed))
    if edit and screen.sensitive:  # its deletion is recorded before the text is shown
        message_id = await edit_sensitive(context, chat_id, _pressed_message_id(update),
                                          screen.text, markup=screen.markup)
    elif edit:
        await _edit(update, screen.text, screen.markup)
        message_id = _pressed_message_id(update)
    elif screen.sensitive:
        message_id = await send_sensitive(context, chat_id, screen.text, markup=screen.markup)
    else:
        message = await context.bot.send_message(chat_id, screen.text,
                                                  reply_markup=screen.markup)
        message_id = message.message_id
    await svc.db.write(conversations.advance, talk, step=talk.step, now=svc.clock.now(),
                       message_id=message_id)


async def _end_with(update: Update, context: Context, talk: Conversation, text: str, *,
                    edit: bool) -> None:
    """End the draft and say why."""
    svc = services(context)
    await svc.db.write(conversations.end, talk.officer_id, talk.token)
    if edit:
        await _edit(update, text)
    else:
        await context.bot.send_message(_chat_id(update), text)


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _pressed_message_id(update: Update) -> int:
    query = update.callback_query
    assert query is not None and query.message is not None
    return query.message.message_id


# --- starting -------------------------------------------------------------------------


def _today(context: Context) -> date:
    return services(context).clock.now().date()


async def _urgent_pupils(conn: Conn, context: Context, officer: Officer) -> list[PupilSummary]:
    svc = services(context)
    found, _ = await pupil_store.pupils_for_officer(
        conn, officer, today=_today(context), year_end=svc.settings.academic_year_end,
        offset=0, limit=PUPIL_BUTTONS)
    return found


async def _find(conn: Conn, context: Context, officer: Officer, text: str) -> list[PupilSummary]:
    svc = services(context)
    return await pupil_store.find_pupils(
        conn, officer, text, today=_today(context), year_end=svc.settings.academic_year_end,
        limit=PUPIL_BUTTONS)


async def _record_refused_lookup(context: Context, officer: Officer, typed: str) -> None:
    """A UPN or case reference of a pupil not allocated to this officer: audited."""
    await services(context).db.write(pupil_store.record_refused_lookup, officer, typed,
                                     via="visit_command")


async def _open_draft(conn: Conn, context: Context,
                      officer: Officer) -> tuple[Conversation, VisitPupil] | None:
    """The officer's visit draft with its pupil, when there is one worth continuing."""
    talk = await conversations.current(conn, officer.id, services(context).clock.now())
    if talk is None or talk.kind != KIND or talk.pupil_id is None:
        return None
    pupil = await visit_store.visit_pupil(conn, officer, talk.pupil_id)
    return None if pupil is None else (talk, pupil)


async def _start(update: Update, context: Context, officer: Officer, *,
                 pupil: VisitPupil | None = None, draft: dict[str, Any] | None = None,
                 choices: Sequence[PupilSummary] = (), hint: str | None = None,
                 several: bool = False, edit: bool = False) -> None:
    """Open a new draft (replacing any other) at the pupil step, or at the type step."""
    svc = services(context)
    now = svc.clock.now()
    if pupil is None and not choices:
        if edit:
            await _edit(update, NO_PUPILS)
        else:
            await answer(update, NO_PUPILS)
        return
    talk = await svc.db.write(conversations.start, officer.id, kind=KIND,
                              step=flow.TYPE if pupil else flow.PUPIL, now=now,
                              expires_at=now + timedelta(hours=svc.settings.session_max_hours),
                              pupil_id=pupil.id if pupil else None, data=draft)
    screen = _screen(talk, pupil, today=_today(context), hint=hint, choices=choices,
                     several=several)
    await _show(update, context, talk, screen, edit=edit)


async def _ask_to_resume(update: Update, context: Context, talk: Conversation,
                         pupil: VisitPupil, then: str) -> None:
    """A draft is open: continue it, or discard it and do `then`."""
    buttons = [[(LABEL_CONTINUE, _data(talk, RESUME_STEP, GO)),
                (LABEL_DISCARD, _data(talk, RESUME_STEP, then))]]
    await context.bot.send_message(_chat_id(update), RESUME.format(initials=pupil.initials),
                                   reply_markup=keyboard(buttons))


@requires_role(*RECORDERS)
async def visit_command(update: Update, context: Context) -> None:
    """/visit [NAME-OR-UPN-OR-REF] — start recording a visit (or continue the open one)."""
    officer = current_officer(context)
    typed = " ".join(context.args or [])
    async def _snapshot(conn: Conn):
        open_draft = await _open_draft(conn, context, officer)
        matches = await _find(conn, context, officer, typed) if typed else []
        urgent = await _urgent_pupils(conn, context, officer) if len(matches) != 1 else []
        return matches, open_draft, urgent
    matches, open_draft, urgent = await services(context).db.read(_snapshot)
    if typed and not matches:
        await _record_refused_lookup(context, officer, typed)
    if open_draft is not None:
        talk, pupil = open_draft
        then = f"p{matches[0].id}" if len(matches) == 1 else NEW
        await _ask_to_resume(update, context, talk, pupil, then)
        return
    await _begin(update, context, officer, typed, matches, urgent, edit=False)


async def _begin(update: Update, context: Context, officer: Officer, typed: str,
                 matches: Sequence[PupilSummary], urgent: Sequence[PupilSummary], *,
                 edit: bool) -> None:
    if len(matches) == 1:
        pupil = await services(context).db.read(visit_store.visit_pupil, officer, matches[0].id)
        if pupil is not None:
            await _start(update, context, officer, pupil=pupil, edit=edit)
            return
    if len(matches) > 1:
        await _start(update, context, officer, choices=matches, several=True, edit=edit)
        return
    await _start(update, context, officer, choices=urgent, edit=edit,
                 hint=NO_MATCH if typed else None)


# --- buttons --------------------------------------------------------------------------


async def _record_for_pupil(update: Update, context: Context, officer: Officer,
                            choice: str) -> None:
    """`v:new:<pupil_id>` — the card's Record visit: /visit for that pupil."""
    pupil_id = parse_id(choice)
    async def _snapshot(conn: Conn):
        pupil = None if pupil_id is None else await visit_store.visit_pupil(conn, officer,
                                                                            pupil_id)
        open_draft = await _open_draft(conn, context, officer)
        return open_draft, pupil
    open_draft, pupil = await services(context).db.read(_snapshot)
    if pupil is None:
        await refuse(update, context, officer, reason="not_allocated",
                     target=None if pupil_id is None else f"pupil:{pupil_id}", text=NO_MATCH)
        return
    if open_draft is not None:
        await _ask_to_resume(update, context, *open_draft, f"p{pupil.id}")
    else:
        await _start(update, context, officer, pupil=pupil)
    await _ack(update)


@requires_role(*RECORDERS)
async def on_button(update: Update, context: Context) -> None:
    """A press on a visit step's button, `v:<token>:<step>:<choice>`, or the card's
    Record visit, `v:new:<pupil_id>`."""
    officer = current_officer(context)
    svc = services(context)
    parts = button_data(update)
    if len(parts) == 3 and parts[1] == NEW:
        await _record_for_pupil(update, context, officer, parts[2])
        return
    async def _snapshot(conn: Conn):
        talk = await conversations.current(conn, officer.id, svc.clock.now())
        already_saved = (len(parts) == 4 and parts[2:] == [flow.SUMMARY, SAVE]
                         and await visit_store.saved_from_draft(conn, parts[1]))
        return already_saved, talk
    already_saved, talk = await svc.db.read(_snapshot)
    if already_saved:
        await _ack(update, ALREADY_SAVED, alert=True)
        return
    if talk is None or talk.kind != KIND:
        await _ack(update, STALE_ENDED, alert=True)  # nothing to carry on
        return
    if len(parts) != 4 or talk.token != parts[1] or parts[2] not in (talk.step, RESUME_STEP):
        await _ack(update, STALE, alert=True)
        return
    step, choice = parts[2], parts[3]
    if step == RESUME_STEP:
        await _on_resume(update, context, officer, talk, choice)
    elif step == flow.PUPIL:
        await _on_pupil_button(update, context, officer, talk, choice)
    else:
        await _on_step_button(update, context, officer, talk, choice)


async def _on_pupil_button(update: Update, context: Context, officer: Officer,
                           talk: Conversation, choice: str) -> None:
    pupil_id = parse_id(choice)
    async def _snapshot(conn: Conn):
        return None if pupil_id is None else await visit_store.visit_pupil(conn, officer,
                                                                            pupil_id)
    pupil = await services(context).db.read(_snapshot)
    if pupil is None:
        await refuse(update, context, officer, reason="not_allocated",
                     target=None if pupil_id is None else f"pupil:{pupil_id}", text=NO_MATCH)
        return
    await _move(update, context, talk, pupil, dict(talk.data), pupil_id=pupil.id, edit=True)


async def _on_step_button(update: Update, context: Context, officer: Officer,
                          talk: Conversation, choice: str) -> None:
    assert talk.pupil_id is not None
    pupil = await services(context).db.read(visit_store.visit_pupil, officer, talk.pupil_id)
    if pupil is None:
        await _end_with(update, context, talk, NOT_ALLOCATED, edit=True)
        await _ack(update)
        return
    if talk.step == flow.SUMMARY:
        if choice == SAVE:
            await _save(update, context, officer, talk, pupil)
        elif choice == CANCEL:
            await _end_with(update, context, talk, CANCELLED, edit=True)
            await _ack(update)
        elif choice == CHANGE:
            await _move(update, context, talk, pupil, dict(talk.data), edit=True,
                        step=flow.CHANGE)
        else:
            await _ack(update, HINTS[Problem.CHOOSE], alert=True)
        return
    try:
        draft = flow.apply_choice(talk.step, choice, talk.data, _today(context))
    except AnswerProblem as problem:
        await _ack(update, HINTS[problem.problem], alert=True)
        return
    await _move(update, context, talk, pupil, draft, edit=True)


async def _move(update: Update, context: Context, talk: Conversation, pupil: VisitPupil,
                draft: dict[str, Any], *, edit: bool, pupil_id: int | None = None,
                step: str | None = None) -> None:
    """Store the answer, then show the next step (or `step`)."""
    svc = services(context)
    if step is None:
        step = flow.TYPE if talk.step == flow.PUPIL else flow.step_after(talk.step, draft)
    moved = await svc.db.write(conversations.advance, talk, step=step, now=svc.clock.now(),
                               data=draft, pupil_id=pupil_id)
    if moved is None:  # ended or replaced meanwhile
        await _ack(update, STALE, alert=True)
        return
    await _show(update, context, moved, _screen(moved, pupil, today=_today(context)), edit=edit)
    await _ack(update)


async def _on_resume(update: Update, context: Context, officer: Officer, talk: Conversation,
                     choice: str) -> None:
    """Continue the open draft, or discard it and start what was asked."""
    if choice == GO:
        async def _snapshot2(conn: Conn):
            pupil = (None if talk.pupil_id is None
                     else await visit_store.visit_pupil(conn, officer, talk.pupil_id))
            return pupil, await _urgent_pupils(conn, context, officer) if pupil is None else []
        pupil, urgent = await services(context).db.read(_snapshot2)
        if talk.pupil_id is not None and pupil is None:
            await _end_with(update, context, talk, NOT_ALLOCATED, edit=True)
        else:
            screen = _screen(talk, pupil, today=_today(context), choices=urgent)
            await _show(update, context, talk, screen, edit=True)
        await _ack(update)
        return
    await services(context).db.write(conversations.end, officer.id, talk.token)
    if choice.startswith("c") and (visit_id := parse_id(choice[1:])) is not None:
        await _begin_correction(update, context, officer, visit_id, edit=True)
        return
    pupil = None
    async def _snapshot(conn: Conn) -> None:
        nonlocal pupil, urgent
        if choice.startswith("p") and (pupil_id := parse_id(choice[1:])) is not None:
            pupil = await visit_store.visit_pupil(conn, officer, pupil_id)
        urgent = await _urgent_pupils(conn, context, officer) if pupil is None else []
    await services(context).db.read(_snapshot)
    await _start(update, context, officer, pupil=pupil, choices=urgent, edit=True)
    await _ack(update)


# --- typed answers --------------------------------------------------------------------


async def on_text(update: Update, context: Context, talk: Conversation) -> None:
    """Typed text while a visit draft waits: the answer to its current step."""
    officer = current_officer(context)
    message = update.effective_message
    if officer.role not in RECORDERS or message is None or not message.text:
        return
    text = message.text
    if talk.step == flow.NOTES:
        # The officer's own notes are sensitive: their message goes after a while too.
        await schedule_sensitive(context, _chat_id(update), message.message_id)
    if talk.step == flow.PUPIL:
        await _on_pupil_text(update, context, officer, talk, text)
        return
    assert talk.pupil_id is not None
    pupil = await services(context).db.read(visit_store.visit_pupil, officer, talk.pupil_id)
    if pupil is None:
        await _end_with(update, context, talk, NOT_ALLOCATED, edit=False)
        return
    if talk.step == flow.SUMMARY:
        await _show(update, context, talk, _screen(talk, pupil, today=_today(context),
                                                   hint=HINTS[Problem.CHOOSE]),
                    edit=False)
        return
    try:
        draft = flow.apply_text(talk.step, text, talk.data, _today(context))
    except AnswerProblem as problem:
        await _show(update, context, talk, _screen(talk, pupil, today=_today(context),
                                                   hint=HINTS[problem.problem]),
                    edit=False)
        return
    await _move(update, context, talk, pupil, draft, edit=False)


async def _on_pupil_text(update: Update, context: Context, officer: Officer,
                         talk: Conversation, text: str) -> None:
    async def _snapshot(conn: Conn):
        matches = await _find(conn, context, officer, text)
        pupil = (await visit_store.visit_pupil(conn, officer, matches[0].id)
                 if len(matches) == 1 else None)
        urgent = await _urgent_pupils(conn, context, officer) if not matches else []
        return matches, pupil, urgent
    matches, pupil, urgent = await services(context).db.read(_snapshot)
    if pupil is not None:
        await _move(update, context, talk, pupil, dict(talk.data), pupil_id=pupil.id,
                    edit=False)
        return
    if not matches:
        await _record_refused_lookup(context, officer, text)
    screen = _screen(talk, None, today=_today(context), choices=matches or urgent,
                     several=bool(matches),
                     hint=None if matches else NO_MATCH)
    await _show(update, context, talk, screen, edit=False)


# --- saving ---------------------------------------------------------------------------


def _new_visit(talk: Conversation) -> NewVisit:
    draft = talk.data
    assert talk.pupil_id is not None
    follow_up = draft.get(flow.FOLLOW_UP)
    return NewVisit(
        pupil_id=talk.pupil_id, visit_date=date.fromisoformat(draft[flow.DATE]),
        type=draft[flow.TYPE], contact=draft.get(flow.CONTACT), reason=draft[flow.REASON],
        action=draft[flow.ACTION],
        follow_up=date.fromisoformat(follow_up) if follow_up else None,
        notes=draft.get(flow.NOTES), supersedes=draft.get("supersedes"))


def _escalation(officer: Officer, pupil: VisitPupil, visit: NewVisit) -> dict[str, Any]:
    """The pushed message to the supervisor: names no one."""
    assert visit.action is not None
    text = ESCALATION.format(action=label_of(ACTIONS, visit.action), case_ref=pupil.case_ref,
                             initials=pupil.initials, school=pupil.school_name,
                             officer=officer.ref, date=_day(visit.visit_date))
    return {"text": text, "buttons": [["Open card", f"card:{pupil.id}"]]}


async def _save(update: Update, context: Context, officer: Officer, talk: Conversation,
                pupil: VisitPupil) -> None:
    """Save: the visit, the draft's end, the audit entry and any escalation, together."""
    if not flow.is_complete(talk.data):
        await _ack(update, STALE, alert=True)
        return
    svc = services(context)
    now = svc.clock.now()
    visit = _new_visit(talk)
    saved = await save_visit(svc.db, officer, talk, visit, now,
                             escalation=lambda pupil: _escalation(officer, pupil, visit))
    if saved.outcome is Saved.SAVED:
        text = SAVED.format(type=label_of(VISIT_TYPES, visit.type), initials=pupil.initials,
                            date=_day(visit.visit_date), follow_up=_day(visit.follow_up))
        told = saved.told
        await _edit(update, text if told is None else f"{text}\n{_told_text(visit, told)}")
        await _ack(update, "Saved")
    elif saved.outcome is Saved.REPEAT:
        await _ack(update, ALREADY_SAVED, alert=True)
    elif saved.outcome is Saved.GONE:
        await _edit(update, NOT_ALLOCATED)
        await _ack(update)
    elif saved.outcome is Saved.CORRECTED:
        await _edit(update, CORRECTION_ENDED)
        await _ack(update)
    else:
        await _ack(update, STALE, alert=True)


def _told_text(visit: NewVisit, told: Told) -> str:
    """Who an escalation or safeguarding concern went to, or that nobody could be told."""
    assert visit.action is not None
    action = label_of(ACTIONS, visit.action)
    if told.count == 0:
        return TOLD_NOBODY.format(action=action)
    if told.own_supervisor:
        return TOLD_SUPERVISOR.format(action=action)
    people = TOLD_ONE if told.count == 1 else TOLD_MANY.format(count=told.count)
    return TOLD_OTHERS.format(action=action, people=people)


# --- after the PIN ----------------------------------------------------------------------


async def remind_open_draft(update: Update, context: Context, officer: Officer) -> None:
    """Called after a PIN unlocks the session: say that a visit draft is still open, so
    the officer knows where they were (the draft outlives the lock)."""
    if officer.role not in RECORDERS:
        return
    svc = services(context)
    async def _snapshot(conn: Conn):
        talk = await conversations.current(conn, officer.id, svc.clock.now())
        open_draft = await _open_draft(conn, context, officer)
        return open_draft, talk
    open_draft, talk = await svc.db.read(_snapshot)
    if talk is None or talk.kind != KIND:
        return
    text = (DRAFT_OPEN_NO_PUPIL if open_draft is None
            else DRAFT_OPEN.format(initials=open_draft[1].initials))
    await context.bot.send_message(_chat_id(update), text)


# --- Correct --------------------------------------------------------------------------


@requires_role(*RECORDERS)
async def correct_button(update: Update, context: Context) -> None:
    """`vc:<visit_id>` — the card's Correct: /visit pre-filled from that visit."""
    officer = current_officer(context)
    parts = button_data(update)
    visit_id = parse_id(parts[1]) if len(parts) == 2 else None
    if visit_id is None:
        await _ack(update, STALE, alert=True)
        return
    open_draft = await services(context).db.read(_open_draft, context, officer)
    if open_draft is not None:
        talk, pupil = open_draft
        await _ask_to_resume(update, context, talk, pupil, f"c{visit_id}")
        await _ack(update)
        return
    await _begin_correction(update, context, officer, visit_id, edit=False)


async def _begin_correction(update: Update, context: Context, officer: Officer, visit_id: int,
                            *, edit: bool) -> None:
    svc = services(context)
    async def _snapshot(conn: Conn):
        old = await visit_store.visit_for_correction(conn, officer, visit_id)
        pupil = None if old is None else await visit_store.visit_pupil(conn, officer,
                                                                       old.pupil_id)
        return old, pupil
    old, pupil = await svc.db.read(_snapshot)
    problem = None
    if old is None or pupil is None:
        problem, reason = CANNOT_CORRECT, "not_author"
    elif not flow.correctable(old.saved_at, svc.clock.now()):
        problem, reason = TOO_OLD, "correction_window"
    elif old.superseded:
        problem, reason = ALREADY_CORRECTED, "already_corrected"
    if problem is not None:
        target = None if old is None else f"pupil:{old.pupil_id}"
        if edit:
            await _edit(update, problem)
        await refuse(update, context, officer, reason=reason, target=target, text=problem)
        return
    assert old is not None and pupil is not None
    draft: dict[str, Any] = {
        flow.TYPE: old.type, flow.DATE: old.visit_date.isoformat(), flow.REASON: old.reason,
        flow.ACTION: old.action, flow.NOTES: old.notes,
        flow.FOLLOW_UP: old.follow_up.isoformat() if old.follow_up else None,
        "supersedes": old.id, "corrects_date": old.visit_date.isoformat()}
    if old.type not in NO_CONTACT_TYPES:
        draft[flow.CONTACT] = old.contact
    # Labels no longer in the vocabulary are dropped, so their step must be answered.
    for step in (flow.REASON, flow.ACTION, flow.CONTACT):
        known = {code for code, _ in flow.VOCABULARIES[step]}
        if step in draft and draft[step] not in known:
            del draft[step]
    await _start(update, context, officer, pupil=pupil, draft=draft, edit=edit)
    await _ack(update)


# --- /cancel and /due -----------------------------------------------------------------


async def cancel_command(update: Update, context: Context) -> None:
    """/cancel — leave the open conversation, saving nothing."""
    officer = current_officer(context)
    svc = services(context)
    talk = await cancel_conversation(svc.db, officer, svc.clock.now())
    if talk is None:
        await answer(update, NOTHING_TO_CANCEL)
        return
    await answer(update, CANCELLED if talk.kind == KIND else CANCELLED_OTHER)


def _due_line(item: visit_store.FollowUp, today: date) -> str:
    late = (today - item.follow_up).days
    if late == 0:
        when = DUE_TODAY
    elif late == 1:
        when = OVERDUE_ONE
    else:
        when = OVERDUE.format(days=late)
    return f"{_day(item.follow_up)} ({when}) — {item.name}, {item.case_ref}, {item.school_name}"


@requires_role(*RECORDERS)
async def due_command(update: Update, context: Context) -> None:
    """/due — my open follow-ups dated today or earlier, oldest first."""
    officer = current_officer(context)
    today = _today(context)
    due = await services(context).db.read(visit_store.open_follow_ups, officer, today=today)
    if not due:
        await answer(update, NO_FOLLOW_UPS)
        return
    # Each pupil named is in the one audit entry of this list, committed before it shows.
    await services(context).audit_trail.append(audit.listing(
        actor=officer.actor, reason=DUE_COMMAND,
        pupil_ids=[item.pupil_id for item in due[:DUE_LINES]]))
    lines = [DUE_HEADER, *(_due_line(item, today) for item in due[:DUE_LINES])]
    if len(due) > DUE_LINES:
        lines.append(DUE_MORE.format(count=len(due) - DUE_LINES))
    buttons = [[(item.name, f"card:{item.pupil_id}")] for item in due[:DUE_BUTTONS]]
    await answer(update, "\n".join(lines), markup=keyboard(buttons))
