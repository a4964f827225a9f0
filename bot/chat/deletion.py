"""Deleting a message sent in a chat once its time is up, and settling its row: for the
handlers (a code or PIN message deleted at once) and the sweeper job alike. A deletion
that fails is tried again later, backing off, until Telegram could no longer delete the
message anyway (48 hours)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.storage import messages as message_store
from bot.storage.db import Database
from bot.storage.messages import DueDeletion

log = logging.getLogger(__name__)

# Waits of 1, 2, 4 … 32 minutes, then hourly: 60 attempts span about 55 hours, past
# the 48 hours after which Telegram refuses to delete a message at all.
MAX_ATTEMPTS = 60
_LONGEST_WAIT_MINUTES = 60


def retry_wait(attempts: int) -> timedelta:
    """How long after its `attempts`-th failure a deletion is tried again."""
    return timedelta(minutes=min(2 ** min(attempts, 6), _LONGEST_WAIT_MINUTES))


async def delete_due(bot: Bot, db: Database, item: DueDeletion, now: datetime) -> bool:
    """Delete one message and settle its row; False when it failed and waits for a retry."""
    try:
        await bot.delete_message(item.chat_id, item.message_id)
    except (BadRequest, Forbidden):
        pass  # already deleted, never arrived, too old, or the person blocked the bot
    except TelegramError as exc:
        if item.attempts + 1 < MAX_ATTEMPTS:
            await message_store.retry_deletion(db, item, now + retry_wait(item.attempts))
            log.warning("a message deletion will be retried: %s", type(exc).__name__)
        else:
            await message_store.forget_deletion(db, item)
            log.warning("a message deletion failed %d times and was given up", MAX_ATTEMPTS)
        return False
    await message_store.forget_deletion(db, item)
    return True
