"""The case view's storage, the caseload's open notices and the reminders' record: one
scoped read of a case, open notices counted per officer, each reminder claimed once
(bot/storage/pathway.py, bot/storage/pathway_reminders.py; issue 19)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from bot.domain import pathway_reminders as reminders
from bot.storage import pathway
from bot.storage import pathway_reminders as reminder_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.pathway import NewOutcome, NewStep
from tests.held import held_write
from tests.storage.pupil_rows import NOW, TODAY, Service


@pytest.fixture
async def service(db: Database) -> AsyncIterator[Service]:
    async with held_write(db) as conn:
        yield Service(conn)


async def _parent(conn: Conn, pupil_id: int, name: str) -> int:
    return await conn.insert(
        "INSERT INTO contacts (pupil_id, name, relationship, parental_responsibility)"
        " VALUES (?, ?, 'Mother', 1)", (pupil_id, name))


async def _step(conn: Conn, who: Officer, new: NewStep) -> int:
    saved = await pathway.record_step(conn, who, new, today=new.step_date, now=NOW)
    assert saved.id is not None, saved.problem
    return saved.id


async def _issued(conn: Conn, who: Officer, pupil: int, parent: int, on: date,
                  final: str | None = None) -> int:
    referral = await _step(conn, who, NewStep(pupil, "pn_referral", on, (parent,),
                                              reason="holiday"))
    await pathway.record_outcome(conn, who, NewOutcome(referral, "issued", on, parent), now=NOW)
    if final is not None:
        await pathway.record_outcome(conn, who, NewOutcome(
            referral, final, on + timedelta(days=5), parent, detail="Moved away"), now=NOW)
    return referral


async def test_a_case_file_is_scoped_unaudited_and_clamps_its_page(service: Service) -> None:
    people = await service.team()  # pupil 2 is EWO1's, in SUP1's team
    conn = service.conn
    ewo1 = people["EWO1"]
    await _step(conn, ewo1, NewStep(2, "support_plan", TODAY - timedelta(days=20)))
    mum = await _parent(conn, 2, "Jo Team")
    await _step(conn, ewo1, NewStep(2, "nti", TODAY - timedelta(days=10), (mum,),
                                    period_weeks=4))
    for number in range(11):
        await service.visit(2, ewo1, TODAY - timedelta(days=30 + number))
    before = await conn.fetchval("SELECT count(*) FROM audit")
    case = await pathway.case_file(conn, ewo1, 2, today=TODAY, offset=50, limit=10)
    assert case is not None and case.access == pathway.OWN
    assert (case.offset, case.total, len(case.entries)) == (10, 13, 3)  # the last page
    assert case.stage == pathway.Stage("nti", TODAY - timedelta(days=10))
    # The support plan's review stays open beside the notice (recorded before it was due).
    assert [(item.kind, item.due) for item in case.open_items] == [
        ("improvement_ends", TODAY - timedelta(days=10) + timedelta(weeks=4)),
        ("review", TODAY - timedelta(days=20) + timedelta(weeks=6))]
    assert [(parent.name, parent.eligibility.ordinal) for parent in case.parents] == [
        ("Jo Team", 1)]
    seen = await pathway.case_file(conn, people["SUP1"], 2, today=TODAY)
    assert seen is not None and seen.access == pathway.SUPERVISION
    for who in ("SUP2", "CTL1", "EWO2"):
        assert await pathway.case_file(conn, people[who], 2, today=TODAY) is None
    assert await conn.fetchval("SELECT count(*) FROM audit") == before  # the caller audits


async def test_open_notices_are_periods_running_and_notices_awaiting_an_outcome(
        service: Service) -> None:
    people = await service.team()
    conn = service.conn
    ewo1 = people["EWO1"]
    mum = await _parent(conn, 2, "Jo Team")
    others = [await service.pupil(f"Pupil{n}", "Other", officer=ewo1) for n in range(5)]
    parents = [await _parent(conn, pupil, f"Parent {pupil}") for pupil in others]
    # Running: a 6-week period from 5 weeks ago. Ended: a 3-week period from 4 weeks ago.
    await _step(conn, ewo1, NewStep(2, "nti", TODAY - timedelta(weeks=5), (mum,),
                                    period_weeks=6))
    await _step(conn, ewo1, NewStep(others[0], "nti", TODAY - timedelta(weeks=4),
                                    (parents[0],), period_weeks=3))
    await _issued(conn, ewo1, others[1], parents[1], TODAY - timedelta(days=40))  # awaiting
    await _issued(conn, ewo1, others[2], parents[2], TODAY - timedelta(days=40), "paid")
    # A support plan recorded in the period leaves the notice running.
    await _step(conn, ewo1, NewStep(others[3], "nti", TODAY - timedelta(days=3),
                                    (parents[3],), period_weeks=3))
    await _step(conn, ewo1, NewStep(others[3], "support_plan", TODAY - timedelta(days=1)))
    # A notice issued again counts once: the later one replaces the earlier.
    for days in (10, 2):
        await _step(conn, ewo1, NewStep(others[4], "nti", TODAY - timedelta(days=days),
                                        (parents[4],), period_weeks=3))
    counts = await pathway.open_notices(
        conn, officers="JOIN officers ow ON ow.id = a.officer_id", where="ow.id = :me",
        params={"me": ewo1.id}, today=TODAY)
    assert counts == {ewo1.id: 4}


async def test_each_reminder_is_claimed_once(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    plan = await _step(conn, ann, NewStep(pupil, "support_plan", TODAY - timedelta(weeks=6)))
    old = await service.pupil("Olly", "Old", officer=ann)
    await _step(conn, ann, NewStep(old, "support_plan", TODAY - timedelta(weeks=6, days=9)))
    early = await reminder_store.due_reminders(conn, today=TODAY - timedelta(days=1))
    due = await reminder_store.due_reminders(conn, today=TODAY)
    assert early == []
    assert [(r.pupil_id, r.kind, r.due, r.case_ref, r.initials) for r in due] == [
        (pupil, "review", TODAY, "C00001", "A.H.")]  # Olly's was 9 days ago: not pushed
    assert due[0].key == reminders.reminder_key("review", plan, None, TODAY)
    assert [r.key for r in await reminder_store.claim(conn, due, now=NOW)] == [due[0].key]
    assert await reminder_store.claim(conn, due, now=NOW) == []
    assert await reminder_store.due_reminders(conn, today=TODAY) == []
    assert await reminder_store.due_reminders(conn, today=TODAY + timedelta(days=3)) == []


async def test_the_same_reads_on_postgresql(pg_db: object,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The audit trail is not wired to PostgreSQL yet (issue 18): this checks the SQL.
    async def no_audit(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(pathway.audit, "append", no_audit)

    async def scenario(conn: Conn) -> tuple[object, ...]:
        service = Service(conn)
        ann = await service.officer("EWO1")
        pupil = await service.pupil("Amelia", "Hughes", officer=ann)
        mum = await _parent(conn, pupil, "Jo Hughes")
        await _step(conn, ann, NewStep(pupil, "nti", TODAY - timedelta(weeks=3), (mum,),
                                       period_weeks=3))
        await _issued(conn, ann, pupil, mum, TODAY - timedelta(days=29))
        case = await pathway.case_file(conn, ann, pupil, today=TODAY)
        counts = await pathway.open_notices(
            conn, officers="JOIN officers ow ON ow.id = a.officer_id", where="ow.id = :me",
            params={"me": ann.id}, today=TODAY)
        due = await reminder_store.due_reminders(conn, today=TODAY)
        claimed = await reminder_store.claim(conn, due, now=NOW)
        again = await reminder_store.claim(conn, due, now=NOW)
        assert case is not None
        return case.total, case.stage, counts, [r.kind for r in claimed], again

    total, stage, counts, claimed, again = await pg_db.write(scenario)  # type: ignore[attr-defined]
    assert (total, stage.kind, claimed, again) == (3, "nti", ["outcome_reminder"], [])
    assert list(counts.values()) == [2]  # the period ends today; the notice awaits


async def test_a_correction_keeping_the_date_is_not_reminded_again(service: Service) -> None:
    """A reminder is the item and its date: a support plan recorded late, its review
    today, is pushed at once; correcting it (its start, say) without moving the review
    is the same item on the same date, so it is not pushed a second time. Moving the
    review date is a new reminder."""
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    start = TODAY - timedelta(weeks=6)
    plan = await _step(conn, ann, NewStep(pupil, "support_plan", start))
    assert len(await reminder_store.claim(
        conn, await reminder_store.due_reminders(conn, today=TODAY), now=NOW)) == 1
    fixed = await _step(conn, ann, NewStep(pupil, "support_plan", start + timedelta(days=1),
                                           review_date=TODAY, supersedes=plan))
    assert await reminder_store.due_reminders(conn, today=TODAY) == []
    await _step(conn, ann, NewStep(pupil, "support_plan", start + timedelta(days=1),
                                   review_date=TODAY - timedelta(days=1), supersedes=fixed))
    assert [r.due for r in await reminder_store.due_reminders(conn, today=TODAY)] == [
        TODAY - timedelta(days=1)]
