"""/step through the stand-in and the real bot: the attendance pathway by buttons."""

from __future__ import annotations

from datetime import date

import pytest

from bot.clock import FixedClock
from bot.domain import penalty_notices as rules
from bot.domain import step_flow as flow
from bot.handlers import step, visit
from bot.harness import RunningBot, enrol_directly
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import pathway as pathway_store
from bot.storage.db import Database
from bot.storage.pathway import ImportedNotice
from tests.e2e.conftest import PIN, People
from tests.e2e.step_helpers import (
    HEADER,
    JANE,
    STEP_LABELS,
    TOM,
    add_parents,
    reply,
    tap,
    tap_answer,
    token_of,
)
from tests.e2e.visit_helpers import Caseload, caseload, marker, rows

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
    assert shown.labels() == ["Issued"]
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
