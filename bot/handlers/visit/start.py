"""Starting a visit: /visit, the card's Record visit (`v:new:<pupil_id>`) and Correct
(`vc:<visit_id>`), on the start every flow shares (bot/handlers/drafts.py: the
command, the resume prompt, the reminder after a PIN, a correction refused).

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
from bot.handlers.common import Context, button_data, parse_id
from bot.handlers.drafts import today_in
from bot.handlers.visit import screens
from bot.handlers.visit.texts import VISIT
from bot.storage import visits as visit_store
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.visits import Visit, VisitPupil


async def start_draft(update: Update, context: Context, officer: Officer,
                      pupil: VisitPupil | None = None, *, draft: dict[str, Any] | None = None,
                      choices: Sequence[PupilSummary] = (), hint: str | None = None,
                      several: bool = False, edit: bool = False) -> None:
    """Open a new draft (replacing any other) at the pupil step, or at the type step."""
    if await drafts.said_no_pupils(update, VISIT, pupil, choices, edit=edit):
        return
    talk = await drafts.start(context, officer.id, VISIT, step=flow.TYPE if pupil else flow.PUPIL,
                              pupil_id=pupil.id if pupil else None, data=draft)
    screen = screens.screen(talk, pupil, today=today_in(context), hint=hint, choices=choices,
                            several=several)
    await drafts.show(update, context, VISIT, talk, screen, edit=edit)


async def visit_command(update: Update, context: Context) -> None:
    """/visit [NAME-OR-UPN-OR-REF] — start recording a visit (or continue the open one)."""
    await drafts.flow_command(update, context, VISIT, drafts.read_pupil, start_draft)


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
        await drafts.refused_pupil(update, context, VISIT, pupil_id)
        return
    if not await drafts.offered_to_resume(update, context, VISIT, found, f"p{pupil.id}"):
        await start_draft(update, context, officer, pupil=pupil)
    await render.ack(update)


async def correct_button(update: Update, context: Context) -> None:
    """`vc:<visit_id>` — the card's Correct: /visit pre-filled from that visit."""
    officer = context.officer
    parts = button_data(update)
    await drafts.correct_pressed(
        update, context, VISIT, parse_id(parts[1]) if len(parts) == 2 else None,
        then=lambda visit_id: f"c{visit_id}",
        begin=lambda visit_id: begin_correction(update, context, officer, visit_id, edit=False))


async def begin_correction(update: Update, context: Context, officer: Officer, visit_id: int,
                           *, edit: bool) -> None:
    svc = context.services
    async def _snapshot(conn: Conn) -> tuple[Visit | None, VisitPupil | None]:
        old = await visit_store.visit_for_correction(conn, officer, visit_id)
        pupil = None if old is None else await visit_store.visit_pupil(conn, officer,
                                                                       old.pupil_id)
        return old, pupil
    old, pupil = await svc.db.read(_snapshot)
    refusal = drafts.correction_refusal(VISIT, None if pupil is None else old,
                                        svc.clock.now())
    if await drafts.refused_correction(update, context, officer, refusal,
                                       None if old is None else old.pupil_id, edit=edit):
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

