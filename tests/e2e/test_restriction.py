"""A restricted record in the chat (CASEWORK.md §3): stored and nothing else.

Officers and supervisors get one fixed text in place of the card, the details and a
visit, by command, by typed name and by every button; lists keep the pupil's name and
reference with a marker; each refusal is audited; lifting the restriction restores.
"""

from __future__ import annotations

import pytest

from bot.chat.restriction import RESTRICTED
from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.storage import officers as officer_store
from bot.storage import rights
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.e2e.conftest import PIN, People
from tests.e2e.retention_files import upn
from tests.storage.pupil_rows import Service


async def officer(db: Database, ref: str) -> Officer:
    found = await db.read(officer_store.officer_by_ref, ref)
    assert found is not None
    return found


async def restrict(db: Database, clock: FixedClock, pupil_id: int, kind: str) -> int:
    async def _transaction(conn: Conn) -> int:
        return await rights.record(conn, pupil_id, kind, clock.today(), actor="os:dpo",
                                   now=clock.now())
    return await db.write(_transaction)


async def refusals(db: Database) -> list[tuple[str, str, str | None, str]]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT actor, action, target, reason FROM audit WHERE reason = 'restricted'"
            " ORDER BY seq")
    return [(r["actor"], r["action"], r["target"], r["reason"]) for r in await db.read(_snapshot)]


async def team(people: People, db: Database) -> tuple[object, object, int, int]:
    """EWO1 (supervised by SUP1) with Amelia (to be restricted) and Noah."""
    sup = await people.enrolled("SUP1", role="supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn) -> tuple[int, int]:
        service = Service(conn)
        amelia = await service.pupil("Amelia", "Hughes", officer=ann, upn=upn(1))
        noah = await service.pupil("Noah", "Hughes", officer=ann, upn=upn(2))
        return amelia, noah
    amelia, noah = await db.write(_transaction)
    return ewo, sup, amelia, noah


async def test_an_officer_gets_the_fixed_text_for_card_details_and_visit(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    ewo, _sup, amelia, _noah = await team(people, db)
    await ewo.send("/pupil C00001")
    card = await ewo.next_message()  # before the restriction: the card and its buttons
    assert card.text.startswith("Amelia Hughes (C00001)")
    await restrict(db, clock, amelia, "restriction")

    await ewo.send("/pupil C00001")
    assert (await ewo.next_message()).text == RESTRICTED
    await ewo.send("amelia")
    assert (await ewo.next_message()).text == RESTRICTED
    await ewo.send("/visit amelia")
    assert (await ewo.next_message()).text == RESTRICTED
    for label in ("Contacts & needs", "Record visit"):
        press = await ewo.press(label, message_id=card.message_id)
        assert await ewo.answer_to(press) == RESTRICTED
    press = await ewo.press_data(f"pick:{amelia}", card.message_id)
    assert await ewo.answer_to(press) == RESTRICTED

    await ewo.send("/pupils")  # listed by name and reference, with the marker only
    listing = await ewo.next_message()
    assert listing.text.splitlines()[1:] == [
        "1. Amelia Hughes (C00001) — restricted",
        "2. Noah Hughes (C00002) — Hillside Primary School, Yr 5 — n/a"]
    press = await ewo.press("1. Amelia Hughes")
    assert await ewo.answer_to(press) == RESTRICTED
    await ewo.send("hughes")  # a search result carries the marker
    choice = await ewo.next_message()
    assert "Amelia Hughes (C00001) — restricted" in choice.labels()

    entries = await refusals(db)
    assert [action for _, action, _, _ in entries] == [
        "refused:pupil_card", "refused:pupil_card", "refused:visit", "refused:pupil_details",
        "refused:visit", "refused:pupil_card", "refused:pupil_card"]
    assert {(actor, target) for actor, _, target, _ in entries} == {
        ("officer:EWO1", f"pupil:{amelia}")}


async def test_a_supervisor_gets_the_fixed_text_and_other_pupils_still_show(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    _ewo, sup, amelia, _noah = await team(people, db)
    await restrict(db, clock, amelia, "objection")  # an objection restricts while decided
    await sup.send("/pupil C00001")
    assert (await sup.next_message()).text == RESTRICTED
    message = await sup.send("/pupil C00002")
    assert (await sup.next_message()).text.startswith("Read only: allocated to EWO1")
    for data in (f"card:{amelia}", f"det:{amelia}"):
        press = await sup.press_data(data, message)
        assert await sup.answer_to(press) == RESTRICTED
    assert [(actor, action) for actor, action, _, _ in await refusals(db)] == [
        ("officer:SUP1", "refused:pupil_card"), ("officer:SUP1", "refused:pupil_card"),
        ("officer:SUP1", "refused:pupil_details")]


async def test_a_visit_draft_cannot_be_saved_once_the_record_is_restricted(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    ewo, _sup, amelia, _noah = await team(people, db)
    await ewo.send("/visit amelia")
    prompt = await ewo.next_message()  # the type step, for Amelia
    assert prompt.labels()
    await restrict(db, clock, amelia, "restriction")
    press = await ewo.press(prompt.labels()[0])
    assert await ewo.answer_to(press) == RESTRICTED
    async def _snapshot(conn: Conn) -> int:
        return int(await conn.fetchval("SELECT count(*) FROM visits"))
    assert await db.read(_snapshot) == 0


async def test_lifting_the_restriction_restores_the_card(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    ewo, _sup, amelia, _noah = await team(people, db)
    request = await restrict(db, clock, amelia, "restriction")
    async def _uphold(conn: Conn) -> None:
        await rights.decide(conn, request, uphold=True, reason="request_valid", statement=None,
                            actor="os:dpo", now=clock.now())
    await db.write(_uphold)
    await ewo.send("/pupil C00001")
    assert (await ewo.next_message()).text == RESTRICTED  # upheld: kept until lifted
    async def _lift(conn: Conn) -> None:
        await rights.lift(conn, upn(1), actor="os:dpo", now=clock.now())
    await db.write(_lift)
    await ewo.send("/pupil C00001")
    card = await ewo.next_message()
    assert card.text.startswith("Amelia Hughes (C00001)")
    assert card.labels() == ["Contacts & needs", "Case", "Record visit"]


async def test_an_upheld_rectification_with_a_statement_is_flagged_on_the_card(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    ewo, _sup, amelia, _noah = await team(people, db)
    request = await restrict(db, clock, amelia, "rectification")
    await ewo.send("/pupil C00001")
    assert "Statement on file" not in (await ewo.next_message()).text
    async def _uphold(conn: Conn) -> None:
        await rights.decide(conn, request, uphold=True, reason="data_inaccurate",
                            statement="The address was the family's previous one.",
                            actor="os:dpo", now=clock.now())
    await db.write(_uphold)
    await ewo.send("/pupil C00001")
    card = (await ewo.next_message()).text.splitlines()
    assert card[card.index("SEN: no · Health needs: no") + 1] == "Statement on file"


async def test_after_the_pin_a_draft_about_a_restricted_record_is_not_named(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    ewo, _sup, amelia, _noah = await team(people, db)
    await ewo.send("/visit amelia")
    await ewo.next_message()  # a draft for Amelia is open
    await restrict(db, clock, amelia, "restriction")
    await ewo.send("/lock")
    await ewo.next_message()
    await ewo.send("/pupils")
    assert (await ewo.next_message()).text == "Locked — send your PIN."
    await ewo.send(PIN)
    assert (await ewo.next_message()).text == "Unlocked."
    # No reminder naming the draft's pupil; the kept /pupils goes on.
    assert (await ewo.next_message()).text.startswith("My pupils (2)")


@pytest.mark.parametrize("command", ["/step", "/share"])
async def test_no_pathway_step_or_sharing_can_be_started_for_a_restricted_record(
        running: RunningBot, people: People, db: Database, clock: FixedClock,
        command: str) -> None:
    ewo, _sup, amelia, _noah = await team(people, db)
    await restrict(db, clock, amelia, "objection")

    await ewo.send(f"{command} amelia")
    assert (await ewo.next_message()).text == RESTRICTED
    await ewo.send(f"{command} C00002")  # Noah's record is not restricted: the flow starts
    assert (await ewo.next_message()).text != RESTRICTED
    assert [target for _actor, _action, target, _reason in await refusals(db)] == [
        f"pupil:{amelia}"]
