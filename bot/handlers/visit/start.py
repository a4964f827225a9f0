"""Starting a visit: /visit, the card's Record visit (`v:new:<pupil_id>`) and Correct
(`vc:<visit_id>`), the resume prompt when a draft is already open, and the reminder
after a PIN that a draft is still open.

A new draft replaces any other conversation; one already open is offered first
(Continue, or Discard and do what was asked). One whose record became restricted
meanwhile cannot go on: it is discarded, the officer is told, and what was asked goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update

from bot.chat import render
from bot.domain import visit_flow as flow
from bot.domain.visits import NO_CONTACT_TYPES
from bot.handlers import drafts
from bot.handlers.common import Context, answer, button_data, parse_id, refuse
from bot.handlers.drafts import today_in
from bot.handlers.visit import screens
from bot.handlers.visit.texts import (
    ALREADY_CORRECTED,
    CANNOT_CORRECT,
    DRAFT_OPEN,
    DRAFT_OPEN_NO_PUPIL,
    KIND,
    NEW,
    NO_MATCH,
    NO_PUPILS,
    RESUME,
    STALE,
    TOO_OLD,
    VISIT,
)
from bot.storage import conversations
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.visits import Visit, VisitPupil

DRAFT_RESTRICTED = ("The visit you were recording is about a record that is now restricted "
                    "— ask the controller. That draft has been discarded.")


async def start_draft(update: Update, context: Context, officer: Officer, *,
                      pupil: VisitPupil | None = None, draft: dict[str, Any] | None = None,
                      choices: Sequence[PupilSummary] = (), hint: str | None = None,
                      several: bool = False, edit: bool = False) -> None:
    """Open a new draft (replacing any other) at the pupil step, or at the type step."""
    if pupil is None and not choices:
        if edit:
            await render.edit(update, NO_PUPILS)
        else:
            await answer(update, NO_PUPILS)
        return
    talk = await drafts.start(context, officer.id, VISIT, step=flow.TYPE if pupil else flow.PUPIL,
                              pupil_id=pupil.id if pupil else None, data=draft)
    screen = screens.screen(talk, pupil, today=today_in(context), hint=hint, choices=choices,
                            several=several)
    await drafts.show(update, context, VISIT, talk, screen, edit=edit)


async def ask_to_resume(update: Update, context: Context, talk: Conversation,
                        pupil: VisitPupil, then: str) -> None:
    """A draft is open: continue it, or discard it and do `then`."""
    await drafts.ask_to_resume(update, context, VISIT, talk,
                               RESUME.format(initials=pupil.initials), then)


async def visit_command(update: Update, context: Context) -> None:
    """/visit [NAME-OR-UPN-OR-REF] — start recording a visit (or continue the open one)."""
    officer = context.officer
    typed = " ".join(context.args or [])
    found, matches, urgent = await drafts.look_up(context, officer, VISIT, typed)
    open_draft = await drafts.settled(update, context, found, DRAFT_RESTRICTED)
    if open_draft is not None:
        talk, pupil = open_draft
        then = f"p{matches[0].id}" if len(matches) == 1 else NEW
        await ask_to_resume(update, context, talk, pupil, then)
        return
    await _begin(update, context, officer, typed, matches, urgent, edit=False)


async def _begin(update: Update, context: Context, officer: Officer, typed: str,
                 matches: Sequence[PupilSummary], urgent: Sequence[PupilSummary], *,
                 edit: bool) -> None:
    if len(matches) == 1:
        pupil = await context.services.db.read(visit_store.visit_pupil, officer, matches[0].id)
        if pupil is not None:
            await start_draft(update, context, officer, pupil=pupil, edit=edit)
            return
    if len(matches) > 1:
        await start_draft(update, context, officer, choices=matches, several=True, edit=edit)
        return
    await start_draft(update, context, officer, choices=urgent, edit=edit,
                      hint=NO_MATCH if typed else None)


async def record_for_pupil(update: Update, context: Context, officer: Officer,
                           choice: str) -> None:
    """`v:new:<pupil_id>` — the card's Record visit: /visit for that pupil."""
    pupil_id = parse_id(choice)
    async def _snapshot(conn: Conn) -> tuple[VisitPupil | None, drafts.Found]:
        pupil = None if pupil_id is None else await visit_store.visit_pupil(conn, officer,
                                                                            pupil_id)
        return pupil, await drafts.open_draft(conn, context, officer, VISIT)
    pupil, found = await context.services.db.read(_snapshot)
    if pupil is None:
        await refuse(update, context, officer, reason="not_allocated",
                     target=None if pupil_id is None else f"pupil:{pupil_id}", text=NO_MATCH)
        return
    open_draft = await drafts.settled(update, context, found, DRAFT_RESTRICTED)
    if open_draft is not None:
        await ask_to_resume(update, context, *open_draft, f"p{pupil.id}")
    else:
        await start_draft(update, context, officer, pupil=pupil)
    await render.ack(update)


async def correct_button(update: Update, context: Context) -> None:
    """`vc:<visit_id>` — the card's Correct: /visit pre-filled from that visit."""
    officer = context.officer
    parts = button_data(update)
    visit_id = parse_id(parts[1]) if len(parts) == 2 else None
    if visit_id is None:
        await render.ack(update, STALE, alert=True)
        return
    found = await context.services.db.read(drafts.open_draft, context, officer, VISIT)
    open_draft = await drafts.settled(update, context, found, DRAFT_RESTRICTED)
    if open_draft is not None:
        talk, pupil = open_draft
        await ask_to_resume(update, context, talk, pupil, f"c{visit_id}")
        await render.ack(update)
        return
    await begin_correction(update, context, officer, visit_id, edit=False)


async def begin_correction(update: Update, context: Context, officer: Officer, visit_id: int,
                           *, edit: bool) -> None:
    svc = context.services
    async def _snapshot(conn: Conn) -> tuple[Visit | None, VisitPupil | None]:
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
            await render.edit(update, problem)
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
    await start_draft(update, context, officer, pupil=pupil, draft=draft, edit=edit)
    await render.ack(update)


async def remind_open_draft(update: Update, context: Context, officer: Officer) -> None:
    """Called after a PIN unlocks the session: say that a visit draft is still open, so
    the officer knows where they were (the draft outlives the lock)."""
    row = context.registry.conversation(KIND)
    if row is None or officer.role not in row.roles:
        return
    svc = context.services
    async def _snapshot(conn: Conn) -> tuple[Conversation | None, drafts.Found]:
        talk = await conversations.current(conn, officer.id, svc.clock.now())
        return talk, await drafts.open_draft(conn, context, officer, VISIT)
    talk, open_draft = await svc.db.read(_snapshot)
    if talk is None or talk.kind != KIND or isinstance(open_draft, drafts.RestrictedDraft):
        return  # a draft about a restricted record is not named; the next /visit ends it
    text = (DRAFT_OPEN_NO_PUPIL if open_draft is None
            else DRAFT_OPEN.format(initials=open_draft[1].initials))
    await context.bot.send_message(drafts.chat_id(update), text)
