"""The /visit steps a newcomer tripped on: an old date, no reply (the reason asked,
Not known first), Change from the summary, kept notes on correction, and one button
per day; through the stand-in."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import visit
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, FakeUser
from bot.settings import Settings
from bot.storage.db import Conn, Database
from tests.e2e.conftest import People
from tests.e2e.visit_helpers import Caseload, caseload, message, rows, tap, walk_to
from tests.storage.pupil_rows import Service

HEADER = "Visit for A.H. (C00001)"


@pytest.fixture
async def case(running: RunningBot, people: People, db: Database) -> Caseload:
    return await caseload(people, db)


async def test_a_date_over_28_days_ago_is_asked_again(case: Caseload, db: Database) -> None:
    user = case.user
    await walk_to(user, flow.DATE)
    await user.send("01/01/2020")
    check = await user.next_message()
    assert check.text == (f"{HEADER}\n\n01/01/2020 is more than 28 days ago. Is that the "
                          "right date? Or type another as DD/MM/YYYY or DD/MM.")
    assert check.labels() == ["Yes, keep it", "Change the date"]
    await user.send("02/01/2020")  # another old date, typed at the check: checked too
    check = await user.next_message()
    assert check.text.startswith(f"{HEADER}\n\n02/01/2020 is more than 28 days ago.")
    again = await tap(user, "Change the date")
    assert again.text == f"{HEADER}\n\n{visit.QUESTIONS[flow.DATE]}"
    assert again.labels() == ["Today", "Yesterday"]
    await user.send("28/10/2026")  # exactly 28 days ago: not asked
    assert (await user.next_message()).text.endswith(visit.QUESTIONS[flow.CONTACT])
    for label in ("Child seen", "Illness", "No further action", "None", "Skip"):
        await tap(user, label)
    # From the summary, an old date is checked too, then the summary comes back.
    await tap(user, "Change")
    await tap(user, "Date")
    await user.send("1/1/2020")
    assert (await user.next_message()).labels() == ["Yes, keep it", "Change the date"]
    summary = await tap(user, "Yes, keep it")
    assert "Date: 01/01/2020" in summary.text
    assert summary.text.endswith(visit.QUESTIONS[flow.SUMMARY])
    await tap(user, "Save")
    saved = await rows(db, "SELECT visit_date FROM visits")
    assert [row["visit_date"] for row in saved] == ["2020-01-01"]


REASONS = ["Illness", "Medical", "Anxiety or mental health", "SEN needs",
           "Bullying or peer issues", "Family circumstances", "Young carer", "Holiday",
           "Transport"]  # then "Not known", last unless nobody replied


async def _follow_up_after_no_reply(user: FakeUser) -> None:
    """From the action step: a follow-up in a week, no note; the summary shows the
    reason as answered (Not known), never "not asked"."""
    for label in ("Follow-up visit", "In 1 week"):
        await tap(user, label)
    summary = await tap(user, "Skip")
    assert "Contact: No reply – card left\nMain reason: Not known\nAction agreed: " \
        "Follow-up visit\n" in summary.text
    assert "not asked" not in summary.text


async def test_after_no_reply_the_reason_is_asked_with_not_known_first(
        case: Caseload, db: Database) -> None:
    user = case.user
    await walk_to(user, flow.CONTACT)
    shown = await tap(user, "No reply – card left")
    assert shown.text == f"{HEADER}\n\n{visit.QUESTIONS[flow.REASON]}"
    assert shown.labels() == ["Not known", *REASONS]
    shown = await tap(user, "Not known")
    assert shown.text == f"{HEADER}\n\n{visit.QUESTIONS[flow.ACTION]}"
    await _follow_up_after_no_reply(user)
    # Someone was seen after all: the reason chosen stays, and can be changed too.
    await tap(user, "Change")
    await tap(user, "Contact")
    summary = await tap(user, "Parent/carer seen")
    assert "Contact: Parent/carer seen\nMain reason: Not known\n" in summary.text
    await tap(user, "Change")
    shown = await tap(user, "Main reason")
    assert shown.labels() == [*REASONS, "✓ Not known"]
    summary = await tap(user, "Holiday")
    assert "Main reason: Holiday\nAction agreed: Follow-up visit" in summary.text
    await tap(user, "Save")
    saved = await rows(db, "SELECT contact, reason FROM visits")
    assert [tuple(row) for row in saved] == [("parent", "holiday")]


async def test_a_draft_kept_with_the_reason_not_asked_after_no_reply_resumes(
        case: Caseload, db: Database, running: RunningBot, settings: Settings,
        standin: BotApiStandIn, clock: FixedClock) -> None:
    """A draft written when no reply skipped the reason (Not known, marked not asked),
    at the action step, resumed after the upgrade's restart."""
    user = case.user
    await walk_to(user, flow.CONTACT)
    await tap(user, "No reply – card left")
    await running.stop()

    async def _as_kept_before(conn: Conn) -> None:
        data = json.loads(await conn.fetchval("SELECT data FROM conversations"))
        data.update({flow.REASON: flow.NOT_KNOWN, flow.REASON_SKIPPED: True})
        await conn.execute("UPDATE conversations SET step = ?, data = ?",
                           (flow.ACTION, json.dumps(data)))
    await db.write(_as_kept_before)
    async with RunningBot(settings, standin, clock=clock, db=db):
        await user.send("/visit")
        assert (await user.next_message()).text == "Continue visit for A.H.?"
        shown = await tap(user, "Continue")
        assert shown.text == f"{HEADER}\n\n{visit.QUESTIONS[flow.ACTION]}"
        await _follow_up_after_no_reply(user)
        await tap(user, "Save")
    saved = await rows(db, "SELECT contact, reason, action FROM visits")
    assert [tuple(row) for row in saved] == [("noreply", "unknown", "followup")]


async def test_change_goes_back_to_any_step_and_returns_to_the_summary(
        case: Caseload, db: Database) -> None:
    user = case.user
    summary = await walk_to(user, flow.SUMMARY)
    assert summary.labels() == ["Save", "Change", "Cancel"]
    choose = await tap(user, "Change")
    assert choose.message_id == summary.message_id
    assert choose.text == f"{HEADER}\n\n{visit.QUESTIONS[flow.CHANGE]}"
    assert choose.labels() == ["Type", "Date", "Contact", "Main reason", "Action agreed",
                               "Next follow-up", "Notes", "Back to the summary"]
    back = await tap(user, "Back to the summary")
    assert back.text == summary.text
    await tap(user, "Change")
    shown = await tap(user, "Action agreed")
    assert "✓ Follow-up visit" in shown.labels()
    summary = await tap(user, "Attendance meeting")
    assert "Action agreed: Attendance meeting" in summary.text
    # Notes typed from Change: kept, then the summary again.
    await tap(user, "Change")
    shown = await tap(user, "Notes")
    assert shown.text == f"{HEADER}\n\n{visit.QUESTIONS[flow.NOTES]}"
    await user.send("Seen at the door.")
    summary = await user.edited(await user.next_message())
    assert "Notes: Seen at the door." in summary.text
    # A letter has no contact step to change.
    await tap(user, "Change")
    await tap(user, "Type")
    summary = await tap(user, "Letter")
    assert "Contact:" not in summary.text
    await tap(user, "Change")
    assert "Contact" not in message(user, summary.message_id).labels()
    await tap(user, "Back to the summary")
    await tap(user, "Save")
    saved = await rows(db, "SELECT type, contact, action, notes FROM visits")
    assert [tuple(row) for row in saved] == [("letter", None, "meeting", "Seen at the door.")]


async def test_correcting_shows_the_kept_notes_with_buttons_that_match(
        case: Caseload, db: Database, clock: FixedClock) -> None:
    user = case.user
    async def _transaction(conn: Conn):
        old = await Service(conn).visit(case.amelia, case.ann, date(2026, 11, 20),
                                        saved=clock.now() - timedelta(days=2))
        await conn.execute("UPDATE visits SET reason = 'illness', action = 'nfa',"
                           " notes = 'Mum was worried.' WHERE id = ?", (old,))
        return old
    old = await db.write(_transaction)
    await user.press_data(f"vc:{old}", 1)
    await user.next_message()
    for label in ("✓ Home visit", "✓ 20/11/2026", "✓ Parent/carer seen", "✓ Illness",
                  "✓ No further action"):
        await tap(user, label)
    notes = await tap(user, "✓ None")
    assert notes.text.endswith(
        "Notes so far:\nMum was worried.\n\nKeep them, remove them, or type new notes "
        "(up to 4,096 characters) to replace them.")
    assert notes.labels() == ["Keep notes", "Remove notes"]
    # The kept notes are on screen, so that message is deleted from the chat later.
    due = {row["message_id"] for row in await rows(db, "SELECT message_id FROM"
                                                       " sensitive_messages")}
    assert notes.message_id in due
    await user.send("Mum and child were worried.")
    summary = await user.edited(await user.next_message())
    assert "Notes: Mum and child were worried." in summary.text


async def test_the_date_and_follow_up_steps_offer_each_day_once(
        case: Caseload, db: Database, clock: FixedClock) -> None:
    user = case.user
    async def _transaction(conn: Conn):
        return await Service(conn).visit(case.amelia, case.ann, clock.today(),
                                        saved=clock.now() - timedelta(hours=1),
                                        follow_up=clock.today() + timedelta(weeks=2))
    old = await db.write(_transaction)
    await user.press_data(f"vc:{old}", 1)
    await user.next_message()
    shown = await tap(user, "✓ Home visit")
    assert shown.labels() == ["✓ Today", "Yesterday"]
    for label in ("✓ Today", "Child seen", "Illness", "Follow-up visit"):
        shown = await tap(user, label)
    assert shown.labels() == ["In 1 week", "✓ In 2 weeks", "None"]
