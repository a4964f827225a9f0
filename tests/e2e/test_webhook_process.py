"""`ewobot run` in webhook mode as a child process: SIGTERM finishes what it holds, exits 0."""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.handlers import access
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from tests.e2e.processes import BotProcess, bot_environment, free_port

SECRET = "process-webhook-secret"


async def enrolment_code(db: Database) -> str:
    code, now = secrets.token_urlsafe(32), datetime.now(UTC)
    async def _transaction(conn: Conn) -> None:
        officer = await officer_store.add_officer(conn, ref="EWO1", name="Officer EWO1",
                                                  role="officer", supervisor_ref=None, now=now)
        await officer_store.issue_code(conn, officer, code=code, now=now,
                                       expires_at=now + timedelta(hours=24))
    await db.write(_transaction)
    return code


async def test_sigterm_finishes_the_update_in_hand_takes_no_more_and_exits_0(
        settings: Settings, standin: BotApiStandIn, db: Database, tmp_path: Path) -> None:
    code = await enrolment_code(db)
    port = free_port()
    env = bot_environment(settings, standin)
    env.update({"EWO_WEBHOOK_URL": "https://bot.example.test/telegram",
                "EWO_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
                "EWO_WEBHOOK_SECRET": SECRET, "EWO_INSTANCE_NAME": "test-1"})
    # The balancer in front of the one instance; the stand-in keeps trying while it is down.
    standin.route_webhook_to([f"http://127.0.0.1:{port}/telegram"])
    standin.set_webhook_attempts(10_000)
    child = BotProcess(env, tmp_path)
    await child.start()
    try:
        registered = await standin.wait_for_call("setWebhook", timeout=30)
        assert registered.params["url"] == "https://bot.example.test/telegram"
        assert registered.params["secret_token"] == SECRET
        user = standin.user(5001)
        # The code's message is deleted first, then the PIN is asked: hold the deletion's
        # answer so the update is still in hand when SIGTERM comes.
        standin.delay_next("deleteMessage", 1.5)
        await user.send(f"/start {code}")
        await standin.wait_for_call("deleteMessage", timeout=10)
        assert child.process is not None
        child.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert (await user.next_message(timeout=10)).text == access.CHOOSE_PIN
        await user.send("2580")  # after SIGTERM: not taken, left with Telegram
        returncode = await asyncio.wait_for(child.process.wait(), 10)
        assert returncode == 0
        assert time.monotonic() - signalled < 10
        assert standin.pending_updates == 1
        assert user.history[-1].text == access.CHOOSE_PIN
    finally:
        await child.stop()
