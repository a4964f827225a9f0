"""The daily retention check's job: it runs at EWO_RETENTION_CHECK_TIME and at start-up
when a check time has passed since the last check (even before midnight, the bot back
after it), so a check missed while the bot was down is not lost: the job looks every
minute (and at start) at the time of the last check, kept in the database, rather than
trusting an in-memory daily job. `ewobot retention check`
runs the same check (bot/usecases/retention.py).
"""

from __future__ import annotations

from typing import Any

from telegram.ext import ContextTypes

from bot.jobs.leader import leader_only
from bot.usecases.retention import check_if_due, clean_up_after_disposals

INTERVAL_SECONDS = 60


@leader_only
async def retention_job(context: ContextTypes.DEFAULT_TYPE, svc: Any) -> None:
    """Every minute and at start. Deciding from the time of the last check kept in the
    database (not from an in-memory daily job, which a restart or a busy moment at the
    check time would lose) makes a missed check run as soon as the bot is back. A
    disposal whose files could not be cleaned (a crash just after it, or another process
    reading at the time) is cleaned up here too."""
    await clean_up_after_disposals(svc.db, svc.settings.export_dir)
    await check_if_due(svc.db, svc.settings, svc.clock.now())
