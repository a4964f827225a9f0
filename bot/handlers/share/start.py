"""Starting a sharing decision: /share, the resume prompt when one is already open, and
the reminder after a PIN that one is still open.

The pupil is found through the same scoped lookups as /visit and the card (the
officer's own allocated pupils, bot/storage/pupils.find_pupils and
bot/storage/visits.visit_pupil), so whatever keeps a pupil from those keeps them from
/share. A new draft replaces any other conversation; an open sharing draft is offered
first (Continue, or Discard and start what was asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from telegram import Update

from bot.chat import render
from bot.chat.render import keyboard
from bot.domain import sharing as flow
from bot.handlers import drafts
from bot.handlers.common import Context, answer
from bot.handlers.share import screens
from bot.handlers.share.texts import (
    DRAFT_OPEN,
    GO,
    KIND,
    LABEL_CONTINUE,
    LABEL_DISCARD,
    NEW,
    NO_MATCH,
    NO_PUPILS,
    PUPIL_BUTTONS,
    RESUME,
    RESUME_STEP,
    SHARE,
    SHARE_COMMAND,
)
from bot.storage import conversations
from bot.storage import pupils as pupil_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.visits import VisitPupil

OpenDraft = tuple[Conversation, VisitPupil] | None


def today_in(context: Context) -> date:
    return context.services.clock.now().astimezone(context.services.settings.timezone).date()


async def urgent_pupils(conn: Conn, context: Context, officer: Officer) -> list[PupilSummary]:
    found, _ = await pupil_store.pupils_for_officer(
        conn, officer, today=today_in(context),
        year_end=context.services.settings.academic_year_end, offset=0, limit=PUPIL_BUTTONS)
    return found


async def find(conn: Conn, context: Context, officer: Officer, text: str) -> list[PupilSummary]:
    return await pupil_store.find_pupils(
        conn, officer, text, today=today_in(context),
        year_end=context.services.settings.academic_year_end, limit=PUPIL_BUTTONS)


async def record_refused_lookup(context: Context, officer: Officer, typed: str) -> None:
    """A UPN or case reference of a pupil not allocated to this officer: audited."""
    await context.services.db.write(pupil_store.record_refused_lookup, officer, typed,
                                     via=SHARE_COMMAND)


async def open_share_draft(conn: Conn, context: Context, officer: Officer) -> OpenDraft:
    """The officer's sharing draft with its pupil, when there is one worth continuing."""
    talk = await conversations.current(conn, officer.id, context.services.clock.now())
    if talk is None or talk.kind != KIND or talk.pupil_id is None:
        return None
    pupil = await visit_store.visit_pupil(conn, officer, talk.pupil_id)
    return None if pupil is None else (talk, pupil)


async def start_draft(update: Update, context: Context, officer: Officer, *,
                      pupil: VisitPupil | None = None, choices: Sequence[PupilSummary] = (),
                      hint: str | None = None, several: bool = False,
                      edit: bool = False) -> None:
    """Open a new draft (replacing any other) at the pupil step, or at the recipient's."""
    if pupil is None and not choices:
        if edit:
            await render.edit(update, NO_PUPILS)
        else:
            await answer(update, NO_PUPILS)
        return
    talk = await drafts.start(context, officer.id, SHARE,
                              step=flow.RECIPIENT if pupil else flow.PUPIL,
                              pupil_id=pupil.id if pupil else None)
    screen = screens.screen(talk, pupil, today=today_in(context), hint=hint, choices=choices,
                            several=several)
    await drafts.show(update, context, SHARE, talk, screen, edit=edit)


async def share_command(update: Update, context: Context) -> None:
    """/share [NAME-OR-UPN-OR-REF] — record a sharing decision (or continue the open one)."""
    officer = context.officer
    typed = " ".join(context.args or [])
    async def _snapshot(conn: Conn) -> tuple[OpenDraft, list[PupilSummary], list[PupilSummary]]:
        open_draft = await open_share_draft(conn, context, officer)
        matches = await find(conn, context, officer, typed) if typed else []
        urgent = await urgent_pupils(conn, context, officer) if len(matches) != 1 else []
        return open_draft, matches, urgent
    open_draft, matches, urgent = await context.services.db.read(_snapshot)
    if typed and not matches:
        await record_refused_lookup(context, officer, typed)
    if open_draft is not None:
        talk, pupil = open_draft
        then = f"p{matches[0].id}" if len(matches) == 1 else NEW
        buttons = [[(LABEL_CONTINUE, SHARE.data(talk, RESUME_STEP, GO)),
                    (LABEL_DISCARD, SHARE.data(talk, RESUME_STEP, then))]]
        await context.bot.send_message(drafts.chat_id(update),
                                       RESUME.format(initials=pupil.initials),
                                       reply_markup=keyboard(buttons))
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


async def remind_open_draft(update: Update, context: Context, officer: Officer) -> None:
    """After a PIN unlocks the session: say that a sharing draft is still open."""
    row = context.registry.conversation(KIND)
    if row is None or officer.role not in row.roles:
        return
    open_draft = await context.services.db.read(open_share_draft, context, officer)
    if open_draft is not None:
        await context.bot.send_message(drafts.chat_id(update),
                                       DRAFT_OPEN.format(initials=open_draft[1].initials))
