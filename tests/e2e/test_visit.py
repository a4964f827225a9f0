"""/visit, Correct, /cancel and /due through the stand-in and the real bot."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.domain.visits import ABSENCE_REASONS, ACTIONS, CONTACT_OUTCOMES, VISIT_TYPES
from bot.handlers import access, visit
from bot.handlers.common import NOT_ALLOWED, SENSITIVE_PLACEHOLDER
from bot.harness import RunningBot, enrol_directly
from bot.importing.service import run_import
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage.db import Conn, Database
from tests.e2e.conftest import PIN, People
from tests.e2e.visit_helpers import (
    AMELIA,
    NOAH,
    PRESSES,
    STEPS,
    Caseload,
    caseload,
    lock_with_a_press_kept,
    marker,
    message,
    rows,
    start,
    tap,
    token_of,
    walk_to,
)
from tests.storage.pupil_rows import Service

HEADER = "Visit for A.H. (C00001)"


@pytest.fixture
async def case(running: RunningBot, people: People, db: Database) -> Caseload:
    return await caseload(people, db)


def labels(vocabulary: tuple[tuple[str, str], ...]) -> list[str]:
    return [label for _, label in vocabulary]


async def test_a_visit_recorded_by_pressing_buttons(case: Caseload, db: Database,
                                                    settings: Settings) -> None:
    user = case.user
    first = await start(user)
    assert first.labels() == [NOAH, AMELIA]  # lowest attendance first
    assert first.protect_content

    steps = [
        (AMELIA, visit.QUESTIONS[flow.TYPE], labels(VISIT_TYPES)),
        ("Home visit", visit.QUESTIONS[flow.DATE], ["Today", "Yesterday"]),
        ("Yesterday", visit.QUESTIONS[flow.CONTACT], labels(CONTACT_OUTCOMES)),
        ("Parent/carer seen", visit.QUESTIONS[flow.REASON], labels(ABSENCE_REASONS)),
        ("Anxiety or mental health", visit.QUESTIONS[flow.ACTION], labels(ACTIONS)),
        ("Follow-up visit", visit.QUESTIONS[flow.FOLLOW_UP], ["In 1 week", "In 2 weeks", "None"]),
        ("In 1 week", visit.QUESTIONS[flow.NOTES], ["Skip"]),
    ]
    for label, question, expected in steps:
        shown = await tap(user, label)
        # The same message, edited step by step.
        assert shown.message_id == first.message_id and shown.edited
        assert shown.text == f"{HEADER}\n\n{question}"
        assert shown.labels() == expected

    notes_id = await user.send("Mum says she is anxious about her new class.")
    summary = await user.edited(await user.next_message())
    assert summary.text == "\n".join([
        HEADER, "",
        "Type: Home visit", "Date: 24/11/2026", "Contact: Parent/carer seen",
        "Main reason: Anxiety or mental health", "Action agreed: Follow-up visit",
        "Next follow-up: 02/12/2026", "Notes: Mum says she is anxious about her new class.",
        "", "Save this visit?"])
    assert summary.labels() == ["Save", "Change", "Cancel"]
    # The notes step's Skip, left on the earlier message, is an earlier step's button now.
    press = await user.press("Skip", message_id=first.message_id)
    assert await user.answer_to(press) == visit.STALE

    press = await user.press("Save")
    assert await user.answer_to(press) == "Saved"
    saved = message(user, summary.message_id)
    assert saved.text == ("Saved: Home visit for A.H. on 24/11/2026. "
                          "Next follow-up: 02/12/2026.")
    assert saved.labels() == []

    visits = await rows(db, "SELECT * FROM visits")
    assert len(visits) == 1
    row = visits[0]
    assert (row["pupil_id"], row["officer_id"], row["visit_date"], row["type"], row["contact"],
            row["reason"], row["action"], row["follow_up"], row["notes"], row["source"]) == (
        case.amelia, case.ann.id, "2026-11-24", "home", "parent", "anxiety", "followup",
        "2026-12-02", "Mum says she is anxious about her new class.", "chat")
    assert row["draft_token"] == token_of(first)
    assert await rows(db, "SELECT * FROM conversations") == []
    audit = await rows(db, "SELECT actor, action, target, reason, detail FROM audit"
                           " WHERE action = 'visit_saved'")
    assert len(audit) == 1
    assert (audit[0]["actor"], audit[0]["target"], audit[0]["reason"]) == (
        "officer:EWO1", f"pupil:{case.amelia}", "visit_command")
    assert json.loads(audit[0]["detail"]) == {"visit_id": row["id"]}
    # The typed notes and the summary are deleted from the chat later.
    due = {r["message_id"] for r in await rows(db, "SELECT message_id FROM sensitive_messages")}
    assert {notes_id, summary.message_id} <= due
    assert await rows(db, "SELECT * FROM outbox WHERE kind = 'escalation'") == []

    # The card shows it, and the follow-up.
    await user.send("/pupil Amelia Hughes")
    card = await user.next_message()
    assert "24/11/2026 — Home visit — Parent/carer seen (EWO1)" in card.text
    assert "02/12/2026" in card.text


async def test_bad_input_at_every_step_gets_a_hint_and_the_same_step(
        case: Caseload, db: Database) -> None:
    user = case.user

    async def typed(text: str, hint: str, question: str) -> None:
        await user.send(text)
        again = await user.next_message()
        if again.text == SENSITIVE_PLACEHOLDER:  # the summary: shown by an edit
            again = await user.edited(again)
        assert again.text is not None
        assert again.text.startswith(f"{hint}\n\n"), again.text
        assert again.text.endswith(question)

    await start(user)
    await typed("Zed", visit.NO_MATCH, visit.CHOOSE_PUPIL)
    assert user.last().labels() == [NOAH, AMELIA]
    await user.send("amelia")  # one match of mine (Amelia Hurst is not mine)
    assert (await user.next_message()).text == f"{HEADER}\n\n{visit.QUESTIONS[flow.TYPE]}"
    choose = visit.HINTS[flow.Problem.CHOOSE]
    await typed("a chat", choose, visit.QUESTIONS[flow.TYPE])
    assert user.last().labels() == labels(VISIT_TYPES)
    await user.send("home visit")  # a typed label is as good as its button
    await user.next_message()
    for text, problem in (("31/02/2026", flow.Problem.NOT_A_DATE),
                          ("26/11/2026", flow.Problem.FUTURE_VISIT),
                          ("26/11", flow.Problem.FUTURE_VISIT_NO_YEAR),
                          ("last Tuesday", flow.Problem.NOT_A_DATE)):
        await typed(text, visit.HINTS[problem], visit.QUESTIONS[flow.DATE])
    assert user.last().labels() == ["Today", "Yesterday"]
    await user.send("20/11")
    await user.next_message()
    await typed("saw mum", choose, visit.QUESTIONS[flow.CONTACT])
    await tap(user, "Child seen")
    await typed("poorly", choose, visit.QUESTIONS[flow.REASON])
    await tap(user, "Illness")
    await typed("call again", choose, visit.QUESTIONS[flow.ACTION])
    await tap(user, "Attendance meeting")
    await typed("24/11/2026", visit.HINTS[flow.Problem.PAST_FOLLOW_UP],
                visit.QUESTIONS[flow.FOLLOW_UP])
    await typed("1/11", visit.HINTS[flow.Problem.PAST_FOLLOW_UP_NO_YEAR],
                visit.QUESTIONS[flow.FOLLOW_UP])
    await typed("soon", visit.HINTS[flow.Problem.NOT_A_DATE], visit.QUESTIONS[flow.FOLLOW_UP])
    await user.send("30/11/2026")
    await user.next_message()
    too_long = "x" * (flow.NOTES_MAX + 1)
    await typed(too_long, visit.HINTS[flow.Problem.NOTES_TOO_LONG], visit.QUESTIONS[flow.NOTES])
    await user.send("x" * flow.NOTES_MAX)  # the longest notes allowed
    summary = await user.edited(await user.next_message())
    assert len(summary.text) <= 4096 and "(4,096 characters in all)" in summary.text
    await typed("yes", choose, visit.QUESTIONS[flow.SUMMARY])
    assert user.last().labels() == ["Save", "Change", "Cancel"]
    # A forged choice at this step is refused with the same hint.
    press = await user.press_data(f"v:{token_of(user.last())}:summary:publish",
                                  user.last().message_id)
    assert await user.answer_to(press) == choose
    await tap(user, "Save")
    saved = await rows(db, "SELECT visit_date, contact, reason, action, follow_up, notes"
                           " FROM visits")
    assert [tuple(row) for row in saved] == [
        ("2026-11-20", "child", "illness", "meeting", "2026-11-30", "x" * flow.NOTES_MAX)]


async def test_a_letter_skips_the_contact_step(case: Caseload, db: Database) -> None:
    user = case.user
    await walk_to(case.user, flow.TYPE)
    await tap(user, "Letter")
    shown = await tap(user, "Today")
    assert shown.text.endswith(visit.QUESTIONS[flow.REASON])
    for label in ("Holiday", "No further action", "None", "Skip"):
        shown = await tap(user, label)
    assert "Contact:" not in shown.text
    assert "Next follow-up: None\nNotes: none" in shown.text
    await tap(user, "Save")
    saved = await rows(db, "SELECT type, contact, follow_up, notes FROM visits")
    assert [tuple(row) for row in saved] == [("letter", None, None, None)]


@pytest.mark.parametrize("step", STEPS)
async def test_cancel_at_any_step_saves_nothing(case: Caseload, db: Database,
                                                step: str) -> None:
    user = case.user
    shown = await walk_to(user, step)
    stale = shown.buttons[0][0].data
    await user.send("/cancel")
    assert (await user.next_message()).text == visit.CANCELLED
    assert await rows(db, "SELECT * FROM visits") == []
    assert await rows(db, "SELECT * FROM conversations") == []
    assert stale is not None
    press = await user.press_data(stale, shown.message_id)
    assert await user.answer_to(press) == visit.STALE_ENDED  # nothing is open to carry on
    await user.send("/cancel")
    assert (await user.next_message()).text == visit.NOTHING_TO_CANCEL


@pytest.mark.parametrize("step", STEPS)
async def test_a_restart_at_any_step_resumes_there(
        case: Caseload, db: Database, running: RunningBot, settings: Settings,
        standin: BotApiStandIn, clock: FixedClock, step: str) -> None:
    user = case.user
    shown = await walk_to(user, step)
    await running.stop()
    async with RunningBot(settings, standin, clock=clock, db=db):
        # The buttons of the current step, on the same message, still work.
        for pending, label in PRESSES[STEPS.index(step):]:
            if pending == flow.NOTES:
                await user.send("Written after the restart.")
                shown = await user.edited(await user.next_message())
                continue
            shown = await tap(user, label)
        assert shown.text.startswith("Saved: Home visit for A.H. on 24/11/2026.")
    saved = await rows(db, "SELECT pupil_id, action, notes FROM visits")
    notes = "Written after the restart." if STEPS.index(step) <= STEPS.index(flow.NOTES) \
        else None
    assert [tuple(row) for row in saved] == [(case.amelia, "followup", notes)]


async def test_double_save_records_one_visit(case: Caseload, db: Database) -> None:
    user = case.user
    summary = await walk_to(user, flow.SUMMARY)
    first = await user.press("Save", message_id=summary.message_id)
    second = await user.press("Save", message_id=summary.message_id)
    assert await user.answer_to(first) == "Saved"
    assert await user.answer_to(second) == visit.ALREADY_SAVED
    assert len(await rows(db, "SELECT * FROM visits")) == 1
    assert len(await rows(db, "SELECT * FROM audit WHERE action = 'visit_saved'")) == 1


async def test_forged_buttons_are_refused(case: Caseload, db: Database) -> None:
    user = case.user
    shown = await start(user)
    token = token_of(shown)
    for pupil in (case.other, 999, "x"):
        press = await user.press_data(f"v:{token}:pupil:{pupil}", shown.message_id)
        assert await user.answer_to(press) == visit.NO_MATCH
    press = await user.press_data(f"v:new:{case.other}", shown.message_id)
    assert await user.answer_to(press) == visit.NO_MATCH
    for data in ("v:00000000:pupil:1", f"v:{token}:type:home", f"v:{token}:pupil",
                 f"v:{token}:resume:go:1", "v:", "vc:", "vc:abc", "vc:1:2"):
        press = await user.press_data(data, shown.message_id)
        assert await user.answer_to(press) == visit.STALE, data
    refused = await rows(db, "SELECT action, target, reason FROM audit"
                             " WHERE action LIKE 'refused:%'")
    assert [tuple(row) for row in refused] == [
        ("refused:button", f"pupil:{case.other}", "not_allocated"),
        ("refused:button", "pupil:999", "not_allocated"),
        ("refused:button", None, "not_allocated"),
        ("refused:button", f"pupil:{case.other}", "not_allocated")]
    # Nothing was sent, and the draft is untouched at the pupil step.
    await marker(user)
    assert message(user, shown.message_id).text == visit.CHOOSE_PUPIL
    await tap(user, AMELIA)


async def test_another_officers_pupil_is_never_offered(
        case: Caseload, people: People, db: Database) -> None:
    user = case.user
    for typed in ("Hurst", "amelia hu"):  # Amelia Hurst is EWO2's pupil
        await user.send(f"/visit {typed}")
        reply = await user.next_message()
        if typed == "Hurst":
            assert reply.text == f"{visit.NO_MATCH}\n\n{visit.CHOOSE_PUPIL}"
            assert reply.labels() == [NOAH, AMELIA]
        else:
            assert reply.text.startswith(HEADER)  # only her namesake of mine
        await user.send("/cancel")
        await user.next_message()
    await start(user)
    await user.send("Hurst")
    assert (await user.next_message()).text == f"{visit.NO_MATCH}\n\n{visit.CHOOSE_PUPIL}"
    await user.send("/cancel")
    await user.next_message()
    # A supervisor records visits for their own pupils only, not their team's.
    supervisor = people.user()
    await enrol_directly(db, people.settings, ref="SUP1", user_id=supervisor.user_id,
                         pin=PIN, now=people.clock.now())
    await supervisor.send("/visit Amelia")
    assert (await supervisor.next_message()).text == visit.NO_PUPILS
    await supervisor.send("/due")
    assert (await supervisor.next_message()).text == visit.NO_FOLLOW_UPS


async def test_several_matches_offer_buttons(case: Caseload, db: Database) -> None:
    user = case.user
    async def _transaction(conn: Conn) -> None:
        service = Service(conn)
        service.serial = 3  # after the caseload's three pupils
        await service.pupil("Amelia", "Hughes", officer=case.ann)  # a namesake
    await db.write(_transaction)
    await user.send("/visit amelia hughes")
    choice = await user.next_message()
    assert choice.text == visit.SEVERAL_MATCH
    assert choice.labels() == [AMELIA, "Amelia Hughes"]
    shown = await tap(user, "Amelia Hughes")
    assert shown.text == "Visit for A.H. (C00004)\n\n" + visit.QUESTIONS[flow.TYPE]


async def test_an_allocation_removed_midway_ends_the_visit(case: Caseload,
                                                          db: Database) -> None:
    user = case.user
    await walk_to(user, flow.REASON)

    async def reallocate(pupil: int, officer_id: int) -> None:
        async def _transaction(conn: Conn) -> None:
            await conn.execute("UPDATE allocations SET officer_id = ? WHERE pupil_id = ?",
                               (officer_id, pupil))
        await db.write(_transaction)

    bob = (await rows(db, "SELECT id FROM officers WHERE ref = 'EWO2'"))[0]["id"]
    await reallocate(case.amelia, bob)
    shown = await tap(user, "Illness")
    assert shown.text == visit.NOT_ALLOCATED and shown.labels() == []
    assert await rows(db, "SELECT * FROM conversations") == []
    # A typed answer finds the same.
    await user.send("/visit Noah")
    await user.next_message()
    await tap(user, "Phone call")
    await reallocate(case.noah, bob)
    await user.send("20/11/2026")
    assert (await user.next_message()).text == visit.NOT_ALLOCATED
    assert await rows(db, "SELECT * FROM visits") == []
    assert await rows(db, "SELECT * FROM conversations") == []


async def test_a_lock_midway_keeps_the_draft(case: Caseload, db: Database,
                                            clock: FixedClock) -> None:
    user = case.user
    shown = await walk_to(user, flow.DATE)
    # After the PIN the officer is told a visit draft is open; the kept press goes on.
    await lock_with_a_press_kept(user, "Today", shown.message_id,
                                 "A visit for A.H. is still open. Send /visit to carry on.")
    assert message(user, shown.message_id).text.endswith(visit.QUESTIONS[flow.CONTACT])
    for label in ("Child seen", "Illness", "No further action", "None"):
        await tap(user, label)
    # Idle too long: the typed notes wait for the PIN, then go on.
    clock.advance(timedelta(minutes=31))
    await user.send("Seen at the door.")
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert (await user.next_message()).text == visit.DRAFT_OPEN.format(initials="A.H.")
    summary = await user.edited(await user.next_message())
    assert "Notes: Seen at the door." in summary.text
    await tap(user, "Save")
    saved = await rows(db, "SELECT visit_date, notes FROM visits")
    assert [tuple(row) for row in saved] == [("2026-11-25", "Seen at the door.")]


async def test_visit_with_a_draft_open_asks_to_continue_or_discard(
        case: Caseload, db: Database) -> None:
    user = case.user
    old = await walk_to(user, flow.REASON)
    old_button = old.buttons[0][0].data
    await user.send("/visit")
    prompt = await user.next_message()
    assert prompt.text == "Continue visit for A.H.?"
    assert prompt.labels() == ["Continue", "Discard"]
    shown = await tap(user, "Continue")
    assert shown.message_id == prompt.message_id
    assert shown.text == f"{HEADER}\n\n{visit.QUESTIONS[flow.REASON]}"
    shown = await tap(user, "Illness")
    assert shown.message_id == prompt.message_id
    assert shown.text.endswith(visit.QUESTIONS[flow.ACTION])
    press = await user.press("Illness", message_id=old.message_id)
    assert await user.answer_to(press) == visit.STALE

    await user.send("/visit Noah")
    await user.next_message()
    shown = await tap(user, "Discard")
    assert shown.text == "Visit for N.P. (C00002)\n\n" + visit.QUESTIONS[flow.TYPE]
    assert old_button is not None
    press = await user.press_data(old_button, old.message_id)
    assert await user.answer_to(press) == visit.STALE
    await user.send("/visit")
    await user.next_message()
    shown = await tap(user, "Discard")
    assert shown.text == visit.CHOOSE_PUPIL and shown.labels() == [NOAH, AMELIA]
    assert await rows(db, "SELECT * FROM visits") == []


async def test_a_draft_lasts_until_the_session_maximum(case: Caseload, db: Database,
                                                       clock: FixedClock,
                                                       settings: Settings) -> None:
    user = case.user
    await walk_to(user, flow.NOTES)
    clock.advance(timedelta(hours=settings.session_max_hours, minutes=1))
    await user.send("/visit")
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert (await user.next_message()).text == visit.CHOOSE_PUPIL  # a new draft, not resumed


async def test_the_cards_record_visit_button(case: Caseload, db: Database) -> None:
    user = case.user
    await user.send("/pupil Noah")
    await user.next_message()
    await user.press("Record visit")
    shown = await user.next_message()
    assert shown.text == "Visit for N.P. (C00002)\n\n" + visit.QUESTIONS[flow.TYPE]


async def test_escalation_tells_the_supervisor_naming_no_one(case: Caseload,
                                                             db: Database) -> None:
    user = case.user
    await walk_to(user, flow.ACTION)
    for label in ("Safeguarding concern – referred to DSL", "In 2 weeks", "Skip", "Save"):
        await tap(user, label)
    queued = await rows(db, "SELECT kind, audience, payload FROM outbox"
                            " WHERE kind = 'escalation'")
    assert [(row["kind"], row["audience"]) for row in queued] == [
        ("escalation", f"supervisor_of:{case.ann.id}")]
    payload = json.loads(queued[0]["payload"])
    assert payload == {
        "text": ("Safeguarding concern – referred to DSL: case C00001, A.H., Hillside Primary "
                 "School. Recorded by EWO1 on 24/11/2026."),
        "buttons": [["Open card", f"card:{case.amelia}"]],
        # Should it be readdressed to the controllers: no initials.
        "controllers": {"text": ("Safeguarding concern – referred to DSL: case C00001, "
                                 "Hillside Primary School. Recorded by EWO1 on 24/11/2026.")},
        # Who recorded it, never shown: a readdressed copy does not go back to them.
        "recorder": case.ann.id}
    linked = await rows(db, "SELECT pupil_id FROM outbox_pupils")
    assert [row["pupil_id"] for row in linked] == [case.amelia]


async def test_due_lists_my_open_follow_ups_oldest_first(case: Caseload, db: Database) -> None:
    user = case.user
    bob = (await rows(db, "SELECT id FROM officers WHERE ref = 'EWO2'"))[0]["id"]
    async def _transaction(conn: Conn) -> None:
        service = Service(conn)
        service.serial = 3
        cara = await service.pupil("Cara", "Lowe", officer=case.ann)
        await service.visit(case.noah, case.ann, date(2026, 11, 18), follow_up=date(2026, 11, 25))
        await service.visit(case.amelia, case.ann, date(2026, 11, 13),
                            follow_up=date(2026, 11, 20))
        await service.visit(cara, case.ann, date(2026, 11, 19), follow_up=date(2026, 11, 26))
        # Another officer's pupil, overdue: not mine to see.
        await conn.execute(
            "INSERT INTO visits (pupil_id, officer_id, visit_date, type, follow_up, saved_at)"
            " VALUES (?, ?, '2026-11-01', 'home', '2026-11-02', '2026-11-01T10:00:00+00:00')",
            (case.other, bob))
    await db.write(_transaction)
    await user.send("/due")
    due = await user.next_message()
    assert due.text.splitlines() == [
        visit.DUE_HEADER,
        "20/11/2026 (5 days overdue) — Amelia Hughes, C00001, Hillside Primary School",
        "25/11/2026 (today) — Noah Patel, C00002, Hillside Primary School"]
    assert [button.data for row in due.buttons for button in row] == [
        f"card:{case.amelia}", f"card:{case.noah}"]
    # The next visit saved for Amelia closes her follow-up.
    await walk_to(user, flow.ACTION)
    for label in ("No further action", "None", "Skip", "Save"):
        await tap(user, label)
    await user.send("/due")
    assert (await user.next_message()).text.splitlines()[1:] == [
        "25/11/2026 (today) — Noah Patel, C00002, Hillside Primary School"]
    await user.press("Noah Patel")
    assert (await user.next_message()).text.startswith("Noah Patel (C00002)")


async def test_correct_saves_a_new_entry_that_supersedes_the_old(
        case: Caseload, db: Database, clock: FixedClock) -> None:
    user = case.user
    async def _transaction(conn: Conn):
        old = await Service(conn).visit(case.amelia, case.ann, date(2026, 11, 24),
                                        saved=clock.now() - timedelta(days=6))
        await conn.execute("UPDATE visits SET reason = 'illness', action = 'nfa',"
                           " notes = 'First notes.' WHERE id = ?", (old,))
        return old
    old = await db.write(_transaction)
    await user.send("/visit Noah")  # a draft open for someone else
    await user.next_message()
    await user.send("/pupil Amelia Hughes")
    card = await user.next_message()
    assert card.button("Correct 24/11/2026").data == f"vc:{old}"
    await user.press("Correct 24/11/2026")
    prompt = await user.next_message()
    assert prompt.text == "Continue visit for N.P.?"
    shown = await tap(user, "Discard")
    assert shown.text == (f"{HEADER}\nCorrecting the visit of 24/11/2026; your earlier answers"
                          f" are marked ✓.\n\n{visit.QUESTIONS[flow.TYPE]}")
    assert shown.labels() == ["✓ Home visit", *labels(VISIT_TYPES)[1:]]
    shown = await tap(user, "✓ Home visit")
    # The visit was yesterday: Yesterday is marked, not offered a second time.
    assert shown.labels() == ["Today", "✓ Yesterday"]
    shown = await tap(user, "✓ Yesterday")
    assert "✓ Parent/carer seen" in shown.labels()
    shown = await tap(user, "✓ Parent/carer seen")
    assert "✓ Illness" in shown.labels()
    shown = await tap(user, "✓ Illness")
    assert "✓ No further action" in shown.labels()
    shown = await tap(user, "Escalate to supervisor")
    assert shown.labels() == ["In 1 week", "In 2 weeks", "✓ None"]
    shown = await tap(user, "✓ None")
    assert shown.labels() == ["Keep notes", "Remove notes"]
    summary = await tap(user, "Keep notes")
    assert "Action agreed: Escalate to supervisor\nNext follow-up: None\nNotes: First notes." \
        in summary.text
    await tap(user, "Save")

    saved = await rows(db, "SELECT id, supersedes, visit_date, action, notes FROM visits"
                           " ORDER BY id")
    assert [tuple(row)[1:] for row in saved] == [
        (None, "2026-11-24", "nfa", "First notes."),
        (old, "2026-11-24", "escalate", "First notes.")]
    new = saved[1]["id"]
    entry = (await rows(db, "SELECT reason, detail FROM audit WHERE action = 'visit_saved'"))[0]
    assert entry["reason"] == "visit_correction"
    assert json.loads(entry["detail"]) == {"visit_id": new, "supersedes": old}
    assert len(await rows(db, "SELECT * FROM outbox WHERE kind = 'escalation'")) == 1
    # The old entry is kept but no longer listed, and cannot be corrected again.
    await user.send("/pupil Amelia Hughes")
    card = await user.next_message()
    assert card.text.count("24/11/2026 — Home visit") == 1
    assert card.button("Correct 24/11/2026").data == f"vc:{new}"
    press = await user.press_data(f"vc:{old}", card.message_id)
    assert await user.answer_to(press) == visit.ALREADY_CORRECTED


async def test_correct_is_for_the_author_within_seven_days(
        case: Caseload, people: People, db: Database, clock: FixedClock) -> None:
    user = case.user
    async def _transaction(conn: Conn):
        service = Service(conn)
        recent = await service.visit(case.amelia, case.ann, date(2026, 11, 24),
                                     saved=clock.now() - timedelta(days=6, hours=23))
        old = await service.visit(case.amelia, case.ann, date(2026, 11, 17),
                                  saved=clock.now() - timedelta(days=7))
        return old, recent
    old, recent = await db.write(_transaction)
    press = await user.press_data(f"vc:{old}", 1)
    assert await user.answer_to(press) == visit.TOO_OLD
    press = await user.press_data("vc:999", 1)
    assert await user.answer_to(press) == visit.CANNOT_CORRECT
    bob = people.user()
    await enrol_directly(db, people.settings, ref="EWO2", user_id=bob.user_id, pin=PIN,
                         now=clock.now())
    press = await bob.press_data(f"vc:{recent}", 1)
    assert await bob.answer_to(press) == visit.CANNOT_CORRECT
    await marker(user)
    refused = await rows(db, "SELECT actor, target, reason FROM audit"
                             " WHERE action = 'refused:button' ORDER BY seq")
    assert [tuple(row) for row in refused] == [
        ("officer:EWO1", f"pupil:{case.amelia}", "correction_window"),
        ("officer:EWO1", None, "not_author"),
        ("officer:EWO2", None, "not_author")]
    assert await rows(db, "SELECT * FROM conversations") == []


async def test_visit_and_due_are_not_for_controllers(running: RunningBot, people: People,
                                                     db: Database) -> None:
    controller = await people.enrolled("CTL1", "controller")
    for command in ("/visit", "/visit Amelia", "/due"):
        await controller.send(command)
        assert (await controller.next_message()).text == NOT_ALLOWED
    press = await controller.press_data("vc:1", 1)
    assert await controller.answer_to(press) == NOT_ALLOWED
    refused = await rows(db, "SELECT action, reason FROM audit WHERE action LIKE 'refused:%'")
    assert [tuple(row) for row in refused] == [
        ("refused:visit", "role"), ("refused:visit", "role"), ("refused:due", "role"),
        ("refused:button", "role")]


async def test_imported_visits_follow_ups_are_due_until_the_next_visit(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    await people.add("SUP1", "supervisor")
    user = await people.enrolled("EWO1", supervisor="SUP1")
    await people.add("EWO2", supervisor="SUP1")
    files = {
        "pupils": ("upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
                   "H801200001001,Ava,Brown,2015-03-02,6,100001,Oak Primary\n"
                   "G80120000101A,Ben,Cole,2014-07-19,7,100002,Elm Academy\n"),
        "allocations": "upn,officer_ref\nH801200001001,EWO1\nG80120000101A,EWO2\n",
        "visits": ("upn,officer_ref,date,type,outcome,action,follow_up,notes\n"
                   "H801200001001,EWO1,11/11/2026,Home visit,No reply – card left,"
                   "Follow-up visit,18/11/2026,Card left.\n"
                   "G80120000101A,EWO2,2026-11-10,Phone call,Parent/carer seen,,"
                   "2026-11-17,\n"),
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        await run_import(db, kind, path, actor="os:test", today=clock.today(),
                         settings=settings, now=clock.now())
    ava = (await rows(db, "SELECT id, case_ref FROM pupils WHERE upn = 'H801200001001'"))[0]

    await user.send("/due")
    assert (await user.next_message()).text.splitlines() == [
        visit.DUE_HEADER,
        f"18/11/2026 (7 days overdue) — Ava Brown, {ava['case_ref']}, Oak Primary"]
    await user.send("/visit Ben")  # EWO2's pupil
    assert (await user.next_message()).text.startswith(visit.NO_MATCH)
    await user.send("/cancel")
    await user.next_message()

    await user.send("/visit ava")
    assert (await user.next_message()).text.startswith("Visit for A.B.")
    for label in ("Home visit", "Today", "Child and parent/carer seen", "Illness",
                  "No further action", "None", "Skip", "Save"):
        await tap(user, label)
    await user.send("/due")
    assert (await user.next_message()).text == visit.NO_FOLLOW_UPS
    # The imported visit cannot be corrected from the chat after its week is up either.
    imported = (await rows(db, "SELECT id FROM visits WHERE source = 'import'"
                               " AND pupil_id = ?", (ava["id"],)))[0]["id"]
    clock.advance(timedelta(days=7))
    await user.send(PIN)  # the session locked while the week passed
    await user.next_message()
    await marker(user)
    press = await user.press_data(f"vc:{imported}", 1)
    assert await user.answer_to(press) == visit.TOO_OLD
