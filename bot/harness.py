"""The real bot, running against the loopback stand-in of the Bot API.

Used by the demo, the end-to-end tests and the benchmarks: the bot is built by the
composition root exactly as `ewobot run` builds it and talks HTTP to the stand-in
through its real polling loop, or (`webhook=True`) takes updates the stand-in posts to
its real webhook server (bot/webhook.py); nothing inside it is patched.
"""

from __future__ import annotations

import functools
from datetime import datetime

from pydantic import SecretStr
from telegram.ext import Application, BaseRateLimiter

from bot.app import ALLOWED_UPDATES, build_application
from bot.clock import Clock
from bot.domain.pinhash import PinCost, cost_in_effect, hash_pin
from bot.handlers.registry import REGISTRY
from bot.handlers.table import Registry
from bot.processing import PerChatUpdateProcessor
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage import sessions
from bot.storage.db import Conn, Database, load_pepper
from bot.webhook import Endpoint, WebhookServer, finish, register
from bot.webhook import start as start_application

WEBHOOK_SECRET = "harness-webhook-secret"


def talking_to(settings: Settings, standin: BotApiStandIn) -> Settings:
    """`settings` with the stand-in's token and address: a bot built on them talks to it."""
    return settings.model_copy(update={"telegram_token": SecretStr(standin.token),
                                       "telegram_api_url": standin.base_url})


class RunningBot:
    """Start and stop the whole Application, polling the stand-in or serving its webhook."""

    def __init__(self, settings: Settings, standin: BotApiStandIn, *, clock: Clock,
                 db: Database, rate_limiter: BaseRateLimiter | None = None,
                 webhook: bool = False, public_url: str | None = None,
                 registry: Registry = REGISTRY) -> None:
        self.settings = talking_to(settings, standin)
        self.standin = standin
        self.clock = clock
        self.db = db
        self._rate_limiter = rate_limiter
        self.webhook = webhook
        # What the bot registers with setWebhook: its own listening URL, or a public one
        # the stand-in maps to instances (BotApiStandIn.route_webhook_to).
        self.public_url = public_url
        self.server: WebhookServer | None = None
        self._registry = registry  # a test may run the bot on a table of its own
        self.application: Application | None = None

    @property
    def webhook_url(self) -> str:
        """Where the webhook server listens (once started)."""
        assert self.server is not None
        return f"http://{self.server.host}:{self.server.port}/telegram"

    async def start(self) -> Application:
        application = build_application(self.settings, clock=self.clock, db=self.db,
                                         rate_limiter=self._rate_limiter,
                                         polling=not self.webhook, registry=self._registry)
        if self.webhook:
            self.server = WebhookServer(application, secret=WEBHOOK_SECRET, host="127.0.0.1",
                                        port=0)
            await self.server.start()
            await start_application(application)
            self.server.take_updates()
            await register(application.bot, Endpoint(self.public_url or self.webhook_url,
                                                     WEBHOOK_SECRET, ALLOWED_UPDATES))
            self.application = application
            return application
        await application.initialize()
        # run_polling() would call these hooks; starting by hand, the harness does.
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1,
                                                allowed_updates=ALLOWED_UPDATES)
        self.application = application
        return application

    async def stop(self) -> None:
        application = self.application
        if application is None:
            return
        self.application = None
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()
            await finish(application)
            return
        assert application.updater is not None
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)

    async def idle(self) -> None:
        """Wait until the bot is handling no update."""
        assert self.application is not None
        processor = self.application.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        await processor.idle()

    async def settled(self) -> None:
        """Wait until every update sent so far has been taken from the stand-in and
        handled, replies and all: for a test to see that nothing was said."""
        assert self.application is not None
        await self.standin.wait_until_taken()
        await self.application.update_queue.join()

    async def __aenter__(self) -> RunningBot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@functools.lru_cache(maxsize=8)
def _pin_hash(pin: str, pepper: bytes, cost: PinCost) -> str:
    """One slow hash per PIN, pepper and cost, shared by every persona or test officer
    enrolled with it (a hundred bench officers would otherwise wait half a minute)."""
    return hash_pin(pin, pepper, cost)


async def enrol_directly(db: Database, settings: Settings, *, ref: str, user_id: int,
                         pin: str, now: datetime) -> None:
    """Bind an officer to a Telegram account with a PIN and an unlocked session,
    as `/start CODE` and the PIN set-up would (for the demo's personas and tests)."""
    pin_hash = _pin_hash(pin, load_pepper(settings), cost_in_effect())
    async def _transaction(conn: Conn) -> None:
        officer = await officer_store.officer_by_ref(conn, ref)
        if officer is None:
            raise LookupError(f"no officer {ref}")
        await sessions.bind_telegram_user(conn, officer.id, user_id, user_id, now)
        await sessions.set_pin(conn, officer.id, pin_hash, now)
    await db.write(_transaction)
