"""Sandbox fixtures: a running stand-in, a plain Bot on it, and a small polling bot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.ext import ApplicationBuilder

from bot.sandbox import BotApiStandIn
from tests.sandbox.echo_bot import PollingBot, add_handlers


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as server:
        yield server


@pytest.fixture
async def bot(standin: BotApiStandIn) -> AsyncIterator[Bot]:
    """A plain Bot pointed at the stand-in, for calling methods one at a time."""
    async with Bot(
        standin.token, base_url=standin.base_url, base_file_url=standin.base_file_url
    ) as plain_bot:
        yield plain_bot


@pytest.fixture
async def polling_bot(standin: BotApiStandIn) -> AsyncIterator[PollingBot]:
    """A bare Application with a few handlers, polling the stand-in for real."""
    app = (
        ApplicationBuilder()
        .token(standin.token)
        .base_url(standin.base_url)
        .base_file_url(standin.base_file_url)
        .build()
    )
    add_handlers(app)
    running = PollingBot(app)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, error_callback=running.record)
    try:
        yield running
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
