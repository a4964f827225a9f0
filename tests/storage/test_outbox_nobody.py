"""Messages whose audience resolves to nobody are kept as undelivered, never left waiting."""

from __future__ import annotations

from bot.storage import audit
from bot.storage import officers as officer_store
from bot.storage import outbox as outbox_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.storage.alert_seed import NOW
from tests.storage.test_outbox import People, claim, people, queue, row_of

__all__ = ["people"]  # the fixture, shared with test_outbox


async def revoke(db: Database, officer: Officer) -> None:
    await db.write(officer_store.revoke, officer, now=NOW)


async def status(db: Database, outbox_id: int) -> tuple[str, str | None]:
    row = await row_of(db, outbox_id)
    return row.status, row.last_error


async def test_every_audience_that_resolves_to_nobody_is_undelivered(
        db: Database, people: People) -> None:
    alone = await people.add("EWO1")  # no supervisor
    sup_gone = await people.add("SUP9", "supervisor")
    under_gone = await people.add("EWO2", supervisor="SUP9")
    await revoke(db, alone)
    await revoke(db, sup_gone)
    nobody = [
        await queue(db, f"officer:{alone.id}"),  # revoked, no supervisor to forward to
        await queue(db, f"supervisor_of:{alone.id}"),  # no supervisor at all
        await queue(db, f"supervisor_of:{under_gone.id}"),  # the supervisor has left
        await queue(db, f"supervisor:{sup_gone.id}"),
        await queue(db, "officer:9999"),
        await queue(db, "controllers", kind="retention"),  # no controller at all
    ]
    assert [d for d in await claim(db) if d.kind != "commands"] == []
    for outbox_id in nobody:
        assert await status(db, outbox_id) == ("undelivered", outbox_store.NO_RECIPIENT)
    entries = await db.read(audit.entries, targets=tuple(f"outbox:{i}" for i in nobody))
    assert sorted((e.action, e.reason) for e in entries) == sorted(
        [("alert_failed", "no_recipient")] * 5 + [("message_failed", "no_recipient")])
    # Claimed again later: nothing changes and nothing more is audited.
    await claim(db)
    again = await db.read(audit.entries, targets=tuple(f"outbox:{i}" for i in nobody))
    assert len(again) == len(entries)


async def test_someone_who_may_still_come_keeps_the_message_waiting(
        db: Database, people: People) -> None:
    await people.add("SUP1", "supervisor", enrolled=False)
    officer = await people.add("EWO1", supervisor="SUP1")
    await people.add("DPO1", "controller", enrolled=False)
    waiting = [await queue(db, f"supervisor_of:{officer.id}"),
               await queue(db, "controllers", kind="retention")]
    assert await claim(db) == []
    for outbox_id in waiting:
        assert await status(db, outbox_id) == ("pending", None)


async def test_a_controller_copy_whose_controller_left_is_undelivered(
        db: Database, people: People) -> None:
    first = await people.add("DPO1", "controller")
    second = await people.add("DPO2", "controller")
    await queue(db, "controllers", kind="retention")
    [one] = await claim(db)  # DPO1's; a copy is written for DPO2
    assert one.recipient_id == first.id
    await revoke(db, second)
    assert [d for d in await claim(db) if d.kind != "commands"] == []
    async def _snapshot(conn: Conn):
        return next(row for row in await outbox_store.rows(conn, kind="retention")
                    if row.recipient_id == second.id)
    copy = await db.read(_snapshot)
    assert (copy.status, copy.last_error) == ("undelivered", outbox_store.NO_RECIPIENT)


async def test_escalation_audiences(db: Database, people: People) -> None:
    sup1 = await people.add("SUP1", "supervisor")
    sup2 = await people.add("SUP2", "supervisor", enrolled=False)
    sup3 = await people.add("SUP3", "supervisor")
    officer = await people.add("EWO1", supervisor="SUP1")
    alone = await people.add("EWO2")
    await revoke(db, sup3)
    async def _snapshot(conn: Conn) -> None:
        assert await outbox_store.escalation_audiences(conn, officer.id) == (
            f"supervisor_of:{officer.id}",)
        assert await outbox_store.escalation_audiences(conn, alone.id) == (
            f"supervisor:{sup1.id}", f"supervisor:{sup2.id}")
        assert await outbox_store.escalation_audiences(conn, sup1.id) == (
            f"supervisor:{sup2.id}",)
        # Under enforce a lapsed supervisor is left out while another is current, and
        # told still when none is.
        assert await outbox_store.escalation_audiences(
            conn, alone.id, lapsed=frozenset({sup1.id})) == (f"supervisor:{sup2.id}",)
        assert await outbox_store.escalation_audiences(
            conn, alone.id, lapsed=frozenset({sup1.id, sup2.id})) == (
            f"supervisor:{sup1.id}", f"supervisor:{sup2.id}")
    await db.read(_snapshot)
