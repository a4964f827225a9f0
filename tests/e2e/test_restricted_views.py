"""A restricted record in the other views that list pupils (CASEWORK.md §3): one
officer's caseload in detail and /due's follow-ups show it by name and case reference
with the marker only, while the counts still count it."""

from __future__ import annotations

from datetime import date

from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.storage.db import Database
from tests.e2e.conftest import People
from tests.e2e.test_caseload import SEPT, officer_id
from tests.e2e.test_restriction import restrict
from tests.storage import caseload_seed as seed


async def test_one_officers_caseload_lists_a_restricted_pupil_by_name_and_reference_only(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    await people.add("EWO1", "officer", "SUP1")
    ewo1 = await officer_id(db, "EWO1")
    async def _transaction(conn) -> None:
        await seed.pupil(conn, 1, officer_id=ewo1, allocated=SEPT, attended=10, possible=100,
                         first_name="Amelia", last_name="Hughes")
        await seed.visit(conn, pupil_id=1, officer_id=ewo1, on=date(2026, 11, 2),
                         follow_up=date(2026, 11, 9))
        await seed.pupil(conn, 2, officer_id=ewo1, allocated=SEPT, attended=20, possible=100,
                         first_name="Noah", last_name="Hughes")
    await db.write(_transaction)
    await restrict(db, clock, 1, "restriction")

    await sup.send("/caseload EWO1")
    lines = (await sup.next_message()).text.splitlines()
    assert "Pupils allocated: 2" in lines and "In severe absence: 2" in lines  # still counted
    assert "Follow-ups overdue: 1" in lines
    assert lines[-2:] == [
        "1. Amelia Hughes (C00001) — restricted",
        "2. Noah Hughes (C00002) — 20.0 %; severe absence; not visited for 28 days; "
        "never visited (allocated 01/09/2026)"]


async def test_due_lists_a_restricted_pupils_follow_up_without_the_school(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    ewo = await people.enrolled("EWO1")
    ewo1 = await officer_id(db, "EWO1")
    async def _transaction(conn) -> None:
        for number, first in ((1, "Amelia"), (2, "Noah")):
            await seed.pupil(conn, number, officer_id=ewo1, allocated=SEPT,
                             first_name=first, last_name="Hughes")
            await seed.visit(conn, pupil_id=number, officer_id=ewo1, on=date(2026, 11, 2),
                             follow_up=date(2026, 11, 23))
    await db.write(_transaction)
    await restrict(db, clock, 1, "objection")

    await ewo.send("/due")
    assert (await ewo.next_message()).text.splitlines() == [
        "Follow-ups due, oldest first:",
        "23/11/2026 (2 days overdue) — Amelia Hughes, C00001 — restricted",
        "23/11/2026 (2 days overdue) — Noah Hughes, C00002, Hillside Primary"]
