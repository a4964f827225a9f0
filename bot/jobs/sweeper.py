"""Deletes chat messages when their time is up (every minute and at start).

The rows are sensitive messages past their minutes and code or PIN messages whose
deletion at once failed. A deletion that fails is tried again later, backing off,
until Telegram could no longer delete the message anyway (48 hours).
"""

from __future__ import annotations

from typing import Any

from telegram.ext import ContextTypes

from bot.chat.deletion import delete_due
from bot.jobs.leader import leader_only, still_held
from bot.storage import messages as message_store


@leader_only
async def sweep_sensitive_messages(context: ContextTypes.DEFAULT_TYPE, svc: Any) -> None:
    for item in await message_store.due_deletions(svc.db, svc.clock.now()):
        if not still_held(context, svc):
            return
        if not await delete_due(context.bot, svc.db, item, svc.clock.now()):
            break  # Telegram is not answering: the rest wait for the next sweep
