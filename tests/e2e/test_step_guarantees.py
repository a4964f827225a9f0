"""/step keeps /visit's guarantees: drafts that survive a restart and a lock, one entry
per double-tapped Save, stale and forged buttons refused, /cancel saving nothing, only
one's own pupils; and a visit's Record it now."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.domain import step_flow as flow
from bot.handlers import access, step
from bot.harness import RunningBot, enrol_directly
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage.db import Conn, Database
from tests.e2e.conftest import PIN, People
from tests.e2e.step_helpers import (
    HEADER,
    JANE,
    STEP_LABELS,
    add_parents,
    reply,
    token_of,
)
from tests.e2e.visit_helpers import (
    AMELIA,
    NOAH,
    Caseload,
    caseload,
    lock_with_a_press_kept,
    marker,
    message,
    rows,
    tap,
)
from tests.storage.pupil_rows import Service

# An attendance contract, button by button, and the step each press leaves the draft at.
CONTRACT = (("Attendance contract", flow.PARENTS), (JANE, flow.PARENTS), ("Done", flow.DATE),
            ("Today", flow.REVIEW), ("In 6 weeks: 06/01/2027", flow.SUMMARY),
            ("Save", None))


@pytest.fixture
async def case(running: RunningBot, people: People, db: Database) -> Caseload:
    found = await caseload(people, db)
    await add_parents(db, found.amelia)
    return found


async def open_step(user, typed: str = "Amelia"):
    await user.send(f"/step {typed}")
    shown = await user.next_message()
    assert shown.text == f"{HEADER}\n\n{step.QUESTIONS[flow.WHAT]}", shown.text
    return shown


async def contract_saved(db: Database) -> list[tuple]:
    found = await rows(db, "SELECT s.kind, s.step_date, s.review_date, p.contact_id"
                           " FROM pathway_steps s JOIN pathway_parents p ON p.step_id = s.id")
    return [tuple(row) for row in found]


@pytest.mark.parametrize("stop_after", range(len(CONTRACT) - 1))
async def test_a_restart_at_any_step_resumes_there(
        case: Caseload, db: Database, running: RunningBot, settings: Settings,
        standin: BotApiStandIn, clock: FixedClock, stop_after: int) -> None:
    user = case.user
    await open_step(user)
    for label, _ in CONTRACT[:stop_after + 1]:
        await tap(user, label)
    drafts = await rows(db, "SELECT kind, step FROM conversations")
    assert [tuple(row) for row in drafts] == [("step", CONTRACT[stop_after][1])]
    await running.stop()
    async with RunningBot(settings, standin, clock=clock, db=db):
        # The buttons of the current step, on the same message, still work.
        for label, _ in CONTRACT[stop_after + 1:]:
            shown = await tap(user, label)
        assert shown.text == "Saved: Attendance contract for A.H. on 25/11/2026."
    assert len(await contract_saved(db)) == 1


async def test_a_double_save_records_one_step(case: Caseload, db: Database) -> None:
    user = case.user
    await open_step(user)
    for label, _ in CONTRACT[:-1]:
        summary = await tap(user, label)
    first = await user.press("Save", message_id=summary.message_id)
    second = await user.press("Save", message_id=summary.message_id)
    assert await user.answer_to(first) == "Saved"
    assert await user.answer_to(second) == step.ALREADY_SAVED
    assert len(await contract_saved(db)) == 1
    assert len(await rows(db, "SELECT * FROM audit WHERE action = 'pathway_step_saved'")) == 1


async def test_cancel_saves_nothing_and_old_buttons_are_stale(case: Caseload,
                                                             db: Database) -> None:
    user = case.user
    await open_step(user)
    for label, _ in CONTRACT[:3]:
        shown = await tap(user, label)
    await user.send("/cancel")
    assert (await user.next_message()).text == step.CANCELLED
    press = await user.press("Today", message_id=shown.message_id)
    assert await user.answer_to(press) == step.STALE_ENDED
    assert await rows(db, "SELECT * FROM pathway_steps") == []
    assert await rows(db, "SELECT * FROM conversations") == []
    # The summary's Cancel too.
    await open_step(user)
    for label, _ in CONTRACT[:-1]:
        await tap(user, label)
    shown = await tap(user, "Cancel")
    assert shown.text == step.CANCELLED
    assert await rows(db, "SELECT * FROM pathway_steps") == []


async def test_forged_buttons_are_refused(case: Caseload, db: Database) -> None:
    user = case.user
    await user.send("/step")
    shown = await user.next_message()
    assert shown.text == step.CHOOSE_PUPIL and shown.labels() == [NOAH, AMELIA]
    token = token_of(shown)
    for pupil in (case.other, 999, "x"):
        press = await user.press_data(f"st:{token}:pupil:{pupil}", shown.message_id)
        assert await user.answer_to(press) == step.NO_MATCH
    press = await user.press_data(f"st:new:{case.other}:contract", shown.message_id)
    assert await user.answer_to(press) == step.NO_MATCH
    for data in ("st:00000000:pupil:1", f"st:{token}:what:nti", f"st:{token}:pupil",
                 f"st:{token}:resume:go:1", "st:", "st:new:1"):
        press = await user.press_data(data, shown.message_id)
        assert await user.answer_to(press) == step.STALE, data
    await tap(user, AMELIA)
    shown = user.last()
    token = token_of(shown)
    choose = step.HINTS[flow.Problem.CHOOSE]
    # Something not offered (no referral on record: no outcome, no prosecution yet).
    for what in ("pn_outcome", "prosecution", "visit"):
        press = await user.press_data(f"st:{token}:what:{what}", shown.message_id)
        assert await user.answer_to(press) == choose, what
    shown = await tap(user, "Attendance contract")
    # Another pupil's contact, or no contact at all, is not a parent to choose.
    other_contact = await add_parents(db, case.other)
    for contact in (other_contact[JANE], 999, "1x"):
        press = await user.press_data(f"st:{token}:parents:{contact}", shown.message_id)
        assert await user.answer_to(press) == choose
    await marker(user)
    assert message(user, shown.message_id).labels()[0] == JANE  # nothing ticked
    refused = await rows(db, "SELECT target FROM audit WHERE action = 'refused:button'")
    assert [row["target"] for row in refused] == [
        f"pupil:{case.other}", "pupil:999", None, f"pupil:{case.other}"]


async def test_a_forged_step_id_for_an_outcome_is_refused(case: Caseload,
                                                          db: Database) -> None:
    user = case.user
    await open_step(user)
    await tap(user, "ESO application")
    await tap(user, "Today")
    await tap(user, "Save")
    shown = await open_step(user)
    assert "ESO granted or refused" in shown.labels()
    shown = await tap(user, "ESO granted or refused")
    target = shown.buttons[0][0].data
    assert target is not None
    token, step_id = target.split(":")[1], target.split(":")[3]
    # Another pupil's step, made up ids, a step of another kind: not offered.
    async def _other_step(conn: Conn) -> int:
        return await conn.insert(
            "INSERT INTO pathway_steps (pupil_id, kind, step_date, source, saved_at)"
            " VALUES (?, 'eso', '2026-11-01', 'import', '2026-11-01T00:00:00+00:00')",
            (case.other,))
    other = await db.write(_other_step)
    for forged in (str(other), "999", f"{step_id}.1", "x"):
        press = await user.press_data(f"st:{token}:target:{forged}", shown.message_id)
        assert await user.answer_to(press) == step.HINTS[flow.Problem.CHOOSE], forged
    await tap(user, shown.labels()[0])
    shown = await tap(user, "Granted")
    summary = await tap(user, "Today")
    assert "Order ends: 25/11/2027" in summary.text
    await tap(user, "Save")
    granted = await rows(db, "SELECT outcome, end_date FROM pathway_outcomes")
    assert [tuple(row) for row in granted] == [("granted", "2027-11-25")]


async def test_another_officers_pupil_is_never_offered(
        case: Caseload, people: People, db: Database) -> None:
    user = case.user
    await user.send("/step Hurst")  # Amelia Hurst is EWO2's pupil
    reply_ = await user.next_message()
    assert reply_.text == f"{step.NO_MATCH}\n\n{step.CHOOSE_PUPIL}"
    assert reply_.labels() == [NOAH, AMELIA]
    await user.send("Hurst")
    assert (await user.next_message()).text == f"{step.NO_MATCH}\n\n{step.CHOOSE_PUPIL}"
    await user.send("/cancel")
    await user.next_message()
    await user.send("/step C00003")  # her case reference: refused and audited
    assert (await user.next_message()).text.startswith(step.NO_MATCH)
    refused = await rows(db, "SELECT target FROM audit WHERE action = 'refused:pupil_lookup'")
    assert [row["target"] for row in refused] == [f"pupil:{case.other}"]
    # A supervisor records for their own pupils only, not their team's.
    supervisor = people.user()
    await enrol_directly(db, people.settings, ref="SUP1", user_id=supervisor.user_id,
                         pin=PIN, now=people.clock.now())
    await supervisor.send("/step Amelia")
    assert (await supervisor.next_message()).text == step.NO_PUPILS


async def test_an_allocation_removed_midway_ends_the_step(case: Caseload,
                                                          db: Database) -> None:
    user = case.user
    await open_step(user)
    await tap(user, "Support plan")
    bob = (await rows(db, "SELECT id FROM officers WHERE ref = 'EWO2'"))[0]["id"]
    async def _reallocate(conn: Conn) -> None:
        await conn.execute("UPDATE allocations SET officer_id = ? WHERE pupil_id = ?",
                           (bob, case.amelia))
    await db.write(_reallocate)
    shown = await tap(user, "Today")
    assert shown.text == step.NOT_ALLOCATED
    assert await rows(db, "SELECT * FROM conversations") == []


async def test_a_lock_midway_keeps_the_draft(case: Caseload, db: Database,
                                            clock: FixedClock) -> None:
    user = case.user
    await open_step(user)
    shown = await tap(user, "Support plan")
    await lock_with_a_press_kept(user, "Yesterday", shown.message_id,
                                 step.DRAFT_OPEN.format(initials="A.H."))
    assert message(user, shown.message_id).text.endswith(step.QUESTIONS[flow.REVIEW])
    # Idle too long: a typed date waits for the PIN, then goes on.
    clock.advance(timedelta(minutes=31))
    await user.send("20/01/2027")
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert (await user.next_message()).text == step.DRAFT_OPEN.format(initials="A.H.")
    summary = await reply(user)
    assert "Review: 20/01/2027" in summary.text
    await tap(user, "Save")
    saved = await rows(db, "SELECT step_date, review_date FROM pathway_steps")
    assert [tuple(row) for row in saved] == [("2026-11-24", "2027-01-20")]


async def test_step_with_a_draft_open_asks_to_continue_or_discard(
        case: Caseload, db: Database) -> None:
    user = case.user
    await open_step(user)
    old = await tap(user, "Support plan")
    await user.send("/step")
    prompt = await user.next_message()
    assert prompt.text == "Continue the pathway step for A.H.?"
    shown = await tap(user, "Continue")
    assert shown.text.endswith("Start date?" + step.DATE_HOW)
    shown = await tap(user, "Today")
    assert shown.message_id == prompt.message_id
    press = await user.press("Today", message_id=old.message_id)
    assert await user.answer_to(press) == step.STALE
    await user.send("/step Noah")
    await user.next_message()
    shown = await tap(user, "Discard")
    assert shown.text == "Pathway step for N.P. (C00002)\n\n" + step.QUESTIONS[flow.WHAT]
    assert shown.labels() == STEP_LABELS


async def test_change_goes_back_to_one_answer_then_the_summary(case: Caseload,
                                                               db: Database) -> None:
    user = case.user
    await open_step(user)
    await tap(user, "Notice to Improve")
    await tap(user, JANE)
    await tap(user, "Done")
    await tap(user, "Today")
    await tap(user, "3 weeks")
    shown = await tap(user, "Change")
    assert shown.labels() == ["Parents", "Date", "Improvement period", "Back to the summary"]
    shown = await tap(user, "Improvement period")
    assert shown.labels() == ["✓ 3 weeks", "4 weeks", "5 weeks", "6 weeks"]
    summary = await tap(user, "6 weeks")
    assert "Improvement period: 6 weeks (ends 06/01/2027)" in summary.text
    await tap(user, "Change")
    await tap(user, "Date")
    await user.send("18/11/2026")
    summary = await reply(user)
    assert "Date: 18/11/2026" in summary.text and summary.text.endswith("Save this?")
    await tap(user, "Save")
    saved = await rows(db, "SELECT step_date, period_weeks FROM pathway_steps")
    assert [tuple(row) for row in saved] == [("2026-11-18", 6)]


@pytest.mark.parametrize(("action", "what", "asked"), [
    ("Attendance contract", "Attendance contract", step.QUESTIONS[flow.PARENTS]),
    ("Notice to improve", "Notice to Improve", step.QUESTIONS[flow.PARENTS]),
])
async def test_a_visit_hands_off_to_step(case: Caseload, db: Database, action: str, what: str,
                                         asked: str) -> None:
    user = case.user
    await user.send("/visit Amelia")
    await user.next_message()
    for label in ("Home visit", "Today", "Parent/carer seen", "Illness", action, "None", "Skip"):
        await tap(user, label)
    saved = await tap(user, "Save")
    assert saved.text.startswith("Saved: Home visit for A.H.")
    assert saved.labels() == [step.RECORD_IT_NOW]
    await tap(user, step.RECORD_IT_NOW)
    shown = await reply(user)
    assert shown.text.startswith(f"{HEADER}\n{what}\n\n{asked}")
    await tap(user, JANE)
    await tap(user, "Done")
    await tap(user, "Today")
    await tap(user, "4 weeks" if what == "Notice to Improve" else "In 6 weeks: 06/01/2027")
    await tap(user, "Save")
    kinds = await rows(db, "SELECT kind FROM pathway_steps")
    assert [row["kind"] for row in kinds] == ["nti" if what == "Notice to Improve"
                                              else "contract"]


async def test_other_visit_actions_offer_no_hand_off(case: Caseload) -> None:
    user = case.user
    await user.send("/visit Amelia")
    await user.next_message()
    for label in ("Home visit", "Today", "Parent/carer seen", "Illness", "Follow-up visit",
                  "None", "Skip"):
        await tap(user, label)
    saved = await tap(user, "Save")
    assert saved.labels() == []


async def _corrected(case: Caseload, db: Database, clock: FixedClock, old_action: str,
                     new_label: str):
    """Correct a visit saved yesterday whose action was `old_action`, choosing
    `new_label` as its action; the message Save left."""
    user = case.user
    async def _transaction(conn: Conn) -> int:
        old = await Service(conn).visit(case.amelia, case.ann, clock.today(),
                                        saved=clock.now() - timedelta(hours=1))
        await conn.execute("UPDATE visits SET reason = 'illness', action = ? WHERE id = ?",
                           (old_action, old))
        return old
    old = await db.write(_transaction)
    await user.press_data(f"vc:{old}", 1)
    await user.next_message()
    for label in ("✓ Home visit", "✓ Today", "✓ Parent/carer seen", "✓ Illness", new_label,
                  "✓ None", "Skip"):
        await tap(user, label)
    saved = await tap(user, "Save")
    assert saved.text.startswith("Saved: Home visit for A.H.")
    return saved


@pytest.mark.parametrize(("old_action", "label"), [
    ("contract", "✓ Attendance contract"), ("notice", "✓ Notice to improve")])
async def test_a_correction_keeping_the_step_action_offers_no_second_hand_off(
        case: Caseload, db: Database, clock: FixedClock, old_action: str, label: str) -> None:
    # The contract or notice may have been recorded from the visit already: offering it
    # again would invite the same step twice.
    saved = await _corrected(case, db, clock, old_action, label)
    assert saved.labels() == []


@pytest.mark.parametrize(("old_action", "label"), [
    ("nfa", "Attendance contract"), ("contract", "Notice to improve")])
async def test_a_correction_changing_the_action_to_a_step_offers_it(
        case: Caseload, db: Database, clock: FixedClock, old_action: str, label: str) -> None:
    saved = await _corrected(case, db, clock, old_action, label)
    assert saved.labels() == [step.RECORD_IT_NOW]
