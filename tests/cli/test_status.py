"""`ewobot status`: backend and schema, instances and the job leader, outbox, webhook."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram import Bot

from bench.drills.custody import closed_port
from bot.cli import CliEnv, main
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import leases, outbox, schema, schema_postgres, send_rates
from bot.storage.db import Conn, Database
from tests.cli.conftest import Cli, Result
from tests.cli.test_run import TOKEN
from tests.conftest import make_settings
from tests.pg import settings_for


async def _last_error(standin: BotApiStandIn) -> None:
    """Until the stand-in has failed to post the update at least once (within 10 s)."""
    try:
        async with asyncio.timeout(10):
            while standin.webhook is None or standin.webhook.last_error_message is None:  # noqa: ASYNC110 - no event for a failed post: polled, with a deadline
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError("the stand-in never failed to post the update in 10 s: "
                             f"{standin.webhook_posts}") from None


def run_status(settings: Settings) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(["status"], CliEnv(settings_factory=lambda: settings, out=out, err=err))
    return Result(code, out.getvalue(), err.getvalue())


async def _messages(conn: Conn, now: datetime) -> None:
    for n in range(3):
        await outbox.enqueue(conn, kind="message", audience=f"chat:{100 + n}",
                             payload={"text": "x"}, now=now)
    await outbox.enqueue(conn, kind="message", audience="chat:9", payload={"text": "x"},
                         now=now, nobody=True)


def test_status_without_a_database_exits_1_creating_nothing(cli: Cli) -> None:
    result = cli("status")
    assert result.code == 1
    assert result.out == ""
    assert not cli.settings.database.exists()


async def test_status_on_sqlite_one_process_and_the_outbox(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    db = await Database.open(settings)
    await db.write(_messages, datetime.now(UTC))
    await db.close()
    result = await asyncio.to_thread(run_status, settings)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"database: SQLite {settings.database}, schema {schema.SCHEMA_VERSION}",
        "instances: one process (SQLite); the running bot runs the scheduled jobs",
        "outbox: 3 pending, 1 undelivered",
        "webhook: not known: EWO_TELEGRAM_TOKEN is not set: put the bot's token from "
        "BotFather in the environment or .env",
    ]


async def test_status_on_postgres_names_the_instances_the_leader_and_the_webhook(
        pg_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with BotApiStandIn(token=TOKEN) as standin:
        settings = settings_for(tmp_path, pg_url, telegram_token=TOKEN,
                                telegram_api_url=standin.base_url)
        db = await Database.open(settings)
        try:
            await db.write(_messages, now)
            alive = timedelta(seconds=30)
            await db.write(leases.seen, "web-1", "web-1", now - timedelta(seconds=5), alive)
            await db.write(leases.seen, "web-2", "web-2", now - timedelta(seconds=2), alive)
            await db.write(send_rates.report, "web-2", 12, now, timedelta(seconds=2))
            await db.write(leases.seen, "gone", "gone", now - timedelta(minutes=5), alive)
            fence = await db.write(leases.take_or_renew, leases.JOBS, "web-2", "web-2", now,
                                   timedelta(seconds=30))
        finally:
            await db.close()
        standin.route_webhook_to([f"http://127.0.0.1:{closed_port()}/telegram"])
        standin.set_webhook_attempts(10_000)  # the update stays pending, the error kept
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            await bot.set_webhook("https://bot.example.test/telegram", secret_token="s3cret")
        await standin.user(7001).send("hello")
        await _last_error(standin)
        result = await asyncio.to_thread(run_status, settings)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == (f"database: PostgreSQL {settings.database_url.redacted}, schema "
                        f"{schema_postgres.SCHEMA_VERSION}")
    assert lines[1] == "instances seen in the last minute: 2"
    assert lines[2].startswith("  web-1, seen ")
    assert lines[3].startswith("  web-2 (runs the scheduled jobs), seen ")
    assert lines[3].endswith(" s ago, 12 messages in its last second")
    assert "messages" not in lines[2]  # web-1 sent nothing lately (no report)
    assert lines[4].startswith(f"scheduled jobs: web-2 (lease {fence}, until ")
    assert lines[5] == "outbox: 3 pending, 1 undelivered"
    assert lines[6].startswith("webhook: https://bot.example.test/telegram; 1 pending "
                               "updates; last error: ")
    assert "Connection failed" in lines[6]
    assert "s3cret" not in result.out and "gone" not in result.out


async def test_status_says_in_one_line_when_telegram_cannot_be_reached(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, telegram_token=TOKEN,
                             telegram_api_url=f"http://127.0.0.1:{closed_port()}/bot")
    db = await Database.open(settings)
    await db.close()
    result = await asyncio.to_thread(run_status, settings)
    assert result.code == 0, result.err
    [webhook] = [line for line in result.out.splitlines() if line.startswith("webhook:")]
    assert webhook.startswith("webhook: not known: ")
    assert TOKEN.split(":")[1] not in result.out
