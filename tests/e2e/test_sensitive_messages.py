"""Sensitive and secret messages never outlive their deadline, whatever happens to the send.

Contacts go out as a placeholder whose deletion is recorded before it is edited into
the text; a text over 4,096 characters is split; a code or PIN message whose deletion
fails is retried by the sweep.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import access
from bot.handlers import pupils as pupil_handlers
from bot.handlers import visit as visit_handlers
from bot.handlers.common import SENSITIVE_PLACEHOLDER
from bot.harness import RunningBot
from bot.importing.service import run_import
from bot.sandbox import BotApiStandIn, FakeUser
from bot.settings import Settings
from bot.storage import audit, outbox
from bot.storage import retention as retention_store
from bot.storage.db import Conn, Database
from bot.storage.retention import SchoolCount
from bot.usecases import retention as retention_cases
from tests.e2e.conftest import PIN, People, deliver
from tests.e2e.test_pupils import audit_rows, officer
from tests.e2e.visit_helpers import caseload, message, walk_to
from tests.storage.pupil_rows import Service

PHONE = "07700 900123"
UPN = "H801200001001"


async def _pupil_with_a_contact(db: Database) -> None:
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn) -> None:
        amelia = await Service(conn).pupil("Amelia", "Hughes", officer=ann)
        await conn.execute(
            "INSERT INTO contacts (pupil_id, name, relationship, phone, parental_responsibility,"
            " priority) VALUES (?, 'Mum Hughes', 'Mother', ?, 1, 1)", (amelia, PHONE))
    await db.write(_transaction)


async def _sweep(running: RunningBot) -> None:
    application = running.application
    assert application is not None and application.job_queue is not None
    [sweep] = application.job_queue.get_jobs_by_name("sensitive-messages")
    await sweep.run(application)


async def _settled(user: FakeUser, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Every earlier update is done with: /help is answered in order (past any error reply)."""
    await user.send("/help")
    while "/pupil" not in ((await user.next_message(timeout=timeout)).text or ""):
        pass


def _shows_the_phone(user: FakeUser) -> bool:
    return any(PHONE in (message.text or "") for message in user.history)


async def _due_rows(db: Database) -> set[int]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall("SELECT message_id FROM sensitive_messages")
    rows = await db.read(_snapshot)
    return {row["message_id"] for row in rows}


async def test_a_lost_reply_to_the_send_never_leaves_the_contacts_behind(
        running: RunningBot, people: People, db: Database, standin: BotApiStandIn,
        clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    await _pupil_with_a_contact(db)
    await user.send("/pupil amelia")
    await user.next_message()
    standin.lose_reply_next("sendMessage")  # it arrives; the bot never learns its id
    await user.press(pupil_handlers.DETAILS_BUTTON)
    shown = await user.next_message()
    await _settled(user)
    clock.advance(timedelta(minutes=running.settings.sensitive_message_minutes))
    await _sweep(running)
    assert not _shows_the_phone(user)
    assert shown.text == SENSITIVE_PLACEHOLDER  # without its id the text was never sent


async def test_a_lost_reply_to_the_edit_still_deletes_the_contacts(
        running: RunningBot, people: People, db: Database, standin: BotApiStandIn,
        clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    await _pupil_with_a_contact(db)
    await user.send("/pupil amelia")
    await user.next_message()
    standin.lose_reply_next("editMessageText")  # the text is shown; the bot sees an error
    await user.press(pupil_handlers.DETAILS_BUTTON)
    details = await user.edited(await user.next_message())
    await _settled(user)
    assert PHONE in (details.text or "")
    assert details.message_id in await _due_rows(db)  # written before the edit was sent
    clock.advance(timedelta(minutes=running.settings.sensitive_message_minutes))
    await _sweep(running)
    assert details.message_id in user.deleted
    assert not _shows_the_phone(user)


async def test_a_reply_slower_than_the_timeout_still_deletes_the_contacts(
        running: RunningBot, people: People, db: Database, standin: BotApiStandIn,
        clock: FixedClock) -> None:
    """The edit takes effect but its reply comes after python-telegram-bot gave up (5 s)."""
    user = await people.enrolled("EWO1")
    await _pupil_with_a_contact(db)
    await user.send("/pupil amelia")
    await user.next_message()
    standin.delay_next("editMessageText", 30)
    await user.press(pupil_handlers.DETAILS_BUTTON)
    details = await user.edited(await user.next_message())
    assert PHONE in (details.text or "")
    await _settled(user, timeout=15)  # once the timed-out press is done with
    clock.advance(timedelta(minutes=running.settings.sensitive_message_minutes))
    await _sweep(running)
    assert details.message_id in user.deleted
    assert not _shows_the_phone(user)


async def test_details_past_4096_characters_arrive_in_parts_each_deleted(
        running: RunningBot, people: People, db: Database, clock: FixedClock,
        settings: Settings, tmp_path: Path) -> None:
    user = await people.enrolled("EWO1")
    address = ("Flat 1 " + "Long Terrace " * 80)[:1000].strip()  # as long as an import takes
    files = {
        "pupils": "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name,"
                  "address,health_needs\n"
                  f"{UPN},Amelia,Hughes,2016-05-01,5,100001,Hillside Primary School,"
                  f"{address},{'Asthma; ' * 120}\n",
        "allocations": f"upn,officer_ref\n{UPN},EWO1\n",
        "contacts": "upn,name,relationship,phone,address,priority\n" + "".join(
            f"{UPN},Contact {n} Hughes,Aunt,07700 90{n:04d},{address},{n}\n"
            for n in range(1, 7)),
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        await run_import(db, kind, path, actor="os:test", today=clock.today(),
                         settings=settings, now=clock.now())

    await user.send("/pupil amelia")
    await user.next_message()
    await user.press(pupil_handlers.DETAILS_BUTTON)
    minutes = settings.sensitive_message_minutes
    parts = [await user.edited(await user.next_message())]
    while not (parts[-1].text or "").endswith(pupil_handlers.DELETED_AFTER.format(
            minutes=minutes)):
        parts.append(await user.edited(await user.next_message()))
    await _settled(user)
    texts = [part.text or "" for part in parts]
    assert len(parts) > 1
    assert all(0 < len(text) <= 4096 for text in texts)
    assert texts[0].startswith("Amelia Hughes (C")
    assert all(f"07700 90{n:04d}" in "\n".join(texts) for n in range(1, 7))
    assert all(part.protect_content for part in parts)
    assert {part.message_id for part in parts} <= await _due_rows(db)
    views = [row for row in await audit_rows(db) if row[1] == "pupil_details"]
    assert len(views) == 1  # one view, shown whole
    clock.advance(timedelta(minutes=minutes))
    await _sweep(running)
    assert {part.message_id for part in parts} <= user.deleted


async def test_a_failed_deletion_of_the_pin_is_retried_by_the_sweep(
        running: RunningBot, people: People, standin: BotApiStandIn, clock: FixedClock,
        db: Database) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/lock")
    await user.next_message()
    standin.fail_next("deleteMessage", status=500)
    pin_id = await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED  # the unlock carries on
    assert pin_id not in user.deleted
    assert pin_id in await _due_rows(db)
    clock.advance(timedelta(minutes=1))
    await _sweep(running)
    assert pin_id in user.deleted
    assert await _due_rows(db) == set()


async def test_a_failed_deletion_of_the_code_neither_keeps_it_valid_nor_visible(
        running: RunningBot, people: People, standin: BotApiStandIn, clock: FixedClock,
        db: Database) -> None:
    code = await people.add("EWO1")
    user = people.user()
    standin.fail_next("deleteMessage", status=500)
    start_id = await user.send(f"/start {code}")
    assert (await user.next_message()).text == access.CHOOSE_PIN  # the code is used up
    other = people.user()
    await other.send(f"/start {code}")
    assert (await other.next_message()).text == access.BAD_CODE
    assert start_id not in user.deleted
    standin.fail_next("deleteMessage", status=500)
    clock.advance(timedelta(minutes=1))
    await _sweep(running)  # failed again: tried again later still
    assert start_id not in user.deleted
    clock.advance(timedelta(minutes=2))
    await _sweep(running)
    assert start_id in user.deleted


async def test_long_names_neither_stop_the_pupil_list_nor_the_due_list(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    """Names and schools of 200 characters each, as an import takes them."""
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    long_school = "The " + "Very Long Name " * 13 + "Academy"
    async def _transaction(conn: Conn) -> None:
        service = Service(conn)
        for n in range(40):
            pupil = await service.pupil(f"Amelia{n:02d}" + "a" * 190, "Hughes" + "h" * 194,
                                        officer=ann, school=long_school)
            await service.visit(pupil, ann, clock.today(), follow_up=clock.today())
    await db.write(_transaction)
    await user.send("/pupils")
    listing = await user.next_message()
    assert (listing.text or "").splitlines()[0].endswith("page 1 of 4")
    assert len((listing.text or "").splitlines()) == 11 and len(listing.labels()) == 11
    await user.send("/due")
    due = [await user.next_message()]
    while not due[-1].labels():  # the buttons come with the last part
        due.append(await user.next_message())
    await _settled(user)
    texts = [message.text or "" for message in due]
    assert len(due) > 1 and all(len(text) <= 4096 for text in texts)
    lines = "\n".join(texts).splitlines()
    assert lines[0] == visit_handlers.DUE_HEADER
    assert len(lines) == 1 + visit_handlers.DUE_LINES  # every line, none lost at a cut


async def test_a_summary_shown_by_an_edit_whose_reply_is_lost_is_still_deleted(
        running: RunningBot, people: People, db: Database, standin: BotApiStandIn,
        clock: FixedClock) -> None:
    case = await caseload(people, db)
    user = case.user
    notes_step = await walk_to(user, flow.NOTES)
    await user.send("Mum says she is anxious about her new class.")  # notes kept in the draft
    summary = await user.edited(await user.next_message())
    await user.press(visit_handlers.LABEL_CANCEL, message_id=summary.message_id)
    await _settled(user)
    notes_step = await walk_to(user, flow.NOTES)
    standin.lose_reply_next("editMessageText")  # the summary is shown; the bot sees an error
    await user.press(visit_handlers.LABEL_SKIP, message_id=notes_step.message_id)
    await _settled(user)
    shown = message(user, notes_step.message_id)
    assert (shown.text or "").endswith(visit_handlers.QUESTIONS[flow.SUMMARY])
    clock.advance(timedelta(minutes=running.settings.sensitive_message_minutes))
    await _sweep(running)
    assert notes_step.message_id in user.deleted
    assert summary.message_id in user.deleted


async def test_a_pushed_message_past_4096_characters_arrives_in_parts(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    """The retention reminder lists up to 40 schools, whose names an import takes at 200."""
    user = await people.enrolled("CTL1", role="controller")
    controller = await officer(db, "CTL1")
    long_school = "The " + "Very Long Name " * 13 + "Academy"
    counts = [SchoolCount(f"{long_school} {n}", 1, 2, 0) for n in range(40)]
    head = await db.read(audit.head)
    policy = retention_store.policy_for(running.settings, clock.now())
    payload = retention_cases.reminder_payload(counts, head, policy)
    await db.write(outbox.enqueue, kind="retention", audience=f"officer:{controller.id}",
                   payload=payload, now=clock.now())
    await deliver(running)
    parts = [await user.next_message()]
    while not parts[-1].labels():
        parts.append(await user.next_message())
    assert len(parts) > 1 and all(len(part.text or "") <= 4096 for part in parts)
    assert "\n".join(part.text or "" for part in parts) == payload["text"]
    assert parts[-1].labels() == [retention_cases.OPEN_BUTTON]
