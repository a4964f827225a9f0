"""Deletes visit drafts, and requests kept while locked, whose time is up (they may
hold notes or name a pupil), every hour and at start."""

from __future__ import annotations

from typing import Any

from telegram.ext import ContextTypes

from bot.jobs.leader import leader_only
from bot.usecases import visits as visit_cases


@leader_only
async def discard_expired_drafts(context: ContextTypes.DEFAULT_TYPE, svc: Any) -> None:
    await visit_cases.discard_expired_drafts(svc.db, svc.clock.now())
