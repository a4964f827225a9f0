"""Webhook mode end to end: the stand-in posts updates to the bot's real webhook server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from telegram import Bot
from telegram.error import Conflict

from bot.app import ALLOWED_UPDATES, build_application
from bot.cli import CliEnv, main
from bot.clock import FixedClock
from bot.handlers import access
from bot.harness import WEBHOOK_SECRET, RunningBot, talking_to
from bot.processing import PerChatUpdateProcessor
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.webhook import SECRET_HEADER, Endpoint, WebhookServer, finish, register, serve
from bot.webhook import start as start_application
from tests.e2e.conftest import People
from tests.storage.pupil_rows import Service

CANARY = "Zebedee-Quartermaine"


@pytest.fixture
async def hooked(settings: Settings, standin: BotApiStandIn, db: Database,
                 clock: FixedClock) -> AsyncIterator[RunningBot]:
    async with RunningBot(settings, standin, clock=clock, db=db, webhook=True) as bot:
        yield bot


def an_update(text: str, user_id: int = 4242) -> dict[str, object]:
    person = {"id": user_id, "is_bot": False, "first_name": "Eve"}
    return {"update_id": 999, "message": {
        "message_id": 1, "date": 0, "text": text, "from": person,
        "chat": {"id": user_id, "type": "private", "first_name": "Eve"}}}


async def test_enrolment_pin_help_and_a_card_work_as_with_polling(
        hooked: RunningBot, people: People, standin: BotApiStandIn, db: Database) -> None:
    assert standin.webhook is not None and standin.webhook.url == hooked.webhook_url
    assert standin.allowed_updates == frozenset(ALLOWED_UPDATES)
    code = await people.add("EWO1")
    async def _pupil(conn: Conn) -> None:
        ann = await officer_store.officer_by_ref(conn, "EWO1")
        await Service(conn).pupil("Amelia", "Hughes", officer=ann)
    await db.write(_pupil)
    user = people.user()
    start_id = await user.send(f"/start {code}")
    assert (await user.next_message()).text == access.CHOOSE_PIN
    await user.send("2580")
    assert (await user.next_message()).text == access.REPEAT_PIN
    await user.send("2580")
    assert (await user.next_message()).text.startswith(access.ENROLLED)
    assert start_id in user.deleted
    await user.send("/help")
    assert "/pupils" in (await user.next_message()).text
    await user.send("amelia")
    card = await user.next_message()
    assert card.text.splitlines()[0] == "Amelia Hughes (C00001)"
    assert card.protect_content
    # Every update went by webhook, with the secret, and was accepted the first time.
    assert standin.webhook_posts and {post.status for post in standin.webhook_posts} == {200}
    assert standin.calls_to("getUpdates") == []


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", WEBHOOK_SECRET + "x"])
async def test_a_request_without_the_right_secret_is_refused_unread_and_unlogged(
        hooked: RunningBot, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture,
        secret: str | None) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with aiohttp.ClientSession() as session, session.post(
            hooked.webhook_url, json=an_update(f"/start {CANARY}"), headers=headers) as reply:
        assert reply.status == 403
        assert await reply.read() == b""
    assert hooked.application is not None
    await hooked.application.update_queue.join()
    assert standin.calls_to("sendMessage") == []
    assert CANARY not in caplog.text
    assert "refused a webhook request without the right secret" in caplog.text


async def test_the_right_secret_is_handled(hooked: RunningBot, standin: BotApiStandIn) -> None:
    stranger = standin.user(4242)
    async with aiohttp.ClientSession() as session, session.post(
            hooked.webhook_url, json=an_update("hello"),
            headers={SECRET_HEADER: WEBHOOK_SECRET}) as reply:
        assert reply.status == 200
    assert (await stranger.next_message()).text == access.STRANGER


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"message": {}}',
                                  b'{"update_id": "7"}'])
async def test_a_body_that_is_not_an_update_is_refused_with_a_400(
        hooked: RunningBot, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture,
        body: bytes) -> None:
    async with aiohttp.ClientSession() as session, session.post(
            hooked.webhook_url, data=body, headers={SECRET_HEADER: WEBHOOK_SECRET}) as reply:
        assert reply.status == 400
    assert "refused a webhook request that is not an update" in caplog.text


@pytest.mark.parametrize("body", [b"[" * 200_000, b'{"update_id": 1, "message": ' + b"[" * 200_000])
async def test_a_body_nested_past_the_parsers_depth_is_a_400_without_a_traceback(
        hooked: RunningBot, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture,
        body: bytes) -> None:
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as session, session.post(
            hooked.webhook_url, data=body, headers={SECRET_HEADER: WEBHOOK_SECRET}) as reply:
        assert reply.status == 400
    assert "refused a webhook request that is not an update" in caplog.text
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text
    assert not any(record.exc_info for record in caplog.records)


async def test_a_body_too_large_is_a_413_without_a_traceback(
        hooked: RunningBot, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = b'{"update_id": 5, "message": {"text": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    async with aiohttp.ClientSession() as session, session.post(
            hooked.webhook_url, data=body, headers={SECRET_HEADER: WEBHOOK_SECRET}) as reply:
        assert reply.status == 413
    assert hooked.application is not None
    await hooked.application.update_queue.join()
    assert standin.calls_to("sendMessage") == []
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.sqlite_only("closes the SQLite database under the server")
async def test_healthz_answers_ok_while_the_database_answers_and_503_once_closed(
        settings: Settings, standin: BotApiStandIn, clock: FixedClock) -> None:
    own = await Database.open(settings)
    async with RunningBot(settings, standin, clock=clock, db=own, webhook=True) as bot:
        health = bot.webhook_url.replace("/telegram", "/healthz")
        async with aiohttp.ClientSession() as session:
            async with session.get(health) as reply:
                assert (reply.status, await reply.text()) == (200, "ok")
            await own.close()
            async with session.get(health) as reply:
                assert (reply.status, await reply.read()) == (503, b"")


async def test_healthz_is_503_until_updates_are_taken_and_once_they_stop(
        settings: Settings, standin: BotApiStandIn, clock: FixedClock, db: Database) -> None:
    """A load balancer sends nothing to an instance still starting: had /healthz said 200
    once the database answered, its first updates would have been refused with 503."""
    application = build_application(talking_to(settings, standin), clock=clock, db=db,
                                    polling=False)
    server = WebhookServer(application, secret=WEBHOOK_SECRET, host="127.0.0.1", port=0)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as session:
            async def health() -> int:
                async with session.get(base + "/healthz") as reply:
                    return reply.status

            async def post() -> int:
                async with session.post(base + "/telegram", json=an_update("hello"),
                                        headers={SECRET_HEADER: WEBHOOK_SECRET}) as reply:
                    return reply.status

            assert await health() == 503  # listening, the Application not started
            await start_application(application)
            assert (await health(), await post()) == (503, 503)  # up, updates not taken
            server.take_updates()
            assert (await health(), await post()) == (200, 200)
            assert (await standin.user(4242).next_message()).text == access.STRANGER
            server.stop_taking()  # as stop() begins, before the listener closes
            assert (await health(), await post()) == (503, 503)
    finally:
        await server.stop()
        await finish(application)


class BusyChats:
    """Chat locks held elsewhere (another instance's update of the chat) until `free`."""

    def __init__(self) -> None:
        self.free = asyncio.Event()
        self.waiting = asyncio.Event()

    @contextlib.asynccontextmanager
    async def hold(self, chat: int, abandon: Callable[[], bool] | None = None
                   ) -> AsyncIterator[bool]:
        self.waiting.set()
        await self.free.wait()
        yield True

    async def close(self) -> None:
        return None


async def test_an_update_left_unanswered_by_a_stop_is_not_handled(
        settings: Settings, standin: BotApiStandIn, clock: FixedClock, db: Database) -> None:
    """SIGTERM while an update waits for its chat (busy on another instance): the
    listener closes before Telegram has its answer, so Telegram sends the update again,
    to another instance; handled here too, it would be handled twice."""
    application = build_application(talking_to(settings, standin), clock=clock, db=db,
                                    polling=False)
    server = WebhookServer(application, secret=WEBHOOK_SECRET, host="127.0.0.1", port=0)
    await server.start()
    busy = BusyChats()
    try:
        await start_application(application)
        processor = application.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        processor.use_locks(busy)
        server.take_updates()
        async with aiohttp.ClientSession() as session:
            async def post() -> int | None:
                try:
                    async with session.post(
                            f"http://127.0.0.1:{server.port}/telegram", json=an_update("hello"),
                            headers={SECRET_HEADER: WEBHOOK_SECRET}) as reply:
                        return reply.status
                except aiohttp.ClientError:
                    return None  # no answer: Telegram sends it again

            posting = asyncio.create_task(post())
            await busy.waiting.wait()
            await server.stop()
            assert await posting != 200
    finally:
        await server.stop()
        busy.free.set()
        await finish(application)
    assert standin.calls_to("sendMessage") == []


async def test_the_webhook_is_registered_only_when_telegram_has_another_url(
        hooked: RunningBot, standin: BotApiStandIn) -> None:
    assert len(standin.calls_to("setWebhook")) == 1
    first = standin.calls_to("setWebhook")[0].params
    assert first["secret_token"] == WEBHOOK_SECRET
    assert first["allowed_updates"] == ALLOWED_UPDATES
    assert not first.get("drop_pending_updates")
    assert hooked.application is not None
    bot = hooked.application.bot
    same = Endpoint(hooked.webhook_url, WEBHOOK_SECRET, ALLOWED_UPDATES)
    assert await register(bot, same) is False
    assert len(standin.calls_to("setWebhook")) == 1
    moved = Endpoint("https://bot.example.test/telegram", WEBHOOK_SECRET, ALLOWED_UPDATES)
    assert await register(bot, moved) is True
    assert standin.webhook is not None and standin.webhook.url == moved.url


async def serve_until_taking(settings: Settings, standin: BotApiStandIn, db: Database,
                             clock: FixedClock, secret: str,
                             caplog: pytest.LogCaptureFixture) -> None:
    """`ewobot run`'s webhook serving, in this process, from start until it takes
    updates (registered or not), then stopped."""
    caplog.set_level(logging.INFO)
    taking = sum("taking webhook updates" in r.getMessage() for r in caplog.records)
    application = build_application(talking_to(settings, standin), clock=clock, db=db,
                                    polling=False)
    endpoint = Endpoint("https://bot.example.test/telegram", secret, ALLOWED_UPDATES)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(application, endpoint, host="127.0.0.1", port=0,
                                        instance="test-1", stop=stop))
    async with asyncio.timeout(20):
        while sum("taking webhook updates" in r.getMessage()
                  for r in caplog.records) == taking:
            assert not serving.done()
            await asyncio.sleep(0.02)
    stop.set()
    await serving


async def test_a_changed_secret_is_registered_though_the_url_is_the_same(
        settings: Settings, standin: BotApiStandIn, db: Database, clock: FixedClock,
        caplog: pytest.LogCaptureFixture) -> None:
    """Telegram never shows the secret it sends: a restart with a new EWO_WEBHOOK_SECRET
    must register it, or every update would be refused with 403 from then on."""
    await serve_until_taking(settings, standin, db, clock, "first-secret", caplog)
    assert standin.webhook is not None and standin.webhook.secret == "first-secret"
    assert len(standin.calls_to("setWebhook")) == 1
    await serve_until_taking(settings, standin, db, clock, "first-secret", caplog)
    assert len(standin.calls_to("setWebhook")) == 1  # nothing changed: left as it is
    await serve_until_taking(settings, standin, db, clock, "rotated-secret", caplog)
    assert len(standin.calls_to("setWebhook")) == 2
    assert standin.webhook.secret == "rotated-secret"
    stored = await db.read(lambda conn: conn.fetchall("SELECT value FROM meta"))
    assert not any("rotated-secret" in str(row[0]) for row in stored)


async def test_get_updates_is_refused_while_a_webhook_is_set(
        hooked: RunningBot, standin: BotApiStandIn) -> None:
    async with Bot(standin.token, base_url=standin.base_url) as bot:
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()


def cli(settings: Settings, standin: BotApiStandIn, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = CliEnv(settings_factory=lambda: talking_to(settings, standin), out=out, err=err)
    return main(list(argv), env), out.getvalue(), err.getvalue()


async def test_webhook_info_and_delete_on_the_command_line(
        settings: Settings, standin: BotApiStandIn) -> None:
    # `main` runs its own event loop: call it from a worker thread.
    async def run(*argv: str) -> tuple[int, str, str]:
        return await asyncio.to_thread(cli, settings, standin, *argv)

    code, out, _ = await run("webhook", "info")
    assert code == 0
    assert out.splitlines() == ["url: none (long polling)", "pending updates: 0",
                                "last error: none"]
    async with Bot(standin.token, base_url=standin.base_url) as bot:
        await bot.set_webhook("http://127.0.0.1:9/telegram", secret_token="s3cret-value")
    standin.set_webhook_attempts(1)
    user = standin.user(77)
    await user.send("hello")
    await user.taken()  # posted once to a closed port, then dropped
    code, out, _ = await run("webhook", "info")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "url: http://127.0.0.1:9/telegram"
    assert lines[1] == "pending updates: 0"
    assert lines[2].startswith("last error: 20") and "Connection failed" in lines[2]
    assert "s3cret-value" not in out
    code, out, _ = await run("webhook", "delete")
    assert (code, standin.webhook) == (0, None)
    assert out.startswith("webhook removed")


async def test_webhook_commands_give_one_line_when_telegram_refuses_the_token(
        settings: Settings, standin: BotApiStandIn) -> None:
    standin.fail_next("getMe", status=401, description="Unauthorized")
    code, out, err = await asyncio.to_thread(cli, settings, standin, "webhook", "info")
    assert code == 1 and out == ""
    assert err.startswith("Telegram refused the bot token (Unauthorized)")
    assert len(err.splitlines()) == 1 and standin.token not in err


async def test_two_instances_behind_a_balancer_share_the_updates(
        settings: Settings, standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    public = "https://bot.example.test/telegram"
    # Each instance its own name: one name is one running process's.
    async with RunningBot(settings.model_copy(update={"instance_name": "web-1"}), standin,
                          clock=clock, db=db, webhook=True, public_url=public) as first, \
            RunningBot(settings.model_copy(update={"instance_name": "web-2"}), standin,
                       clock=clock, db=db, webhook=True, public_url=public) as second:
        standin.route_webhook_to([first.webhook_url, second.webhook_url])
        assert len(standin.calls_to("setWebhook")) == 1  # the second saw the same URL
        users = [await people.enrolled(f"EWO{n}") for n in range(1, 5)]
        for user in users:
            await user.send("/help")
            assert "/pupils" in (await user.next_message()).text
        reached = {post.url for post in standin.webhook_posts}
        assert reached == {first.webhook_url, second.webhook_url}
