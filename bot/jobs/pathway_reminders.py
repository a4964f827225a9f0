"""The daily pathway reminders' job: at start and every few minutes it queues the
reminders due today that are not queued yet (bot/usecases/pathway_reminders.py), so a
day missed while the bot was down is caught up and none is ever queued twice."""

from __future__ import annotations

from telegram.ext import ContextTypes

from bot.usecases.pathway_reminders import enqueue_due_reminders

INTERVAL_SECONDS = 300
NAME = "pathway-reminders"


async def reminder_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The repeating job (and its run at start)."""
    svc = context.application.bot_data["services"]
    await enqueue_due_reminders(svc.db, svc.settings, svc.clock.now())
