"""/step's Correct through the stand-in and the real bot: a saved step or outcome is never
edited, a correction is a new entry superseding it (CASEWORK.md §1), by its author,
within 7 days, for a pupil still theirs; /case shows the correction in its place."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.chat.restriction import RESTRICTED
from bot.clock import FixedClock
from bot.domain import step_flow as flow
from bot.handlers import drafts, step
from bot.harness import RunningBot, enrol_directly
from bot.sandbox import BotMessage, FakeUser
from bot.storage import rights
from bot.storage.db import Database
from tests.e2e.conftest import PIN, People
from tests.e2e.step_helpers import HEADER, JANE, TOM, add_parents, reply
from tests.e2e.visit_helpers import Caseload, caseload, rows, tap

CORRECTING = step.CORRECTING.format(date="25/11/2026")


@pytest.fixture
async def case(running: RunningBot, people: People, db: Database) -> Caseload:
    return await caseload(people, db)


@pytest.fixture
async def parents(case: Caseload, db: Database) -> dict[str, int]:
    return await add_parents(db, case.amelia)


async def save_notice_to_improve(user: FakeUser) -> BotMessage:
    """A Notice to Improve to Jane today, 4 weeks: the Saved message."""
    await user.send("/step amelia")
    await user.next_message()
    await tap(user, "Notice to Improve")
    await tap(user, JANE)
    await tap(user, "Done")
    await tap(user, "Today")
    await tap(user, "4 weeks")
    saved = await tap(user, "Save")
    assert saved.text == "Saved: Notice to Improve for A.H. on 25/11/2026."
    assert saved.labels() == [step.LABEL_CORRECT]
    return saved


async def press_correct(user: FakeUser, saved: BotMessage) -> BotMessage:
    """Correct under a Saved message: the new draft's summary."""
    press = await user.press(step.LABEL_CORRECT, message_id=saved.message_id)
    await user.answer_to(press)
    return await reply(user)


async def case_lines(user: FakeUser) -> list[str]:
    await user.send("/case amelia")
    shown = await reply(user)
    start = next(i for i, line in enumerate(shown.text.splitlines())
                 if line.startswith("Chronology"))
    return [line for line in shown.text.splitlines()[start:] if line.startswith(("C", "•"))]


async def refused(user: FakeUser, data: str, message_id: int) -> str | None:
    return await user.answer_to(await user.press_data(data, message_id))


async def test_a_step_corrected_by_buttons_shows_in_the_case_instead_of_the_old_one(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    user = case.user
    saved = await save_notice_to_improve(user)
    summary = await press_correct(user, saved)
    assert summary.text == "\n".join([
        HEADER, "Notice to Improve", CORRECTING, "", f"Parents: {JANE}", "Date: 25/11/2026",
        "Improvement period: 4 weeks (ends 23/12/2026)", "", step.QUESTIONS[flow.SUMMARY]])
    assert summary.labels() == ["Save", "Change", "Cancel"]
    await tap(user, "Change")
    await tap(user, "Date")
    shown = await tap(user, "Yesterday")  # then straight back to the summary
    assert "Date: 24/11/2026" in shown.text and shown.text.endswith(
        step.QUESTIONS[flow.SUMMARY])
    await tap(user, "Change")
    await tap(user, "Parents")
    await tap(user, TOM)
    await tap(user, "Done")
    again = await tap(user, "Save")
    assert again.text == "Saved: Notice to Improve for A.H. on 24/11/2026."

    steps = await rows(db, "SELECT id, step_date, supersedes FROM pathway_steps ORDER BY id")
    assert [tuple(row)[1:] for row in steps] == [("2026-11-25", None),
                                                 ("2026-11-24", steps[0]["id"])]
    named = await rows(db, "SELECT contact_id FROM pathway_parents WHERE step_id = ?"
                           " ORDER BY contact_id", (steps[1]["id"],))
    assert [row["contact_id"] for row in named] == sorted([parents[JANE], parents[TOM]])
    audited = await rows(db, "SELECT reason FROM audit WHERE action = 'pathway_step_saved'"
                             " ORDER BY seq")
    assert [row["reason"] for row in audited] == ["chat_entry", "correction"]
    assert await case_lines(user) == ["Chronology, newest first (1–1 of 1):",
                                      "• 24/11/2026 — Notice to Improve (EWO1)"]
    # The old entry's Correct is refused now: it has been corrected.
    press = await user.press(step.LABEL_CORRECT, message_id=saved.message_id)
    assert await user.answer_to(press) == step.ALREADY_CORRECTED


async def test_an_outcome_is_corrected_keeping_its_notice_and_outcome(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    user = case.user
    await user.send("/step amelia")
    await user.next_message()
    await tap(user, "Penalty-notice referral")
    await tap(user, JANE)
    await tap(user, "Done")
    await tap(user, "Yesterday")
    await tap(user, "Holiday in term time")
    referral = await tap(user, "Save")
    await user.send("/step amelia")
    await user.next_message()
    await tap(user, "Penalty-notice outcome")
    await tap(user, f"Referral 24/11/2026 · {JANE}")
    await tap(user, "Issued")
    await tap(user, "Today")
    saved = await tap(user, "Save")
    assert saved.text == "Saved: Penalty-notice outcome for A.H. on 25/11/2026."

    summary = await press_correct(user, saved)
    assert summary.text.splitlines()[:3] == [HEADER, "Penalty-notice outcome", CORRECTING]
    assert f"For: Referral 24/11/2026 · {JANE}" in summary.text
    assert "Outcome: Issued" in summary.text
    shown = await tap(user, "Change")
    assert shown.labels() == ["Date", step.LABEL_BACK]  # the notice and outcome are kept
    await tap(user, "Date")
    await tap(user, "Yesterday")
    again = await tap(user, "Save")
    assert again.text == "Saved: Penalty-notice outcome for A.H. on 24/11/2026."
    outcomes = await rows(db, "SELECT id, outcome, outcome_date, contact_id, supersedes"
                              " FROM pathway_outcomes ORDER BY id")
    assert [tuple(row)[1:] for row in outcomes] == [
        ("issued", "2026-11-25", parents[JANE], None),
        ("issued", "2026-11-24", parents[JANE], outcomes[0]["id"])]
    assert await case_lines(user) == [
        "Chronology, newest first (1–2 of 2):",
        "• 24/11/2026 — Penalty notice issued (EWO1)",
        "• 24/11/2026 — Penalty-notice referral (EWO1)"]
    # The referral has an outcome now: it is not corrected (its outcome is).
    press = await user.press(step.LABEL_CORRECT, message_id=referral.message_id)
    assert await user.answer_to(press) == step.HAS_OUTCOMES


async def test_each_refusal_is_a_short_answer_and_saves_nothing(
        case: Caseload, parents: dict[str, int], people: People, db: Database,
        clock: FixedClock) -> None:
    user = case.user
    saved = await save_notice_to_improve(user)
    [entry] = await rows(db, "SELECT id FROM pathway_steps")
    data = f"{step.CORRECT_PREFIX}:step:{entry['id']}"

    colleague = people.user()  # EWO2: not the author, not their pupil
    await enrol_directly(db, people.settings, ref="EWO2", user_id=colleague.user_id, pin=PIN,
                         now=clock.now())
    await colleague.send("/help")
    await colleague.next_message()
    assert await refused(colleague, data, 1) == step.CANNOT_CORRECT
    assert await refused(user, f"{step.CORRECT_PREFIX}:step:999999", saved.message_id) == (
        step.CANNOT_CORRECT)
    assert await refused(user, f"{step.CORRECT_PREFIX}:visit:{entry['id']}",
                         saved.message_id) == step.STALE

    request = await db.write(lambda conn: rights.record(conn, case.amelia, "objection",
                                                        clock.today(), actor="os:dpo",
                                                        now=clock.now()))
    assert await refused(user, data, saved.message_id) == RESTRICTED
    await db.write(lambda conn: conn.execute("DELETE FROM rights_requests WHERE id = ?",
                                             (request,)))

    await db.write(lambda conn: conn.execute(
        "UPDATE allocations SET officer_id = (SELECT id FROM officers WHERE ref = 'EWO2')"
        " WHERE pupil_id = ?", (case.amelia,)))
    assert await refused(user, data, saved.message_id) == step.CANNOT_CORRECT
    await db.write(lambda conn: conn.execute(
        "UPDATE allocations SET officer_id = ? WHERE pupil_id = ?", (case.ann.id, case.amelia)))

    week_ago = (clock.now() - timedelta(days=7)).isoformat()
    await db.write(lambda conn: conn.execute("UPDATE pathway_steps SET saved_at = ?",
                                             (week_ago,)))
    assert await refused(user, data, saved.message_id) == step.TOO_OLD

    assert len(await rows(db, "SELECT id FROM pathway_steps")) == 1
    assert await rows(db, "SELECT * FROM conversations") == []
    reasons = await rows(db, "SELECT target, reason FROM audit"
                             " WHERE action = 'refused:button' ORDER BY seq")
    # No entry is read for a pupil no longer theirs (pathway_corrections.old_entry), so
    # no pupil is named then; the entry's pupil is, refusing it for its age.
    assert [tuple(row) for row in reasons] == [
        (None, "not_author"), (None, "not_author"), (None, "not_author"),
        (f"pupil:{case.amelia}", "correction_window")]


async def test_correct_while_a_step_is_open_offers_to_resume_first(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    user = case.user
    saved = await save_notice_to_improve(user)
    await user.send("/step amelia")
    await user.next_message()
    press = await user.press(step.LABEL_CORRECT, message_id=saved.message_id)
    await user.answer_to(press)
    prompt = await user.next_message()
    assert prompt.text == step.RESUME.format(initials="A.H.")
    await tap(user, drafts.LABEL_DISCARD)
    summary = await user.edited(prompt)
    assert summary.text.splitlines()[:3] == [HEADER, "Notice to Improve", CORRECTING]
    assert [tuple(row) for row in await rows(db, "SELECT kind FROM conversations")] == [
        ("step",)]


async def test_the_case_offers_correct_for_the_officer_s_recent_entries_only(
        case: Caseload, parents: dict[str, int], people: People, db: Database,
        clock: FixedClock) -> None:
    user = case.user
    await save_notice_to_improve(user)
    correct = "Correct: Notice to Improve, 25/11/2026"
    await user.send("/case amelia")
    shown = await reply(user)
    assert shown.labels() == [correct]
    press = await user.press(correct, message_id=shown.message_id)
    await user.answer_to(press)
    summary = await reply(user)
    assert summary.text.splitlines()[:3] == [HEADER, "Notice to Improve", CORRECTING]
    await tap(user, "Cancel")

    supervisor = people.user()  # SUP1 sees the case read-only: nothing to correct
    await enrol_directly(db, people.settings, ref="SUP1", user_id=supervisor.user_id,
                         pin=PIN, now=clock.now())
    await supervisor.send("/case C00001")
    read_only = await reply(supervisor)
    assert "Notice to Improve (EWO1)" in read_only.text and read_only.labels() == []

    week_ago = (clock.now() - timedelta(days=7)).isoformat()
    await db.write(lambda conn: conn.execute("UPDATE pathway_steps SET saved_at = ?",
                                             (week_ago,)))
    await user.send("/case amelia")
    assert (await reply(user)).labels() == []


async def test_correcting_a_referral_awaiting_its_outcome_does_not_show_it_as_awaiting(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    """The correction takes the referral's place: it is not another awaiting beside it."""
    user = case.user
    await user.send("/step amelia")
    await user.next_message()
    for label in ("Penalty-notice referral", JANE, "Done", "Today", "Holiday in term time"):
        await tap(user, label)
    saved = await tap(user, "Save")
    summary = await press_correct(user, saved)
    assert f"{JANE}: first notice" in summary.text and "awaits" not in summary.text
    await tap(user, "Change")
    shown = await tap(user, "Parents")
    assert f"{JANE}: first notice" in shown.text and "awaits" not in shown.text
