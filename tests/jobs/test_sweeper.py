"""The deletion sweep: a failed deletion waits longer each time, and is given up at last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from telegram.error import BadRequest, NetworkError, TelegramError

from bot.chat.deletion import MAX_ATTEMPTS, delete_due, retry_wait
from bot.jobs.sweeper import sweep_sensitive_messages
from bot.storage import messages as message_store
from bot.storage.db import Conn, Database

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class FailingBot:
    """Answers deleteMessage with the given error (None: deleted)."""

    def __init__(self, error: TelegramError | None) -> None:
        self.error = error
        self.calls: list[tuple[int, int]] = []

    async def delete_message(self, chat_id: int, message_id: int, **_: Any) -> bool:
        self.calls.append((chat_id, message_id))
        if self.error is not None:
            raise self.error
        return True


async def _due(db: Database, chat_id: int = 1, message_id: int = 5) -> message_store.DueDeletion:
    await db.write(message_store.schedule_deletion, chat_id, message_id, NOW)
    [item] = await message_store.due_deletions(db, NOW)
    return item


def test_the_wait_doubles_to_an_hour_and_the_attempts_outlast_telegrams_48_hours() -> None:
    assert [retry_wait(n) for n in range(8)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)]
    assert sum((retry_wait(n) for n in range(MAX_ATTEMPTS)), timedelta()) > timedelta(hours=48)


async def test_a_network_failure_is_retried_later_with_one_more_attempt(db: Database) -> None:
    item = await _due(db)
    assert not await delete_due(FailingBot(NetworkError("down")), db, item, NOW)  # type: ignore[arg-type]
    assert await message_store.due_deletions(db, NOW) == []
    [again] = await message_store.due_deletions(db, NOW + timedelta(minutes=1))
    assert again.attempts == 1
    assert await delete_due(FailingBot(None), db, again, NOW)  # type: ignore[arg-type]
    assert await message_store.due_deletions(db, NOW + timedelta(days=3)) == []


async def test_a_message_already_gone_is_settled_at_once(db: Database) -> None:
    item = await _due(db)
    gone = FailingBot(BadRequest("Message to delete not found"))
    assert await delete_due(gone, db, item, NOW)  # type: ignore[arg-type]
    assert await message_store.due_deletions(db, NOW + timedelta(days=3)) == []


async def test_the_last_attempt_gives_the_row_up(db: Database) -> None:
    await _due(db)
    async def _transaction(conn: Conn) -> None:
        await conn.execute("UPDATE sensitive_messages SET attempts = ?", (MAX_ATTEMPTS - 1,))
    await db.write(_transaction)
    [item] = await message_store.due_deletions(db, NOW)
    assert not await delete_due(FailingBot(NetworkError("down")), db, item, NOW)  # type: ignore[arg-type]
    assert await message_store.due_deletions(db, NOW + timedelta(days=3)) == []


async def test_scheduling_a_message_again_starts_its_attempts_afresh(db: Database) -> None:
    item = await _due(db)
    await delete_due(FailingBot(NetworkError("down")), db, item, NOW)  # type: ignore[arg-type]
    await _due(db)  # scheduled anew, due now
    [fresh] = await message_store.due_deletions(db, NOW)
    assert fresh.attempts == 0


async def test_a_sweep_stops_at_the_first_failure_and_the_rest_wait_their_turn(
        db: Database) -> None:
    async def _transaction(conn: Conn) -> None:
        for message_id in (5, 6, 7):
            await message_store.schedule_deletion(conn, 1, message_id, NOW)
    await db.write(_transaction)
    down = FailingBot(NetworkError("down"))
    context = SimpleNamespace(bot=down, application=SimpleNamespace(
        bot_data={"services": SimpleNamespace(db=db, clock=SimpleNamespace(now=lambda: NOW))}))
    await sweep_sensitive_messages(context)  # type: ignore[arg-type]
    assert len(down.calls) == 1  # Telegram is not answering: one try, not one per message
    waiting = await message_store.due_deletions(db, NOW)
    assert sorted(item.message_id for item in waiting) == [6, 7]
    context.bot = FailingBot(None)
    await sweep_sensitive_messages(context)  # type: ignore[arg-type]
    assert sorted(context.bot.calls) == [(1, 6), (1, 7)]  # the failed one waits its minute
