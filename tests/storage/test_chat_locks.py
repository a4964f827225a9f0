"""Each chat's lock in the database (bot/storage/chatlocks.py): two instances' locks on
one PostgreSQL, as two processes behind a load balancer would hold them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Chat, Message, Update, User

from bot.processing import PerChatUpdateProcessor
from bot.settings import DatabaseUrl
from bot.storage.chatlocks import LocalOnly, SessionLocks, chat_locks
from bot.storage.postgres import PostgresDatabase, connection_info


def _info(pg_url: str) -> str:
    return connection_info(DatabaseUrl(pg_url))


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[tuple[SessionLocks, SessionLocks]]:
    first = SessionLocks(_info(pg_url), wait_seconds=10)
    second = SessionLocks(_info(pg_url), wait_seconds=10)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_a_chat_held_by_one_instance_waits_on_the_other_another_chat_does_not(
        two: tuple[SessionLocks, SessionLocks]) -> None:
    first, second = two
    order: list[str] = []
    release, held = asyncio.Event(), asyncio.Event()

    async def on_first() -> None:
        async with first.hold(1001) as had:
            assert had
            order.append("first has 1001")
            held.set()
            await release.wait()
            order.append("first lets 1001 go")

    async def on_second_same_chat() -> None:
        async with second.hold(1001) as had:
            assert had
            order.append("second has 1001")

    holder = asyncio.create_task(on_first())
    await asyncio.wait_for(held.wait(), 5)
    waiter = asyncio.create_task(on_second_same_chat())
    async with asyncio.timeout(5), second.hold(2002) as had:  # another chat: at once
        assert had
        order.append("second has 2002")
    release.set()
    async with asyncio.timeout(5):
        await asyncio.gather(holder, waiter)
    assert order == ["first has 1001", "second has 2002", "first lets 1001 go",
                     "second has 1001"]


async def test_a_lock_not_had_in_time_is_given_up_and_said_so(pg_url: str) -> None:
    first = SessionLocks(_info(pg_url))
    impatient = SessionLocks(_info(pg_url), wait_seconds=0.3)
    try:
        async with first.hold(7) as had:
            assert had
            async with asyncio.timeout(3), impatient.hold(7) as second_had:
                assert not second_had
        async with asyncio.timeout(3), impatient.hold(7) as second_had:
            assert second_had  # freed when the first block ended
    finally:
        await first.close()
        await impatient.close()


async def test_an_instance_that_stops_pinging_loses_its_chats_to_the_server(
        pg_url: str) -> None:
    """A frozen instance's session is ended by the server once idle: its chats go free."""
    frozen = SessionLocks(_info(pg_url), idle_session_seconds=1, ping_seconds=3600)
    other = SessionLocks(_info(pg_url), wait_seconds=10)
    try:
        async with frozen.hold(42) as had:
            assert had
            async with asyncio.timeout(8), other.hold(42) as other_had:
                assert other_had
    finally:
        await frozen.close()
        await other.close()


@pytest.mark.sqlite_only("what SQLite alone has")
async def test_sqlite_has_only_the_processes_own_locks(db: object) -> None:
    assert isinstance(chat_locks(db), LocalOnly)  # type: ignore[arg-type]


async def test_postgres_gets_session_locks(pg_db: PostgresDatabase) -> None:
    locks = chat_locks(pg_db)
    try:
        assert isinstance(locks, SessionLocks)
    finally:
        await locks.close()


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    message = Message(update_id, None, chat, from_user=User(chat_id, "P", False), text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_two_processors_on_one_database_never_interleave_a_chat(
        two: tuple[SessionLocks, SessionLocks], tmp_path: Path) -> None:
    """Updates of one chat spread over two instances run one at a time; the webhook's
    `started` is done only once the update holds its chat."""
    processors = [PerChatUpdateProcessor(), PerChatUpdateProcessor()]
    for processor, locks in zip(processors, two, strict=True):
        await processor.initialize()
        processor.use_locks(locks)
    inside = 0
    most = 0

    async def handle() -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.02)
        inside -= 1

    updates = [_update(n, 5) for n in range(10)]
    started = [processors[n % 2].started(updates[n]) for n in range(10)]
    tasks = [asyncio.create_task(processors[n % 2].process_update(updates[n], handle()))
             for n in range(10)]
    async with asyncio.timeout(10):
        await asyncio.gather(*tasks)
    assert most == 1
    assert all(future.done() for future in started)


async def test_an_update_withdrawn_before_it_holds_its_chat_is_never_handled() -> None:
    """What the webhook does when a chat stays busy: 503, and Telegram sends it again."""
    processor = PerChatUpdateProcessor()
    await processor.initialize()
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(number: int) -> None:
        handled.append(number)
        await release.wait()

    first, second, copy = _update(1, 5), _update(2, 5), _update(2, 5)
    first_started = processor.started(first)
    first_task = asyncio.create_task(processor.process_update(first, handle(1)))
    await asyncio.wait_for(first_started, 5)
    assert not processor.withdraw(first)  # it holds its chat: it will be handled
    processor.started(second)
    second_task = asyncio.create_task(processor.process_update(second, handle(2)))
    assert processor.withdraw(second)
    processor.forget(second)
    # Telegram's copy of the withdrawn update, to the same instance: handled, once.
    copy_started = processor.started(copy)
    copy_task = asyncio.create_task(processor.process_update(copy, handle(2)))
    release.set()
    async with asyncio.timeout(5):
        await asyncio.gather(first_task, second_task, copy_task)
        await copy_started
    assert handled == [1, 2]
    await processor.idle()


async def test_a_wait_abandoned_ends_at_once_without_the_lock(
        two: tuple[SessionLocks, SessionLocks]) -> None:
    first, second = two
    gave_up = asyncio.Event()
    async with first.hold(9) as had:
        assert had
        loop = asyncio.get_running_loop()
        loop.call_later(0.1, gave_up.set)
        async with asyncio.timeout(3), second.hold(9, gave_up.is_set) as second_had:
            assert not second_had  # well before its 10 s wait
