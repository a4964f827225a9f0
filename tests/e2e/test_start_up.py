"""Due work is done at start: the sweeps run once when the bot starts, however late."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import messages as message_store
from bot.storage.db import Database


async def test_overdue_deletions_are_swept_at_start(settings: Settings, standin: BotApiStandIn,
                                                    db: Database, clock: FixedClock) -> None:
    user = standin.user(77)
    await db.write(message_store.schedule_deletion, user.chat_id, 5,
                   clock.now() - timedelta(minutes=1))
    async with RunningBot(settings, standin, clock=clock, db=db):
        call = await standin.wait_for_call("deleteMessage", timeout=10)
    assert int(call.params["message_id"]) == 5
    assert await message_store.due_deletions(db, clock.now()) == []

