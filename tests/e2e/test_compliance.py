"""Officers' compliance in the chat (CASEWORK.md §4): with EWO_COMPLIANCE=enforce a
person whose training or DBS check has lapsed can use only /help and their pupils'
alerts go to their supervisor; with warn they carry on and are told."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.chat.compliance import BLOCKED, WARNING, YOUR_SUPERVISOR
from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.jobs.outbox import FORWARDED_LAPSED
from bot.settings import Settings
from bot.storage import compliance
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from tests.conftest import make_settings
from tests.e2e.conftest import PIN, People, deliver
from tests.e2e.test_alert_imports import import_file, write_service

LAPSED = "training lapsed 01/10/2026"  # completed 01/10/2025, valid 12 months


@pytest.fixture(params=["enforce"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path, mode: str) -> Settings:
    return make_settings(tmp_path, compliance=mode, outbox_poll_seconds=3600)


async def record(db: Database, clock: FixedClock, ref: str, *, training: date) -> None:
    async def _transaction(conn: Conn) -> None:
        officer = await officer_store.officer_by_ref(conn, ref)
        assert officer is not None
        await compliance.set_dates(conn, officer, dbs=date(2025, 1, 6), training=training,
                                   actor="os:admin", now=clock.now())
    await db.write(_transaction)


async def audited(db: Database, actor: str) -> list[tuple[str, str]]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall("SELECT action, reason FROM audit WHERE actor = ?"
                                   " AND reason = 'compliance' ORDER BY seq", (actor,))
    return [(row["action"], row["reason"]) for row in await db.read(_snapshot)]


async def service_with_a_lapsed_officer(people: People, db: Database, settings: Settings,
                                        clock: FixedClock, tmp_path: Path):
    sup = await people.enrolled("SUP1", role="supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    await record(db, clock, "SUP1", training=date(2026, 9, 1))
    await record(db, clock, "EWO1", training=date(2025, 10, 1))
    files = write_service(tmp_path, "EWO1")
    for kind in ("pupils", "allocations"):
        await import_file(db, settings, kind, files[kind], clock)
    return sup, ewo, files


async def test_a_lapsed_officer_can_use_only_help_and_their_alerts_go_to_the_supervisor(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    sup, ewo, files = await service_with_a_lapsed_officer(people, db, settings, clock,
                                                          tmp_path)
    blocked = BLOCKED.format(what=LAPSED, whom=YOUR_SUPERVISOR)
    for text in ("/pupils", "Amelia", "/visit", "/lock"):
        await ewo.send(text)
        assert (await ewo.next_message()).text == blocked
    message = await ewo.send("/help")
    assert (await ewo.next_message()).text == blocked
    press = await ewo.press_data("card:1", message)
    assert await ewo.answer_to(press) == blocked
    assert await audited(db, "officer:EWO1") == [
        ("refused:pupils", "compliance"), ("refused:message", "compliance"),
        ("refused:visit", "compliance"), ("refused:lock", "compliance"),
        ("refused:button", "compliance")]

    # The import's alert about EWO1's pupil reaches the supervisor, saying why.
    await import_file(db, settings, "attendance", files["attendance"], clock)
    await deliver(running)
    alert = await sup.next_message()
    assert alert.text.startswith(FORWARDED_LAPSED.format(ref="EWO1"))
    assert "A.H." in alert.text
    assert ewo.history[-1].text == blocked  # nothing more came to EWO1

    # New dates recorded: EWO1 works again.
    await record(db, clock, "EWO1", training=clock.today())
    await ewo.send("/pupils")
    assert (await ewo.next_message()).text.startswith("My pupils (2)")


async def test_the_supervisor_is_not_blocked_and_sees_the_officers_pupils(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    sup, _ewo, _files = await service_with_a_lapsed_officer(people, db, settings, clock,
                                                           tmp_path)
    await sup.send("Amelia")
    assert (await sup.next_message()).text.startswith("Read only: allocated to EWO1")


async def test_after_the_pin_a_lapsed_officer_is_told_and_nothing_kept_goes_on(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    _sup, ewo, _files = await service_with_a_lapsed_officer(people, db, settings, clock,
                                                           tmp_path)
    clock.advance(timedelta(minutes=settings.session_idle_minutes * 2))
    await ewo.send("/pupils")
    assert (await ewo.next_message()).text.startswith("Locked")
    await ewo.send(PIN)
    assert (await ewo.next_message()).text == "Unlocked."
    assert (await ewo.next_message()).text == BLOCKED.format(what=LAPSED, whom=YOUR_SUPERVISOR)
    await ewo.send("/help")  # the kept /pupils did not go on: /help is the next answer
    assert (await ewo.next_message()).text == BLOCKED.format(what=LAPSED, whom=YOUR_SUPERVISOR)


@pytest.mark.parametrize("mode", ["warn"], indirect=True)
async def test_with_warn_a_lapsed_officer_carries_on_and_is_told_on_help(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    sup, ewo, files = await service_with_a_lapsed_officer(people, db, settings, clock,
                                                          tmp_path)
    await ewo.send("/pupils")
    assert (await ewo.next_message()).text.startswith("My pupils (2)")
    await ewo.send("/help")
    help_text = (await ewo.next_message()).text
    assert help_text.startswith(WARNING.format(what=LAPSED, whom=YOUR_SUPERVISOR) + "\n\n/pupils")
    await import_file(db, settings, "attendance", files["attendance"], clock)
    await deliver(running)
    assert "A.H." in (await ewo.next_message()).text  # the alert comes to EWO1 as before
    await sup.send("/help")
    assert (await sup.next_message()).text.startswith("/caseload")  # SUP1 is current


# CASEWORK.md §4: /help says why and whom to ask: whoever is reminded about the
# person's dates. An officer asks their supervisor; an officer without one (or whose
# supervisor's access has ended), a supervisor or a controller asks the controllers, as
# the reminders about them go to every controller.
ASKS = {"officer": "Ask your supervisor", "no_supervisor": "Ask a controller",
        "supervisor_revoked": "Ask a controller", "supervisor": "Ask a controller",
        "controller": "Ask another controller"}


@pytest.mark.parametrize("mode", ["enforce", "warn"], indirect=True)
@pytest.mark.parametrize("role", list(ASKS))
async def test_a_lapsed_person_is_told_to_ask_whoever_is_reminded_about_them(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, mode: str, role: str) -> None:
    await people.enrolled("SUP1", role="supervisor")
    is_officer = role in ("officer", "no_supervisor", "supervisor_revoked")
    user = await people.enrolled("P1", role="officer" if is_officer else role,
                                 supervisor="SUP1" if role in ("officer", "supervisor_revoked")
                                 else None)
    await record(db, clock, "SUP1", training=date(2026, 9, 1))
    await record(db, clock, "P1", training=date(2025, 10, 1))
    if role == "supervisor_revoked":
        await db.write(lambda conn: conn.execute(
            "UPDATE officers SET status = 'revoked' WHERE ref = 'SUP1'"))
    await user.send("/help")
    told = (await user.next_message()).text.split("\n\n")[0]
    assert told.startswith({"enforce": "Only /help is open to you: ",
                            "warn": "Please note: "}[mode] + LAPSED + ". ")
    assert told.endswith(f"{ASKS[role]} to have it renewed and the new date recorded.")
    # ...and the reminders on the day it lapsed went there.
    person = await db.read(officer_store.officer_by_ref, "P1")
    assert person is not None
    reminders = await db.read(compliance.due_reminders, date(2026, 10, 1),
                              compliance.rules_of(settings))
    assert [r.audience for r in reminders if r.line.startswith("P1:")] == [
        f"supervisor_of:{person.id}" if role == "officer" else "controllers"]
    if mode == "enforce":
        await user.send("/retention" if role == "controller" else "/pupils")
        assert (await user.next_message()).text == told
