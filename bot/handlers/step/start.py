"""Starting /step: the command and the visit's "Record it now"
(`st:new:<pupil_id>:<what>`), on the start every flow shares (bot/handlers/drafts.py:
the command, the resume prompt, the reminder after a PIN); what /step adds is how one
pupil is read, with their record (`load`), and where its draft starts (`start_draft`).

A new draft replaces any other conversation; one already open is offered first
(Continue, or Discard and do what was asked). The pupil is resolved through the same
scoped look-up as the card and /visit (`visits.visit_pupil`), so whatever refuses a
pupil there refuses it here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from telegram import Update

from bot.chat import render
from bot.domain import step_flow as flow
from bot.domain.step_flow import Record
from bot.handlers import drafts
from bot.handlers.common import Context
from bot.handlers.drafts import today_in
from bot.handlers.step import screens
from bot.handlers.step.texts import STEP
from bot.storage import pathway as pathway_store
from bot.storage import pathway_corrections as corrections
from bot.storage import visits as visit_store
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.visits import VisitPupil

Loaded = tuple[VisitPupil, Record] | None


async def load(context: Context, officer: Officer, pupil_id: int | None,
               draft: Mapping[str, Any] | None = None) -> Loaded:
    """The pupil, if the officer may record for them, and their record as the flow reads
    it (audited); None otherwise. Correcting an outcome (`draft`), the only step it may be
    for is the old outcome's, offering that outcome alone."""
    if pupil_id is None:
        return None
    svc = context.services
    async def _read(conn: Conn) -> Loaded:
        pupil = await visit_store.visit_pupil(conn, officer, pupil_id)
        if pupil is None:
            return None
        record = await pathway_store.step_record(conn, officer, pupil_id,
                                                 today=today_in(context), now=svc.clock.now())
        if record is None:
            return None
        if draft and flow.is_correction(draft) and draft.get(flow.CORRECTS) == flow.OUTCOME_SOURCE:
            old = await corrections.old_entry(conn, officer, flow.OUTCOME_SOURCE,
                                              int(draft[flow.SUPERSEDES]))
            targets = () if old is None or old.target is None else (old.target,)
            record = replace(record, targets=targets)
        return pupil, record
    return await svc.db.write(_read)


async def start_draft(update: Update, context: Context, officer: Officer,
                      loaded: Loaded = None, *, what: str | None = None,
                      choices: Sequence[PupilSummary] = (), hint: str | None = None,
                      several: bool = False, edit: bool = False,
                      draft: dict[str, Any] | None = None) -> None:
    """Open a new draft (replacing any other) at the pupil step, at what to record, or
    (from a visit's Record it now) at the first question of `what`; a correction's
    `draft`, at its summary (or the first answer it lacks)."""
    if await drafts.said_no_pupils(update, STEP, loaded, choices, edit=edit):
        return
    step = flow.PUPIL if loaded is None else flow.WHAT
    if draft is not None:
        step = next((s for s in flow.sequence(draft) if not flow.answered(s, draft)),
                    flow.SUMMARY)
        if step != flow.SUMMARY:
            draft[flow.RETURNING] = True
    elif loaded is not None and what in loaded[1].offered(today_in(context)):
        draft = {flow.WHAT: what}
        step = flow.step_after(flow.WHAT, draft)
    talk = await drafts.start(context, officer.id, STEP, step=step,
                              pupil_id=None if loaded is None else loaded[0].id, data=draft)
    pupil, record = loaded if loaded is not None else (None, None)
    screen = screens.screen(talk, pupil, record, today=today_in(context), hint=hint,
                            choices=choices, several=several)
    await drafts.show(update, context, STEP, talk, screen, edit=edit)


async def step_command(update: Update, context: Context) -> None:
    """/step [NAME-OR-UPN-OR-REF] — record a pathway step or outcome (or continue one)."""
    await drafts.flow_command(update, context, STEP, load, start_draft)


async def record_for_pupil(update: Update, context: Context, officer: Officer,
                           choice: str, what: str) -> None:
    """`st:new:<pupil_id>:<what>` — a visit's Record it now: /step for that pupil, at
    `what` (an attendance contract or a Notice to Improve)."""
    loaded = await drafts.chosen_pupil(update, context, STEP, load, choice)
    if loaded is None:
        return
    found = await context.services.db.read(drafts.open_draft, context, officer, STEP)
    if not await drafts.offered_to_resume(update, context, STEP, found,
                                          f"p{loaded[0].id}-{what}"):
        await start_draft(update, context, officer, loaded=loaded, what=what)
    await render.ack(update)

