"""Webhook mode: Telegram posts each update to `POST /telegram`; `GET /healthz` for the
load balancer. Used by `ewobot run` when EWO_WEBHOOK_URL is set (long polling otherwise).

A custom aiohttp server, as python-telegram-bot's `examples/customwebhookbot.py` shows
(the Application built without an Updater; each update put on `update_queue`), rather
than PTB's own `run_webhook`: that one compares the secret with a plain `!=`, has no
health endpoint and always calls setWebhook. Here:

- the secret header is compared in constant time; a request without the right one gets
  403 and is neither read nor logged;
- an update is answered 200 once it is queued and holds its chat's lock: Telegram sends
  a chat's next update only after that answer, so whichever instance receives it, it is
  handled after this one (`PerChatUpdateProcessor`). One whose chat stays busy past
  ORDER_WAIT_SECONDS is withdrawn and answered 503: Telegram sends it again, still
  before the chat's next update, so order holds whatever the load;
- `/healthz` answers 200 `ok` while updates are taken and the database answers a
  trivial read, 503 otherwise (starting, stopping, or the database away);
- the webhook is registered only when Telegram has another URL (or other update types),
  or the secret differs from the one last registered (its fingerprint kept in the
  database), so restarting one of several instances does not disturb the others;
- on SIGTERM (or Ctrl-C) the listener closes first (Telegram retries elsewhere or later),
  then the updates already queued are handled, within DRAIN_SECONDS; one whose answer
  the closing cut off before it held its chat is withdrawn (Telegram sends it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from telegram import Bot
from telegram.ext import Application

from bot.jobs.leader import STOP_KEY
from bot.processing import PerChatUpdateProcessor, parse_or_skip
from bot.storage import meta
from bot.storage.db import Database
from bot.storage.health import database_answers

log = logging.getLogger(__name__)

PATH = "/telegram"
HEALTH_PATH = "/healthz"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes; anything far larger is not from Telegram.
MAX_BODY_BYTES = 1024 * 1024
HEALTH_TIMEOUT_SECONDS = 2.0
# SIGTERM to exit within 10 s: the listener closes at once, the queue gets the rest.
STOP_GRACE_SECONDS = 1.0
DRAIN_SECONDS = 7.5
# How long the answer to Telegram waits for the update to hold its chat (the chat's
# previous update still being handled): then 200 anyway, the update being queued.
ORDER_WAIT_SECONDS = 5.0


class ListenError(Exception):
    """The webhook server cannot listen where EWO_WEBHOOK_LISTEN says; str() is one line."""


@dataclass(frozen=True)
class Endpoint:
    """Where Telegram posts (the public URL) and what it must send with each update."""

    url: str
    secret: str
    allowed_updates: Sequence[str]


class WebhookServer:
    """`POST /telegram` and `GET /healthz` on one address, for one Application."""

    def __init__(self, application: Application, *, secret: str, host: str, port: int) -> None:
        self._application = application
        self._secret = secret.encode()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._taking = False

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(PATH, self._telegram)
        app.router.add_get(HEALTH_PATH, self._health)
        # No access log: request lines are not needed and the body never is.
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=STOP_GRACE_SECONDS)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
            raise ListenError(f"EWO_WEBHOOK_LISTEN: cannot listen on {self.host}:{self.port} "
                              f"({reason})") from None
        self.port = self._runner.addresses[-1][1]  # the real one when port 0 was asked

    def take_updates(self) -> None:
        """From now on an update is queued for the Application (until then: 503, so
        Telegram keeps it and sends it again)."""
        self._taking = True

    def stop_taking(self) -> None:
        """From now on updates and /healthz are answered 503 (the load balancer and
        Telegram go elsewhere): the first step of stopping."""
        self._taking = False

    async def stop(self) -> None:
        """Stop taking updates: close the listener, let requests being answered finish."""
        self.stop_taking()  # a kept-alive connection may still bring one: 503, sent again
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _telegram(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("refused a webhook request without the right secret")
            return web.Response(status=403)
        if not self._taking:
            return web.Response(status=503)
        try:
            data = json.loads(await request.read())
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            log.warning("refused a webhook request that is not an update")
            return web.Response(status=400)
        # One this library cannot read is answered 200 and skipped, as polling skips it:
        # refused, Telegram would hold every later update behind its retries.
        update = parse_or_skip(data, self._application.bot)
        processor = self._application.update_processor
        if not isinstance(processor, PerChatUpdateProcessor):
            await self._application.update_queue.put(update)
            return web.Response(status=200)
        started = processor.started(update)
        await self._application.update_queue.put(update)
        try:
            await asyncio.wait_for(asyncio.shield(started), ORDER_WAIT_SECONDS)
        except TimeoutError:
            if processor.withdraw(update):
                log.info("an update waited %s s for its chat: Telegram sends it again",
                         ORDER_WAIT_SECONDS)
                return web.Response(status=503)
        except asyncio.CancelledError:
            # Stopping: the connection closes unanswered and Telegram sends the update
            # again, to another instance; one not yet holding its chat is not handled here.
            processor.withdraw(update)
            raise
        finally:
            processor.forget(update)
        return web.Response(status=200)

    async def _health(self, request: web.Request) -> web.Response:
        # Healthy means "send me updates": not before they are taken, nor while stopping.
        if self._taking and await self._database_answers():
            return web.Response(status=200, text="ok")
        return web.Response(status=503)

    async def _database_answers(self) -> bool:
        # The composition root keeps the services (the database among them) in bot_data
        # once post_init has run; before then, or once closed, the service is not healthy.
        db = getattr(self._application.bot_data.get("services"), "db", None)
        if db is None:
            return False
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                return await database_answers(db)
        except Exception:  # noqa: BLE001 - any failure to answer is "unhealthy"
            return False


async def register(bot: Bot, endpoint: Endpoint, db: Database | None = None,
                   pepper: bytes = b"") -> bool:
    """setWebhook unless Telegram already posts this bot's updates to this URL (with these
    update types) and with this secret; True when it was set. Pending updates are kept.

    getWebhookInfo never shows the secret: with `db`, the fingerprint of the one last
    registered is kept there (keyed with the PIN `pepper`, never the secret itself), so
    a changed EWO_WEBHOOK_SECRET is registered, not refused with 403 in every update."""
    info = await bot.get_webhook_info()
    wanted = set(endpoint.allowed_updates)
    mark = secret_mark(endpoint.secret, pepper)
    same_secret = db is None or await db.read(meta.webhook_secret_mark) == mark
    if info.url == endpoint.url and set(info.allowed_updates or ()) == wanted and same_secret:
        return False
    await bot.set_webhook(endpoint.url, secret_token=endpoint.secret,
                          allowed_updates=list(endpoint.allowed_updates),
                          drop_pending_updates=False)
    if db is not None:
        await db.write(meta.remember_webhook_secret_mark, mark)
    return True


def secret_mark(secret: str, pepper: bytes) -> str:
    """A fingerprint of the webhook secret that does not give it away."""
    return hmac.new(pepper, b"ewo.webhook-secret\0" + secret.encode(), hashlib.sha256).hexdigest()


async def start(application: Application) -> None:
    """Initialise and start the Application as run_polling would, without an Updater."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()


async def finish(application: Application) -> None:
    """Handle what is queued (within DRAIN_SECONDS), then shut down as run_polling would."""
    try:
        if application.running:
            async with asyncio.timeout(DRAIN_SECONDS):
                await application.stop()
    except TimeoutError:
        log.warning("stopped with updates still being handled after %s s", DRAIN_SECONDS)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def serve(application: Application, endpoint: Endpoint, *, host: str, port: int,
                instance: str, stop: asyncio.Event | None = None) -> None:
    """The bot in webhook mode until SIGTERM or SIGINT (or `stop` is set)."""
    stop = stop or asyncio.Event()
    application.bot_data[STOP_KEY] = stop.set  # the instance stopping itself (its name lost)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = WebhookServer(application, secret=endpoint.secret, host=host, port=port)
    try:
        # Listening first: a busy address stops start-up before anything else has begun;
        # /healthz answers 503 until the Application is up and updates are taken.
        await server.start()
        try:
            await start(application)
            server.take_updates()
            services = application.bot_data["services"]
            if await register(application.bot, endpoint, services.db, services.pepper):
                log.info("webhook registered")
            log.info("instance %s taking webhook updates on %s:%s", instance, host, server.port)
            await stop.wait()
            log.info("stopping: no new updates, finishing the ones in hand")
        finally:
            await server.stop()
    finally:
        try:
            await finish(application)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(signum)
