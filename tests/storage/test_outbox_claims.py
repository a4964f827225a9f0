"""Outbox rows claimed by one sender: two instances on one PostgreSQL racing for them
(bot/storage/outbox.py, claim_due)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import outbox as outbox_store
from bot.storage.db import Conn, Database
from bot.storage.postgres import PostgresDatabase
from tests.pg import settings_for
from tests.storage.alert_seed import NOW


@pytest.fixture
async def second_db(pg_url: str, tmp_path: Path) -> AsyncIterator[PostgresDatabase]:
    """Another instance's database handle on the same PostgreSQL database as pg_db."""
    database = await PostgresDatabase.open(settings_for(tmp_path, pg_url), attempts=5)
    try:
        yield database
    finally:
        await database.close()


async def _queue(db: Database, chats: int, each: int) -> list[int]:
    async def _transaction(conn: Conn) -> list[int]:
        return [await outbox_store.enqueue(conn, kind="message", audience=f"chat:{9000 + n}",
                                           payload={"text": f"{n}/{k}"}, now=NOW)
                for k in range(each) for n in range(chats)]
    return await db.write(_transaction)


async def _sender(db: Database, name: str, claims: list[tuple[str, int, int]],
                  in_flight: dict[int, str], overlaps: list[int]) -> None:
    """Claims and settles until nothing is left, as the outbox job does."""
    idle = 0
    while idle < 3:
        batch = await db.write(outbox_store.claim_due, NOW, quiet=False, holder=name)
        idle = idle + 1 if not batch else 0
        for delivery in batch:
            if delivery.chat_id in in_flight:
                overlaps.append(delivery.chat_id)
            in_flight[delivery.chat_id] = name
            claims.append((name, delivery.id, delivery.chat_id))
        await asyncio.sleep(0)  # the other sender's turn while these are "sending"
        for delivery in batch:
            in_flight.pop(delivery.chat_id, None)
            await db.write(outbox_store.mark_sent, delivery, NOW)


async def test_two_senders_never_claim_one_row_and_keep_each_chats_order(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    ids = await _queue(pg_db, chats=12, each=4)
    claims: list[tuple[str, int, int]] = []
    in_flight: dict[int, str] = {}
    overlaps: list[int] = []
    async with asyncio.timeout(60):
        await asyncio.gather(_sender(pg_db, "a", claims, in_flight, overlaps),
                             _sender(second_db, "b", claims, in_flight, overlaps))
    claimed = [outbox_id for _, outbox_id, _ in claims]
    assert sorted(claimed) == sorted(ids)  # every row once, none twice
    assert overlaps == []  # never two rows of one chat in flight at once
    per_chat: dict[int, list[int]] = defaultdict(list)
    for _, outbox_id, chat in claims:
        per_chat[chat].append(outbox_id)
    assert all(order == sorted(order) for order in per_chat.values())


async def test_a_claim_names_its_sender_and_a_dead_senders_row_goes_again_after_the_timeout(
        pg_db: PostgresDatabase, second_db: PostgresDatabase) -> None:
    [outbox_id] = await _queue(pg_db, chats=1, each=1)
    [delivery] = await pg_db.write(outbox_store.claim_due, NOW, quiet=False, holder="dead")
    assert delivery.id == outbox_id
    assert await second_db.write(outbox_store.claim_due, NOW, quiet=False, holder="b") == []
    later = NOW + outbox_store.CLAIM_TIMEOUT * 2
    released = await second_db.write(outbox_store.release_claims,
                                     claimed_before=later - outbox_store.CLAIM_TIMEOUT)
    assert released == 1
    [again] = await second_db.write(outbox_store.claim_due, later, quiet=False, holder="b")
    assert again.id == outbox_id
    claimed_by = await second_db.read(_claimed_by, outbox_id)
    assert claimed_by == "b"


async def _claimed_by(conn: Conn, outbox_id: int) -> str | None:
    return await conn.fetchval("SELECT claimed_by FROM outbox WHERE id = ?", (outbox_id,))
