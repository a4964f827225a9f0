"""The stand-in delivers by webhook as Telegram does: POSTs with the secret header, retries
on non-2xx, one update per chat in flight, round-robin over instances, loopback only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from bot.sandbox import BotApiStandIn
from bot.sandbox.webhooks import SECRET_HEADER

SECRET = "stand-in-secret_1"


@dataclass
class Receiver:
    """A webhook target: records what arrives, answers scripted statuses (then 200), and
    can hold requests until released."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, object]] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(json.loads(await request.read()))
        self.secrets.append(request.headers.get(SECRET_HEADER))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def texts(self) -> list[object]:
        return [update["message"]["text"] for update in self.received  # type: ignore[index]
                if "message" in update]


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    made: list[Receiver] = []
    runners: list[web.AppRunner] = []
    for _ in range(2):
        receiver = Receiver()
        app = web.Application()
        app.router.add_post("/telegram", receiver.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/telegram"
        made.append(receiver)
        runners.append(runner)
    yield made
    for receiver in made:
        if receiver.hold is not None:
            receiver.hold.set()
    for runner in runners:
        await runner.cleanup()


async def settled(standin: BotApiStandIn) -> None:
    await standin.wait_until_taken()


async def test_updates_are_posted_with_the_secret_and_leave_the_queue_once_accepted(
        standin: BotApiStandIn, bot: Bot, receivers: list[Receiver]) -> None:
    target = receivers[0]
    assert await bot.set_webhook(target.url, secret_token=SECRET,
                                 allowed_updates=["message", "callback_query"])
    user = standin.user(7)
    await user.send("/start hello")
    await settled(standin)
    assert target.texts() == ["/start hello"]
    assert target.secrets == [SECRET]
    assert target.received[0]["message"]["chat"]["id"] == 7  # type: ignore[index]
    assert standin.pending_updates == 0
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == (target.url, 0)
    assert info.last_error_date is None
    assert set(info.allowed_updates) == {"message", "callback_query"}
    assert [post.status for post in standin.webhook_posts] == [200]


async def test_a_non_2xx_answer_is_retried_and_reported_as_the_last_error(
        standin: BotApiStandIn, bot: Bot, receivers: list[Receiver]) -> None:
    target = receivers[0]
    target.statuses = [500, 403]
    await bot.set_webhook(target.url, secret_token=SECRET)
    await standin.user(7).send("hello")
    await settled(standin)
    assert target.texts() == ["hello", "hello", "hello"]
    assert [post.status for post in standin.webhook_posts] == [500, 403, 200]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"
    assert info.last_error_date is not None


async def test_retries_are_bounded_then_the_update_is_dropped(
        standin: BotApiStandIn, bot: Bot, receivers: list[Receiver]) -> None:
    target = receivers[0]
    target.statuses = [502] * 10
    standin.set_webhook_attempts(3)
    await bot.set_webhook(target.url)
    await standin.user(7).send("hello")
    await settled(standin)
    assert [post.status for post in standin.webhook_posts] == [502, 502, 502]
    assert standin.pending_updates == 0
    assert target.secrets == [None, None, None]  # no secret registered, none sent


async def test_a_refused_connection_is_retried(standin: BotApiStandIn, bot: Bot) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    standin.set_webhook_attempts(2)
    await bot.set_webhook(f"http://127.0.0.1:{port}/telegram")
    await standin.user(7).send("hello")
    await settled(standin)
    assert [post.status for post in standin.webhook_posts] == [0, 0]
    info = await bot.get_webhook_info()
    assert info.last_error_message is not None
    assert info.last_error_message.startswith("Connection failed")


async def test_one_update_per_chat_in_flight_other_chats_go_meanwhile(
        standin: BotApiStandIn, bot: Bot, receivers: list[Receiver]) -> None:
    target = receivers[0]
    target.hold = asyncio.Event()
    await bot.set_webhook(target.url)
    ann, ben = standin.user(7), standin.user(8)
    await ann.send("ann 1")
    await ann.send("ann 2")
    await ben.send("ben 1")
    async with asyncio.timeout(5):
        while len(target.received) < 2:
            target.arrived.clear()
            await target.arrived.wait()
    # Ann's first and Ben's first are in flight; Ann's second waits for her first.
    assert sorted(target.texts()) == ["ann 1", "ben 1"]
    target.hold.set()
    await settled(standin)
    texts = target.texts()
    assert sorted(texts) == ["ann 1", "ann 2", "ben 1"]
    assert texts.index("ann 1") < texts.index("ann 2")


async def test_a_balancer_spreads_updates_over_instances_round_robin(
        standin: BotApiStandIn, bot: Bot, receivers: list[Receiver]) -> None:
    standin.route_webhook_to([receiver.url for receiver in receivers])
    await bot.set_webhook("https://bot.example.test/telegram", secret_token=SECRET)
    for user_id in range(1, 5):
        await standin.user(user_id).send(f"hi {user_id}")
        await settled(standin)
    assert [len(receiver.received) for receiver in receivers] == [2, 2]
    assert [post.url for post in standin.webhook_posts] == [
        receivers[0].url, receivers[1].url, receivers[0].url, receivers[1].url]


async def test_a_retry_may_reach_the_other_instance(
        standin: BotApiStandIn, bot: Bot, receivers: list[Receiver]) -> None:
    receivers[0].statuses = [503]
    standin.route_webhook_to([receiver.url for receiver in receivers])
    await bot.set_webhook("https://bot.example.test/telegram")
    await standin.user(1).send("hello")
    await settled(standin)
    assert [(post.url, post.status) for post in standin.webhook_posts] == [
        (receivers[0].url, 503), (receivers[1].url, 200)]


async def test_a_chats_next_updates_can_be_steered_to_chosen_instances(
        standin: BotApiStandIn, bot: Bot, receivers: list[Receiver]) -> None:
    first, second = receivers
    second.statuses = [503]
    standin.route_webhook_to([first.url, second.url])
    await bot.set_webhook("https://bot.example.test/telegram")
    with pytest.raises(ValueError, match="loopback"):
        standin.steer_webhook(7, ["http://203.0.113.5/telegram"])
    standin.steer_webhook(7, [second.url, second.url])
    ann = standin.user(7)
    for text in ("one", "two", "three"):
        await ann.send(text)
    await settled(standin)
    # Both steered to the second, the retry of the refused one too; then in turn again.
    assert [(post.url, post.status) for post in standin.webhook_posts] == [
        (second.url, 503), (second.url, 200), (second.url, 200), (first.url, 200)]
    assert second.texts() == ["one", "one", "two"] and first.texts() == ["three"]
    assert {post.chat_id for post in standin.webhook_posts} == {7}


async def test_it_delivers_to_loopback_only(standin: BotApiStandIn, bot: Bot) -> None:
    with pytest.raises(ValueError, match="loopback"):
        standin.route_webhook_to(["http://203.0.113.5/telegram"])
    standin.set_webhook_attempts(1)
    await bot.set_webhook("https://bot.example.test/telegram")
    await standin.user(1).send("hello")
    await settled(standin)
    [post] = standin.webhook_posts
    assert (post.url, post.status) == ("https://bot.example.test/telegram", 0)
    info = await bot.get_webhook_info()
    assert info.last_error_message is not None and "loopback" in info.last_error_message


async def test_get_updates_is_409_while_set_and_pending_updates_wait_after_delete(
        standin: BotApiStandIn, bot: Bot) -> None:
    standin.set_webhook_attempts(1_000)
    await bot.set_webhook("http://127.0.0.1:9/telegram")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    await standin.user(1).send("kept")
    assert await bot.delete_webhook()
    assert standin.webhook is None
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.text == "kept"
    assert (await bot.get_webhook_info()).url == ""


async def test_set_webhook_refuses_a_bad_secret(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)secret token contains unallowed"):
        await bot.set_webhook("http://127.0.0.1:9/telegram", secret_token="not allowed!")


async def test_delivery_stops_when_deleted_and_resumes_when_set_again(
        standin: BotApiStandIn, bot: Bot, receivers: list[Receiver]) -> None:
    target = receivers[0]
    await bot.set_webhook(target.url)
    await bot.delete_webhook()
    await standin.user(1).send("while polling")
    assert standin.pending_updates == 1 and target.received == []
    await bot.set_webhook(target.url)
    await settled(standin)
    assert target.texts() == ["while polling"]
