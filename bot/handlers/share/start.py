"""Starting a sharing decision: /share, Correct under a saved entry (`shc:<entry_id>`),
the resume prompt when one is already open, and the reminder after a PIN that one is
still open.

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
from bot.handlers.common import Context, answer, button_data, parse_id, refuse
from bot.handlers.drafts import today_in
from bot.handlers.share import screens
from bot.handlers.share.texts import (
    ALREADY_CORRECTED,
    CANNOT_CORRECT,
    DRAFT_OPEN,
    KIND,
    NEW,
    NO_MATCH,
    NO_PUPILS,
    RESUME,
    SHARE,
    STALE,
    TOO_OLD,
)
from bot.storage import sharing as sharing_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.sharing import Sharing
from bot.storage.visits import VisitPupil

DRAFT_RESTRICTED = ("The sharing decision you were recording is about a record that is now "
                    "restricted — ask the controller. That draft has been discarded.")


async def start_draft(update: Update, context: Context, officer: Officer, *,
                      pupil: VisitPupil | None = None, choices: Sequence[PupilSummary] = (),
                      hint: str | None = None, several: bool = False,
                      edit: bool = False, draft: dict[str, Any] | None = None) -> None:
    """Open a new draft (replacing any other) at the pupil step, or at the recipient's
    (a correction's `draft`: at its summary, or its first step to answer again)."""
    if pupil is None and not choices:
        if edit:
            await render.edit(update, NO_PUPILS)
        else:
            await answer(update, NO_PUPILS)
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
    officer = context.officer
    typed = " ".join(context.args or [])
    found, matches, urgent = await drafts.look_up(context, officer, SHARE, typed)
    open_draft = await drafts.settled(update, context, found, DRAFT_RESTRICTED)
    if open_draft is not None:
        then = f"p{matches[0].id}" if len(matches) == 1 else NEW
        await ask_to_resume(update, context, *open_draft, then)
        return
    await begin(update, context, officer, typed, matches, urgent, edit=False)


async def begin(update: Update, context: Context, officer: Officer, typed: str,
                matches: Sequence[PupilSummary], urgent: Sequence[PupilSummary], *,
                edit: bool) -> None:
    """The first step: the one pupil matched, or the matches, or the urgent pupils."""
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


async def correct_button(update: Update, context: Context) -> None:
    """`shc:<entry_id>` — Correct under a saved entry: /share pre-filled from it."""
    officer = context.officer
    parts = button_data(update)
    entry_id = parse_id(parts[1]) if len(parts) == 2 else None
    if entry_id is None:
        await render.ack(update, STALE, alert=True)
        return
    found = await context.services.db.read(drafts.open_draft, context, officer, SHARE)
    open_draft = await drafts.settled(update, context, found, DRAFT_RESTRICTED)
    if open_draft is not None:
        await ask_to_resume(update, context, *open_draft, f"c{entry_id}")
        await render.ack(update)
        return
    await begin_correction(update, context, officer, entry_id, edit=False)


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
    problem = reason = None
    if old is None or pupil is None:
        problem, reason = CANNOT_CORRECT, "not_author"
    elif not flow.correctable(old.saved_at, svc.clock.now()):
        problem, reason = TOO_OLD, "correction_window"
    elif old.superseded:
        problem, reason = ALREADY_CORRECTED, "already_corrected"
    if problem is not None and reason is not None:
        if edit:
            await render.edit(update, problem)
        target = None if old is None else f"pupil:{old.entry.pupil_id}"
        await refuse(update, context, officer, reason=reason, target=target, text=problem)
        return
    assert old is not None and pupil is not None
    was = old.entry
    draft = flow.from_entry(was.recipient, was.recipient_other, was.decision, was.items,
                            was.lawful_basis, was.special_condition, was.reason,
                            was.shared_on, was.note)
    draft.update({"supersedes": old.id, "corrects_date": was.shared_on.isoformat()})
    await start_draft(update, context, officer, pupil=pupil, draft=draft, edit=edit)
    await render.ack(update)


async def ask_to_resume(update: Update, context: Context, talk: Conversation,
                        pupil: VisitPupil, then: str) -> None:
    """A draft is open: continue it, or discard it and do `then`."""
    await drafts.ask_to_resume(update, context, SHARE, talk,
                               RESUME.format(initials=pupil.initials), then)


async def remind_open_draft(update: Update, context: Context, officer: Officer) -> None:
    """After a PIN unlocks the session: say that a sharing draft is still open."""
    row = context.registry.conversation(KIND)
    if row is None or officer.role not in row.roles:
        return
    open_draft = await context.services.db.read(drafts.open_draft, context, officer, SHARE)
    # A draft about a restricted record is not named; the next command ends it.
    if open_draft is not None and not isinstance(open_draft, drafts.RestrictedDraft):
        await context.bot.send_message(drafts.chat_id(update),
                                       DRAFT_OPEN.format(initials=open_draft[1].initials))
