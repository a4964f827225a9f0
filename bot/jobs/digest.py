"""The weekly caseload digest's job: at start and every few minutes it queues the digests
of the latest moment passed if they are not queued yet, so one missed while the bot was
down, even over the turn of the week, goes once it is back (bot/usecases/digests.py)."""

from __future__ import annotations

from typing import Any

from telegram.ext import ContextTypes

from bot.jobs.leader import leader_only
from bot.usecases.digests import enqueue_due_digests

INTERVAL_SECONDS = 300


@leader_only
async def digest_job(context: ContextTypes.DEFAULT_TYPE, svc: Any) -> None:
    """The repeating job (and its run at start)."""
    await enqueue_due_digests(svc.db, svc.settings, svc.clock.now())
