"""Update and request processing: updates of one chat run in order, different chats at
once; requests to Telegram within its flood limits, a short wait it asks for waited out."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter, BaseUpdateProcessor
from telegram.warnings import PTBDeprecationWarning

# Telegram's 429 names the seconds to wait. Up to this long, the request is sent again
# after the wait (the person's chat waits with it); a longer wait goes back to the
# caller: the outbox keeps it in the database, a handler's reply is reported as failed.
SHORT_WAIT = timedelta(seconds=5)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Serialises the updates of each chat; lets different chats proceed concurrently.

    Conversation state lives in the database and is read at each step, so two
    updates of one chat must never interleave; two officers must never wait on each
    other. `idle()` lets tests and the demo wait until every update has been handled.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._in_flight = 0
        self._idle: asyncio.Event | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        self._in_flight += 1
        if self._idle is not None:
            self._idle.clear()
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]
            self._in_flight -= 1
            if self._in_flight == 0 and self._idle is not None:
                self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def idle(self) -> None:
        """Return once no update is being handled."""
        if self._in_flight == 0:
            return
        if self._idle is None:
            self._idle = asyncio.Event()
        await self._idle.wait()

    async def initialize(self) -> None:
        self._idle = asyncio.Event()
        self._idle.set()

    async def shutdown(self) -> None:
        return None


def _chat_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return 0


class RateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot's AIORateLimiter (30 messages a second in all, 20 a minute
    per group), repeating a request once when Telegram asks for a short wait."""

    def __init__(self) -> None:
        self._limits = AIORateLimiter(max_retries=0)

    async def initialize(self) -> None:
        await self._limits.initialize()

    async def shutdown(self) -> None:
        await self._limits.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        try:
            return await self._limits.process_request(callback, args, kwargs, endpoint, data,
                                                      rate_limit_args)
        except RetryAfter as exc:
            wait = retry_after(exc)
            if wait > SHORT_WAIT:
                raise
        await asyncio.sleep(wait.total_seconds())
        return await self._limits.process_request(callback, args, kwargs, endpoint, data,
                                                  rate_limit_args)


def retry_after(exc: RetryAfter) -> timedelta:
    """The wait Telegram asked for (read without the library's deprecation warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait if isinstance(wait, timedelta) else timedelta(seconds=float(wait))
