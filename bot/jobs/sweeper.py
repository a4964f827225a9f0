"""Deletes chat messages when their time is up (every minute and at start).

The rows are sensitive messages past their minutes and code or PIN messages whose
deletion at once failed. A deletion that fails is tried again later, backing off,
until Telegram could no longer delete the message anyway (48 hours).
"""

from __future__ import annotations

from telegram.ext import ContextTypes

from bot.chat.deletion import delete_due
from bot.storage import messages as message_store


async def sweep_sensitive_messages(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = context.application.bot_data["services"]
    for item in await message_store.due_deletions(svc.db, svc.clock.now()):
        if not await delete_due(context.bot, svc.db, item, svc.clock.now()):
            break  # Telegram is not answering: the rest wait for the next sweep
