"""/cancel — leave the open conversation (a visit, pathway step or sharing draft, a PIN
set-up, a hold), saving nothing. Every conversation is one `conversations` row, so
ending it is the whole of cancelling: a step-by-step flow needs nothing of its own for
/cancel, and what it replies is the kind's Talk row's text.
"""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import Context, answer
from bot.handlers.visit.texts import CANCELLED_OTHER, NOTHING_TO_CANCEL
from bot.usecases.visits import cancel_conversation


async def cancel_command(update: Update, context: Context) -> None:
    """/cancel — leave the open conversation, saving nothing."""
    officer = context.officer
    svc = context.services
    talk = await cancel_conversation(svc.db, officer, svc.clock.now())
    if talk is None:
        await answer(update, NOTHING_TO_CANCEL)
        return
    row = context.registry.conversation(talk.kind)  # what /cancel says is the kind's row
    await answer(update, CANCELLED_OTHER if row is None else row.cancelled)
