"""The stand-in's webhook side: it POSTs pending updates to the bot, as Telegram does.

Once `setWebhook` has given a URL, every pending update goes out as a JSON POST with
the `X-Telegram-Bot-Api-Secret-Token` header, and leaves the queue only when the target
answers 2xx; any other answer (or a refused connection) is recorded as the webhook's
last error and retried after a short, growing pause, a bounded number of times.

Order: one update of a chat is in flight at a time and the next one of that chat goes
only after it was accepted, so each chat's updates arrive in order; different chats are
delivered at once (Telegram sends up to `max_connections` requests in parallel).

Targets: by default the registered URL itself, which must then be a loopback address.
A test can stand a load balancer in front (`route_to`): the registered (public) URL is
then delivered to those instance URLs in turn, round-robin per request, so a retry may
reach another instance, as behind a real balancer. A test may also steer a chat's next
updates to chosen instances (`steer`), one each, every attempt of each: two presses of
one button on two instances, say.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.sandbox.world import Webhook, World, update_chat

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_PAUSE_SECONDS = 0.02
MAX_PAUSE_SECONDS = 0.5
ATTEMPTS = 20  # then the update is dropped, as Telegram drops one after a day of failures
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Post:
    """One delivery attempt: where it went, which update (from which chat, if any), the
    answer (0: no connection)."""

    url: str
    update_id: int
    status: int
    at: float
    chat_id: int | None = None


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookDelivery:
    """Delivers the world's pending updates to the webhook while one is set."""

    def __init__(self, world: World, *, attempts: int = ATTEMPTS) -> None:
        self._world = world
        self.attempts = attempts
        self.posts: list[Post] = []
        self._targets: list[str] | None = None
        self._turn: Iterator[int] = itertools.count()
        self._steered: dict[object, deque[str]] = {}
        self._in_flight: dict[object, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def route_to(self, urls: list[str] | None) -> None:
        """Deliver to these instance URLs in turn (None: to the registered URL itself)."""
        if urls is not None:
            if not urls or not all(is_loopback_url(url) for url in urls):
                raise ValueError("the stand-in delivers to loopback instance URLs only")
            urls = list(urls)
        self._targets = urls
        self._world.signal.notify()

    def steer(self, chat_id: int, urls: list[str]) -> None:
        """Post the next `len(urls)` updates of this chat to these instance URLs, one
        each, in order, every attempt of each (not in turn with the others)."""
        if not urls or not all(is_loopback_url(url) for url in urls):
            raise ValueError("the stand-in delivers to loopback instance URLs only")
        self._steered.setdefault(chat_id, deque()).extend(urls)

    @property
    def busy(self) -> bool:
        """Whether an update is being posted now."""
        return bool(self._in_flight)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS))

    def webhook_set(self) -> None:
        """Start delivering (once setWebhook has succeeded); the loop ends by itself when
        the webhook is deleted, so a polling bot's stand-in pays nothing for it."""
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._run(), name="stand-in webhook delivery")

    async def stop(self) -> None:
        tasks = [task for task in (self._loop, *self._in_flight.values()) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None
        self._in_flight.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            ready = await self._world.signal.wait_until(self._ready)
            if self._world.webhook is None:
                return  # deleted: updates wait for getUpdates again
            for lane, update in ready:
                self._in_flight[lane] = asyncio.create_task(self._deliver(lane, update))

    def _ready(self) -> list[tuple[object, dict[str, Any]]] | None:
        """The oldest pending update of each chat with nothing in flight, if any (an
        empty list once the webhook is gone)."""
        if self._world.webhook is None:
            return []
        seen: set[object] = set()
        ready = []
        for update in self._world.updates:
            lane = update_chat(update) or ("update", update["update_id"])
            if lane in seen:
                continue
            seen.add(lane)
            if lane not in self._in_flight:
                ready.append((lane, update))
        return ready or None

    async def _deliver(self, lane: object, update: dict[str, Any]) -> None:
        steered = self._steered.get(lane)
        url = steered.popleft() if steered else None
        if steered is not None and not steered:
            del self._steered[lane]
        try:
            for attempt in range(self.attempts):
                hook = self._world.webhook
                if hook is None or update not in self._world.updates:
                    return  # deleted, or dropped meanwhile
                if await self._post(hook, update, url):
                    break
                await asyncio.sleep(min(FIRST_PAUSE_SECONDS * 2 ** attempt, MAX_PAUSE_SECONDS))
            self._world.drop_update(update)
        finally:
            self._in_flight.pop(lane, None)
            self._world.signal.notify()

    async def _post(self, hook: Webhook, update: dict[str, Any], steered: str | None) -> bool:
        """One POST (to `steered`, when given); True when the target accepted it (2xx)."""
        url = steered or self._target(hook)
        headers = {SECRET_HEADER: hook.secret} if hook.secret else {}
        status, problem = 0, ""
        if url is None:
            problem = "the stand-in delivers to loopback addresses only: route_to() the instances"
        else:
            assert self._session is not None
            try:
                async with self._session.post(url, json=update, headers=headers) as response:
                    await response.read()
                    status = response.status
                    problem = f"Wrong response from the webhook: {status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"Connection failed: {type(exc).__name__}"
        self.posts.append(Post(url or hook.url, update["update_id"], status, time.monotonic(),
                               update_chat(update)))
        if 200 <= status < 300:
            return True
        hook.last_error_date, hook.last_error_message = int(time.time()), problem
        self._world.signal.notify()
        return False

    def _target(self, hook: Webhook) -> str | None:
        if self._targets is not None:
            return self._targets[next(self._turn) % len(self._targets)]
        return hook.url if is_loopback_url(hook.url) else None
