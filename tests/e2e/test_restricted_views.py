"""A restricted record in the other views that list pupils (CASEWORK.md §3): one
officer's caseload in detail and /due's follow-ups show it by name and case reference
with the marker only, while the counts still count it. A draft open about a record
that became restricted is discarded (and the officer told) at the next command."""

from __future__ import annotations

from datetime import date
from types import ModuleType

import pytest

from bot.chat.restriction import RESTRICTED
from bot.clock import FixedClock
from bot.handlers.share import texts as share_texts
from bot.handlers.step import texts as step_texts
from bot.handlers.visit import texts as visit_texts
from bot.harness import RunningBot
from bot.storage.db import Conn, Database
from tests.e2e.conftest import People
from tests.e2e.step_helpers import reply
from tests.e2e.test_caseload import SEPT, officer_id
from tests.e2e.test_restriction import restrict, team
from tests.e2e.visit_helpers import tap
from tests.storage import caseload_seed as seed


async def test_one_officers_caseload_lists_a_restricted_pupil_by_name_and_reference_only(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    await people.add("EWO1", "officer", "SUP1")
    ewo1 = await officer_id(db, "EWO1")
    async def _transaction(conn: Conn) -> None:
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
    async def _transaction(conn: Conn) -> None:
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


@pytest.mark.parametrize(("command", "texts"), [("/visit", visit_texts), ("/step", step_texts),
                                                ("/share", share_texts)])
async def test_a_draft_whose_record_became_restricted_is_discarded_and_the_command_goes_on(
        running: RunningBot, people: People, db: Database, clock: FixedClock, command: str,
        texts: ModuleType) -> None:
    ewo, _sup, amelia, noah = await team(people, db)
    await ewo.send(f"{command} C00001")
    assert (await ewo.next_message()).labels()  # a draft for Amelia is open
    await restrict(db, clock, amelia, "restriction")

    await ewo.send(f"{command} C00002")  # Noah's record is not restricted
    assert (await ewo.next_message()).text == texts.DRAFT_RESTRICTED
    assert (await ewo.next_message()).text != RESTRICTED  # Noah's draft starts
    async def _snapshot(conn: Conn):
        return await conn.fetchall("SELECT officer_id, pupil_id FROM conversations")
    assert [row["pupil_id"] for row in await db.read(_snapshot)] == [noah]
    async def _audited(conn: Conn):
        return await conn.fetchall("SELECT actor, target, reason FROM audit"
                                   " WHERE action = 'draft_discarded'")
    assert [(r["actor"], r["target"], r["reason"]) for r in await db.read(_audited)] == [
        ("officer:EWO1", f"pupil:{amelia}", "restricted")]
    await ewo.send("/cancel")
    await ewo.next_message()
    await ewo.send(f"{command} C00001")  # Amelia's record itself is still refused
    assert (await ewo.next_message()).text == RESTRICTED


async def test_correct_under_a_saved_step_discards_a_draft_whose_record_became_restricted(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    ewo, _sup, amelia, noah = await team(people, db)
    await ewo.send("/step C00002")
    await ewo.next_message()
    await tap(ewo, "Support plan")
    review = await tap(ewo, "Today")
    await tap(ewo, review.labels()[0])
    saved = await tap(ewo, "Save")
    assert saved.text.startswith("Saved: Support plan for N.H.")
    await ewo.send("/step C00001")
    assert (await ewo.next_message()).labels()  # a draft for Amelia is open
    await restrict(db, clock, amelia, "restriction")

    press = await ewo.press(step_texts.LABEL_CORRECT, message_id=saved.message_id)
    await ewo.answer_to(press)
    assert (await ewo.next_message()).text == step_texts.DRAFT_RESTRICTED
    correcting = await reply(ewo)  # Noah's step, to correct, at its summary
    assert correcting.text.startswith("Pathway step for N.H.")
    assert correcting.labels() == ["Save", "Change", "Cancel"]
    async def _snapshot(conn: Conn):
        return await conn.fetchall("SELECT pupil_id FROM conversations")
    assert [row["pupil_id"] for row in await db.read(_snapshot)] == [noah]
