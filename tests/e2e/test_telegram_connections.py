"""Requests to Telegram share a few connections: when all are busy, a reply waits its
turn instead of failing."""

from __future__ import annotations

import asyncio

from bot import app
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn
from tests.e2e.conftest import People


async def test_a_reply_waits_for_a_free_connection_while_telegram_is_slow(
        running: RunningBot, people: People, standin: BotApiStandIn) -> None:
    users = [await people.enrolled(f"EWO{n}") for n in range(app.CONNECTIONS + 1)]
    # Every connection is held well past the library's own 1 s wait for one.
    standin.delay_next("sendMessage", 1.5, times=app.CONNECTIONS)

    await asyncio.gather(*(user.send("/help") for user in users))
    replies = await asyncio.gather(*(user.next_message(timeout=10) for user in users))

    assert all("/pupil" in reply.text for reply in replies)
    assert len(standin.calls_to("sendMessage")) == len(users)
