"""`ewobot status`: this deployment at a glance (SCALE.md): the database backend and
schema version, the instances seen in the last minute (with what each sent to Telegram
in its last second) and which one runs the scheduled jobs, the outbox's pending and
undelivered counts, and what Telegram says of the webhook (one line when it cannot be
asked). Read-only: no database, exit 1. Not audited, alone of the commands that
read the database: it shows no record of a pupil or an officer, only how the service
runs, and it is what monitoring runs every minute, whose entries would bury the ones
that say who saw whom."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from bot.cli import OK, CliEnv, CliError
from bot.jobs.send_budget import FRESH
from bot.storage import leases, outbox, send_rates
from bot.storage.db import Database

RECENT = timedelta(minutes=1)


def register(commands: argparse._SubParsersAction) -> None:
    commands.add_parser(
        "status", help="database, instances and the job leader, outbox, webhook"
    ).set_defaults(handler=cmd_status)


async def cmd_status(args: argparse.Namespace, env: CliEnv) -> int:
    now = datetime.now(UTC)
    async with env.database(create=False) as db:
        env.say(_database_line(db, env))
        for line in await _instance_lines(db, now):
            env.say(line)
        pending, undelivered = await db.read(outbox.status_counts)
        env.say(f"outbox: {pending} pending, {undelivered} undelivered")
    env.say(await _webhook_line(env))
    return OK


def _database_line(db: Database, env: CliEnv) -> str:
    # Opened with create=False, so its schema is this program's (else DatabaseError).
    if db.dialect == "postgres":
        from bot.storage import schema_postgres
        url = env.settings.database_url
        return f"database: PostgreSQL {url.redacted if url else ''}, schema " \
               f"{schema_postgres.SCHEMA_VERSION}"
    from bot.storage import schema
    return f"database: SQLite {env.settings.database}, schema {schema.SCHEMA_VERSION}"


async def _instance_lines(db: Database, now: datetime) -> list[str]:
    if db.dialect == "sqlite":
        return ["instances: one process (SQLite); the running bot runs the scheduled jobs"]
    seen = await db.read(leases.seen_since, now - RECENT)
    lease = await db.read(leases.current, leases.JOBS)
    leader = lease.holder if lease is not None and lease.live(now) else None
    sending = await db.read(send_rates.recent, now - FRESH)
    names = [f"{name}{' (runs the scheduled jobs)' if name == leader else ''}, seen "
             f"{_ago(now, at)}{_sending(sending.get(name))}" for name, at in seen]
    lines = [f"instances seen in the last minute: {len(seen)}"]
    lines += [f"  {name}" for name in names]
    if leader is None:
        lines.append("scheduled jobs: no instance holds the lease (none running?)")
    else:
        assert lease is not None
        lines.append(f"scheduled jobs: {leader} (lease {lease.fence}, until {lease.expires})")
    return lines


def _sending(sent: int | None) -> str:
    """What an instance sent to Telegram in its last second (its report a moment ago)."""
    return "" if sent is None else f", {sent} messages in its last second"


def _ago(now: datetime, stamped: str) -> str:
    seconds = max(0, int((now - datetime.fromisoformat(stamped)).total_seconds()))
    return f"{seconds} s ago"


async def _webhook_line(env: CliEnv) -> str:
    from bot.cli.service import webhook_info

    try:
        info = await webhook_info(env, attempts=1)  # status answers at once
    except CliError as exc:
        return f"webhook: not known: {exc}"
    if not info.url:
        return f"webhook: none (long polling); {info.pending_update_count} pending updates"
    error = "none"
    if info.last_error_date is not None:
        when = info.last_error_date.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        error = f"{when}: {info.last_error_message or ''}"
    return (f"webhook: {info.url}; {info.pending_update_count} pending updates; "
            f"last error: {error}")
