"""The request kept while locked holds references, never the words typed: a pupil's
name typed while locked never reaches the database, disposal removes every kept
request naming the pupil, the subject-access export shows them, and after the PIN
the request still goes on, re-authorised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import access, kept, visit
from bot.handlers import pupils as pupil_handlers
from bot.harness import RunningBot
from bot.sandbox import FakeUser
from bot.settings import Settings
from bot.storage import audit, sar
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from tests.e2e.conftest import PIN, People
from tests.e2e.retention_files import CANARY_FIRST, CANARY_LAST, import_service, upn
from tests.e2e.test_retention import edited
from tests.e2e.visit_helpers import PRESSES, STEPS, tap
from tests.pg import database_files
from tests.storage.pupil_rows import Service


@pytest.fixture
async def officer(running: RunningBot, people: People, db: Database, settings: Settings,
                  tmp_path: Path) -> FakeUser:
    """EWO1, enrolled, with the canary pupil (pupil 1, case C00001) allocated."""
    user = await people.enrolled("EWO1")
    await import_service(db, settings, tmp_path)
    return user


async def lock(user: FakeUser) -> None:
    await user.send("/lock")
    assert (await user.next_message()).text == access.LOCKED_NOW


async def send_locked(user: FakeUser, text: str) -> None:
    await user.send(text)
    assert (await user.next_message()).text == access.LOCKED_PROMPT


async def unlock(user: FakeUser) -> None:
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED


async def kept_rows(db: Database) -> tuple[list[str], list[tuple[int, int]]]:
    async def _snapshot(conn: Conn):
        requests = [row[0] for row in await conn.fetchall(
            "SELECT pending_update FROM sessions WHERE pending_update IS NOT NULL")]
        named = [tuple(row) for row in await conn.fetchall(
            "SELECT officer_id, pupil_id FROM kept_request_pupils ORDER BY 1, 2")]
        return named, requests
    named, requests = await db.read(_snapshot)
    return requests, named


def traces(settings: Settings, text: str) -> int:
    return sum(path.read_bytes().count(text.encode()) for path in database_files(settings))


async def marker(user: FakeUser) -> None:
    """Shows nothing more was sent: /help is always answered, in order."""
    await user.send("/help")
    assert "/pupil" in (await user.next_message()).text


async def test_a_name_typed_while_locked_is_kept_as_a_reference_and_goes_on(
        officer: FakeUser, db: Database) -> None:
    await lock(officer)
    await send_locked(officer, f"{CANARY_FIRST} {CANARY_LAST}")
    requests, named = await kept_rows(db)
    assert named == [(1, 1)]  # EWO1's kept request names pupil 1
    assert len(requests) == 1
    assert CANARY_FIRST not in requests[0] and CANARY_LAST not in requests[0]
    assert json.loads(requests[0])["pupils"] == [1]
    await unlock(officer)
    card = await officer.next_message()
    assert card.text.splitlines()[0] == f"{CANARY_FIRST} {CANARY_LAST} (C00001)"
    assert await kept_rows(db) == ([], [])
    async def _snapshot(conn: Conn):
        return (await audit.entries(conn, targets=("pupil:1",)))[-1]
    entry = await db.read(_snapshot)
    assert (entry.action, entry.reason) == ("pupil_card", "search")


async def test_disposal_removes_the_kept_request_and_leaves_no_trace(
        officer: FakeUser, people: People, db: Database, settings: Settings) -> None:
    controller = await people.enrolled("DPO1", "controller")
    await lock(officer)
    await send_locked(officer, f"/pupil {CANARY_LAST}")
    await controller.send("/retention")
    await controller.next_message()
    await controller.press("Dispose C00001")
    await controller.next_message()
    await controller.press("Yes, dispose")
    assert (await edited(controller)).text == "C00001 has been disposed of."
    assert await kept_rows(db) == ([], [])
    assert traces(settings, CANARY_LAST) == 0  # nothing readable in the database files
    await unlock(officer)
    await marker(officer)  # nothing was replayed: the request named the pupil disposed of


async def test_a_kept_search_is_re_authorised_after_the_pin(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")
    await people.add("EWO2")
    async def _transaction2(conn: Conn):
        ewo1 = await officer_store.officer_by_ref(conn, "EWO1")
        assert ewo1 is not None
        service = Service(conn)
        ids = [await service.pupil(first, "Hughes", officer=ewo1)
               for first in ("Amelia", "Noah", "Zara")]
        return ewo1, ids
    ewo1, ids = await db.write(_transaction2)
    await lock(user)
    await send_locked(user, "Hughes")
    assert (await kept_rows(db))[1] == [(ewo1.id, pupil_id) for pupil_id in ids]
    # Noah is allocated to another officer before the PIN: he is no longer listed.
    async def _transaction(conn: Conn) -> None:
        await conn.execute("UPDATE allocations SET officer_id ="
                           " (SELECT id FROM officers WHERE ref = 'EWO2') WHERE pupil_id = ?",
                           (ids[1],))
    await db.write(_transaction)
    await unlock(user)
    choice = await user.next_message()
    assert choice.text == pupil_handlers.CHOOSE.format(count=2)
    assert [label.split(" (")[0] for label in choice.labels()] == ["Amelia Hughes",
                                                                    "Zara Hughes"]


async def test_a_kept_card_press_for_a_pupil_no_longer_allocated_is_refused(
        officer: FakeUser, db: Database) -> None:
    await lock(officer)
    await send_locked(officer, CANARY_LAST)
    async def _transaction(conn: Conn) -> None:
        await conn.execute("DELETE FROM allocations WHERE pupil_id = 1")
    await db.write(_transaction)
    await unlock(officer)
    assert (await officer.next_message()).text == pupil_handlers.NOT_FOUND
    async def _snapshot(conn: Conn):
        return (await audit.entries(conn, targets=("pupil:1",)))[-1]
    entry = await db.read(_snapshot)
    assert (entry.action, entry.reason) == ("refused:pupil_card", "not_visible")


async def test_the_subject_access_export_shows_a_kept_request(
        officer: FakeUser, db: Database, settings: Settings, clock: FixedClock,
        tmp_path: Path) -> None:
    await lock(officer)
    await send_locked(officer, CANARY_FIRST)
    out = tmp_path / "export.json"
    await sar.export_subject_access(db, settings, upn(1), actor="os:test", now=clock.now(),
                                    out=out)
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert [{key: value for key, value in kept.items() if key != "kept_until"}
            for kept in exported["kept_requests"]] == [
        {"officer_ref": "EWO1", "kind": "search", "via": "search"}]


async def test_an_answer_typed_while_locked_waits_in_the_draft_not_the_session(
        officer: FakeUser, db: Database) -> None:
    await officer.send("/visit")
    await officer.next_message()
    # Each press answered: the bot has written the draft and shown the next step.
    for _, label in [(flow.PUPIL, f"{CANARY_FIRST} {CANARY_LAST}"),
                     *PRESSES[1:STEPS.index(flow.NOTES)]]:
        shown = await tap(officer, label)
    assert shown.text is not None and shown.text.endswith(visit.QUESTIONS[flow.NOTES])
    await lock(officer)
    await send_locked(officer, f"Spoke to {CANARY_LAST} senior.")
    requests, named = await kept_rows(db)
    assert named == [(1, 1)] and CANARY_LAST not in requests[0]
    async def _snapshot(conn: Conn):
        return await conn.fetchone("SELECT step, data FROM conversations")
    draft = await db.read(_snapshot)
    assert draft["step"] == flow.NOTES
    assert json.loads(draft["data"])[kept.KEPT_ANSWER] == f"Spoke to {CANARY_LAST} senior."


async def test_text_no_reference_will_do_for_is_asked_again(
        running: RunningBot, people: People) -> None:
    controller = await people.enrolled("DPO1", "controller")
    await lock(controller)
    await send_locked(controller, "Zebediah Quuxworth's file please")
    await unlock(controller)
    assert (await controller.next_message()).text == kept.SEND_AGAIN


@pytest.mark.parametrize("typed", [upn(1), f"{upn(1)[:4]} {upn(1)[4:8]} {upn(1)[8:]}".lower()])
async def test_a_sar_kept_while_locked_keeps_the_pupils_id_not_the_upn(
        officer: FakeUser, people: People, db: Database, settings: Settings,
        typed: str) -> None:
    controller = await people.enrolled("DPO1", "controller")
    await lock(controller)
    await send_locked(controller, f"/sar {typed}")  # typed in groups too, as on a form
    requests, named = await kept_rows(db)
    assert typed not in requests[0] and [pupil for _, pupil in named] == [1]
    await unlock(controller)
    reply = await controller.next_message()
    assert reply.text.startswith("Subject-access export written on the server: sar-C00001-")
    assert list(settings.export_dir.glob("sar-C00001-*.json"))


async def test_visit_with_one_match_kept_while_locked_starts_the_visit(
        officer: FakeUser, db: Database) -> None:
    await lock(officer)
    await send_locked(officer, f"/visit {CANARY_LAST}")
    requests, _ = await kept_rows(db)
    assert json.loads(requests[0])["data"] == "v:new:1"
    await unlock(officer)
    step = await officer.next_message()
    assert step.text.endswith(visit.QUESTIONS[flow.TYPE])  # straight to the type step
    async def _snapshot(conn: Conn) -> None:
        assert await conn.fetchval("SELECT pupil_id FROM conversations") == 1
    await db.read(_snapshot)


@pytest.mark.parametrize(("command", "header"), [("/step", "Pathway step for Z.Q. (C00001)"),
                                                 ("/share", "Sharing decision for Z.Q. (C00001)")])
async def test_step_and_share_with_one_match_kept_while_locked_start_for_that_pupil(
        officer: FakeUser, db: Database, command: str, header: str) -> None:
    await lock(officer)
    await send_locked(officer, f"{command} {CANARY_LAST}")
    requests, named = await kept_rows(db)
    assert named == [(1, 1)] and CANARY_LAST not in requests[0]
    await unlock(officer)
    shown = await officer.next_message()
    # The request goes on as it was made: about that pupil, not at the pupil step.
    assert shown.text.splitlines()[0] == header
    async def _snapshot(conn: Conn) -> None:
        assert await conn.fetchval("SELECT pupil_id FROM conversations") == 1
    await db.read(_snapshot)


@pytest.mark.parametrize("command", ["/step", "/share"])
async def test_step_and_share_matching_none_while_locked_are_asked_again(
        officer: FakeUser, db: Database, command: str) -> None:
    await lock(officer)
    await send_locked(officer, f"{command} Nobodyhere")
    await unlock(officer)
    assert (await officer.next_message()).text == kept.SEND_AGAIN
