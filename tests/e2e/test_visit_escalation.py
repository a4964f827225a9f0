"""Escalate and Safeguarding reach someone, or the recorder is told plainly that nobody
could be: through the stand-in and the real bot, delivered by the bot's own outbox job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.sandbox import FakeUser
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from tests.e2e.conftest import People, deliver
from tests.e2e.visit_helpers import officer, rows, tap
from tests.pg import backend_settings
from tests.storage.pupil_rows import Service

SAFEGUARDING = "Safeguarding concern – referred to DSL"
CONCERN = ("Safeguarding concern – referred to DSL: case C00001, A.H., Hillside Primary "
           "School. Recorded by SUP1 on 24/11/2026.")


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Settings:
    return backend_settings(  # type: ignore[no-any-return]
        request, tmp_path, backend, outbox_poll_seconds=3600)


async def own_pupil(db: Database, ref: str) -> int:
    """Amelia Hughes, allocated to `ref` (a supervisor's own caseload)."""
    holder = await officer(db, ref)
    async def _transaction(conn: Conn):
        service = Service(conn)
        amelia = await service.pupil("Amelia", "Hughes", officer=holder)
        await service.figures(amelia, 80, 100)
        return amelia
    amelia = await db.write(_transaction)
    return amelia


async def record_safeguarding(user: FakeUser) -> str:
    """A safeguarding visit from /visit to Save; returns the confirmation shown."""
    await user.send("/visit Amelia")
    await user.next_message()
    for label in ("Home visit", "Yesterday", "Parent/carer seen", "Illness", SAFEGUARDING,
                  "None", "Skip"):
        await tap(user, label)
    saved = await tap(user, "Save")
    assert saved.text is not None
    return saved.text


async def test_a_supervisors_own_concern_goes_to_every_other_supervisor(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    sup1 = await people.enrolled("SUP1", "supervisor")
    sup2 = await people.enrolled("SUP2", "supervisor")
    sup3 = await people.enrolled("SUP3", "supervisor")
    await people.add("SUP4", "supervisor")  # revoked below: not told
    await people.enrolled("EWO1", supervisor="SUP2")  # an officer: not told
    await db.write(officer_store.revoke, await officer(db, "SUP4"), now=clock.now())
    await own_pupil(db, "SUP1")

    confirmation = await record_safeguarding(sup1)
    assert confirmation.splitlines() == [
        "Saved: Home visit for A.H. on 24/11/2026. Next follow-up: None.",
        "Safeguarding concern – referred to DSL: you have no supervisor, so 2 other "
        "supervisors were told."]
    await deliver(running)
    for other in (sup2, sup3):
        pushed = await other.next_message()
        assert pushed.text == CONCERN
        # Not their team's pupil: a card button would only answer "No pupil of yours".
        assert pushed.labels() == []
    queued = await rows(db, "SELECT audience, status FROM outbox WHERE kind = 'escalation'"
                            " ORDER BY id")
    ids = [(await officer(db, ref)).id for ref in ("SUP2", "SUP3")]
    assert [tuple(row) for row in queued] == [(f"supervisor:{ids[0]}", "sent"),
                                               (f"supervisor:{ids[1]}", "sent")]


async def test_an_officers_concern_goes_to_their_supervisor(
        running: RunningBot, people: People, db: Database) -> None:
    sup1 = await people.enrolled("SUP1", "supervisor")
    sup2 = await people.enrolled("SUP2", "supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    await own_pupil(db, "EWO1")

    confirmation = await record_safeguarding(ewo)
    assert confirmation.splitlines()[1] == (
        "Safeguarding concern – referred to DSL: 1 person was told, your supervisor.")
    await deliver(running)
    pushed = await sup1.next_message()
    assert pushed.text == CONCERN.replace("SUP1", "EWO1")
    assert pushed.labels() == ["Open card"]  # their team's pupil: the card opens
    await sup1.press("Open card")
    assert (await sup1.next_message()).text.startswith("Read only: allocated to EWO1")
    await sup2.send("/help")  # the other supervisor was not told: /help is the next reply
    assert "/caseload" in (await sup2.next_message()).text


async def test_with_nobody_to_tell_the_recorder_is_sent_to_the_dsl(
        running: RunningBot, people: People, db: Database) -> None:
    sup1 = await people.enrolled("SUP1", "supervisor")
    await people.enrolled("EWO1")  # no supervisor, and not one to tell
    await own_pupil(db, "SUP1")

    confirmation = await record_safeguarding(sup1)
    assert confirmation.splitlines()[1] == (
        "Safeguarding concern – referred to DSL: nobody could be told, as you have no "
        "supervisor and there is no other supervisor. Contact the DSL directly.")
    sup_id = (await officer(db, "SUP1")).id
    queued = await rows(db, "SELECT audience, status, last_error FROM outbox"
                            " WHERE kind = 'escalation'")
    assert [tuple(row) for row in queued] == [
        (f"supervisor_of:{sup_id}", "undelivered", "no_recipient")]
    failed = await rows(db, "SELECT actor, reason FROM audit WHERE action = 'message_failed'")
    assert [tuple(row) for row in failed] == [("system", "no_recipient")]
    # Never a silent wait: the supervisor's own caseload counts it as undelivered.
    await deliver(running)
    await sup1.send("/caseload SUP1")
    detail = await sup1.next_message()
    assert re.search(r"undelivered[^\n\d]*1$", detail.text, re.IGNORECASE | re.MULTILINE), \
        detail.text


async def test_a_concern_whose_supervisor_has_left_goes_to_the_others(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    await people.add("SUP1", "supervisor")
    sup2 = await people.enrolled("SUP2", "supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    await db.write(officer_store.revoke, await officer(db, "SUP1"), now=clock.now())
    await own_pupil(db, "EWO1")

    confirmation = await record_safeguarding(ewo)
    assert confirmation.splitlines()[1] == (
        "Safeguarding concern – referred to DSL: you have no supervisor, so 1 other "
        "supervisor was told.")
    await deliver(running)
    pushed = await sup2.next_message()
    assert pushed.text == CONCERN.replace("SUP1", "EWO1") and pushed.labels() == []


async def test_a_concern_whose_supervisor_leaves_before_delivery_goes_to_the_others(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    await people.enrolled("SUP1", "supervisor")
    sup2 = await people.enrolled("SUP2", "supervisor")
    sup3 = await people.enrolled("SUP3", "supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    await own_pupil(db, "EWO1")
    await record_safeguarding(ewo)
    await db.write(officer_store.revoke, await officer(db, "SUP1"), now=clock.now())
    await deliver(running)
    await deliver(running)
    for other in (sup2, sup3):
        pushed = await other.next_message()
        assert pushed.text == CONCERN.replace("SUP1", "EWO1") and pushed.labels() == []
    queued = await rows(db, "SELECT status FROM outbox WHERE kind = 'escalation'")
    assert [row["status"] for row in queued] == ["sent", "sent"]
    entries = await rows(db, "SELECT reason FROM audit WHERE action = 'message_readdressed'")
    assert [row["reason"] for row in entries] == ["supervisor_left"]
