"""The typed per-update context: the gate's verdict and the services, no chat_data keys."""

from __future__ import annotations

import pytest
from telegram.ext import ApplicationBuilder, ContextTypes

from bot.handlers.common import EwoContext
from bot.storage.officers import Officer


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
    officer = Officer(id=1, ref="EWO1", name="Officer EWO1", role="officer",
                      supervisor_id=None, status="active", telegram_user_id=5, chat_id=5,
                      enrolled=True, failed_pins=0)
    admitted, other = _context(), _context()
    admitted.admit(officer)
    assert admitted.officer is officer
    assert admitted.chat_data is not None and "ewo.officer" not in admitted.chat_data
    with pytest.raises(RuntimeError):
        _ = other.officer
    admitted.application.bot_data["services"] = marker = object()
    assert admitted.services is marker
