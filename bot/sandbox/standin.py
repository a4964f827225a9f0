"""The loopback stand-in of the Telegram Bot API that the demo, tests and benchmarks run against."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any

from bot.sandbox import methods
from bot.sandbox.httpserver import HttpError, HttpRequest, HttpResponse, LoopbackServer
from bot.sandbox.methods import ApiError
from bot.sandbox.models import ApiCall
from bot.sandbox.people import FakeGroup, FakeUser
from bot.sandbox.webhooks import Post, WebhookDelivery
from bot.sandbox.world import Chat, Webhook, World

_LOGGER = logging.getLogger(__name__)
_SUPERSEDED = object()
_WEBHOOK_ACTIVE = ("Conflict: can't use getUpdates method while webhook is active; "
                   "use deleteWebhook to delete the webhook first")
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class _Fault:
    status: int
    description: str
    retry_after: int | None


class BotApiStandIn:
    """A Bot API server on 127.0.0.1 with fake users, scripted faults and a record of calls.

    Point python-telegram-bot at it with `base_url` and `base_file_url`. Every request is
    recorded in `calls`; calls take effect before any scripted delay, so a client that
    times out may still have sent its message, as with the real service.
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST-token",
        bot_username: str = "ewo_test_bot",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the stand-in listens on a loopback address only")
        bot_id, _, _secret = token.partition(":")
        if not bot_id.isdigit():
            raise ValueError("a bot token starts with the bot's numeric id")
        self.token = token
        self.calls: list[ApiCall] = []
        self._world = World(int(bot_id), bot_username)
        self._server = LoopbackServer(self._handle, host, port)
        self._delivery = WebhookDelivery(self._world)
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._faults: defaultdict[str, deque[_Fault]] = defaultdict(deque)
        self._delays: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lost_replies: defaultdict[str, int] = defaultdict(int)
        self._calls_by_method: defaultdict[str, list[ApiCall]] = defaultdict(list)
        self._claimed: set[int] = set()
        self._poll_generation = 0
        self._polls_waiting = 0
        self._stopping = False
        self._stopped = asyncio.Event()
        self._running = False

    # Life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._stopped.clear()
        await self._server.start()
        await self._delivery.start()
        self._running = True

    async def stop(self) -> None:
        """Answer pending long polls with no updates, then close every connection."""
        if not self._running:
            return
        self._stopping = True
        self._stopped.set()
        self._world.signal.notify()
        await self._delivery.stop()
        await self._server.stop()
        self._running = False

    async def __aenter__(self) -> BotApiStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The Bot API URL without the token, as PTB's base_url takes it."""
        return f"{self._origin()}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._origin()}/file/bot"

    def _origin(self) -> str:
        if not self._running:
            raise RuntimeError("start the stand-in first: its port is chosen at start")
        host = self._server.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._server.port}"

    # People ----------------------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "Test", username: str | None = None) -> FakeUser:
        """The private chat of this user with the bot (created on first use)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        person: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "en",
        }
        if username:
            person["username"] = username
        chat = Chat(user_id, "private", first_name=first_name, username=username)
        self._world.chats[user_id] = chat
        self._world.people[user_id] = person
        self._users[user_id] = FakeUser(self._world, chat, person)
        return self._users[user_id]

    def group(self, chat_id: int, title: str = "Group") -> FakeGroup:
        """A group chat containing the bot (created on first use)."""
        existing = self._groups.get(chat_id)
        if existing is not None:
            return existing
        chat = Chat(chat_id, "group", title=title)
        self._world.chats[chat_id] = chat
        self._groups[chat_id] = FakeGroup(self._world, chat)
        return self._groups[chat_id]

    @property
    def left_chats(self) -> set[int]:
        """Chats the bot left with leaveChat."""
        return self._world.left_chats

    @property
    def commands(self) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        """Command lists by scope key: ("default",), ("chat", 42), ("chat_member", 42, 7)…"""
        return self._world.commands

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self._world.updates)

    # Calls -----------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return list(self._calls_by_method.get(method.lower(), []))

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 (the public test API)
        *,
        since: float | None = None,
    ) -> ApiCall:
        """The earliest matching call not yet returned by this method, waiting if needed.

        Earlier calls count too, so a call made before the wait began is not missed; pass
        `since` (a time.monotonic() value) to consider only later ones.
        """
        candidates = self._calls_by_method[method.lower()]

        def unclaimed() -> ApiCall | None:
            for call in candidates:
                if id(call) in self._claimed or (since is not None and call.at < since):
                    continue
                if predicate is None or predicate(call):
                    self._claimed.add(id(call))
                    return call
            return None

        async with asyncio.timeout(timeout):
            return await self._world.signal.wait_until(unclaimed)

    async def wait_until_taken(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Return once the bot has confirmed every update queued so far (it has them all)
        and is polling for more, or, with a webhook, has accepted every one."""

        def taken() -> bool | None:
            if self._world.updates:
                return None
            if self._world.webhook is not None:
                return None if self._delivery.busy else True
            return True if self._polls_waiting else None

        async with asyncio.timeout(timeout):
            await self._world.signal.wait_until(taken)

    # Webhook ---------------------------------------------------------------------------

    @property
    def webhook(self) -> Webhook | None:
        """What setWebhook registered (None: no webhook, updates wait for getUpdates)."""
        return self._world.webhook

    @property
    def webhook_posts(self) -> list[Post]:
        """Every delivery attempt so far, in order: URL, update id, HTTP status (0: none)."""
        return list(self._delivery.posts)

    def route_webhook_to(self, urls: list[str] | None) -> None:
        """Stand a load balancer in front: deliver the webhook's updates to these loopback
        instance URLs in turn, whatever public URL the bot registered (None: undo)."""
        self._delivery.route_to(urls)

    def steer_webhook(self, chat_id: int, urls: list[str]) -> None:
        """Deliver the next `len(urls)` updates of this chat to these loopback instance
        URLs, one each, in order (every attempt of each), instead of in turn."""
        self._delivery.steer(chat_id, urls)

    def set_webhook_attempts(self, attempts: int) -> None:
        """How many times one update is posted before it is dropped."""
        self._delivery.attempts = attempts

    @property
    def allowed_updates(self) -> frozenset[str] | None:
        """The update types the bot last asked for (None: Telegram's default)."""
        return self._world.allowed_updates

    async def wait_for_long_poll(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Return once a getUpdates request is being held open waiting for updates."""
        async with asyncio.timeout(timeout):
            await self._world.signal.wait_until(lambda: True if self._polls_waiting else None)

    # Fault scripting -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str = "",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of a method with this error instead of acting."""
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        if not description:
            description = _DEFAULT_DESCRIPTIONS.get(status, "")
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                description = f"Too Many Requests: retry after {retry_after}"
            description = description or HTTPStatus(status).phrase
        for _ in range(times):
            self._faults[method.lower()].append(_Fault(status, description, retry_after))

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next `times` calls of a method `seconds` late (they still take effect)."""
        for _ in range(times):
            self._delays[method.lower()].append(seconds)

    def lose_reply_next(self, method: str, times: int = 1) -> None:
        """Let the next `times` calls of a method take effect, then answer 502 Bad Gateway:
        the bot cannot tell what happened (a reply lost on its way back)."""
        for _ in range(times):
            self._lost_replies[method.lower()] += 1

    def clear_faults(self) -> None:
        """Forget every scripted fault, delay and lost reply not used yet."""
        self._faults.clear()
        self._delays.clear()
        self._lost_replies.clear()

    async def refuse_connections(self) -> None:
        """Close the listening socket and cut open connections, as if the network went down."""
        await self._server.close_listener(drop_connections=True)

    async def accept_connections(self) -> None:
        """Listen again on the same port."""
        await self._server.reopen()

    # HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/file/bot"):
            return self._download(request.path.removeprefix("/file/bot"))
        if not request.path.startswith("/bot"):
            return _error(404, "Not Found")
        token, _, method = request.path.removeprefix("/bot").partition("/")
        if token != self.token:
            return _error(401, "Unauthorized")
        try:
            params = methods.decode_params(await request.fields())
        except (HttpError, ValueError, UnicodeDecodeError):
            return _error(400, "Bad Request: can't parse the request body")
        return await self._call(methods.canonical_name(method), params)

    def _download(self, rest: str) -> HttpResponse:
        token, _, path = rest.partition("/")
        if token != self.token:
            return _error(401, "Unauthorized")
        payload = self._world.file_at(path)
        if payload is None:
            return _error(404, "Not Found")
        return HttpResponse(200, payload.content, payload.mime_type or "application/octet-stream")

    async def _call(self, method: str, params: dict[str, Any]) -> HttpResponse:
        call = ApiCall(method, params, time.monotonic())
        key = method.lower()
        delay = self._delays[key].popleft() if self._delays.get(key) else None
        fault = self._faults[key].popleft() if self._faults.get(key) else None
        if fault is not None:
            response = _error(fault.status, fault.description, fault.retry_after)
        else:
            response = await self._answer(method, params)
            if self._lost_replies.get(key):
                self._lost_replies[key] -= 1
                response = _error(HTTPStatus.BAD_GATEWAY, "Bad Gateway")
        call.status = response.status
        self.calls.append(call)
        self._calls_by_method[key].append(call)
        self._world.signal.notify()
        if delay:
            await self._sleep_unless_stopped(delay)
        return response

    async def _answer(self, method: str, params: dict[str, Any]) -> HttpResponse:
        try:
            if method == methods.LONG_POLL:
                result = await self._get_updates(params)
            elif method == "setWebhook":
                result = methods.set_webhook(self._world, params)
                self._poll_generation += 1  # a poll held open ends, as a newer poll ends it
                if self._world.webhook is not None:
                    self._delivery.webhook_set()
            elif method in methods.METHODS:
                result = methods.METHODS[method](self._world, params)
            else:
                # Never 404: python-telegram-bot reports 404 as an invalid token.
                raise methods.bad_request(f"method {method!r} is not supported by the stand-in")
        except ApiError as exc:
            return _error(exc.status, exc.description)
        except Exception:
            # A fault in the stand-in itself: answer like a failing server, keep the trace.
            _LOGGER.exception("the stand-in failed to answer %s", method)
            return _error(500, "Internal Server Error")
        return HttpResponse.json(200, {"ok": True, "result": result})

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        world = self._world
        if world.webhook is not None:
            raise ApiError(409, _WEBHOOK_ACTIVE)
        world.confirm_updates(_int(params.get("offset"), 0))
        world.allow_updates(params.get("allowed_updates"))
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = max(_int(params.get("timeout"), 0), 0)
        # A newer getUpdates ends an older one with 409, as Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        world.signal.notify()

        def ready() -> object | None:
            if self._poll_generation != generation:
                return _SUPERSEDED
            if world.updates or self._stopping:
                return world.updates[:limit] if not self._stopping else []
            return None

        self._polls_waiting += 1
        world.signal.notify()
        try:
            async with asyncio.timeout(timeout):
                found = await world.signal.wait_until(ready)
        except TimeoutError:
            return []
        finally:
            self._polls_waiting -= 1
        if found is _SUPERSEDED:
            if world.webhook is not None:
                raise ApiError(409, _WEBHOOK_ACTIVE)
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        assert isinstance(found, list)
        return found

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _error(status: int, description: str, retry_after: int | None = None) -> HttpResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return HttpResponse.json(status, body)
