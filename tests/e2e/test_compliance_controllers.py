"""Who stands in for a lapsed person (CASEWORK.md §4, enforce) among the many a push is
for: what goes to every controller (retention and rights-request reminders, compliance
reminders, what is readdressed to them) reaches the controllers who are current, and an
escalation for every other supervisor the supervisors who are current; only when all of
them are lapsed do they get it, so that it still reaches someone, each person once (the
copies of one escalation readdressed once). A weekly digest readdressed to someone else
carries no pointer to a /caseload that is not theirs. On both backends."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.chat.caseload import FOOTER
from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage import outbox
from bot.storage.compliance import ABOUT_CASES, LAPSED_SUPERVISOR
from bot.storage.db import Conn, Database
from bot.usecases import digests
from tests.e2e.conftest import People, deliver
from tests.e2e.test_compliance import record
from tests.e2e.test_compliance_supervisors import officer_id, queue
from tests.e2e.test_visit_escalation import own_pupil, record_safeguarding
from tests.pg import backend_settings
from tests.storage.pupil_rows import Service

CURRENT, LAPSED = date(2026, 9, 1), date(2025, 10, 1)  # training valid 12 months
RETENTION = "Retention: 2 records past due, 1 rights request due within 7 days."
REMINDERS = "DBS checks and training due or lapsed"
COMPLIANCE = f"{REMINDERS} (25/11/2026):\nSUP9: training lapsed 01/10/2026"


@pytest.fixture(params=["enforce"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, backend: str,
             mode: str) -> Settings:
    found: Settings = backend_settings(request, tmp_path, backend, compliance=mode,
                                       outbox_poll_seconds=3600)
    return found


async def polls(running: RunningBot, count: int = 4) -> None:
    """Polls of the outbox enough for what the test queued: a person gets one message a
    poll, and a message for several people reaches the second of them a poll later."""
    for _ in range(count):
        await deliver(running)


def texts(history: list) -> list[str]:
    """What was pushed, the daily check's own compliance reminders left out (the bot's
    start runs it, maybe once the test's people are there)."""
    return [message.text for message in history if message.text == COMPLIANCE
            or not message.text.split("\n\n")[-1].startswith(REMINDERS)]


async def controllers(people: People, db: Database, clock: FixedClock,
                      *trained: date) -> list:
    users = []
    for number, when in enumerate(trained, 1):
        users.append(await people.enrolled(f"DPO{number}", role="controller"))
        await record(db, clock, f"DPO{number}", training=when)
    return users


async def test_what_goes_to_every_controller_reaches_the_current_ones_only(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # DPO1 may use only /help: a reminder to dispose of records, or that a rights
    # request is due, reached them all the same, though DPO2 could act on it.
    dpo1, dpo2 = await controllers(people, db, clock, LAPSED, CURRENT)
    await queue(db, clock, "retention", "controllers", RETENTION)
    await queue(db, clock, "compliance", "controllers", COMPLIANCE)
    await polls(running)
    assert sorted(texts(dpo2.history)) == [COMPLIANCE, RETENTION]
    assert dpo1.history == []


@pytest.mark.parametrize("mode", ["enforce", "warn", "off"], indirect=True)
async def test_when_every_controller_is_lapsed_or_nobody_is_blocked_they_all_get_it(
        running: RunningBot, people: People, db: Database, clock: FixedClock,
        mode: str) -> None:
    # Nothing is lost: with no current controller the lapsed ones are told still (their
    # /help says to have their dates recorded); with warn or off nobody is left out.
    trained = (LAPSED, LAPSED) if mode == "enforce" else (LAPSED, CURRENT)
    users = await controllers(people, db, clock, *trained)
    await queue(db, clock, "retention", "controllers", RETENTION)
    await polls(running)
    assert [texts(user.history) for user in users] == [[RETENTION], [RETENTION]]


async def test_a_concern_readdressed_to_the_controllers_skips_a_lapsed_one(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    sup1 = await people.enrolled("SUP1", role="supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    await record(db, clock, "SUP1", training=LAPSED)
    await record(db, clock, "EWO1", training=CURRENT)
    dpo1, dpo2 = await controllers(people, db, clock, LAPSED, CURRENT)
    await own_pupil(db, "EWO1")

    confirmation = await record_safeguarding(ewo)
    # It read "1 person was told, your supervisor": SUP1 is not told until current again.
    assert confirmation.splitlines()[-1] == ("Safeguarding concern – referred to DSL: your "
                                             "supervisor's access is paused, so 1 controller "
                                             "was told.")
    await polls(running)
    concern = (f"{LAPSED_SUPERVISOR.format(ref='SUP1')}\n\nSafeguarding concern – referred "
               "to DSL: case C00001, Hillside Primary School. Recorded by EWO1 on 24/11/2026.")
    assert concern in texts(dpo2.history)
    assert dpo1.history == [] and sup1.history == []


async def test_a_concern_whose_supervisor_is_lapsed_names_the_others_told(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    sup1, sup2, sup3 = [await people.enrolled(ref, role="supervisor")
                        for ref in ("SUP1", "SUP2", "SUP3")]
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    for ref, trained in (("SUP1", LAPSED), ("SUP2", CURRENT), ("SUP3", CURRENT),
                         ("EWO1", CURRENT)):
        await record(db, clock, ref, training=trained)
    await own_pupil(db, "EWO1")

    confirmation = await record_safeguarding(ewo)
    assert confirmation.splitlines()[-1] == ("Safeguarding concern – referred to DSL: your "
                                             "supervisor's access is paused, so 2 other "
                                             "supervisors were told.")
    await polls(running)
    for other in (sup2, sup3):
        [concern] = texts(other.history)
        assert concern.startswith(LAPSED_SUPERVISOR.format(ref="SUP1"))
    assert sup1.history == []


async def test_a_supervisors_own_concern_all_others_lapsed_goes_to_the_controllers(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # Readdressed from the lapsed SUP2 to "every current supervisor", it went back to
    # SUP1, who had recorded it, and the confirmation said 1 other supervisor was told.
    sup1 = await people.enrolled("SUP1", role="supervisor")
    await record(db, clock, "SUP1", training=CURRENT)
    [sup2] = await lapsed_supervisors(people, db, clock, "SUP2")
    [dpo] = await controllers(people, db, clock, CURRENT)
    await own_pupil(db, "SUP1")

    confirmation = await record_safeguarding(sup1)
    assert confirmation.splitlines()[-1] == (
        "Safeguarding concern – referred to DSL: you have no supervisor and the other "
        "supervisors' access is paused, so 1 controller was told.")
    await polls(running)
    assert texts(dpo.history) == [
        f"{LAPSED_SUPERVISOR.format(ref='SUP2')}\n\nSafeguarding concern – referred to DSL: "
        "case C00001, Hillside Primary School. Recorded by SUP1 on 24/11/2026."]
    assert not any(m.text.startswith(LAPSED_SUPERVISOR.format(ref="SUP2"))
                   for m in sup1.history)
    assert sup2.history == []


async def lapsed_supervisors_digest(people: People, db: Database, clock: FixedClock,
                                    settings: Settings) -> None:
    """SUP1, lapsed, has a team of one; this week's digest is queued for them."""
    await people.enrolled("SUP1", role="supervisor")
    await people.add("EWO1", supervisor="SUP1")
    for ref, trained in (("SUP1", LAPSED), ("EWO1", CURRENT)):
        await record(db, clock, ref, training=trained)
    weekly = settings.model_copy(update={"caseload_digest": (0, time(8))})
    assert await digests.enqueue_due_digests(db, weekly, clock.now()) == 1


async def test_a_digest_readdressed_to_a_controller_has_no_caseload_footer(
        running: RunningBot, people: People, db: Database, clock: FixedClock,
        settings: Settings) -> None:
    # /caseload is the supervisor's: a controller sending "/caseload REF" as the digest
    # said is refused.
    [dpo] = await controllers(people, db, clock, CURRENT)
    await lapsed_supervisors_digest(people, db, clock, settings)
    await polls(running)
    [digest] = [text for text in texts(dpo.history) if "Weekly caseload digest" in text]
    assert digest.startswith(f"{LAPSED_SUPERVISOR.format(ref='SUP1')}\n\n"
                             "Weekly caseload digest for your team, 25/11/2026\n")
    assert "Officer EWO1 (EWO1): 0 pupils" in digest
    assert FOOTER not in digest and "/caseload" not in digest


async def test_a_digest_readdressed_to_another_supervisor_has_no_caseload_footer(
        running: RunningBot, people: People, db: Database, clock: FixedClock,
        settings: Settings) -> None:
    # "/caseload EWO1" answers SUP2 that EWO1 is not in their team.
    sup2 = await people.enrolled("SUP2", role="supervisor")
    await record(db, clock, "SUP2", training=CURRENT)
    await lapsed_supervisors_digest(people, db, clock, settings)
    await polls(running)
    [digest] = texts(sup2.history)
    assert digest.startswith(LAPSED_SUPERVISOR.format(ref="SUP1"))
    assert "Officer EWO1 (EWO1): 0 pupils" in digest
    assert FOOTER not in digest and "/caseload" not in digest


async def test_a_concern_for_every_other_supervisor_skips_a_lapsed_one(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # SUP2 was addressed too, and their copy readdressed to SUP3: SUP3 heard twice, and
    # the officer read that two supervisors were told.
    ewo = await people.enrolled("EWO1")  # no supervisor
    sup2 = await people.enrolled("SUP2", role="supervisor")
    sup3 = await people.enrolled("SUP3", role="supervisor")
    for ref, trained in (("EWO1", CURRENT), ("SUP2", LAPSED), ("SUP3", CURRENT)):
        await record(db, clock, ref, training=trained)
    await own_pupil(db, "EWO1")

    confirmation = await record_safeguarding(ewo)
    assert confirmation.splitlines()[-1] == ("Safeguarding concern – referred to DSL: you "
                                             "have no supervisor, so 1 other supervisor "
                                             "was told.")
    await polls(running)
    [concern] = texts(sup3.history)
    assert concern.startswith("Safeguarding concern – referred to DSL: case C00001")
    assert sup2.history == []


async def test_an_escalation_whose_supervisor_left_skips_a_lapsed_one(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # SUP1's access ended before it went: it goes to every other supervisor, but SUP2's
    # copy was then readdressed to SUP3 as well, who heard twice.
    await people.enrolled("SUP1", role="supervisor")
    sup2 = await people.enrolled("SUP2", role="supervisor")
    sup3 = await people.enrolled("SUP3", role="supervisor")
    await people.enrolled("EWO1", supervisor="SUP1")
    for ref, trained in (("SUP2", LAPSED), ("SUP3", CURRENT), ("EWO1", CURRENT)):
        await record(db, clock, ref, training=trained)
    ewo1 = await officer_id(db, "EWO1")
    await queue(db, clock, "escalation", f"supervisor_of:{ewo1}", "Escalation: C00001")
    sup1 = await db.read(officer_store.officer_by_ref, "SUP1")
    assert sup1 is not None
    await db.write(officer_store.revoke, sup1, now=clock.now())
    await polls(running)
    assert texts(sup3.history) == ["Escalation: C00001"]
    assert sup2.history == []


async def lapsed_supervisors(people: People, db: Database, clock: FixedClock,
                             *refs: str) -> list:
    users = []
    for ref in refs:
        users.append(await people.enrolled(ref, role="supervisor"))
        await record(db, clock, ref, training=LAPSED)
    return users


async def test_a_concern_for_every_other_supervisor_all_lapsed_reaches_each_controller_once(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # It was queued for each of SUP1, SUP2 and SUP3, and each copy readdressed to the
    # controllers: each controller was told of one concern three times.
    ewo = await people.enrolled("EWO1")  # no supervisor
    await record(db, clock, "EWO1", training=CURRENT)
    supervisors = await lapsed_supervisors(people, db, clock, "SUP1", "SUP2", "SUP3")
    dpo1, dpo2 = await controllers(people, db, clock, CURRENT, CURRENT)
    await own_pupil(db, "EWO1")

    confirmation = await record_safeguarding(ewo)
    # It read "3 other supervisors were told": they were not, the controllers were.
    assert confirmation.splitlines()[-1] == (
        "Safeguarding concern – referred to DSL: you have no supervisor and the other "
        "supervisors' access is paused, so 2 controllers were told.")
    await polls(running, 6)
    concern = (f"{LAPSED_SUPERVISOR.format(ref='SUP1')}\n\nSafeguarding concern – referred "
               "to DSL: case C00001, Hillside Primary School. Recorded by EWO1 on 24/11/2026.")
    assert [texts(dpo.history) for dpo in (dpo1, dpo2)] == [[concern], [concern]]
    assert all(sup.history == [] for sup in supervisors)
    assert await withdrawn(db) == ["already_told", "already_told"]  # SUP2's and SUP3's


async def withdrawn(db: Database) -> list[str]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall("SELECT reason FROM audit"
                                   " WHERE action = 'message_withdrawn' ORDER BY seq")
    return [row["reason"] for row in await db.read(_snapshot)]


async def test_an_escalation_whose_supervisor_left_all_others_lapsed_reaches_them_once(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # SUP1's access ended before it went: it was readdressed to SUP2 and SUP3, both
    # lapsed, and each copy then to the controller, who heard twice.
    await people.enrolled("SUP1", role="supervisor")
    await people.enrolled("EWO1", supervisor="SUP1")
    await record(db, clock, "EWO1", training=CURRENT)
    await lapsed_supervisors(people, db, clock, "SUP2", "SUP3")
    [dpo] = await controllers(people, db, clock, CURRENT)
    ewo1, pupil_id = await officer_id(db, "EWO1"), await own_pupil(db, "EWO1")
    async def _escalate(conn: Conn) -> None:
        await outbox.enqueue(conn, kind="escalation", audience=f"supervisor_of:{ewo1}",
                             payload={"text": "Escalation: C00001, A.H.", "buttons": []},
                             now=clock.now(), pupil_ids=[pupil_id])
    await db.write(_escalate)
    sup1 = await db.read(officer_store.officer_by_ref, "SUP1")
    assert sup1 is not None
    await db.write(officer_store.revoke, sup1, now=clock.now())
    await polls(running, 6)
    assert texts(dpo.history) == [f"{LAPSED_SUPERVISOR.format(ref='SUP2')}\n\n"
                                  + ABOUT_CASES.format(cases="C00001, Hillside Primary School")]


async def test_a_supervisor_current_again_is_not_told_twice_of_one_escalation(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # Queued for SUP1 and SUP2, both lapsed, in quiet time; by morning SUP1's dates are
    # recorded: SUP1 had their own copy and SUP2's readdressed to them besides.
    ewo = await people.enrolled("EWO1")  # no supervisor
    await record(db, clock, "EWO1", training=CURRENT)
    sup1, sup2 = await lapsed_supervisors(people, db, clock, "SUP1", "SUP2")
    await own_pupil(db, "EWO1")
    await record_safeguarding(ewo)
    await record(db, clock, "SUP1", training=CURRENT)
    await polls(running, 6)
    assert texts(sup1.history) == ["Safeguarding concern – referred to DSL: case C00001, "
                                   "A.H., Hillside Primary School. Recorded by EWO1 on "
                                   "24/11/2026."]
    assert sup2.history == []


async def amelia(db: Database, ref: str, earlier: int) -> None:
    """Amelia Hughes, allocated to `ref`, after `earlier` pupils (C00001, C00002, …)."""
    holder = await db.read(officer_store.officer_by_ref, ref)
    async def _transaction(conn: Conn) -> None:
        service = Service(conn)
        service.serial = earlier
        await service.figures(await service.pupil("Amelia", "Hughes", officer=holder), 80, 100)
    await db.write(_transaction)


async def test_each_lapsed_supervisors_digest_and_each_concern_still_arrive(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # Queued at one moment, two supervisors' digests and two officers' concerns about two
    # pupils are four messages: none is taken for a copy of another.
    sup1, sup2 = await lapsed_supervisors(people, db, clock, "SUP1", "SUP2")
    [dpo] = await controllers(people, db, clock, CURRENT)
    for ref in ("SUP1", "SUP2"):
        audience = f"supervisor:{await officer_id(db, ref)}"
        await queue(db, clock, "digest", audience, f"Weekly caseload digest for {ref}")
    for number, ref in enumerate(("EWO1", "EWO2")):  # no supervisor: for SUP1 and SUP2
        ewo = await people.enrolled(ref)
        await record(db, clock, ref, training=CURRENT)
        await amelia(db, ref, number)  # C00001, then C00002
        await record_safeguarding(ewo)
    await polls(running, 6)
    concern = ("Safeguarding concern – referred to DSL: case {case}, Hillside Primary "
               "School. Recorded by {ref} on 24/11/2026.")
    assert sorted(texts(dpo.history)) == [
        f"{LAPSED_SUPERVISOR.format(ref=sup)}\n\n{text}" for sup, text in (
            ("SUP1", concern.format(case="C00001", ref="EWO1")),
            ("SUP1", concern.format(case="C00002", ref="EWO2")),
            ("SUP1", "Weekly caseload digest for SUP1"),
            ("SUP2", "Weekly caseload digest for SUP2"))]
    assert sup1.history == [] and sup2.history == []
