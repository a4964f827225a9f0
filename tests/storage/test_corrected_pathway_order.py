"""A correction takes the place of the step or outcome it corrects in the order they
were saved: correcting an older entry never makes it the latest. A penalty notice's
final outcome stays the one recorded last (a Withdrawn the import brought in after an
Unpaid keeps the notice out of the count when the Unpaid is corrected); the stage, the
open improvement period and /caseload's open notices stay the later step's when an
earlier step of the same day is corrected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from bot.domain import penalty_notices as rules
from bot.domain.school_report import Period
from bot.settings import Settings
from bot.storage import caseload, pathway, reports
from bot.storage.db import Conn, Database, stamp
from bot.storage.officers import Officer
from bot.storage.pathway import ImportedNotice, NewOutcome, NewStep
from tests.held import held_write
from tests.storage.pupil_rows import NOW, TODAY, Service

ISSUED = date(2026, 10, 1)
WITHDRAWN = ImportedNotice(0, 0, "pn", ISSUED, "withdrawn", date(2026, 11, 2))
SAME_DAY = date(2026, 11, 2)  # two steps recorded for one day


@dataclass(frozen=True, slots=True)
class Case:
    conn: Conn
    supervisor: Officer
    officer: Officer
    notice: int   # issued (imported), Unpaid, Withdrawn (imported), the Unpaid corrected
    mum: int
    steps: int    # a support plan, a contract the same day, the plan corrected
    periods: int  # mum's 3-week Notice to Improve, dad's 6-week the same day, mum's corrected
    dad_nti: int


async def _parent(conn: Conn, pupil_id: int, name: str) -> int:
    return await conn.insert(
        "INSERT INTO contacts (pupil_id, name, relationship, parental_responsibility)"
        " VALUES (?, ?, 'Parent', 1)", (pupil_id, name))


async def _step(conn: Conn, officer: Officer, step: NewStep, *, days: int) -> int:
    saved = await pathway.record_step(conn, officer, step, today=TODAY,
                                      now=NOW - timedelta(days=days))
    assert saved.id is not None, saved.problem
    return saved.id


async def _outcome(conn: Conn, officer: Officer, outcome: NewOutcome, *, days: int) -> int:
    saved = await pathway.record_outcome(conn, officer, outcome, now=NOW - timedelta(days=days))
    assert saved.id is not None, saved.problem
    return saved.id


async def _notice(conn: Conn, officer: Officer, pupil: int, mum: int) -> None:
    """A notice issued before the bot, its Unpaid recorded in the chat, a Withdrawn the
    next import brought in, then the Unpaid's date corrected."""
    issued = ImportedNotice(pupil, mum, "pn", ISSUED)
    await pathway.apply_notices(conn, [issued], now=NOW - timedelta(days=6))
    step = await conn.fetchval("SELECT id FROM pathway_steps WHERE pupil_id = ?", (pupil,))
    unpaid = await _outcome(conn, officer, NewOutcome(step, "unpaid", date(2026, 10, 29), mum),
                            days=5)
    withdrawn = ImportedNotice(pupil, mum, "pn", ISSUED, "withdrawn", WITHDRAWN.outcome_date)
    assert await pathway.apply_notices(conn, [withdrawn], now=NOW - timedelta(days=4)) == {
        "added": 0, "updated": 1, "unchanged": 0}
    await _outcome(conn, officer, NewOutcome(step, "unpaid", date(2026, 10, 30), mum,
                                             supersedes=unpaid), days=3)


async def _steps(conn: Conn, officer: Officer, pupil: int) -> None:
    mum = await _parent(conn, pupil, "Sue Steps")
    plan = await _step(conn, officer, NewStep(pupil, "support_plan", SAME_DAY), days=6)
    await _step(conn, officer, NewStep(pupil, "contract", SAME_DAY, (mum,)), days=5)
    await _step(conn, officer, NewStep(pupil, "support_plan", SAME_DAY,
                                       review_date=SAME_DAY + timedelta(weeks=8),
                                       supersedes=plan), days=3)


async def _periods(conn: Conn, officer: Officer, pupil: int) -> int:
    mum, dad = await _parent(conn, pupil, "Pat Periods"), await _parent(conn, pupil, "Al Periods")
    first = await _step(conn, officer, NewStep(pupil, "nti", SAME_DAY, (mum,), period_weeks=3),
                        days=6)
    dad_nti = await _step(conn, officer, NewStep(pupil, "nti", SAME_DAY, (dad,),
                                                 period_weeks=6), days=5)
    await _step(conn, officer, NewStep(pupil, "nti", SAME_DAY, (mum,), period_weeks=3,
                                       notes="Issued at the door.", supersedes=first), days=3)
    return dad_nti


@pytest.fixture
async def case(db: Database) -> AsyncIterator[Case]:
    async with held_write(db) as conn:
        service = Service(conn)
        supervisor = await service.officer("SUP1", "supervisor")
        officer = await service.officer("EWO1", supervisor="SUP1")
        notice = await service.pupil("Nia", "Notice", officer=officer)
        mum = await _parent(conn, notice, "Jo Notice")
        await _notice(conn, officer, notice, mum)
        steps = await service.pupil("Sam", "Steps", officer=officer)
        await _steps(conn, officer, steps)
        periods = await service.pupil("Pia", "Periods", officer=officer)
        dad_nti = await _periods(conn, officer, periods)
        yield Case(conn, supervisor, officer, notice, mum, steps, periods, dad_nti)


async def test_the_notices_final_outcome_is_the_one_recorded_last(case: Case) -> None:
    notices = await pathway.notices_on_record(case.conn, case.notice)
    assert [(n.kind, n.issued, n.outcome, n.outcome_date) for n in notices] == [
        ("pn", ISSUED, "withdrawn", WITHDRAWN.outcome_date)]
    counts = await pathway.parent_counts(case.conn, case.officer, case.notice, today=TODAY)
    assert [(c.name, c.eligibility.counted) for c in counts] == [("Jo Notice", 0)]


async def test_importing_the_same_outcome_again_changes_nothing(case: Case) -> None:
    again = ImportedNotice(case.notice, case.mum, "pn", ISSUED, "withdrawn",
                           WITHDRAWN.outcome_date)
    assert await pathway.apply_notices(case.conn, [again], now=NOW) == {
        "added": 0, "updated": 0, "unchanged": 1}


async def test_the_stage_is_the_later_step_of_the_day(case: Case) -> None:
    found = await pathway.case_file(case.conn, case.officer, case.steps, today=TODAY)
    assert found is not None and found.stage == pathway.Stage("contract", SAME_DAY)


async def test_a_school_report_shows_the_later_step_of_the_day(case: Case) -> None:
    await case.conn.execute(
        "INSERT INTO allocation_history (pupil_id, officer_id, started) VALUES (?, ?, ?)",
        (case.steps, case.officer.id, stamp(NOW - timedelta(days=30))[:10]))
    found = (await reports.schools(case.conn))[0]
    data = await reports.school_data(case.conn, found, Period(date(2026, 9, 1), TODAY),
                                     date(2026, 9, 1))
    assert [(pupil.pupil_id, pupil.stage) for pupil in data.pupils] == [
        (case.steps, "Formal support")]


async def test_the_open_improvement_period_is_the_later_notice_to_improve(case: Case) -> None:
    items = await pathway.open_items(case.conn, case.officer, case.periods, today=TODAY)
    assert [(item.kind, item.due, item.step_id) for item in items] == [
        ("improvement_ends", rules.improvement_period_end(SAME_DAY, 6), case.dad_nti)]


async def test_caseload_counts_the_later_notice_to_improves_period(
        case: Case, settings: Settings) -> None:
    terms = caseload.Terms.of(settings, NOW)
    summary = await caseload.team_caseload(case.conn, case.supervisor, terms=terms)
    # The notice withdrawn is not open; dad's 6-week period runs past today.
    assert [(line.ref, line.figures.open_notices) for line in summary.officers] == [("EWO1", 1)]
