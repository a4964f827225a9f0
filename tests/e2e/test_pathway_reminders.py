"""Pathway reminders through the outbox, with the injected clock: each on its day, none
twice (a second run, a restart), naming no one, a button that opens the case (after the
PIN when locked); /due lists the pathway items due beside the follow-ups (issue 19)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat import reminders as reminder_chat
from bot.clock import FixedClock
from bot.handlers import access
from bot.handlers.common import SENSITIVE_PLACEHOLDER
from bot.handlers.visit.texts import DUE_HEADER
from bot.harness import RunningBot
from bot.jobs import pathway_reminders as reminder_jobs
from bot.sandbox import BotApiStandIn, FakeUser
from bot.sandbox.models import BotMessage
from bot.settings import Settings
from bot.storage import rights
from bot.storage.db import Conn, Database
from bot.storage.pathway import NewOutcome, NewStep
from tests.conftest import make_settings
from tests.e2e.conftest import LONDON, PIN, People
from tests.e2e.test_case import case_audit, officer, outcome, parent, step
from tests.storage.pupil_rows import Service

THURSDAY = datetime(2026, 11, 26, 8, 0, tzinfo=LONDON)  # the day every reminder is due


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Delivery only when the test runs the outbox job (the job's own poll is an hour).
    return make_settings(tmp_path, outbox_poll_seconds=3600)


async def run_job(bot: RunningBot, name: str) -> None:
    application = bot.application
    assert application is not None and application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name(name)
    await job.run(application)


async def remind_and_deliver(bot: RunningBot) -> None:
    """One run of the daily reminders' job, then one poll of the outbox."""
    await run_job(bot, reminder_jobs.NAME)
    await run_job(bot, "outbox")


def weekday_marks(first: date, last: date, codes: tuple[str, str]) -> list[tuple[date, str, str]]:
    marks, day = [], first
    while day <= last:
        if day.weekday() < 5:
            marks += [(day, "AM", codes[0]), (day, "PM", codes[1])]
        day += timedelta(days=1)
    return marks


async def caseload(conn: Conn) -> dict[str, int]:
    """EWO1's pupils, one for each kind of reminder, all due on Thursday 26/11/2026."""
    ewo = await officer(conn, "EWO1")
    service = Service(conn)
    amelia = await service.pupil("Amelia", "Hughes", officer=ewo)  # support plan review
    await step(conn, ewo, NewStep(amelia, "support_plan", date(2026, 10, 15)))
    noah = await service.pupil("Noah", "Brown", officer=ewo)  # improvement period ended
    await service.marks(noah, weekday_marks(date(2026, 9, 1), date(2026, 11, 4), ("/", "N"))
                        + weekday_marks(date(2026, 11, 5), date(2026, 11, 25), ("/", "/")))
    mum = await parent(conn, noah, "Jo Brown")
    await step(conn, ewo, NewStep(noah, "nti", date(2026, 11, 4), (mum,), period_weeks=3))
    ruby = await service.pupil("Ruby", "Clark", officer=ewo)  # day 29, nothing recorded
    dad = await parent(conn, ruby, "Sam Clark")
    referral = await step(conn, ewo, NewStep(ruby, "pn_referral", date(2026, 10, 27), (dad,),
                                             reason="holiday"))
    await outcome(conn, ewo, NewOutcome(referral, "issued", date(2026, 10, 28), dad))
    leo = await service.pupil("Leo", "Davies", officer=ewo)  # order ends in 4 weeks
    order = await step(conn, ewo, NewStep(leo, "eso", date(2025, 12, 1)))
    await outcome(conn, ewo, NewOutcome(order, "granted", date(2025, 12, 24)))
    ivy = await service.pupil("Ivy", "Evans", officer=ewo)  # paid: no reminder
    carer = await parent(conn, ivy, "Pat Evans")
    paid = await step(conn, ewo, NewStep(ivy, "pn_referral", date(2026, 10, 27), (carer,),
                                         reason="holiday"))
    await outcome(conn, ewo, NewOutcome(paid, "issued", date(2026, 10, 28), carer))
    await outcome(conn, ewo, NewOutcome(paid, "paid", date(2026, 11, 10), carer))
    finn = await service.pupil("Finn", "Green", officer=ewo)  # review a fortnight ago
    await step(conn, ewo, NewStep(finn, "support_plan", date(2026, 10, 1)))
    return {"amelia": amelia, "noah": noah, "ruby": ruby, "leo": leo, "ivy": ivy, "finn": finn}


async def reminder_rows(db: Database) -> int:
    async def _snapshot(conn: Conn) -> int:
        return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE kind = 'reminder'"))
    return await db.read(_snapshot)


async def nothing_more(user: FakeUser) -> None:
    """The bot sent nothing since: /help is always answered, in order."""
    await user.send("/help")
    assert (await user.next_message()).text.startswith("/pupils")


async def unlock(user: FakeUser) -> None:
    """A day on, the session has locked (idle): the PIN again."""
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED


async def case_shown(user: FakeUser) -> BotMessage:
    message = await user.next_message()
    while message.text in (access.UNLOCKED,):
        message = await user.next_message()
    if message.text == SENSITIVE_PLACEHOLDER:
        message = await user.edited(message)
    return message


async def test_each_reminder_on_its_day_once_naming_no_one(
        settings: Settings, standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    user = await people.enrolled("EWO1")
    pupils = await db.write(caseload)
    async with RunningBot(settings, standin, clock=clock, db=db) as bot:
        await remind_and_deliver(bot)  # Wednesday: nothing is due yet
        await nothing_more(user)
        assert await reminder_rows(db) == 0

        clock.set(THURSDAY)
        await unlock(user)
        await remind_and_deliver(bot)
        message = await user.next_message()
        assert message.text.splitlines() == [
            reminder_chat.TITLE,
            "C00001 A.H., Hillside Primary School: support plan review due 26/11/2026",
            "C00002 N.B., Hillside Primary School: improvement period of the Notice to "
            "Improve of 04/11/2026 ended 25/11/2026 — attendance 100.0 % in the period, "
            "50.0 % in the 10 school weeks before",
            "C00003 R.C., Hillside Primary School: penalty notice issued 28/10/2026 — day 29, "
            "neither Paid nor Withdrawn recorded",
            "C00004 L.D., Hillside Primary School: education supervision order ends "
            "24/12/2026 (in 4 weeks)",
        ]
        assert message.protect_content
        assert message.labels() == ["C00001 A.H.", "C00002 N.B.", "C00003 R.C.",
                                    "C00004 L.D."]
        assert message.button("C00003 R.C.").data == f"al:case:{pupils['ruby']}"
        for name in ("Amelia", "Hughes", "Brown", "Jo ", "Sam Clark"):
            assert name not in message.text

        await remind_and_deliver(bot)  # the same day again: nothing new
        clock.set(THURSDAY + timedelta(days=1))
        await unlock(user)
        await remind_and_deliver(bot)  # the next day: these are queued already
        await nothing_more(user)

        press = await user.press("C00003 R.C.", message_id=message.message_id)
        case = await case_shown(user)
        assert await user.answer_to(press) is None
        assert case.text.startswith("Case: Ruby Clark (C00003)")
    # A restart runs the job at start: still nothing queued twice.
    async with RunningBot(settings, standin, clock=clock, db=db) as bot:
        await remind_and_deliver(bot)
        await nothing_more(user)
    assert await reminder_rows(db) == 1


async def test_a_reminders_button_opens_the_case_after_the_pin(
        settings: Settings, standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    user = await people.enrolled("EWO1")
    pupils = await db.write(caseload)
    clock.set(THURSDAY)
    async with RunningBot(settings, standin, clock=clock, db=db) as bot:
        await remind_and_deliver(bot)
        message = await user.next_message()
        # A day after enrolling, the session is locked (idle): the press waits for the PIN.
        press = await user.press("C00001 A.H.", message_id=message.message_id)
        assert await user.answer_to(press) == access.LOCKED_PROMPT
        await user.send(PIN)
        case = await case_shown(user)
        assert case.text.startswith("Case: Amelia Hughes (C00001)")
        assert "Review due: 26/11/2026" in case.text
    assert await case_audit(db) == [
        ("officer:EWO1", "case_view", f"pupil:{pupils['amelia']}", "alert_button", None)]


async def test_due_lists_pathway_items_beside_the_follow_ups(
        settings: Settings, standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    user = await people.enrolled("EWO1")

    async def _transaction(conn: Conn) -> dict[str, int]:
        pupils = await caseload(conn)
        await Service(conn).visit(pupils["ivy"], await officer(conn, "EWO1"),
                                  date(2026, 11, 20), follow_up=date(2026, 11, 24))
        return pupils
    pupils = await db.write(_transaction)
    clock.set(THURSDAY)
    async with RunningBot(settings, standin, clock=clock, db=db):
        await unlock(user)
        await user.send("/due")
        due = await user.next_message()
    assert due.text.splitlines() == [
        DUE_HEADER,
        "24/11/2026 (2 days overdue) — Ivy Evans, C00005, Hillside Primary School",
        "",
        "Pathway items due, oldest first:",
        "12/11/2026 (14 days overdue) — Support plan review due — Finn Green, C00006, "
        "Hillside Primary School",
        "26/11/2026 (today) — Support plan review due — Amelia Hughes, C00001, "
        "Hillside Primary School",
        "26/11/2026 (today) — improvement period ended — compare attendance — Noah Brown, "
        "C00002, Hillside Primary School",
        "26/11/2026 (today) — penalty notice day 29 — record Paid, Withdrawn or Unpaid — "
        "Ruby Clark, C00003, Hillside Primary School",
        "26/11/2026 (today) — education supervision order ends in 4 weeks — Leo Davies, "
        "C00004, Hillside Primary School",
    ]
    assert due.labels() == ["Ivy Evans", "Case C00006", "Case C00001", "Case C00002",
                            "Case C00003", "Case C00004"]
    assert due.button("Case C00006").data == f"case:{pupils['finn']}"


async def test_a_reminder_waits_for_quiet_hours_to_end(
        tmp_path: Path, standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    settings = make_settings(tmp_path, outbox_poll_seconds=3600, quiet_hours="20:00-07:30")
    user = await people.enrolled("EWO1")
    await db.write(caseload)
    clock.set(THURSDAY.replace(hour=6))
    async with RunningBot(settings, standin, clock=clock, db=db) as bot:
        await remind_and_deliver(bot)
        assert await reminder_rows(db) == 1

        async def _status(conn: Conn) -> str:
            return str(await conn.fetchval("SELECT status FROM outbox WHERE kind = 'reminder'"))
        assert await db.read(_status) == "pending"
        clock.set(THURSDAY.replace(hour=7, minute=30))
        await run_job(bot, "outbox")
        assert (await user.next_message()).text.startswith(reminder_chat.TITLE)


async def test_a_reminder_held_by_quiet_hours_goes_to_the_officer_who_holds_the_pupil_then(
        tmp_path: Path, standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    settings = make_settings(tmp_path, outbox_poll_seconds=3600, quiet_hours="20:00-07:30")
    first, second = await people.enrolled("EWO1"), await people.enrolled("EWO2")
    pupils = await db.write(caseload)
    clock.set(THURSDAY.replace(hour=6))
    async with RunningBot(settings, standin, clock=clock, db=db) as bot:
        await remind_and_deliver(bot)  # EWO1's reminders wait for 07:30

        async def _reallocate(conn: Conn) -> None:  # as an allocations import does
            await conn.execute("UPDATE allocations SET officer_id = ? WHERE pupil_id = ?",
                               ((await officer(conn, "EWO2")).id, pupils["amelia"]))
        await db.write(_reallocate)
        clock.set(THURSDAY.replace(hour=7, minute=30))
        await run_job(bot, "outbox")  # withdrawn: one of its pupils is no longer theirs
        assert await reminder_rows(db) == 0
        await unlock(first)
        await unlock(second)
        await remind_and_deliver(bot)  # the reminders' next run queues them again
        kept = (await first.next_message()).text
        moved = (await second.next_message()).text
    assert kept.startswith(reminder_chat.TITLE) and moved.startswith(reminder_chat.TITLE)
    assert "C00001" not in kept and len(kept.splitlines()) == 4  # the other three
    assert "C00001 A.H." in moved and len(moved.splitlines()) == 2  # the review, alone


async def test_a_restricted_record_is_not_reminded_and_due_lists_it_by_name_only(
        settings: Settings, standin: BotApiStandIn, db: Database, clock: FixedClock,
        people: People) -> None:
    user = await people.enrolled("EWO1")
    pupils = await db.write(caseload)

    async def _restrict(conn: Conn) -> int:
        return await rights.record(conn, pupils["ruby"], "restriction", clock.today(),
                                   actor="os:dpo", now=clock.now())
    await db.write(_restrict)
    clock.set(THURSDAY)
    async with RunningBot(settings, standin, clock=clock, db=db) as bot:
        await unlock(user)
        await remind_and_deliver(bot)
        message = await user.next_message()
        assert message.text.startswith(reminder_chat.TITLE)
        assert "C00003" not in message.text and len(message.text.splitlines()) == 4
        await user.send("/due")
        due = (await user.next_message()).text.splitlines()
    assert "26/11/2026 (today) — Ruby Clark, C00003 — restricted" in due
    assert not [line for line in due if "C00003" in line and "penalty" in line]
