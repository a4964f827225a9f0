"""Plain text that is not a command: an answer to the open conversation, else a search.

Text sent while a conversation waits is an answer to it, never a search. A message of
4 to 8 digits is neither: it is a PIN sent while already unlocked, so it is deleted
from the chat. The registry's conversation rows say which handler answers which
conversation kind, and its search row who may search (bot/handlers/registry.py).
"""

from __future__ import annotations

from telegram import Update

from bot.domain.dates import looks_like_chat_date
from bot.domain.pins import is_pin_shaped
from bot.handlers.common import Context, answer, forget_message
from bot.handlers.table import CONTROLLER

NOTHING_TO_DO = "Send /help to see what you can do."
ALREADY_UNLOCKED = "Already unlocked."
# A controller's date with no hold open: theirs was placed or cancelled, or another
# controller disposed of the record meanwhile, which ends the hold conversation too.
NO_HOLD_WAITING = ("No hold is waiting for a review date: it was placed or cancelled, or "
                   "its record is gone. Send /retention to look again.")


async def on_text(update: Update, context: Context) -> None:
    """Route typed text to the open conversation, or search the officer's pupils."""
    message = update.effective_message
    if message is not None and message.text and is_pin_shaped(message.text):
        await forget_message(context, message)
        await answer(update, ALREADY_UNLOCKED)
        return
    officer = context.officer
    registry = context.registry
    talk = await context.open_conversation()  # the gate's read: no second one per search
    row = None if talk is None else registry.conversation(talk.kind)
    if talk is not None and row is not None and row.answer is not None:
        if officer.role in row.roles:  # else ignored: no answer of theirs is awaited
            await row.answer(update, context, talk)
    elif officer.role in registry.search.roles:
        await registry.search.handler(update, context)
    elif (talk is None and officer.role == CONTROLLER and message is not None
          and looks_like_chat_date(message.text or "")):
        await answer(update, NO_HOLD_WAITING)
    else:
        await answer(update, NOTHING_TO_DO)
