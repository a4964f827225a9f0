"""The typed per-update context: the gate's verdict and the services, no chat_data keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from telegram.ext import ApplicationBuilder, ContextTypes

from bot.clock import FixedClock
from bot.handlers.common import EwoContext
from bot.storage.conversations import Conversation
from bot.storage.officers import Officer

OFFICER = Officer(id=1, ref="EWO1", name="Officer EWO1", role="officer", supervisor_id=None,
                  status="active", telegram_user_id=5, chat_id=5, enrolled=True,
                  failed_pins=0)


def _context() -> EwoContext:
    application = ApplicationBuilder().token("1:x").context_types(
        ContextTypes(context=EwoContext)).updater(None).build()
    context = application.context_types.context(application, chat_id=5, user_id=5)
    assert isinstance(context, EwoContext)
    return context


def test_a_handler_without_the_gate_s_verdict_fails_loudly() -> None:
    context = _context()
    with pytest.raises(RuntimeError, match="without the gate's verdict"):
        _ = context.officer


def test_the_verdict_is_this_context_s_alone() -> None:
    admitted, other = _context(), _context()
    admitted.admit(OFFICER)
    assert admitted.officer is OFFICER
    assert admitted.chat_data is not None and "ewo.officer" not in admitted.chat_data
    with pytest.raises(RuntimeError):
        _ = other.officer
    admitted.application.bot_data["services"] = marker = object()
    assert admitted.services is marker


async def test_the_gate_s_open_conversation_is_used_as_read_and_read_when_it_was_not() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    talk = Conversation(1, "visit", "outcome", "ab12cd34", None, {}, None, now,
                        now + timedelta(hours=1))
    read: list[int] = []

    class Db:
        async def read(self, fn: object, officer_id: int, at: datetime) -> Conversation:
            read.append(officer_id)
            return talk

    context = _context()
    context.application.bot_data["services"] = SimpleNamespace(db=Db(), clock=FixedClock(now))
    for seen in (talk, None):
        context.admit(OFFICER, seen)
        assert await context.open_conversation() is seen
    assert read == []
    context.admit(OFFICER)  # admitted without it (a kept search replayed): read now
    assert await context.open_conversation() is talk
    assert read == [1]
