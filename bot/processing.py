"""Update and request processing: updates of one chat run in order, different chats at
once and in turn; requests to Telegram within its flood limits, shared fairly between
chats, a short wait it asks for waited out; an update this library cannot read skipped,
not fetched again for ever."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor, ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.storage.chatlocks import ChatLocks, LocalOnly

log = logging.getLogger(__name__)

# Telegram's 429 names the seconds to wait. Up to this long, the request is sent again
# after the wait (the person's chat waits with it); a longer wait goes back to the
# caller: the outbox keeps it in the database, a handler's reply is reported as failed.
SHORT_WAIT = timedelta(seconds=5)


# The library takes its own semaphore before `do_process_update`: a chat's backlog
# waiting there for its own chat's lock would hold every slot, and another chat's update
# would queue behind the whole backlog. Its bound is set out of reach; this class bounds
# the updates being handled instead, with a slot taken only once the chat's lock is held.
_OUT_OF_REACH = 2**31 - 1


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Serialises the updates of each chat; lets different chats proceed concurrently.

    Conversation state lives in the database and is read at each step, so two
    updates of one chat must never interleave; two officers must never wait on each
    other. A chat waiting for its own lock holds no slot, so each chat has at most one
    update at the slots' queue: a flood from one chat takes one slot in turn with every
    other chat. `idle()` lets tests and the demo wait until every update has been handled.

    With several instances (`use_locks`, given the database's chat locks) an update
    also holds its chat's lock in the database while it is handled, taken after this
    process's own lock for the chat and before a slot, so a chat busy on another
    instance waits holding nothing. `started(update_id)` lets the webhook answer
    Telegram only once the update holds its chat: Telegram sends a chat's next update
    after that answer, so whichever instance gets it, it queues behind this one. An
    update that cannot hold its chat in time is `withdraw`n: never handled here, sent
    again by Telegram, still before the chat's next one.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(_OUT_OF_REACH)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._in_flight = 0
        self._idle: asyncio.Event | None = None
        self._chat_locks: ChatLocks = LocalOnly()
        # By the update object itself: a copy Telegram sends again after a 503 has the
        # same update_id and compares equal, but is another delivery.
        self._started: dict[int, tuple[object, asyncio.Future[None]]] = {}
        self._withdrawn: dict[int, object] = {}

    def use_locks(self, locks: ChatLocks) -> None:
        """Hold each chat's lock in the database too (several instances)."""
        self._chat_locks = locks

    def started(self, update: object) -> asyncio.Future[None]:
        """Done once this update holds its chat's locks (or has ended)."""
        entry = self._started.get(id(update))
        if entry is None:
            entry = self._started[id(update)] = (
                update, asyncio.get_running_loop().create_future())
        return entry[1]

    def forget(self, update: object) -> None:
        """The caller no longer waits for `started(update)`."""
        self._started.pop(id(update), None)

    def withdraw(self, update: object) -> bool:
        """Give up an update queued but not yet holding its chat: it will not be handled
        (the webhook answers Telegram 503 and gets it again). False when it has started
        already, and so will be handled."""
        entry = self._started.get(id(update))
        if entry is None or entry[1].done():
            return False
        self._withdrawn[id(update)] = update
        return True

    def _withdrawn_while_waiting(self, update: object) -> bool:
        return id(update) in self._withdrawn

    def _is_withdrawn(self, update: object) -> bool:
        if self._withdrawn.pop(id(update), None) is None:
            return False
        self._started.pop(id(update), None)
        return True

    def _mark_started(self, update: object) -> None:
        entry = self._started.pop(id(update), None)
        if entry is not None and not entry[1].done():
            entry[1].set_result(None)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        self._in_flight += 1
        if self._idle is not None:
            self._idle.clear()
        try:
            async with lock:
                if self._is_withdrawn(update):
                    _discard(coroutine)
                    return
                abandon = functools.partial(self._withdrawn_while_waiting, update)
                async with self._chat_locks.hold(key, abandon):
                    if self._is_withdrawn(update):
                        _discard(coroutine)
                        return
                    self._mark_started(update)
                    async with self._slots:
                        await coroutine
        finally:
            self._mark_started(update)
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


def _discard(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()


def _chat_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return 0


class FairTurns:
    """Turns to send, at most `per_second` a second (a burst of as many after a quiet
    second), handed round-robin to the queues of waiting requests, one queue a key.

    A key with a backlog takes one turn in each round, like every other waiting key, so
    a reply to one chat waits for at most one turn of each other busy chat, never for
    another chat's whole backlog. A request finding no one waiting and a turn to spare
    goes at once.
    """

    def __init__(self, per_second: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._per_second = per_second
        self._burst = per_second
        self._clock = clock
        self._credit = per_second
        self._updated = clock()
        self._queues: dict[Hashable, deque[asyncio.Future[None]]] = {}  # in turn order
        self._dispatcher: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    @property
    def per_second(self) -> float:
        return self._per_second

    @per_second.setter
    def per_second(self, rate: float) -> None:
        """A new rate from now on (the turns earned so far kept)."""
        self._refill()
        self._per_second = rate

    @property
    def burst(self) -> float:
        """The turns a quiet spell can save up (a second's worth unless told)."""
        return self._burst

    @burst.setter
    def burst(self, turns: float) -> None:
        self._refill()
        self._burst = turns
        self._credit = min(self._credit, turns)

    async def turn(self, key: Hashable) -> None:
        """Return when `key` may send one request."""
        self._refill()
        if not self._queues and self._credit >= 1:
            self._credit -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, deque()).append(future)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="fair-turns")
        await future  # cancelled with its waiter; the dispatcher then skips it

    def close(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        for queue in self._queues.values():
            for future in queue:
                future.cancel()
        self._queues.clear()

    def _refill(self) -> None:
        now = self._clock()
        self._credit = min(self._burst,
                           self._credit + (now - self._updated) * self._per_second)
        self._updated = now

    async def _dispatch(self) -> None:
        while self._queues:
            self._refill()
            if self._credit < 1:
                await asyncio.sleep((1 - self._credit) / self._per_second)
                continue
            key = next(iter(self._queues))
            queue = self._queues.pop(key)
            future = queue.popleft()
            if queue:
                self._queues[key] = queue  # to the back of the round
            if future.done():  # its waiter gave up: no turn used
                continue
            self._credit -= 1
            future.set_result(None)


class RateLimiter(BaseRateLimiter[int]):
    """Telegram's flood limit (about 30 messages a second in all) shared fairly between
    chats: each chat's requests wait in the chat's own queue and the queues take turns
    (FairTurns), so one chat's backlog never delays another chat's reply. A request
    Telegram answers with a short wait (429) is sent again after it, in its chat's turn.

    With several instances sending for one bot, each keeps a share of the limit
    (`per_second`, `burst`), which bot/jobs/send_budget.py sets from what the others
    report; `sent_in_last_second` is this instance's report.

    Requests that name no chat (answering a button press, getMe) are not limited, as
    python-telegram-bot's AIORateLimiter does not limit them. Its 20-a-minute limit for
    groups is not kept: the bot sends nothing to groups but `leaveChat`.
    """

    def __init__(self, per_second: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = per_second
        self._clock = clock
        self._turns = FairTurns(per_second, clock=clock)
        self._sent: deque[float] = deque()  # when each turn of the last second was taken

    async def initialize(self) -> None:
        return None

    @property
    def per_second(self) -> float:
        """The rate this limiter keeps now: `limit`, or the share of it left to this
        instance when several send for one bot (bot/jobs/send_budget.py)."""
        return self._turns.per_second

    @per_second.setter
    def per_second(self, rate: float) -> None:
        self._turns.per_second = rate

    @property
    def burst(self) -> float:
        """How many may go at once after a quiet spell: `limit`, or this instance's part
        of it when several send for one bot."""
        return self._turns.burst

    @burst.setter
    def burst(self, turns: float) -> None:
        self._turns.burst = turns

    def sent_in_last_second(self) -> int:
        """Requests that took a turn within the last second."""
        self._forget_before(self._clock() - 1.0)
        return len(self._sent)

    def _forget_before(self, moment: float) -> None:
        while self._sent and self._sent[0] < moment:
            self._sent.popleft()

    async def _turn(self, chat: str) -> None:
        await self._turns.turn(chat)
        now = self._clock()
        self._forget_before(now - 1.0)
        self._sent.append(now)

    async def shutdown(self) -> None:
        self._turns.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat = data.get("chat_id")
        if chat is None:
            return await callback(*args, **kwargs)
        await self._turn(str(chat))
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            wait = retry_after(exc)
            if wait > SHORT_WAIT:
                raise
        await asyncio.sleep(wait.total_seconds())
        await self._turn(str(chat))
        return await callback(*args, **kwargs)


def retry_after(exc: RetryAfter) -> timedelta:
    """The wait Telegram asked for (read without the library's deprecation warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait if isinstance(wait, timedelta) else timedelta(seconds=float(wait))


class ServiceBot(ExtBot[None]):
    """The library's bot, with getUpdates surviving an update it cannot read. When one
    update of a batch does not parse (a field of a shape this library version does not
    expect), python-telegram-bot raises for the whole batch and its poller fetches the
    same batch again on every poll: no officer is answered until someone steps in. Here
    the batch as received is read again one update at a time, and the one that does not
    parse is skipped (`parse_or_skip`); the webhook skips one the same way
    (bot/webhook.py). A batch that parses is read once, as before."""

    _batch: Any = None  # the last getUpdates result as received, while get_updates runs

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint == "getUpdates":
            self._batch = result
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        self._batch = None
        try:
            return await super().get_updates(*args, **kwargs)
        except TelegramError:
            raise
        except Exception:
            batch = self._batch
            if not isinstance(batch, list):
                raise
            updates = tuple(parse_or_skip(raw, self) for raw in batch)
            for update in updates:
                self.insert_callback_data(update)
            return updates
        finally:
            self._batch = None


def parse_or_skip(raw: Any, bot: ExtBot[None]) -> Update:
    """The update Telegram sent, or, when this library cannot read it, the update
    reduced to its id: nothing reaches a handler, the poller's offset (or the webhook's
    answer) moves past it, and the log names it by its id alone (its text may hold a
    PIN or a pupil's name)."""
    try:
        return Update.de_json(raw, bot)
    except Exception as exc:  # whatever the library raises for a shape it cannot read
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        log.error("skipped update %s, which this version cannot read (%s)",
                  update_id if isinstance(update_id, int) else "without an id",
                  type(exc).__name__)
        return Update.de_json({"update_id": update_id}, bot)
