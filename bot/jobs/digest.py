"""The weekly caseload digest's job: at start and every few minutes it queues this
week's digests once their moment has passed (bot/usecases/digests.py)."""

from __future__ import annotations

from telegram.ext import ContextTypes

from bot.usecases.digests import enqueue_due_digests

INTERVAL_SECONDS = 300


async def digest_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The repeating job (and its run at start)."""
    svc = context.application.bot_data["services"]
    await enqueue_due_digests(svc.db, svc.settings, svc.clock.now())
