"""The sharing decision's steps: what a press or a typed answer does to the draft, then
which screen follows; and the Save press.

Buttons are `sh:<token>:<step>:<choice>`: only the draft's current step's work (the
resume prompt's too); every press and typed answer re-checks that the pupil is still
allocated to this officer.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.chat import render
from bot.chat.render import keyboard
from bot.domain import sharing as flow
from bot.domain.sharing import AnswerProblem, Problem
from bot.handlers import drafts
from bot.handlers.common import Context, parse_id
from bot.handlers.drafts import GO, today_in, urgent_pupils
from bot.handlers.share import screens
from bot.handlers.share.save import new_sharing
from bot.handlers.share.start import (
    begin_correction,
    start_draft,
)
from bot.handlers.share.texts import (
    ALREADY_SAVED,
    CANCELLED,
    CORRECT_PREFIX,
    CORRECTION_ENDED,
    HINTS,
    LABEL_CORRECT,
    NOT_ALLOCATED,
    RESUME_STEP,
    SAVED,
    SHARE,
    STALE,
)
from bot.storage import conversations
from bot.storage import sharing as sharing_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.visits import VisitPupil
from bot.usecases.sharing import Shared, save_sharing


async def on_button(update: Update, context: Context) -> None:
    """A press on a sharing step's button, `sh:<token>:<step>:<choice>`."""
    officer = context.officer
    pressed = await drafts.pressed(update, context, SHARE, summary=flow.SUMMARY,
                                   saved_from_draft=sharing_store.saved_from_draft,
                                   already_saved=ALREADY_SAVED)
    if pressed is None:
        return
    talk, step, choice = pressed
    if step == RESUME_STEP:
        await _on_resume(update, context, officer, talk, choice)
    elif step == flow.PUPIL:
        await _on_pupil_button(update, context, talk, choice)
    else:
        await _on_step_button(update, context, officer, talk, choice)


async def _on_pupil_button(update: Update, context: Context, talk: Conversation,
                           choice: str) -> None:
    pupil = await drafts.chosen_pupil(update, context, SHARE, drafts.read_pupil, choice)
    if pupil is not None:
        await _move(update, context, talk, pupil, dict(talk.data), step=flow.RECIPIENT,
                    pupil_id=pupil.id, edit=True)


async def _on_step_button(update: Update, context: Context, officer: Officer,
                          talk: Conversation, choice: str) -> None:
    assert talk.pupil_id is not None
    pupil = await context.services.db.read(visit_store.visit_pupil, officer, talk.pupil_id)
    if await drafts.ended_if_gone(update, context, SHARE, talk, pupil, edit=True):
        return
    if talk.step == flow.SUMMARY:
        await drafts.on_summary(
            update, context, SHARE, talk, choice,
            save=lambda: _save(update, context, officer, talk, pupil),
            render=_render(context, pupil), cancelled=CANCELLED, hint=HINTS[Problem.CHOOSE],
            change_step=flow.CHANGE)
        return
    if talk.step == flow.CHANGE:
        await drafts.on_change(update, context, SHARE, talk, choice,
                               changeable=flow.changeable(talk.data), summary=flow.SUMMARY,
                               returning=flow.RETURNING, render=_render(context, pupil),
                               hint=HINTS[Problem.CHOOSE])
        return
    try:
        draft = flow.apply_choice(talk.step, choice, talk.data, today_in(context))
    except AnswerProblem as problem:
        await render.ack(update, HINTS[problem.problem], alert=True)
        return
    step = talk.step if flow.stays(talk.step, choice) else flow.step_after(talk.step, draft)
    await _move(update, context, talk, pupil, draft, step=step, edit=True)


async def _move(update: Update, context: Context, talk: Conversation, pupil: VisitPupil,
                draft: dict[str, Any], *, step: str, edit: bool,
                pupil_id: int | None = None) -> None:
    await drafts.move(update, context, SHARE, talk, draft, step=step,
                      render=_render(context, pupil), edit=edit, pupil_id=pupil_id)


def _render(context: Context, pupil: VisitPupil) -> drafts.Render:
    today = today_in(context)
    return lambda moved: screens.screen(moved, pupil, today=today)


async def _on_resume(update: Update, context: Context, officer: Officer, talk: Conversation,
                     choice: str) -> None:
    """Continue the open draft, or discard it and start what was asked."""
    if choice == GO:
        pupil = (None if talk.pupil_id is None else await context.services.db.read(
            visit_store.visit_pupil, officer, talk.pupil_id))
        if pupil is None:
            await drafts.end_with(update, context, talk, NOT_ALLOCATED, edit=True)
        else:
            screen = screens.screen(talk, pupil, today=today_in(context))
            await drafts.show(update, context, SHARE, talk, screen, edit=True)
        await render.ack(update)
        return
    await context.services.db.write(conversations.end, officer.id, talk.token)
    if choice.startswith("c") and (entry_id := parse_id(choice[1:])) is not None:
        await begin_correction(update, context, officer, entry_id, edit=True)
        return
    async def _instead(conn: Conn) -> tuple[VisitPupil | None, list[PupilSummary]]:
        pupil_id = parse_id(choice[1:]) if choice.startswith("p") else None
        pupil = None if pupil_id is None else await visit_store.visit_pupil(conn, officer,
                                                                            pupil_id)
        return pupil, [] if pupil else await urgent_pupils(conn, context, officer)
    pupil, urgent = await context.services.db.read(_instead)
    await start_draft(update, context, officer, pupil=pupil, choices=urgent, edit=True)
    await render.ack(update)


async def on_text(update: Update, context: Context, talk: Conversation) -> None:
    """Typed text while a sharing draft waits: the answer to its current step."""
    officer = context.officer
    # Typed names and notes are sensitive: their message goes after a while too.
    text = await drafts.typed_answer(update, context, talk, sensitive=(flow.NOTE, flow.OTHER))
    if text is None:
        return
    if talk.step == flow.PUPIL:
        await _on_pupil_text(update, context, officer, talk, text)
        return
    assert talk.pupil_id is not None
    pupil = await context.services.db.read(visit_store.visit_pupil, officer, talk.pupil_id)
    if await drafts.ended_if_gone(update, context, SHARE, talk, pupil, edit=False):
        return
    try:
        if talk.step in (flow.SUMMARY, flow.CHANGE, flow.WHAT_STEP):
            raise AnswerProblem(Problem.CHOOSE)
        draft = flow.apply_text(talk.step, text, talk.data, today_in(context))
    except AnswerProblem as problem:
        screen = screens.screen(talk, pupil, today=today_in(context),
                                hint=HINTS[problem.problem])
        await drafts.show(update, context, SHARE, talk, screen, edit=False)
        return
    await _move(update, context, talk, pupil, draft, step=flow.step_after(talk.step, draft),
                edit=False)


async def _on_pupil_text(update: Update, context: Context, officer: Officer,
                         talk: Conversation, text: str) -> None:
    matches, pupil, urgent = await drafts.pupils_typed(context, officer, text)
    if pupil is not None:
        await _move(update, context, talk, pupil, dict(talk.data), step=flow.RECIPIENT,
                    pupil_id=pupil.id, edit=False)
        return
    await drafts.offer_pupils(update, context, SHARE, talk, text, matches, urgent)


async def _save(update: Update, context: Context, officer: Officer, talk: Conversation,
                pupil: VisitPupil) -> None:
    """Save: the entry, the draft's end and the audit entry, together."""
    if not flow.is_complete(talk.data):
        await render.ack(update, STALE, alert=True)
        return
    svc = context.services
    entry = new_sharing(talk)
    saved = await save_sharing(svc.db, officer, talk, entry, svc.clock.now())
    if saved.outcome is Shared.SAVED:
        correct = keyboard([[(LABEL_CORRECT, f"{CORRECT_PREFIX}:{saved.entry_id}")]])
        await render.edit(update, SAVED.format(
            decision=dict(flow.DECISIONS)[entry.decision],
            recipient=flow.recipient_label(entry.recipient), initials=pupil.initials,
            date=render.day(entry.shared_on)), correct)
        await render.ack(update, "Saved")
    elif saved.outcome is Shared.REPEAT:
        await render.ack(update, ALREADY_SAVED, alert=True)
    elif saved.outcome is Shared.GONE:
        await render.edit(update, NOT_ALLOCATED)
        await render.ack(update)
    elif saved.outcome is Shared.CORRECTED:
        await render.edit(update, CORRECTION_ENDED)
        await render.ack(update)
    else:
        await render.ack(update, STALE, alert=True)
