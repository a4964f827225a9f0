"""The daily pathway reminders' job: at start and every few minutes it queues the
reminders due today that are not queued yet (bot/usecases/pathway_reminders.py), so a
day missed while the bot was down is caught up and none is ever queued twice."""

from __future__ import annotations

from typing import Any

from telegram.ext import ContextTypes

from bot.jobs.leader import leader_only
from bot.usecases.pathway_reminders import enqueue_due_reminders

INTERVAL_SECONDS = 300
NAME = "pathway-reminders"


@leader_only
async def reminder_job(context: ContextTypes.DEFAULT_TYPE, svc: Any) -> None:
    """The repeating job (and its run at start), on the jobs lease's holder only."""
    await enqueue_due_reminders(svc.db, svc.settings, svc.clock.now())
