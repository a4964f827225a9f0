"""/step through the stand-in and the real bot: the attendance pathway by buttons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain import penalty_notices as rules
from bot.domain import step_flow as flow
from bot.handlers import step
from bot.harness import RunningBot
from bot.storage import pathway as pathway_store
from bot.storage.db import Database
from bot.storage.pathway import ImportedNotice
from tests.e2e.conftest import People
from tests.e2e.step_helpers import (
    HEADER,
    JANE,
    STEP_LABELS,
    TOM,
    add_parents,
    reply,
    tap_answer,
    token_of,
)
from tests.e2e.visit_helpers import Caseload, caseload, rows, tap

HINTS = step.HINTS
Problem = flow.Problem


@pytest.fixture
async def case(running: RunningBot, people: People, db: Database) -> Caseload:
    return await caseload(people, db)


@pytest.fixture
async def parents(case: Caseload, db: Database) -> dict[str, int]:
    return await add_parents(db, case.amelia)


async def open_step(user, typed: str = "Amelia"):
    await user.send(f"/step {typed}")
    shown = await user.next_message()
    assert shown.text == f"{HEADER}\n\n{step.QUESTIONS[flow.WHAT]}", shown.text
    return shown


async def test_a_whole_pathway_from_support_plan_to_prosecution(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    user = case.user
    shown = await open_step(user)
    assert shown.labels() == STEP_LABELS  # no outcome awaited, no prosecution yet
    assert shown.protect_content

    # Support plan: start today, review 6 weeks on by default.
    shown = await tap(user, "Support plan")
    assert shown.text.endswith("Start date?" + step.DATE_HOW)
    assert shown.labels() == ["Today", "Yesterday"]
    shown = await tap(user, "Today")
    assert shown.labels() == ["In 6 weeks: 06/01/2027"]
    summary = await tap(user, "In 6 weeks: 06/01/2027")
    assert summary.text == "\n".join([
        HEADER, "Support plan", "", "Date: 25/11/2026", "Review: 06/01/2027", "",
        step.QUESTIONS[flow.SUMMARY]])
    assert summary.labels() == ["Save", "Change", "Cancel"]
    saved = await tap(user, "Save")
    assert saved.text == "Saved: Support plan for A.H. on 25/11/2026."

    # Attendance contract: refused without a parent present.
    await open_step(user)
    shown = await tap(user, "Attendance contract")
    assert step.QUESTIONS[flow.PARENTS] in shown.text
    assert shown.labels() == [JANE, TOM, "Done"]  # the grandparent has no responsibility
    assert await tap_answer(user, "Done") == HINTS[Problem.NO_PARENT]
    shown = await tap(user, JANE)
    assert shown.labels() == [f"✓ {JANE}", TOM, "Done"]
    await tap(user, "Done")
    await tap(user, "Yesterday")
    summary = await tap(user, "In 6 weeks: 05/01/2027")
    assert f"Parents: {JANE}" in summary.text and "Date: 24/11/2026" in summary.text
    await tap(user, "Save")

    # Notice to Improve to both parents, a 4-week improvement period.
    await open_step(user)
    await tap(user, "Notice to Improve")
    await tap(user, JANE)
    await tap(user, TOM)
    shown = await tap(user, "Done")
    assert shown.text.endswith("Date issued?" + step.DATE_HOW)
    shown = await tap(user, "Today")
    assert shown.labels() == ["3 weeks", "4 weeks", "5 weeks", "6 weeks"]
    summary = await tap(user, "4 weeks")
    assert f"Parents: {JANE}, {TOM}" in summary.text
    assert "Improvement period: 4 weeks (ends 23/12/2026)" in summary.text
    await tap(user, "Save")

    # Penalty-notice referral for Jane: eligibility shown per parent before Save; no
    # marks on record, so the penalty-notice rule does not hold and a reason is asked.
    await open_step(user)
    shown = await tap(user, "Penalty-notice referral")
    assert f"{JANE}: {rules.FIRST_NOTICE_TEXT}" in shown.text
    assert f"{TOM}: {rules.FIRST_NOTICE_TEXT}" in shown.text
    await tap(user, JANE)
    await tap(user, "Done")
    shown = await tap(user, "Today")
    assert shown.text.endswith(step.QUESTIONS[flow.REASON])
    assert shown.labels() == [label for _, label in rules.REFERRAL_REASONS]
    summary = await tap(user, "Holiday in term time")
    assert "Reason: Holiday in term time" in summary.text
    assert f"{JANE}: {rules.FIRST_NOTICE_TEXT}" in summary.text
    await tap(user, "Save")

    # Its outcome: Issued, then Unpaid.
    shown = await open_step(user)
    assert "Penalty-notice outcome" in shown.labels()
    assert "Prosecution referral" not in shown.labels()
    shown = await tap(user, "Penalty-notice outcome")
    target = f"Referral 25/11/2026 · {JANE}"
    assert shown.labels() == [target]
    shown = await tap(user, target)
    assert shown.labels() == ["Issued", "Withdrawn"]  # withdrawn before any notice, too
    await tap(user, "Issued")
    summary = await tap(user, "Today")
    assert "Outcome: Issued" in summary.text
    await tap(user, "Save")

    await open_step(user)
    await tap(user, "Penalty-notice outcome")
    shown = await tap(user, f"{target} · issued 25/11/2026")
    assert shown.labels() == ["Paid", "Withdrawn", "Unpaid"]
    await tap(user, "Unpaid")
    summary = await tap(user, "Today")
    assert "Outcome: Unpaid" in summary.text
    await tap(user, "Save")

    # An unpaid notice: a prosecution referral is offered.
    shown = await open_step(user)
    assert "Prosecution referral" in shown.labels()
    shown = await tap(user, "Prosecution referral")
    assert shown.labels() == ["Section 444(1)", "Section 444(1A)"]
    await tap(user, "Section 444(1A)")
    summary = await tap(user, "Today")
    assert "Section: Section 444(1A)" in summary.text
    saved = await tap(user, "Save")
    assert saved.text == "Saved: Prosecution referral for A.H. on 25/11/2026."

    steps = await rows(db, "SELECT kind, step_date, review_date, period_weeks, section, reason"
                           " FROM pathway_steps ORDER BY id")
    assert [tuple(row) for row in steps] == [
        ("support_plan", "2026-11-25", "2027-01-06", None, None, None),
        ("contract", "2026-11-24", "2027-01-05", None, None, None),
        ("nti", "2026-11-25", None, 4, None, None),
        ("pn_referral", "2026-11-25", None, None, None, "holiday"),
        ("prosecution", "2026-11-25", None, None, "444(1A)", None)]
    outcomes = await rows(db, "SELECT outcome, outcome_date, contact_id FROM pathway_outcomes"
                              " ORDER BY id")
    assert [tuple(row) for row in outcomes] == [
        ("issued", "2026-11-25", parents[JANE]), ("unpaid", "2026-11-25", parents[JANE])]
    audited = await rows(db, "SELECT action FROM audit WHERE action LIKE 'pathway_%_saved'")
    assert len(audited) == 7
    assert await rows(db, "SELECT * FROM conversations") == []


async def typed(user, text: str, hint: str, asked: str) -> None:
    """A typed answer that is refused: the hint, then the same step again."""
    await user.send(text)
    again = await reply(user)
    assert again.text.startswith(f"{hint}\n\n"), again.text
    assert again.text.endswith(asked), again.text


async def test_bad_input_at_every_step_gets_a_hint_and_the_same_step(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    user = case.user
    choose = HINTS[Problem.CHOOSE]
    await user.send("/step")
    assert (await user.next_message()).text == step.CHOOSE_PUPIL
    await typed(user, "Zed", step.NO_MATCH, step.CHOOSE_PUPIL)
    await user.send("amelia")  # one match of mine
    assert (await user.next_message()).text.endswith(step.QUESTIONS[flow.WHAT])
    await typed(user, "a plan", choose, step.QUESTIONS[flow.WHAT])
    await user.send("/cancel")
    assert (await user.next_message()).text == step.CANCELLED

    # Dates: not a date, in the future, a review before the start.
    await open_step(user)
    await tap(user, "Support plan")
    start_date = "Start date?" + step.DATE_HOW
    for text, problem in (("31/02/2026", Problem.NOT_A_DATE), ("soon", Problem.NOT_A_DATE),
                          ("26/11/2026", Problem.FUTURE)):
        await typed(user, text, HINTS[problem], start_date)
    await user.send("20/11")
    assert (await user.next_message()).text.endswith(step.QUESTIONS[flow.REVIEW])
    await typed(user, "19/11/2026", HINTS[Problem.BEFORE_START], step.QUESTIONS[flow.REVIEW])
    await typed(user, "fortnight", HINTS[Problem.NOT_A_DATE], step.QUESTIONS[flow.REVIEW])
    await user.send("15/01/2027")  # a review in the future is fine
    summary = await reply(user)
    assert "Review: 15/01/2027" in summary.text
    await typed(user, "yes", choose, step.QUESTIONS[flow.SUMMARY])
    press = await user.press_data(f"st:{token_of(user.last())}:summary:publish",
                                  user.last().message_id)
    assert await user.answer_to(press) == choose
    await tap(user, "Save")

    # Parents: typed names are not taken; Done needs one; the period is a button.
    await open_step(user)
    await tap(user, "Notice to Improve")
    await typed(user, JANE, choose, step.QUESTIONS[flow.PARENTS])
    assert await tap_answer(user, "Done") == HINTS[Problem.NO_PARENT]
    await tap(user, JANE)
    await tap(user, "Done")
    await tap(user, "Today")
    await typed(user, "7 weeks", choose, step.QUESTIONS[flow.WEEKS])
    await user.send("3 weeks")  # a typed label is as good as its button
    assert "Improvement period: 3 weeks" in (await reply(user)).text
    await tap(user, "Save")

    # A withdrawal's reason: typed, up to 200 characters; its date not before the issue.
    await import_notices(db, case.amelia, parents[JANE], [date(2026, 11, 2)])
    await open_step(user)
    await tap(user, "Penalty-notice outcome")
    await typed(user, "the first", choose, step.QUESTIONS[flow.TARGET])
    await tap(user, f"Referral 02/11/2026 · {JANE} · issued 02/11/2026")
    await typed(user, "gone", choose, step.QUESTIONS[flow.OUTCOME])
    await tap(user, "Withdrawn")
    asked = step.DETAIL_QUESTIONS[flow.PN_OUTCOME]
    await typed(user, "x" * (flow.DETAIL_MAX + 1), HINTS[Problem.DETAIL_TOO_LONG], asked)
    await user.send("Issued to the wrong address.")
    withdrawn_on = "Date withdrawn?" + step.DATE_HOW
    assert (await reply(user)).text.endswith(withdrawn_on)
    await typed(user, "01/11/2026", HINTS[Problem.BEFORE_START], withdrawn_on)
    await user.send("03/11/2026")
    summary = await reply(user)
    assert "Outcome: Withdrawn" in summary.text
    assert "Detail: Issued to the wrong address." in summary.text
    await tap(user, "Save")
    outcomes = await rows(db, "SELECT outcome, outcome_date, detail, source"
                              " FROM pathway_outcomes ORDER BY id")
    assert [tuple(row) for row in outcomes] == [
        ("issued", "2026-11-02", None, "import"),
        ("withdrawn", "2026-11-03", "Issued to the wrong address.", "chat")]
    steps = await rows(db, "SELECT kind, step_date, review_date, period_weeks FROM pathway_steps"
                           " WHERE source = 'chat' ORDER BY id")
    assert [tuple(row) for row in steps] == [("support_plan", "2026-11-20", "2027-01-15", None),
                                             ("nti", "2026-11-25", None, 3)]


async def import_notices(db: Database, pupil_id: int, contact_id: int,
                         issued: list[date]) -> None:
    """Penalty notices issued before the bot, as `ewobot import notices` brings them in."""
    notices = [ImportedNotice(pupil_id, contact_id, "pn", day) for day in issued]
    await db.write(pathway_store.apply_notices, notices, now=datetime(2026, 11, 25, tzinfo=UTC))


async def test_a_third_notice_cannot_be_referred_and_a_second_is_shown(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    user = case.user
    await import_notices(db, case.amelia, parents[JANE], [date(2024, 3, 1), date(2025, 6, 1)])
    await import_notices(db, case.amelia, parents[TOM], [date(2025, 6, 1)])
    shown = await open_step(user)
    # Two notices to Jane within 3 years: prosecution is offered.
    assert "Prosecution referral" in shown.labels()
    shown = await tap(user, "Penalty-notice referral")
    assert f"{JANE}: {rules.THIRD_REFUSED_TEXT}" in shown.text
    assert f"{TOM}: {rules.SECOND_NOTICE_TEXT}" in shown.text
    assert await tap_answer(user, JANE) == HINTS[Problem.THIRD_NOTICE]
    # A forged press for Jane is refused the same way; nothing is ticked.
    press = await user.press_data(f"st:{token_of(shown)}:parents:{parents[JANE]}",
                                  shown.message_id)
    assert await user.answer_to(press) == HINTS[Problem.THIRD_NOTICE]
    await tap(user, TOM)
    await tap(user, "Done")
    await tap(user, "Today")
    summary = await tap(user, "Support not appropriate")
    assert f"{TOM}: {rules.SECOND_NOTICE_TEXT}" in summary.text
    assert JANE not in summary.text
    await tap(user, "Save")
    referral = await rows(db, "SELECT s.reason, p.contact_id FROM pathway_steps s"
                              " JOIN pathway_parents p ON p.step_id = s.id WHERE s.source = 'chat'")
    assert [tuple(row) for row in referral] == [("support_not_appropriate", parents[TOM])]


async def test_a_third_notice_on_record_by_save_time_is_refused(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    user = case.user
    await import_notices(db, case.amelia, parents[JANE], [date(2025, 6, 1)])
    await open_step(user)
    await tap(user, "Penalty-notice referral")
    await tap(user, JANE)
    await tap(user, "Done")
    await tap(user, "Today")
    summary = await tap(user, "Holiday in term time")
    assert f"{JANE}: {rules.SECOND_NOTICE_TEXT}" in summary.text
    # Meanwhile a second notice to Jane comes in by import: Save is refused, the draft stays.
    await import_notices(db, case.amelia, parents[JANE], [date(2026, 1, 5)])
    shown = await tap(user, "Save")
    assert shown.text.startswith(step.REFUSALS[pathway_store.THIRD_NOTICE])
    assert shown.labels() == ["Save", "Change", "Cancel"]
    assert await rows(db, "SELECT * FROM pathway_steps WHERE source = 'chat'") == []
    await user.send("/cancel")
    assert (await user.next_message()).text == step.CANCELLED


async def test_a_hearing_outcome_and_a_school_attendance_order(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    user = case.user
    await import_notices(db, case.amelia, parents[JANE], [date(2025, 1, 6), date(2026, 3, 2)])
    await open_step(user)
    await tap(user, "Prosecution referral")
    await tap(user, "Section 444(1)")
    await user.send("10/11/2026")
    await reply(user)
    await tap(user, "Save")
    shown = await open_step(user)
    assert "Hearing outcome" in shown.labels()
    await tap(user, "Hearing outcome")
    await tap(user, "Prosecution referral 10/11/2026")
    await user.send("Fined £120 and a parenting order.")
    assert (await reply(user)).text.endswith("Hearing date?" + step.DATE_HOW)
    await typed(user, "09/11/2026", HINTS[Problem.BEFORE_START], "Hearing date?" + step.DATE_HOW)
    await user.send("24/11/2026")
    summary = await reply(user)
    assert "Detail: Fined £120 and a parenting order." in summary.text
    await tap(user, "Save")
    assert "Hearing outcome" not in (await open_step(user)).labels()  # had its outcome

    await tap(user, "SAO notice")
    await tap(user, "Yesterday")
    await tap(user, "Save")
    await open_step(user)
    await tap(user, "School attendance order")
    await tap(user, "SAO notice 24/11/2026")
    await tap(user, "Today")
    saved = await tap(user, "Save")
    assert saved.text == "Saved: School attendance order for A.H. on 25/11/2026."
    outcomes = await rows(db, "SELECT outcome, outcome_date, detail FROM pathway_outcomes"
                              " WHERE source = 'chat' ORDER BY id")
    assert [tuple(row) for row in outcomes] == [
        ("hearing", "2026-11-24", "Fined £120 and a parenting order."),
        ("order", "2026-11-25", None)]


async def test_a_reason_found_needed_at_save_is_asked_by_change(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    """No reason was needed when the parents were chosen (a recent Notice to Improve, the
    rule holding); by Save the rule no longer holds (a new attendance import). The save is
    refused with "press Change": Change offers the reason to choose."""
    user = case.user
    today = date(2026, 11, 25)

    async def _history(conn):
        monday = today - timedelta(days=today.weekday())
        await conn.executemany(
            "INSERT INTO marks (pupil_id, date, session, code) VALUES (?, ?, ?, 'O')",
            [(case.amelia, (monday - timedelta(weeks=w, days=-d)).isoformat(), s)
             for w in range(10) for d in range(3) for s in ("AM", "PM")])
        await conn.execute(
            "INSERT INTO pathway_steps (pupil_id, officer_id, kind, step_date, period_weeks,"
            " source, saved_at, placed_at) VALUES (?, ?, 'nti', '2026-11-02', 3, 'chat',"
            " '2026-11-02T10:00:00+00:00', '2026-11-02T10:00:00+00:00')",
            (case.amelia, case.ann.id))
        await conn.execute("INSERT INTO pathway_parents (step_id, contact_id)"
                           " SELECT max(id), ? FROM pathway_steps", (parents[JANE],))
    await db.write(_history)
    await open_step(user)
    await tap(user, "Penalty-notice referral")
    await tap(user, JANE)
    await tap(user, "Done")
    summary = await tap(user, "Today")
    assert "Reason" not in summary.text  # the usual grounds are there

    async def _import(conn):
        await conn.execute("UPDATE marks SET code = '/' WHERE pupil_id = ?", (case.amelia,))
    await db.write(_import)
    refused = await tap(user, "Save")
    assert refused.text.startswith(step.REFUSALS[pathway_store.REASON_NEEDED])
    shown = await tap(user, "Change")
    assert "Reason" in shown.labels(), shown.labels()
    await tap(user, "Reason")
    summary = await tap(user, "Support not appropriate")
    assert "Reason: Support not appropriate" in summary.text
    saved = await tap(user, "Save")
    assert saved.text == "Saved: Penalty-notice referral for A.H. on 25/11/2026."
    referral = await rows(db, "SELECT reason FROM pathway_steps WHERE kind = 'pn_referral'")
    assert [tuple(row) for row in referral] == [("support_not_appropriate",)]


async def refer_jane_today(user) -> None:
    await open_step(user)
    for label in ("Penalty-notice referral", JANE, "Done", "Today", "Holiday in term time"):
        await tap(user, label)
    saved = await tap(user, "Save")
    assert saved.text == "Saved: Penalty-notice referral for A.H. on 25/11/2026."


async def test_a_referral_withdrawn_before_any_notice_was_issued_no_longer_awaits(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    """A referral the council did not issue is closed by Withdrawn, with its reason,
    dated from the referral: it no longer awaits an outcome, and counts for nothing."""
    user = case.user
    await refer_jane_today(user)
    await open_step(user)
    await tap(user, "Penalty-notice outcome")
    await tap(user, f"Referral 25/11/2026 · {JANE}")
    await tap(user, "Withdrawn")
    await user.send("Not issued: the school withdrew its request.")
    assert (await reply(user)).text.endswith("Date withdrawn?" + step.DATE_HOW)
    summary = await tap(user, "Today")
    assert "Outcome: Withdrawn" in summary.text
    saved = await tap(user, "Save")
    assert saved.text == "Saved: Penalty-notice outcome for A.H. on 25/11/2026."
    outcomes = await rows(db, "SELECT outcome, outcome_date, detail FROM pathway_outcomes")
    assert [tuple(row) for row in outcomes] == [
        ("withdrawn", "2026-11-25", "Not issued: the school withdrew its request.")]
    shown = await open_step(user)
    assert "Penalty-notice outcome" not in shown.labels()  # nothing awaits an outcome now
    await user.send("/case amelia")
    shown = await reply(user)
    assert "awaits" not in shown.text
    assert f"• {JANE}: 0" in shown.text


async def test_a_third_notice_on_record_by_its_issue_is_refused_and_withdrawn_closes_it(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    """Referred with one notice on record; a second came in by import before the
    council's answer: Issued would be a third within 3 years, so its Save is refused
    (the draft stays), and Withdrawn closes the referral."""
    user = case.user
    await import_notices(db, case.amelia, parents[JANE], [date(2025, 6, 1)])
    await refer_jane_today(user)
    await import_notices(db, case.amelia, parents[JANE], [date(2026, 1, 5)])
    await open_step(user)
    await tap(user, "Penalty-notice outcome")
    await tap(user, f"Referral 25/11/2026 · {JANE}")
    await tap(user, "Issued")
    await tap(user, "Today")
    shown = await tap(user, "Save")
    assert shown.text.startswith(step.REFUSALS[pathway_store.THIRD_ISSUED])
    assert shown.labels() == ["Save", "Change", "Cancel"]
    assert await rows(db, "SELECT * FROM pathway_outcomes WHERE source = 'chat'") == []
    await user.send("/cancel")
    assert (await user.next_message()).text == step.CANCELLED
    await open_step(user)
    await tap(user, "Penalty-notice outcome")
    await tap(user, f"Referral 25/11/2026 · {JANE}")
    await tap(user, "Withdrawn")
    await user.send("Not issued: a third notice is not possible.")
    await reply(user)
    await tap(user, "Today")
    saved = await tap(user, "Save")
    assert saved.text == "Saved: Penalty-notice outcome for A.H. on 25/11/2026."


async def test_a_referral_awaiting_its_outcome_is_shown_before_referring_again(
        case: Caseload, parents: dict[str, int], db: Database) -> None:
    """Jane has one notice issued and a referral awaiting Issued: the count stays one
    (CASEWORK.md §1, notices issued), and a line shows the referral awaiting, before
    the parents are chosen, at the summary and on /case. Tom has none."""
    user = case.user
    await import_notices(db, case.amelia, parents[JANE], [date(2025, 6, 1)])
    await refer_jane_today(user)
    awaits = f"{JANE}: a referral of 25/11/2026 awaits its outcome"
    await open_step(user)
    shown = await tap(user, "Penalty-notice referral")
    assert f"{JANE}: {rules.SECOND_NOTICE_TEXT}\n{awaits}\n{TOM}: " in shown.text
    assert "awaits" not in shown.text.split(f"{TOM}: ")[1]
    await tap(user, JANE)  # still allowed: one notice issued
    for label in ("Done", "Today"):
        await tap(user, label)
    summary = await tap(user, "Holiday in term time")
    assert f"{JANE}: {rules.SECOND_NOTICE_TEXT}\n{awaits}" in summary.text
    await tap(user, "Cancel")
    await user.send("/case amelia")
    shown = await reply(user)
    assert f"• {JANE}: 1 — {rules.SECOND_NOTICE_TEXT}\n• {awaits}\n• {TOM}: 0" in shown.text
