"""Deletes sensitive chat messages when their time is up (every minute and at start)."""

from __future__ import annotations

import logging

from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.storage import messages as message_store

log = logging.getLogger(__name__)


async def sweep_sensitive_messages(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = context.application.bot_data["services"]
    for item in await message_store.due_deletions(svc.db, svc.clock.now()):
        try:
            await context.bot.delete_message(item.chat_id, item.message_id)
        except (BadRequest, Forbidden):
            pass  # already deleted, too old, or the person blocked the bot: nothing to keep
        except TelegramError as exc:
            log.warning("message deletion will be retried: %s", type(exc).__name__)
            continue
        await message_store.forget_deletion(svc.db, item)
