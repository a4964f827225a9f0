"""The pathway step's steps: what a press or a typed answer does to the draft, then
which screen follows; and the Save press (the entry is read in save.py, saved by the
use case bot/usecases/pathway.save_entry).

Buttons are `st:<token>:<step>:<choice>`: only the draft's current step's work (the
resume prompt's too); every press and typed answer re-reads the pupil through the
scoped look-up and their record, so a pupil no longer allocated ends the draft and a
forged pupil, step or parent id is refused.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.chat import render
from bot.chat.render import keyboard
from bot.domain import step_flow as flow
from bot.domain.step_flow import AnswerProblem, Problem, Record
from bot.handlers import drafts
from bot.handlers.common import Context, button_data, parse_id
from bot.handlers.drafts import GO, NEW, find_pupils, today_in, urgent_pupils
from bot.handlers.step import screens
from bot.handlers.step.correct import begin_correction, correct_data, parse_resume_choice
from bot.handlers.step.save import new_entry
from bot.handlers.step.start import (
    Loaded,
    load,
    record_for_pupil,
    start_draft,
)
from bot.handlers.step.texts import (
    ALREADY_SAVED,
    CANCELLED,
    HINTS,
    LABEL_CORRECT,
    NOT_ALLOCATED,
    REFUSALS,
    REFUSED_OTHER,
    RESUME_STEP,
    SAVED,
    STALE,
    STEP,
    WHAT_LABELS,
)
from bot.storage import conversations
from bot.storage import pathway as pathway_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pathway import NewStep
from bot.storage.pupils import PupilSummary
from bot.storage.visits import VisitPupil
from bot.usecases.pathway import Saved, save_entry


async def on_button(update: Update, context: Context) -> None:
    """A press on a step's button, `st:<token>:<step>:<choice>`, or a visit's Record it
    now, `st:new:<pupil_id>:<what>`."""
    officer = context.officer
    parts = button_data(update)
    if len(parts) == 4 and parts[1] == NEW:
        await record_for_pupil(update, context, officer, parts[2], parts[3])
        return
    pressed = await drafts.pressed(update, context, STEP, summary=flow.SUMMARY,
                                   saved_from_draft=pathway_store.saved_from_draft,
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
    loaded = await drafts.chosen_pupil(update, context, STEP, load, choice)
    if loaded is not None:
        await _move(update, context, talk, loaded, {}, step=flow.WHAT, pupil_id=loaded[0].id,
                    edit=True)


async def _on_step_button(update: Update, context: Context, officer: Officer,
                          talk: Conversation, choice: str) -> None:
    loaded = await load(context, officer, talk.pupil_id, talk.data)
    if await drafts.ended_if_gone(update, context, STEP, talk, loaded, edit=True):
        return
    if talk.step == flow.SUMMARY:
        await drafts.on_summary(
            update, context, STEP, talk, choice,
            save=lambda: _save(update, context, officer, talk, loaded),
            render=_render(context, loaded), cancelled=CANCELLED, hint=HINTS[Problem.CHOOSE],
            change_step=flow.CHANGE)
        return
    if talk.step == flow.CHANGE:
        await drafts.on_change(update, context, STEP, talk, choice,
                               changeable=flow.changeable(talk.data), summary=flow.SUMMARY,
                               returning=flow.RETURNING, render=_render(context, loaded),
                               hint=HINTS[Problem.CHOOSE])
        return
    try:
        draft = flow.apply_choice(talk.step, choice, talk.data, loaded[1], today_in(context))
    except AnswerProblem as problem:
        await render.ack(update, HINTS[problem.problem], alert=True)
        return
    if talk.step == flow.PARENTS and choice != flow.DONE:  # a parent ticked or unticked
        await _move(update, context, talk, loaded, draft, step=flow.PARENTS, edit=True)
        return
    await _move(update, context, talk, loaded, draft, edit=True)


async def _move(update: Update, context: Context, talk: Conversation, loaded: Loaded,
                draft: dict[str, Any], *, edit: bool, pupil_id: int | None = None,
                step: str | None = None) -> None:
    """Store the answer, then show the next step (or `step`)."""
    if step is None:
        step = flow.step_after(talk.step, draft)
    await drafts.move(update, context, STEP, talk, draft, step=step,
                      render=_render(context, loaded), edit=edit, pupil_id=pupil_id)


def _render(context: Context, loaded: Loaded) -> drafts.Render:
    assert loaded is not None
    pupil, record = loaded
    today = today_in(context)
    return lambda moved: screens.screen(moved, pupil, record, today=today)


async def _on_resume(update: Update, context: Context, officer: Officer, talk: Conversation,
                     choice: str) -> None:
    """Continue the open draft, or discard it and start what was asked."""
    if choice == GO:
        loaded = await load(context, officer, talk.pupil_id, talk.data)
        if talk.pupil_id is not None and loaded is None:
            await drafts.end_with(update, context, talk, NOT_ALLOCATED, edit=True)
        elif loaded is None:
            urgent = await context.services.db.read(urgent_pupils, context, officer)
            await drafts.show(update, context, STEP, talk,
                              screens.screen(talk, None, None, today=today_in(context),
                                             choices=urgent), edit=True)
        else:
            await drafts.show(update, context, STEP, talk, _render(context, loaded)(talk),
                              edit=True)
        await render.ack(update)
        return
    await context.services.db.write(conversations.end, officer.id, talk.token)
    correction = parse_resume_choice(choice) if choice.startswith("c") else None
    if correction is not None:
        await begin_correction(update, context, officer, *correction, edit=True)
        return
    wanted, _, what = choice[1:].partition("-")
    if choice.startswith("p") and (loaded := await load(context, officer,
                                                        parse_id(wanted))) is not None:
        await start_draft(update, context, officer, loaded=loaded, what=what or None, edit=True)
    else:
        urgent = await context.services.db.read(urgent_pupils, context, officer)
        await start_draft(update, context, officer, choices=urgent, edit=True)
    await render.ack(update)


async def on_text(update: Update, context: Context, talk: Conversation) -> None:
    """Typed text while a pathway draft waits: the answer to its current step."""
    officer = context.officer
    # The detail may name people: its message goes after a while too.
    text = await drafts.typed_answer(update, context, talk, sensitive=(flow.DETAIL,))
    if text is None:
        return
    if talk.step == flow.PUPIL:
        await _on_pupil_text(update, context, officer, talk, text)
        return
    loaded = await load(context, officer, talk.pupil_id, talk.data)
    if await drafts.ended_if_gone(update, context, STEP, talk, loaded, edit=False):
        return
    try:
        draft = flow.apply_text(talk.step, text, talk.data, loaded[1], today_in(context))
    except AnswerProblem as problem:
        screen = screens.screen(talk, *loaded, today=today_in(context),
                                hint=HINTS[problem.problem])
        await drafts.show(update, context, STEP, talk, screen, edit=False)
        return
    await _move(update, context, talk, loaded, draft, edit=False)


async def _on_pupil_text(update: Update, context: Context, officer: Officer,
                         talk: Conversation, text: str) -> None:
    async def _snapshot(conn: Conn) -> tuple[list[PupilSummary], list[PupilSummary]]:
        matches = await find_pupils(conn, context, officer, text)
        return matches, await urgent_pupils(conn, context, officer) if not matches else []
    matches, urgent = await context.services.db.read(_snapshot)
    loaded = await load(context, officer, matches[0].id) if len(matches) == 1 else None
    if loaded is not None:
        await _move(update, context, talk, loaded, {}, step=flow.WHAT, pupil_id=loaded[0].id,
                    edit=False)
        return
    await drafts.offer_pupils(update, context, STEP, talk, text, matches, urgent)


async def _save(update: Update, context: Context, officer: Officer, talk: Conversation,
                loaded: tuple[VisitPupil, Record]) -> None:
    """Save: the entry, the draft's end and the audit entry, together."""
    pupil, record = loaded
    entry = new_entry(talk, record) if flow.is_complete(talk.data) else None
    if entry is None:
        await _refused(update, context, talk, loaded, REFUSED_OTHER)
        return
    svc = context.services
    saved = await save_entry(svc.db, officer, talk, entry, today=today_in(context),
                             now=svc.clock.now())
    if saved.outcome is Saved.SAVED:
        text = SAVED.format(what=WHAT_LABELS[talk.data[flow.WHAT]], initials=pupil.initials,
                            date=render.day(talk.data[flow.DATE]))
        assert saved.entry_id is not None
        source = flow.STEP_SOURCE if isinstance(entry, NewStep) else flow.OUTCOME_SOURCE
        correct = keyboard([[(LABEL_CORRECT, correct_data(source, saved.entry_id))]])
        await render.edit(update, text, correct)
        await render.ack(update, "Saved")
    elif saved.outcome is Saved.REPEAT:
        await render.ack(update, ALREADY_SAVED, alert=True)
    elif saved.outcome is Saved.GONE:
        await render.edit(update, NOT_ALLOCATED)
        await render.ack(update)
    elif saved.outcome is Saved.REFUSED:
        if saved.problem == pathway_store.REASON_NEEDED:
            talk = await _reason_asked(context, talk) or talk
        await _refused(update, context, talk, loaded,
                       REFUSALS.get(str(saved.problem), REFUSED_OTHER))
    else:
        await render.ack(update, STALE, alert=True)


async def _reason_asked(context: Context, talk: Conversation) -> Conversation | None:
    """A reason the draft did not ask for is needed at Save (the rule or the Notice to
    Improve no longer holds as it did when the parents were chosen): the draft asks it
    from now on, so the summary's Change offers it."""
    svc = context.services
    moved: Conversation | None = await svc.db.write(
        conversations.advance, talk, step=flow.SUMMARY, now=svc.clock.now(),
        data={**talk.data, flow.NEEDS_REASON: True})
    return moved


async def _refused(update: Update, context: Context, talk: Conversation,
                   loaded: tuple[VisitPupil, Record], hint: str) -> None:
    """A rule refused the save: the summary again, saying why."""
    screen = screens.screen(talk, *loaded, today=today_in(context), hint=hint)
    await drafts.show(update, context, STEP, talk, screen, edit=True)
    await render.ack(update)
