"""The weekly caseload digest's job: at start and every few minutes it queues this
week's digests once their moment has passed (bot/usecases/digests.py)."""

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
