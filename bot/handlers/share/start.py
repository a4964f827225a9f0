"""Starting a sharing decision: /share and Correct under a saved entry
(`shc:<entry_id>`), on the start every flow shares (bot/handlers/drafts.py: the
command, the resume prompt, the reminder after a PIN, a correction refused).

The pupil is found through the same scoped lookups as /visit and the card (the
officer's own allocated pupils, bot/storage/pupils.find_pupils and
bot/storage/visits.visit_pupil), so whatever keeps a pupil from those keeps them from
/share. A new draft replaces any other conversation; an open sharing draft is offered
first (Continue, or Discard and start what was asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update

from bot.chat import render
from bot.domain import sharing as flow
from bot.handlers import drafts
from bot.handlers.common import Context, button_data, parse_id
from bot.handlers.drafts import today_in
from bot.handlers.share import screens
from bot.handlers.share.texts import SHARE
from bot.storage import sharing as sharing_store
from bot.storage import visits as visit_store
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.sharing import Sharing
from bot.storage.visits import VisitPupil


async def start_draft(update: Update, context: Context, officer: Officer,
                      pupil: VisitPupil | None = None, *, choices: Sequence[PupilSummary] = (),
                      hint: str | None = None, several: bool = False,
                      edit: bool = False, draft: dict[str, Any] | None = None) -> None:
    """Open a new draft (replacing any other) at the pupil step, or at the recipient's
    (a correction's `draft`: at its summary, or its first step to answer again)."""
    if await drafts.said_no_pupils(update, SHARE, pupil, choices, edit=edit):
        return
    step = flow.RECIPIENT if pupil else flow.PUPIL
    if draft is not None and not flow.is_complete(draft):
        draft[flow.RETURNING] = True
        step = next(s for s in flow.STEPS[1:] if flow.applies(s, draft)
                    and not flow.answered(s, draft))
    elif draft is not None:
        step = flow.SUMMARY
    talk = await drafts.start(context, officer.id, SHARE, step=step,
                              pupil_id=pupil.id if pupil else None, data=draft)
    screen = screens.screen(talk, pupil, today=today_in(context), hint=hint, choices=choices,
                            several=several)
    await drafts.show(update, context, SHARE, talk, screen, edit=edit)


async def share_command(update: Update, context: Context) -> None:
    """/share [NAME-OR-UPN-OR-REF] — record a sharing decision (or continue the open one)."""
    await drafts.flow_command(update, context, SHARE, drafts.read_pupil, start_draft)


async def correct_button(update: Update, context: Context) -> None:
    """`shc:<entry_id>` — Correct under a saved entry: /share pre-filled from it."""
    officer = context.officer
    parts = button_data(update)
    await drafts.correct_pressed(
        update, context, SHARE, parse_id(parts[1]) if len(parts) == 2 else None,
        then=lambda entry_id: f"c{entry_id}",
        begin=lambda entry_id: begin_correction(update, context, officer, entry_id, edit=False))


async def begin_correction(update: Update, context: Context, officer: Officer,
                           entry_id: int, *, edit: bool) -> None:
    """A draft holding the entry's answers, at its summary, superseding it on Save."""
    svc = context.services
    async def _snapshot(conn: Conn) -> tuple[Sharing | None, VisitPupil | None]:
        old = await sharing_store.entry_for_correction(conn, officer, entry_id)
        pupil = None if old is None else await visit_store.visit_pupil(conn, officer,
                                                                       old.entry.pupil_id)
        return old, pupil
    old, pupil = await svc.db.read(_snapshot)
    refusal = drafts.correction_refusal(SHARE, None if pupil is None else old,
                                        svc.clock.now())
    if await drafts.refused_correction(update, context, officer, refusal,
                                       None if old is None else old.entry.pupil_id, edit=edit):
        return
    assert old is not None and pupil is not None
    was = old.entry
    draft = flow.from_entry(was.recipient, was.recipient_other, was.decision, was.items,
                            was.lawful_basis, was.special_condition, was.reason,
                            was.shared_on, was.note)
    draft.update({"supersedes": old.id, "corrects_date": was.shared_on.isoformat()})
    await start_draft(update, context, officer, pupil=pupil, draft=draft, edit=edit)
    await render.ack(update)

