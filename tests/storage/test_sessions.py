"""A request kept while locked: replayed after the PIN in time, dropped after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.storage import sessions
from bot.storage.db import Database
from tests.held import held_write
from tests.storage.pupil_rows import NOW, Service


@pytest.fixture
async def service(db: Database) -> AsyncIterator[Service]:
    async with held_write(db) as conn:
        yield Service(conn)


async def test_a_kept_request_goes_on_only_before_its_time_is_up(service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    conn = service.conn
    for officer in (ann, bob):
        await sessions.keep_pending(conn, officer.id, '{"text": "Amelia"}',
                                    until=NOW + timedelta(hours=12))
    assert await sessions.unlock(conn, ann.id, NOW + timedelta(hours=11)) == '{"text": "Amelia"}'
    assert await sessions.unlock(conn, bob.id, NOW + timedelta(hours=12)) is None
    # Either way the request is gone once the officer is unlocked.
    assert await conn.fetchval("SELECT count(*) FROM sessions WHERE pending_update IS NOT NULL"
                               " OR pending_until IS NOT NULL") == 0


async def test_expired_requests_are_discarded(service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    conn = service.conn
    await sessions.keep_pending(conn, ann.id, '{"text": "Amelia"}', until=NOW)
    await sessions.keep_pending(conn, bob.id, '{"text": "Noah"}', until=NOW + timedelta(hours=1))
    assert await sessions.discard_expired_requests(conn, NOW) == 1
    rows = await conn.fetchall("SELECT officer_id, pending_update FROM sessions ORDER BY 1")
    assert [tuple(row) for row in rows] == [(ann.id, None), (bob.id, '{"text": "Noah"}')]


async def test_forgetting_the_requests_naming_a_pupil_leaves_the_others(
        service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    amelia = await service.pupil("Amelia", "Hughes", officer=ann)
    noah = await service.pupil("Noah", "Hughes", officer=bob)
    conn = service.conn
    until = NOW + timedelta(hours=12)
    await sessions.keep_pending(conn, ann.id, '{"kind": "search"}', until=until,
                                pupil_ids=[amelia, noah])
    await sessions.keep_pending(conn, bob.id, '{"kind": "search"}', until=until,
                                pupil_ids=[noah])
    assert [k.officer_ref for k in await sessions.requests_naming(conn, noah)] == ["EWO1",
                                                                               "EWO2"]
    assert await sessions.forget_requests_naming(conn, amelia) == 1
    assert await sessions.requests_naming(conn, noah) == [
        sessions.KeptRequest("EWO2", '{"kind": "search"}', until)]
    assert await conn.fetchval("SELECT count(*) FROM kept_request_pupils") == 1
    # A later request replaces the kept one and what it named.
    await sessions.keep_pending(conn, bob.id, '{"kind": "text"}', until=until)
    assert await sessions.requests_naming(conn, noah) == []
