"""Who stands in for a lapsed person (CASEWORK.md §4, enforce) among the many a push is
for: what goes to every controller (retention and rights-request reminders, compliance
reminders, what is readdressed to them) reaches the controllers who are current, and an
escalation for every other supervisor the supervisors who are current; only when all of
them are lapsed do they get it, so that it still reaches someone. A weekly digest
readdressed to someone else carries no pointer to a /caseload that is not theirs."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.chat.caseload import FOOTER
from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.compliance import LAPSED_SUPERVISOR
from bot.storage.db import Database
from bot.usecases import digests
from tests.conftest import make_settings
from tests.e2e.conftest import People, deliver
from tests.e2e.test_compliance import record
from tests.e2e.test_compliance_supervisors import officer_id, queue
from tests.e2e.test_visit_escalation import own_pupil, record_safeguarding

CURRENT, LAPSED = date(2026, 9, 1), date(2025, 10, 1)  # training valid 12 months
RETENTION = "Retention: 2 records past due, 1 rights request due within 7 days."
REMINDERS = "DBS checks and training due or lapsed"
COMPLIANCE = f"{REMINDERS} (25/11/2026):\nSUP9: training lapsed 01/10/2026"


@pytest.fixture(params=["enforce"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path, mode: str) -> Settings:
    return make_settings(tmp_path, compliance=mode, outbox_poll_seconds=3600)


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

    await record_safeguarding(ewo)
    await polls(running)
    concern = (f"{LAPSED_SUPERVISOR.format(ref='SUP1')}\n\nSafeguarding concern – referred "
               "to DSL: case C00001, Hillside Primary School. Recorded by EWO1 on 24/11/2026.")
    assert concern in texts(dpo2.history)
    assert dpo1.history == [] and sup1.history == []


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
