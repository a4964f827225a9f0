"""The outbox's transactions: what a delivery round takes out (the waiting alert digests
queued first) and how each message sent or not is settled. Sending is the job's, outside
every transaction (bot/jobs/outbox.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.dates import YearEnd
from bot.storage import alerts as alert_store
from bot.storage import outbox
from bot.storage.db import Conn, Database
from bot.storage.outbox import Delivery


async def prepare_round(db: Database, now: datetime, year_end: YearEnd) -> bool:
    """Whether there is anything to deliver; when there is, claims a crashed or stuck
    send left behind are released, the messages waiting lose the pupils no longer their
    officer's (`alerts.narrow_to_holders`) and the alerts waiting for a digest are
    queued (those just taken out included, for the officer who holds them now)."""
    if not await db.read(_has_work, now):
        return False
    await db.write(_release_and_queue, now, year_end)
    return True


async def _has_work(conn: Conn, now: datetime) -> bool:
    return await outbox.has_due_work(conn, now) or await alert_store.has_waiting(conn)


async def _release_and_queue(conn: Conn, now: datetime, year_end: YearEnd) -> None:
    await outbox.release_claims(conn, claimed_before=now - outbox.CLAIM_TIMEOUT)
    await alert_store.narrow_to_holders(conn, now)
    await alert_store.queue_waiting(conn, now, year_end=year_end)


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a message was not delivered (`http_403`, `timeout` …) and when to try again
    (None: kept as undelivered)."""

    error: str
    retry_in: timedelta | None


async def settle(db: Database, delivery: Delivery, now: datetime,
                 failure: Failure | None) -> None:
    """Mark a claimed message sent (no failure) or failed, to retry or kept undelivered;
    a 403 also stops sending to that person until they talk to the bot again."""
    await db.write(_settle, delivery, now, failure)


async def _settle(conn: Conn, delivery: Delivery, now: datetime,
                  failure: Failure | None) -> None:
    if failure is None:
        await outbox.mark_sent(conn, delivery, now)
        return
    retry_at = None if failure.retry_in is None else now + failure.retry_in
    await outbox.mark_failed(conn, delivery, now, error=failure.error, retry_at=retry_at,
                             blocked=failure.error == "http_403")
