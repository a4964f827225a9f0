"""Deletes visit drafts, and requests kept while locked, whose time is up (they may
hold notes or name a pupil), every hour and at start."""

from __future__ import annotations

from telegram.ext import ContextTypes

from bot.storage import sessions
from bot.storage import visits as visit_store
from bot.storage.db import Conn


async def discard_expired_drafts(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = context.application.bot_data["services"]
    now = svc.clock.now()
    async def _transaction(conn: Conn) -> None:
        await visit_store.discard_expired_drafts(conn, now)
        await sessions.discard_expired_requests(conn, now)
    await svc.db.write(_transaction)
