"""/due — the officer's open follow-ups dated today or earlier, oldest first."""

from __future__ import annotations

from datetime import date

from telegram import Update

from bot.chat import render
from bot.chat.render import keyboard
from bot.handlers.common import Context, answer
from bot.handlers.visit.start import today_in
from bot.handlers.visit.texts import (
    DUE_BUTTONS,
    DUE_COMMAND,
    DUE_HEADER,
    DUE_LINES,
    DUE_MORE,
    DUE_TODAY,
    NO_FOLLOW_UPS,
    OVERDUE,
    OVERDUE_ONE,
)
from bot.storage import audit
from bot.storage import visits as visit_store


def _due_line(item: visit_store.FollowUp, today: date) -> str:
    late = (today - item.follow_up).days
    if late == 0:
        when = DUE_TODAY
    elif late == 1:
        when = OVERDUE_ONE
    else:
        when = OVERDUE.format(days=late)
    return (f"{render.day(item.follow_up)} ({when}) — {item.name}, {item.case_ref}, "
            f"{item.school_name}")


async def due_command(update: Update, context: Context) -> None:
    """/due — my open follow-ups dated today or earlier, oldest first."""
    officer = context.officer
    today = today_in(context)
    due = await context.services.db.read(visit_store.open_follow_ups, officer, today=today)
    if not due:
        await answer(update, NO_FOLLOW_UPS)
        return
    # Each pupil named is in the one audit entry of this list, committed before it shows.
    await context.services.audit_trail.append(audit.listing(
        actor=officer.actor, reason=DUE_COMMAND,
        pupil_ids=[item.pupil_id for item in due[:DUE_LINES]]))
    lines = [DUE_HEADER, *(_due_line(item, today) for item in due[:DUE_LINES])]
    if len(due) > DUE_LINES:
        lines.append(DUE_MORE.format(count=len(due) - DUE_LINES))
    buttons = [[(item.name, f"card:{item.pupil_id}")] for item in due[:DUE_BUTTONS]]
    await answer(update, "\n".join(lines), markup=keyboard(buttons))
