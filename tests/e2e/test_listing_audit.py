"""Every list of pupils shown in the chat is audited: one entry per list, naming each pupil
shown by reference (never by name), so a pupil's subject-access export shows who saw
them in a list. The chain still verifies."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from bot.clock import FixedClock
from bot.handlers import pupils as pupil_handlers
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage import audit, sar
from bot.storage import officers as officer_store
from bot.storage.audit import AuditEntry
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.e2e.conftest import People
from tests.e2e.retention_files import upn
from tests.storage.pupil_rows import Service


async def officer(db: Database, ref: str) -> Officer:
    found = await db.read(officer_store.officer_by_ref, ref)
    assert found is not None
    return found


async def listings(db: Database) -> list[AuditEntry]:
    async def _snapshot(conn: Conn):
        return [entry for entry in await audit.entries(conn)
                if entry.action in (audit.LISTING, "caseload")]
    return await db.read(_snapshot)


async def about(db: Database, pupil_id: int) -> list[AuditEntry]:
    return await db.read(audit.entries, targets=(f"pupil:{pupil_id}",))


async def chain_verifies(db: Database) -> bool:
    async def _snapshot(conn: Conn):
        return (await audit.verify(conn)).ok
    return await db.read(_snapshot)


def refs(*pupil_ids: int) -> list[str]:
    return [f"pupil:{pupil_id}" for pupil_id in pupil_ids]


async def test_each_pupils_page_is_one_entry_naming_the_pupils_on_it(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn):
        service = Service(conn)
        return [await service.pupil(f"Pupil{n:02d}", "Quill", officer=ann) for n in range(12)]
    ids = await db.write(_transaction)
    await user.send("/pupils")
    await user.next_message()
    press = await user.press(pupil_handlers.NEXT)
    assert await user.answer_to(press) is None  # answered once the page was shown
    entries = await listings(db)
    assert [(e.actor, e.action, e.reason, e.target) for e in entries] == [
        ("officer:EWO1", "pupil_list", "pupils_command", None),
        ("officer:EWO1", "pupil_list", "list_button", None)]
    shown_first = set(entries[0].detail["targets"])
    shown_second = set(entries[1].detail["targets"])
    assert len(shown_first) == 10 and len(shown_second) == 2
    assert shown_first | shown_second == set(refs(*ids))
    assert "Quill" not in json.dumps([e.detail for e in entries])  # references, never names
    # A pupil on the second page finds that entry among those about them.
    second_page_pupil = int(sorted(shown_second)[0].split(":")[1])
    assert [e.seq for e in await about(db, second_page_pupil)] == [entries[1].seq]
    assert await chain_verifies(db)


async def test_search_results_and_pupil_command_lists_are_audited(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn):
        service = Service(conn)
        hughes = [await service.pupil(first, "Hughes", officer=ann)
                  for first in ("Amelia", "Noah")]
        await service.pupil("Zoë", "Quill", officer=ann)
        return hughes
    hughes = await db.write(_transaction)
    await user.send("Hughes")
    assert (await user.next_message()).text == pupil_handlers.CHOOSE.format(count=2)
    await user.send("/pupil hughes")
    await user.next_message()
    entries = await listings(db)
    assert [(e.action, e.reason, sorted(e.detail["targets"])) for e in entries] == [
        ("pupil_list", "search", refs(*hughes)), ("pupil_list", "pupil_command", refs(*hughes))]
    assert await chain_verifies(db)


async def test_a_supervisors_list_with_team_pupils_is_audited_as_supervision(
        running: RunningBot, people: People, db: Database) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    async def _transaction(conn: Conn):
        service = Service(conn)
        ewo = await service.officer("EWO1", supervisor="SUP1")
        own = await service.pupil("Amy", "Own", officer=await officer_store.officer_by_ref(
            conn, "SUP1"))
        team = await service.pupil("Amy", "Team", officer=ewo)
        return own, team
    own, team = await db.write(_transaction)
    await sup.send("Amy")
    await sup.next_message()
    [entry] = await listings(db)
    assert (entry.reason, entry.detail["via"], sorted(entry.detail["targets"])) == (
        "supervision", "search", refs(own, team))


async def test_due_is_one_entry_naming_the_pupils_listed(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    today = clock.today()
    async def _transaction(conn: Conn):
        service = Service(conn)
        late = await service.pupil("Amelia", "Hughes", officer=ann)
        await service.visit(late, ann, today - timedelta(days=9),
                            follow_up=today - timedelta(days=2))
        later = await service.pupil("Noah", "Hughes", officer=ann)
        await service.visit(later, ann, today - timedelta(days=3), follow_up=today)
        not_due = await service.pupil("Zoë", "Quill", officer=ann)
        await service.visit(not_due, ann, today, follow_up=today + timedelta(days=7))
        return late, later
    late, later = await db.write(_transaction)
    await user.send("/due")
    assert "Amelia Hughes" in (await user.next_message()).text
    [entry] = await listings(db)
    assert (entry.actor, entry.action, entry.reason) == ("officer:EWO1", "pupil_list",
                                                         "due_command")
    assert sorted(entry.detail["targets"]) == refs(late, later)
    assert await chain_verifies(db)


async def test_retention_pages_name_the_records_listed(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    controller = await people.enrolled("DPO1", "controller")
    async def _transaction(conn: Conn):
        old = await Service(conn).pupil("Amelia", "Hughes", officer=None)
        await conn.execute("UPDATE pupils SET last_imported = '2024-03-01' WHERE id = ?", (old,))
        return old
    old = await db.write(_transaction)
    await controller.send("/retention")
    await controller.next_message()
    [entry] = await listings(db)
    assert (entry.actor, entry.reason, entry.detail["targets"]) == (
        "officer:DPO1", "retention_review", refs(old))


async def test_the_subject_access_export_shows_who_saw_the_pupil_in_a_list(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn):
        service = Service(conn)
        amelia = await service.pupil("Amelia", "Hughes", officer=ann, upn=upn(7))
        await service.pupil("Noah", "Hughes", officer=ann, upn=upn(8))
        return amelia
    amelia = await db.write(_transaction)
    await user.send("/pupils")
    await user.next_message()
    out = tmp_path / "export.json"
    await sar.export_subject_access(db, settings, upn(7), actor="os:test", now=clock.now(),
                                    out=out)
    exported = json.loads(out.read_text(encoding="utf-8"))
    listed = [entry for entry in exported["audit"] if entry["action"] == "pupil_list"]
    assert [(e["actor"], e["reason"]) for e in listed] == [("officer:EWO1", "pupils_command")]
    assert f"pupil:{amelia}" in listed[0]["detail"]["targets"]
    assert await chain_verifies(db)


def test_a_listing_entry_keeps_its_targets_in_the_hashed_detail() -> None:
    entry = audit.listing(actor="officer:EWO1", reason="search", pupil_ids=[3, 1, 3],
                          detail={"page": 1})
    assert entry.stored_detail() == '{"page":1,"targets":["pupil:3","pupil:1"]}'


async def test_the_visits_pupil_step_lists_are_audited(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn):
        service = Service(conn)
        hughes = [await service.pupil(first, "Hughes", officer=ann)
                  for first in ("Amelia", "Noah")]
        quill = await service.pupil("Zoë", "Quill", officer=ann)
        return hughes, quill
    hughes, quill = await db.write(_transaction)
    await user.send("/visit")  # the most urgent pupils to choose from
    await user.next_message()
    await user.send("Hughes")  # several match: a shorter list
    await user.next_message()
    entries = await listings(db)
    assert [(e.reason, sorted(e.detail["targets"])) for e in entries] == [
        ("visit_command", sorted(refs(*hughes, quill))), ("visit_command", refs(*hughes))]
