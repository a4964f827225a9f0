"""/retention through the stand-in: Release hold on a held record, and texts that agree
with their counts when one record is left ("Dispose the 1 past due", never "all 1")."""

from __future__ import annotations

from bot.handlers import retention_texts
from bot.handlers.common import NOT_ALLOWED
from bot.sandbox import FakeUser
from bot.storage import audit
from bot.storage.db import Conn, Database
from tests.e2e.conftest import People
from tests.e2e.test_retention import controller, edited, pupils_left

__all__ = ["controller"]  # the fixture, shared with the other /retention tests


async def hold(controller: FakeUser, ref: str) -> None:
    await controller.send("/retention")
    await controller.next_message()
    await controller.press(f"Hold {ref}")
    await controller.next_message()
    await controller.press("Legal proceedings")
    await edited(controller)
    await controller.send("15/01/2027")
    await edited(controller)  # the reason's keyboard is taken off
    assert (await controller.next_message()).text.startswith(f"{ref} is on hold until")


async def test_one_past_due_record_is_named_in_the_singular(controller: FakeUser,
                                                            db: Database) -> None:
    await hold(controller, "C00001")
    await controller.send("/retention")
    overview = await controller.next_message()
    assert overview.labels()[-1] == "Dispose the 1 past due"
    await controller.press("Dispose the 1 past due")
    confirm = await controller.next_message()
    assert confirm.text.startswith("Dispose of the 1 past-due record not on hold?")
    await controller.press("Yes, dispose of 1")
    assert (await edited(controller)).text == "1 record has been disposed of."
    assert await pupils_left(db) == ["C00001", "C00003"]


async def test_release_hold_lifts_it_and_is_audited(controller: FakeUser,
                                                    db: Database) -> None:
    await controller.send("/retention")
    before = await controller.next_message()
    assert not [label for label in before.labels() if label.startswith("Release hold")]
    await hold(controller, "C00001")
    await controller.send("/retention")
    overview = await controller.next_message()
    assert overview.labels()[:2] == ["Hold C00001", "Release hold C00001"]
    await controller.press("Release hold C00001")
    assert (await controller.next_message()).text == (
        "The hold on C00001 is released: it is past due again and reminders resume. "
        "Send /retention to see it.")

    await controller.send("/retention")
    after = await controller.next_message()
    assert after.text.startswith("Retention on 25/11/2026: 2 past due, 0 coming due, 0 on hold.")
    assert "on hold until" not in after.text
    assert "Release hold C00001" not in after.labels()
    assert "Dispose C00001" in after.labels() and after.labels()[-1] == "Dispose all 2 past due"
    async def _snapshot(conn: Conn):
        (entry,) = [e for e in await audit.entries(conn, targets=("pupil:1",))
                    if e.action == "release_hold"]
        assert await conn.fetchval("SELECT count(*) FROM holds") == 0
        return entry
    entry = await db.read(_snapshot)
    assert (entry.actor, entry.reason, entry.detail) == (
        "officer:DPO1", "retention_release", {"hold_reason": "legal"})


async def test_release_refused_when_not_held_or_not_a_controller(
        controller: FakeUser, people: People, db: Database) -> None:
    await controller.send("/retention")
    overview = await controller.next_message()
    for forged in ("ret:rel:1", "ret:rel:3", "ret:rel:999", "ret:rel:one"):  # not held etc.
        press = await controller.press_data(forged, overview.message_id)
        assert await controller.answer_to(press) == retention_texts.CANNOT_RELEASE
    await hold(controller, "C00002")
    officer = await people.enrolled("EWO2")
    await officer.send("/help")
    shown = await officer.next_message()
    press = await officer.press_data("ret:rel:2", shown.message_id)
    assert await officer.answer_to(press) == NOT_ALLOWED
    async def _snapshot(conn: Conn):
        assert await conn.fetchval("SELECT count(*) FROM holds") == 1
        return [(e.actor, e.reason) for e in await audit.entries(conn)
                    if e.action == "refused:button"]
    refusals = await db.read(_snapshot)
    assert ("officer:DPO1", "not_held") in refusals
    assert ("officer:EWO2", "role") in refusals
