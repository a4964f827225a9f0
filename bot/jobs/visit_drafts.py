"""Deletes visit drafts, and requests kept while locked, whose time is up (they may
hold notes or name a pupil), every hour and at start."""

from __future__ import annotations

from telegram.ext import ContextTypes

from bot.usecases import visits as visit_cases


async def discard_expired_drafts(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = context.application.bot_data["services"]
    await visit_cases.discard_expired_drafts(svc.db, svc.clock.now())
