"""Fairness of update processing and of the requests to Telegram: one chat's backlog
never holds up another chat (bot/processing.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Chat, Message, Update, User

from bot.processing import PerChatUpdateProcessor, RateLimiter


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    message = Message(update_id, None, chat, from_user=User(chat_id, "P", False), text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_a_chat_waiting_for_its_own_lock_holds_no_slot() -> None:
    """A backlog of one chat larger than the slots: another chat's update still runs
    while the backlog's first update is being handled."""
    processor = PerChatUpdateProcessor(max_concurrent_updates=4)
    await processor.initialize()
    release = asyncio.Event()
    order: list[str] = []

    async def flood_update(number: int) -> None:
        order.append(f"flood {number}")
        await release.wait()

    async def other_update() -> None:
        order.append("other")
        release.set()  # only the other chat's update lets the flood go on

    tasks = [asyncio.create_task(processor.process_update(_update(n, 1), flood_update(n)))
             for n in range(20)]
    tasks.append(asyncio.create_task(processor.process_update(_update(99, 2), other_update())))
    async with asyncio.timeout(5):
        await asyncio.gather(*tasks)
    assert order[:2] == ["flood 0", "other"]
    assert order[2:] == [f"flood {n}" for n in range(1, 20)]  # one chat stays in order
    await processor.idle()
    assert processor.in_flight == 0


async def _stop(limiter: RateLimiter, waiting: list[asyncio.Task[Any]]) -> None:
    """The requests still waiting cancelled, then the limiter shut down."""
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    await limiter.shutdown()


async def test_another_chats_request_takes_the_next_turn_not_the_backlogs_end() -> None:
    """Telegram's 30 a second shared in turn: one chat with a hundred requests waiting,
    another chat's request goes within a round, not after the hundred."""
    limiter = RateLimiter()
    await limiter.initialize()
    sent: list[int] = []

    async def send(chat: int) -> bool:
        sent.append(chat)
        return True

    async def request(chat: int) -> Any:
        return await limiter.process_request(send, (chat,), {}, "sendMessage",
                                             {"chat_id": chat}, None)

    flood = [asyncio.create_task(request(1)) for _ in range(100)]
    await asyncio.sleep(0)  # the flood is queued first
    try:
        async with asyncio.timeout(5):
            assert await request(2) is True
        # The burst of one second went to the flood, which was alone; then turns alternate.
        assert sent.index(2) <= 32
    finally:
        await _stop(limiter, flood)


async def test_requests_naming_no_chat_are_not_held() -> None:
    limiter = RateLimiter(per_second=1)
    await limiter.initialize()

    async def send() -> bool:
        return True

    blocked = [asyncio.create_task(limiter.process_request(
        send, (), {}, "sendMessage", {"chat_id": 1}, None)) for _ in range(5)]
    await asyncio.sleep(0)
    try:
        async with asyncio.timeout(1):
            assert await limiter.process_request(send, (), {}, "answerCallbackQuery",
                                                 {"callback_query_id": "7"}, None)
    finally:
        await _stop(limiter, blocked)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_limiter_counts_what_it_sent_in_the_last_second() -> None:
    clock = _Clock()
    limiter = RateLimiter(clock=clock)
    await limiter.initialize()

    async def send() -> bool:
        return True

    try:
        for chat in (1, 2, 2):
            await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": chat}, None)
        await limiter.process_request(send, (), {}, "answerCallbackQuery",
                                      {"callback_query_id": "7"}, None)  # not a message
        assert limiter.sent_in_last_second() == 3
        clock.now += 0.6
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 3}, None)
        assert limiter.sent_in_last_second() == 4
        clock.now += 0.5
        assert limiter.sent_in_last_second() == 1  # the first three are over a second old
    finally:
        await limiter.shutdown()


async def test_a_smaller_share_holds_the_limiter_to_it_from_then_on() -> None:
    """Several instances sharing Telegram's limit: this one is given 2 a second of the
    30, and a burst of 2. Of five requests at once two go, the others wait for turns
    earned at 2 a second."""
    clock = _Clock()
    limiter = RateLimiter(clock=clock)
    await limiter.initialize()
    sent: list[int] = []
    third = asyncio.Event()

    async def send(number: int) -> bool:
        sent.append(number)
        if len(sent) == 3:
            third.set()
        return True

    limiter.per_second = limiter.burst = 2
    assert limiter.limit == 30 and limiter.per_second == 2
    requests = [asyncio.create_task(limiter.process_request(
        send, (n,), {}, "sendMessage", {"chat_id": n}, None)) for n in range(5)]
    try:
        for _ in range(5):
            await asyncio.sleep(0)  # every request has had its chance to go at once
        assert sent == [0, 1]
        clock.now += 0.5  # one more turn earned
        async with asyncio.timeout(5):
            await third.wait()
        assert sent == [0, 1, 2]
        limiter.per_second = limiter.burst = 30  # the others stopped: the whole limit again
        clock.now += 0.1  # three more turns at 30 a second
        async with asyncio.timeout(5):
            await asyncio.gather(*requests)
        assert sent == [0, 1, 2, 3, 4]
    finally:
        await _stop(limiter, requests)


async def test_a_smaller_burst_lets_only_that_many_go_at_once() -> None:
    """Three instances running: a quiet one may send 10 at once, not the whole 30."""
    clock = _Clock()
    limiter = RateLimiter(clock=clock)
    await limiter.initialize()
    sent: list[int] = []

    async def send(number: int) -> bool:
        sent.append(number)
        return True

    limiter.burst = 10
    requests = [asyncio.create_task(limiter.process_request(
        send, (n,), {}, "sendMessage", {"chat_id": n}, None)) for n in range(15)]
    try:
        for _ in range(5):
            await asyncio.sleep(0)
        assert sent == list(range(10))
        assert limiter.per_second == 30  # then at the whole rate
        clock.now += 1  # a second: turns for all five left
        async with asyncio.timeout(5):
            await asyncio.gather(*requests)
        assert sent == list(range(15))
    finally:
        await _stop(limiter, requests)
