"""Visit storage: saving once per draft, corrections, follow-ups due, expired drafts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from bot.storage import conversations
from bot.storage import visits as visit_store
from bot.storage.db import Database
from bot.storage.visits import NewVisit
from tests.held import held_write
from tests.storage.pupil_rows import NOW, TODAY, Service


@pytest.fixture
async def service(db: Database) -> AsyncIterator[Service]:
    async with held_write(db) as conn:
        yield Service(conn)


def _visit(pupil_id: int, **changes: object) -> NewVisit:
    values: dict[str, object] = {
        "pupil_id": pupil_id, "visit_date": TODAY, "type": "home", "contact": "parent",
        "reason": "illness", "action": "followup", "follow_up": TODAY + timedelta(days=7),
        "notes": "Mum says better next week."}
    values.update(changes)
    return NewVisit(**values)  # type: ignore[arg-type]


async def test_a_draft_is_saved_once(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    first = await visit_store.record_visit(conn, ann, _visit(pupil), draft_token="t1", now=NOW)
    again = await visit_store.record_visit(conn, ann, _visit(pupil), draft_token="t1", now=NOW)
    assert first is not None and again is None
    assert await visit_store.saved_from_draft(conn, "t1")
    assert not await visit_store.saved_from_draft(conn, "t2")
    assert await conn.fetchval("SELECT count(*) FROM visits") == 1


async def test_visit_pupil_is_for_the_allocated_officer_only(service: Service) -> None:
    people = await service.team()  # pupils 1 SUP1's own, 2 EWO1's, 3 EWO2's
    conn = service.conn
    assert (await visit_store.visit_pupil(conn, people["EWO1"], 2)).name == "Amy Team"
    assert await visit_store.visit_pupil(conn, people["EWO1"], 3) is None
    # A supervisor records visits for their own caseload, not their team's.
    assert await visit_store.visit_pupil(conn, people["SUP1"], 1) is not None
    assert await visit_store.visit_pupil(conn, people["SUP1"], 2) is None
    assert await visit_store.visit_pupil(conn, people["CTL1"], 1) is None
    assert await visit_store.visit_pupil(conn, people["EWO1"], 999) is None
    assert await visit_store.is_allocated_to(conn, people["EWO2"].id, 3)
    assert not await visit_store.is_allocated_to(conn, people["EWO2"].id, 2)


async def test_only_the_author_may_correct(service: Service) -> None:
    people = await service.team()
    conn = service.conn
    visit_id = await service.visit(2, people["EWO1"], TODAY)
    found = await visit_store.visit_for_correction(conn, people["EWO1"], visit_id)
    assert found is not None and not found.superseded and found.saved_at == NOW
    assert await visit_store.visit_for_correction(conn, people["SUP1"], visit_id) is None
    assert await visit_store.visit_for_correction(conn, people["EWO2"], visit_id) is None
    newer = await service.visit(2, people["EWO1"], TODAY, supersedes=visit_id)
    old = await visit_store.visit_for_correction(conn, people["EWO1"], visit_id)
    assert old is not None and old.superseded
    assert not (await visit_store.visit_for_correction(conn, people["EWO1"], newer)).superseded


async def test_follow_ups_due_oldest_first_own_pupils_only(service: Service) -> None:
    people = await service.team()
    ewo1 = people["EWO1"]
    conn = service.conn
    late = await service.pupil("Bea", "Late", officer=ewo1)
    today = await service.pupil("Cal", "Today", officer=ewo1)
    future = await service.pupil("Dan", "Future", officer=ewo1)
    closed = await service.pupil("Eve", "Closed", officer=ewo1)
    corrected = await service.pupil("Fay", "Corrected", officer=ewo1)
    await service.visit(late, ewo1, date(2026, 11, 1), follow_up=date(2026, 11, 8))
    await service.visit(today, ewo1, date(2026, 11, 18), follow_up=TODAY)
    await service.visit(future, ewo1, date(2026, 11, 20), follow_up=TODAY + timedelta(days=1))
    await service.visit(closed, ewo1, date(2026, 11, 1), follow_up=date(2026, 11, 8))
    await service.visit(closed, ewo1, date(2026, 11, 9), saved=NOW + timedelta(minutes=1))
    first = await service.visit(corrected, ewo1, date(2026, 11, 2), follow_up=date(2026, 11, 9))
    await service.visit(corrected, ewo1, date(2026, 11, 2), follow_up=date(2026, 11, 5),
                        supersedes=first, saved=NOW + timedelta(minutes=2))
    # Another officer's pupil with a follow-up due is not EWO1's business.
    await service.visit(3, people["EWO2"], date(2026, 11, 1), follow_up=date(2026, 11, 2))
    due = await visit_store.open_follow_ups(conn, ewo1, today=TODAY)
    assert [(item.name, item.follow_up) for item in due] == [
        ("Fay Corrected", date(2026, 11, 5)), ("Bea Late", date(2026, 11, 8)),
        ("Cal Today", TODAY)]
    assert [item.name for item in
            await visit_store.open_follow_ups(conn, people["EWO2"], today=TODAY)] == ["Amy Other"]
    assert await visit_store.open_follow_ups(conn, people["CTL1"], today=TODAY) == []


async def test_expired_drafts_are_discarded(service: Service) -> None:
    ann = await service.officer("EWO1")
    bob = await service.officer("EWO2")
    conn = service.conn
    await conversations.start(conn, ann.id, kind="visit", step="type", now=NOW,
                              expires_at=NOW + timedelta(hours=12))
    await conversations.start(conn, bob.id, kind="visit", step="type", now=NOW,
                              expires_at=NOW + timedelta(hours=1))
    assert await visit_store.discard_expired_drafts(conn, NOW + timedelta(hours=1)) == 1
    assert await conversations.current(conn, ann.id, NOW) is not None
    assert await conn.fetchval("SELECT count(*) FROM conversations WHERE officer_id = ?",
                               (bob.id,)) == 0
