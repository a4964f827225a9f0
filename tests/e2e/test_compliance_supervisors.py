"""A supervisor whose DBS check or training has lapsed (CASEWORK.md §4, enforce): what
would reach them — escalations and alert copies about their team, their own pupils'
alerts, their weekly digest — goes to every other supervisor who is not lapsed, or to
the controllers when there is none (attendance alerts and reminders aside: those wait),
headed with why; nothing reaches the lapsed one."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage import compliance, outbox
from bot.storage import officers as officer_store
from bot.storage.compliance import ABOUT_CASES, LAPSED_SUPERVISOR
from bot.storage.db import Conn, Database
from tests.conftest import make_settings
from tests.e2e.conftest import People, deliver
from tests.e2e.test_compliance import record
from tests.e2e.test_visit_escalation import own_pupil, record_safeguarding

CURRENT, LAPSED = date(2026, 9, 1), date(2025, 10, 1)  # training valid 12 months


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, compliance="enforce", outbox_poll_seconds=3600)


async def officer_id(db: Database, ref: str) -> int:
    found = await db.read(officer_store.officer_by_ref, ref)
    assert found is not None
    return found.id


async def queue(db: Database, clock: FixedClock, kind: str, audience: str, text: str) -> None:
    async def _transaction(conn: Conn) -> None:
        await outbox.enqueue(conn, kind=kind, audience=audience,
                             payload={"text": text, "buttons": []}, now=clock.now())
    await db.write(_transaction)


async def readdressed(db: Database) -> list[tuple[str, str | None]]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall("SELECT target, reason FROM audit"
                                   " WHERE action = 'message_readdressed' ORDER BY seq")
    return [(row["target"], row["reason"]) for row in await db.read(_snapshot)]


async def test_a_lapsed_supervisors_messages_go_to_the_other_supervisors(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    sup1 = await people.enrolled("SUP1", role="supervisor")
    sup2 = await people.enrolled("SUP2", role="supervisor")
    sup3 = await people.enrolled("SUP3", role="supervisor")
    await people.enrolled("EWO1", supervisor="SUP1")
    for ref, trained in (("SUP1", LAPSED), ("SUP2", CURRENT), ("SUP3", LAPSED),
                         ("EWO1", CURRENT)):
        await record(db, clock, ref, training=trained)
    ewo1, sup1_id = await officer_id(db, "EWO1"), await officer_id(db, "SUP1")
    await queue(db, clock, "escalation", f"supervisor_of:{ewo1}", "Escalation: C00001")
    await queue(db, clock, "digest", f"supervisor:{sup1_id}", "Weekly caseload digest")
    await queue(db, clock, "alert", f"officer:{sup1_id}", "New attendance alerts: C00002")

    await deliver(running)
    note = LAPSED_SUPERVISOR.format(ref="SUP1")
    got = sorted([(await sup2.next_message()).text for _ in range(3)])
    assert got == sorted(f"{note}\n\n{text}" for text in (
        "Escalation: C00001", "Weekly caseload digest", "New attendance alerts: C00002"))
    assert sup1.history == [] and sup3.history == []  # SUP3 is lapsed too: nothing to them
    assert [reason for _target, reason in await readdressed(db)] == ["supervisor_lapsed"] * 3

    # New dates recorded: messages for SUP1 reach SUP1 again.
    await record(db, clock, "SUP1", training=clock.today())
    await queue(db, clock, "digest", f"supervisor:{sup1_id}", "Next week's digest")
    await deliver(running)
    assert (await sup1.next_message()).text == "Next week's digest"


async def test_with_no_other_supervisor_escalations_go_to_the_controllers_and_alerts_wait(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    sup1 = await people.enrolled("SUP1", role="supervisor")
    dpo = await people.enrolled("DPO1", role="controller")
    await people.enrolled("EWO1", supervisor="SUP1")
    for ref, trained in (("SUP1", LAPSED), ("DPO1", CURRENT), ("EWO1", CURRENT)):
        await record(db, clock, ref, training=trained)
    ewo1, sup1_id = await officer_id(db, "EWO1"), await officer_id(db, "SUP1")
    pupil_id = await own_pupil(db, "EWO1")  # C00001, Hillside Primary School
    async def _escalate(conn: Conn) -> None:
        # Queued before escalations had a form for the controllers: its text names the
        # pupil's initials, so the controllers get the case reference and school alone.
        await outbox.enqueue(conn, kind="escalation", audience=f"supervisor_of:{ewo1}",
                             payload={"text": "Escalation: C00001, A.H.", "buttons": []},
                             now=clock.now(), pupil_ids=[pupil_id])
    await db.write(_escalate)
    await queue(db, clock, "alert", f"supervisor_of:{ewo1}", "Copy for supervisor: C00002")
    await queue(db, clock, "reminder", f"officer:{sup1_id}", "Pathway reminder: C00003")

    await deliver(running)
    escalation = (f"{LAPSED_SUPERVISOR.format(ref='SUP1')}\n\n"
                  + ABOUT_CASES.format(cases="C00001, Hillside Primary School"))
    texts = [(await dpo.next_message()).text]
    if texts[0] != escalation:  # the start-up's daily compliance reminder may come first
        texts.append((await dpo.next_message()).text)
    assert texts[-1] == escalation
    # A controller sees no pupil's attendance: the alert copy and the reminder wait, for
    # SUP1 too while lapsed.
    assert not any("C00002" in m.text or "C00003" in m.text for m in dpo.history)
    assert all(not m.text.startswith("DBS checks") for m in sup1.history)
    assert sup1.history == []
    assert [reason for _target, reason in await readdressed(db)] == ["supervisor_lapsed"]

    await record(db, clock, "SUP1", training=clock.today())
    await deliver(running)
    got = sorted([(await sup1.next_message()).text for _ in range(2)])
    assert got == ["Copy for supervisor: C00002", "Pathway reminder: C00003"]
    assert not any("C00002" in m.text or "C00003" in m.text for m in dpo.history)


async def test_nothing_is_readdressed_when_no_supervisor_is_lapsed(
        people: People, db: Database, clock: FixedClock, settings: Settings) -> None:
    await people.add("SUP1", "supervisor")
    await record(db, clock, "SUP1", training=CURRENT)
    sup1_id = await officer_id(db, "SUP1")
    await queue(db, clock, "digest", f"supervisor:{sup1_id}", "Weekly caseload digest")
    blocked = await db.read(compliance.lapsed_ids, clock.today(),
                            compliance.rules_of(settings))
    assert await db.write(compliance.readdress_for_lapsed_supervisors, blocked,
                          clock.now()) == 0


async def test_what_is_readdressed_carries_no_button_the_others_cannot_use(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # The card of SUP1's team's pupil answered SUP2 "No pupil of yours matches", and the
    # digest's "Open caseload" opened SUP2's own team, not the one the digest was about.
    await people.enrolled("SUP1", role="supervisor")
    sup2 = await people.enrolled("SUP2", role="supervisor")
    await people.enrolled("EWO1", supervisor="SUP1")
    for ref, trained in (("SUP1", LAPSED), ("SUP2", CURRENT), ("EWO1", CURRENT)):
        await record(db, clock, ref, training=trained)
    ewo1, sup1_id = await officer_id(db, "EWO1"), await officer_id(db, "SUP1")
    async def _transaction(conn: Conn) -> None:
        for kind, audience, button in (
                ("escalation", f"supervisor_of:{ewo1}", ["Open card", "card:1"]),
                ("digest", f"supervisor:{sup1_id}", ["Open caseload", "cl:page:0"])):
            await outbox.enqueue(conn, kind=kind, audience=audience, now=clock.now(),
                                 payload={"text": kind, "buttons": [button]})
    await db.write(_transaction)
    await deliver(running)
    got = [await sup2.next_message() for _ in range(2)]
    assert sorted(message.text.split("\n\n")[-1] for message in got) == ["digest",
                                                                         "escalation"]
    assert [message.labels() for message in got] == [[], []]


@pytest.mark.parametrize("supervised", [True, False])
async def test_a_concern_readdressed_to_the_controllers_names_no_pupil(
        running: RunningBot, people: People, db: Database, clock: FixedClock,
        supervised: bool) -> None:
    # A controller sees case references, schools and dates only (PRODUCT.md, Who sees
    # what): the concern reached them with the pupil's initials. Whether the recorder's
    # own supervisor is lapsed, or the recorder has none and the only other supervisor
    # is lapsed, the controllers get it without them.
    sup1 = await people.enrolled("SUP1", role="supervisor")
    dpo = await people.enrolled("DPO1", role="controller")
    ewo = await people.enrolled("EWO1", supervisor="SUP1" if supervised else None)
    for ref, trained in (("SUP1", LAPSED), ("DPO1", CURRENT), ("EWO1", CURRENT)):
        await record(db, clock, ref, training=trained)
    await own_pupil(db, "EWO1")

    await record_safeguarding(ewo)
    await deliver(running)
    concern = (f"{LAPSED_SUPERVISOR.format(ref='SUP1')}\n\nSafeguarding concern – referred "
               "to DSL: case C00001, Hillside Primary School. Recorded by EWO1 on 24/11/2026.")
    pushed = await dpo.next_message()
    if pushed.text.startswith("DBS checks"):  # the start-up's daily compliance reminder
        pushed = await dpo.next_message()
    assert pushed.text == concern and pushed.labels() == []
    assert not any("A.H." in message.text for message in dpo.history)
    assert sup1.history == []
    stored = await db.read(outbox.rows, kind="escalation")
    assert all("A.H." not in json.dumps(row.payload, ensure_ascii=False) for row in stored)
