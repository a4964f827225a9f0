"""The visit's steps: what a press or a typed answer does to the draft, then which
screen follows; and the Save press (the save itself is bot/handlers/visit/save.py).

Buttons are `v:<token>:<step>:<choice>`: only the draft's current step's work (the
resume prompt's too); every press and typed answer re-checks that the pupil is still
allocated to this officer.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.chat import render
from bot.domain import visit_flow as flow
from bot.domain.visit_flow import AnswerProblem, Problem
from bot.domain.visits import VISIT_TYPES, label_of
from bot.handlers import drafts
from bot.handlers.common import Context, button_data, parse_id
from bot.handlers.drafts import GO, NEW, today_in, urgent_pupils
from bot.handlers.visit import screens
from bot.handlers.visit.save import _escalation, _new_visit, record_it_now
from bot.handlers.visit.start import (
    begin_correction,
    record_for_pupil,
    start_draft,
)
from bot.handlers.visit.texts import (
    ALREADY_SAVED,
    CANCELLED,
    CORRECTION_ENDED,
    HINTS,
    NOT_ALLOCATED,
    RESUME_STEP,
    SAVED,
    STALE,
    VISIT,
)
from bot.storage import conversations
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.visits import VisitPupil
from bot.usecases.visits import Saved, save_visit


async def on_button(update: Update, context: Context) -> None:
    """A press on a visit step's button, `v:<token>:<step>:<choice>`, or the card's
    Record visit, `v:new:<pupil_id>`."""
    officer = context.officer
    parts = button_data(update)
    if len(parts) == 3 and parts[1] == NEW:
        await record_for_pupil(update, context, officer, parts[2])
        return
    pressed = await drafts.pressed(update, context, VISIT, summary=flow.SUMMARY,
                                   saved_from_draft=visit_store.saved_from_draft,
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
    pupil = await drafts.chosen_pupil(update, context, VISIT, drafts.read_pupil, choice)
    if pupil is not None:
        await _move(update, context, talk, pupil, dict(talk.data), pupil_id=pupil.id, edit=True)


async def _on_step_button(update: Update, context: Context, officer: Officer,
                          talk: Conversation, choice: str) -> None:
    assert talk.pupil_id is not None
    pupil = await context.services.db.read(visit_store.visit_pupil, officer, talk.pupil_id)
    if await drafts.ended_if_gone(update, context, VISIT, talk, pupil, edit=True):
        return
    if talk.step == flow.SUMMARY:
        await drafts.on_summary(
            update, context, VISIT, talk, choice,
            save=lambda: _save(update, context, officer, talk, pupil),
            render=_render(context, pupil), cancelled=CANCELLED, hint=HINTS[Problem.CHOOSE],
            change_step=flow.CHANGE)
        return
    try:
        draft = flow.apply_choice(talk.step, choice, talk.data, today_in(context))
    except AnswerProblem as problem:
        await render.ack(update, HINTS[problem.problem], alert=True)
        return
    await _move(update, context, talk, pupil, draft, edit=True)


async def _move(update: Update, context: Context, talk: Conversation, pupil: VisitPupil,
                draft: dict[str, Any], *, edit: bool, pupil_id: int | None = None,
                step: str | None = None) -> None:
    """Store the answer, then show the next step (or `step`)."""
    if step is None:
        step = flow.TYPE if talk.step == flow.PUPIL else flow.step_after(talk.step, draft)
    await drafts.move(update, context, VISIT, talk, draft, step=step,
                      render=_render(context, pupil), edit=edit, pupil_id=pupil_id)


def _render(context: Context, pupil: VisitPupil) -> drafts.Render:
    """How the next step of this pupil's draft is drawn, as of today."""
    today = today_in(context)
    return lambda moved: screens.screen(moved, pupil, today=today)


async def _on_resume(update: Update, context: Context, officer: Officer, talk: Conversation,
                     choice: str) -> None:
    """Continue the open draft, or discard it and start what was asked."""
    if choice == GO:
        async def _going_on(conn: Conn) -> tuple[VisitPupil | None, list[PupilSummary]]:
            pupil = (None if talk.pupil_id is None
                     else await visit_store.visit_pupil(conn, officer, talk.pupil_id))
            return pupil, await urgent_pupils(conn, context, officer) if pupil is None else []
        pupil, urgent = await context.services.db.read(_going_on)
        if talk.pupil_id is not None and pupil is None:
            await drafts.end_with(update, context, talk, NOT_ALLOCATED, edit=True)
        else:
            screen = screens.screen(talk, pupil, today=today_in(context), choices=urgent)
            await drafts.show(update, context, VISIT, talk, screen, edit=True)
        await render.ack(update)
        return
    await context.services.db.write(conversations.end, officer.id, talk.token)
    if choice.startswith("c") and (visit_id := parse_id(choice[1:])) is not None:
        await begin_correction(update, context, officer, visit_id, edit=True)
        return
    async def _instead(conn: Conn) -> tuple[VisitPupil | None, list[PupilSummary]]:
        pupil = None
        if choice.startswith("p") and (pupil_id := parse_id(choice[1:])) is not None:
            pupil = await visit_store.visit_pupil(conn, officer, pupil_id)
        return pupil, await urgent_pupils(conn, context, officer) if pupil is None else []
    pupil, urgent = await context.services.db.read(_instead)
    await start_draft(update, context, officer, pupil=pupil, choices=urgent, edit=True)
    await render.ack(update)


async def on_text(update: Update, context: Context, talk: Conversation) -> None:
    """Typed text while a visit draft waits: the answer to its current step."""
    officer = context.officer
    # The officer's own notes are sensitive: their message goes after a while too.
    text = await drafts.typed_answer(update, context, talk, sensitive=(flow.NOTES,))
    if text is None:
        return
    if talk.step == flow.PUPIL:
        await _on_pupil_text(update, context, officer, talk, text)
        return
    assert talk.pupil_id is not None
    pupil = await context.services.db.read(visit_store.visit_pupil, officer, talk.pupil_id)
    if await drafts.ended_if_gone(update, context, VISIT, talk, pupil, edit=False):
        return
    if talk.step == flow.SUMMARY:
        screen = screens.screen(talk, pupil, today=today_in(context), hint=HINTS[Problem.CHOOSE])
        await drafts.show(update, context, VISIT, talk, screen, edit=False)
        return
    try:
        draft = flow.apply_text(talk.step, text, talk.data, today_in(context))
    except AnswerProblem as problem:
        screen = screens.screen(talk, pupil, today=today_in(context),
                                hint=HINTS[problem.problem])
        await drafts.show(update, context, VISIT, talk, screen, edit=False)
        return
    await _move(update, context, talk, pupil, draft, edit=False)


async def _on_pupil_text(update: Update, context: Context, officer: Officer,
                         talk: Conversation, text: str) -> None:
    matches, pupil, urgent = await drafts.pupils_typed(context, officer, text)
    if pupil is not None:
        await _move(update, context, talk, pupil, dict(talk.data), pupil_id=pupil.id,
                    edit=False)
        return
    await drafts.offer_pupils(update, context, VISIT, talk, text, matches, urgent)


async def _save(update: Update, context: Context, officer: Officer, talk: Conversation,
                pupil: VisitPupil) -> None:
    """Save: the visit, the draft's end, the audit entry and any escalation, together."""
    if not flow.is_complete(talk.data):
        await render.ack(update, STALE, alert=True)
        return
    svc = context.services
    now = svc.clock.now()
    visit = _new_visit(talk)
    saved = await save_visit(svc.db, officer, talk, visit, now,
                             escalation=lambda pupil: _escalation(officer, pupil, visit),
                             settings=svc.settings)
    if saved.outcome is Saved.SAVED:
        text = SAVED.format(type=label_of(VISIT_TYPES, visit.type), initials=pupil.initials,
                            date=render.day(visit.visit_date),
                            follow_up=render.day(visit.follow_up))
        told = saved.told
        told_text = "" if told is None else f"\n{screens.told_text(visit, told)}"
        # A correction keeping the action offers no second contract or notice.
        hand_off = record_it_now(visit) if saved.new_action else []
        await render.edit(update, text + told_text,
                          render.keyboard(hand_off) if hand_off else None)
        await render.ack(update, "Saved")
    elif saved.outcome is Saved.REPEAT:
        await render.ack(update, ALREADY_SAVED, alert=True)
    elif saved.outcome is Saved.GONE:
        await render.edit(update, NOT_ALLOCATED)
        await render.ack(update)
    elif saved.outcome is Saved.CORRECTED:
        await render.edit(update, CORRECTION_ENDED)
        await render.ack(update)
    else:
        await render.ack(update, STALE, alert=True)
