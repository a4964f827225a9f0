"""Pathway storage: steps and outcomes saved once, refused by the rules, scoped, audited;
the notices they add up to; the chronology, open items and reminders due (issue 19)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from bot.storage import audit, pathway
from bot.storage.db import Conn, Database
from bot.storage.pathway import NewOutcome, NewStep
from tests.held import held_write
from tests.storage.pupil_rows import NOW, TODAY, Service


@pytest.fixture
async def service(db: Database) -> AsyncIterator[Service]:
    async with held_write(db) as conn:
        yield Service(conn)


async def _parent(conn: Conn, pupil_id: int, name: str, *, pr: int | None = 1) -> int:
    return await conn.insert(
        "INSERT INTO contacts (pupil_id, name, relationship, parental_responsibility)"
        " VALUES (?, ?, 'Mother', ?)", (pupil_id, name, pr))


async def _audit(conn: Conn, action: str) -> list[str]:
    rows = await conn.fetchall("SELECT reason FROM audit WHERE action = ? ORDER BY seq",
                               (action,))
    return [row["reason"] for row in rows]


async def _notice(conn: Conn, officer: object, pupil: int, parent: int, issued: date,
                  final: str | None = None) -> int:
    """A penalty-notice referral issued to one parent, and its outcome if given."""
    saved = await pathway.record_step(conn, officer, NewStep(  # type: ignore[arg-type]
        pupil, "pn_referral", issued, (parent,), reason="holiday"), today=issued, now=NOW)
    assert saved.id is not None, saved.problem
    await pathway.record_outcome(conn, officer, NewOutcome(  # type: ignore[arg-type]
        saved.id, "issued", issued, parent), now=NOW)
    if final is not None:
        await pathway.record_outcome(conn, officer, NewOutcome(  # type: ignore[arg-type]
            saved.id, final, issued + timedelta(days=10), parent, detail="Wrong child"),
            now=NOW)
    return saved.id


async def test_a_support_plan_is_saved_once_with_its_review_six_weeks_on(
        service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    step = NewStep(pupil, "support_plan", TODAY, notes="canary plan")
    first = await pathway.record_step(conn, ann, step, today=TODAY, now=NOW, draft_token="t1")
    again = await pathway.record_step(conn, ann, step, today=TODAY, now=NOW, draft_token="t1")
    assert first.id is not None and again.problem == pathway.REPEAT
    review = await conn.fetchval("SELECT review_date FROM pathway_steps")
    assert review == (TODAY + timedelta(weeks=6)).isoformat()
    assert await _audit(conn, "pathway_step_saved") == ["chat_entry"]


async def test_another_officers_pupil_is_refused_and_audited(service: Service) -> None:
    people = await service.team()  # pupils 1 SUP1's own, 2 EWO1's, 3 EWO2's
    conn = service.conn
    for who, pupil in (("EWO1", 3), ("SUP1", 2), ("CTL1", 1), ("EWO1", 999)):
        saved = await pathway.record_step(conn, people[who], NewStep(pupil, "eso", TODAY),
                                          today=TODAY, now=NOW)
        assert saved.problem == pathway.NOT_VISIBLE
    assert await conn.fetchval("SELECT count(*) FROM pathway_steps") == 0
    assert await _audit(conn, "refused:pathway_step") == ["not_visible"] * 4


async def test_a_contract_needs_a_parent_present_with_parental_responsibility(
        service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    other = await service.pupil("Ben", "Other", officer=ann)
    conn = service.conn
    mum = await _parent(conn, pupil, "Jo Hughes")
    uncle = await _parent(conn, pupil, "Sam Hughes", pr=0)
    stranger = await _parent(conn, other, "Pat Other")

    async def save(parents: tuple[int, ...]) -> str | None:
        return (await pathway.record_step(conn, ann, NewStep(pupil, "contract", TODAY, parents),
                                          today=TODAY, now=NOW)).problem

    assert await save(()) == pathway.PARENTS_NEEDED
    assert await save((uncle,)) == pathway.NO_PARENTAL_RESPONSIBILITY
    assert await save((stranger,)) == pathway.UNKNOWN_PARENT
    assert await save((uncle, mum)) is None
    assert await conn.fetchval("SELECT count(*) FROM pathway_parents") == 2


@pytest.mark.parametrize("step", [
    NewStep(1, "nti", TODAY, (1,)),  # no improvement period
    NewStep(1, "nti", TODAY, (1,), period_weeks=7),
    NewStep(1, "prosecution", TODAY),  # no section
    NewStep(1, "prosecution", TODAY, section="444(2)"),
    NewStep(1, "support_plan", TODAY, review_date=TODAY - timedelta(days=1)),
    NewStep(1, "pn_referral", TODAY, (1,), reason="because"),
    NewStep(1, "visit", TODAY),
])
async def test_bad_fields_are_refused(service: Service, step: NewStep) -> None:
    ann = await service.officer("EWO1")
    await service.pupil("Amelia", "Hughes", officer=ann)
    await _parent(service.conn, 1, "Jo Hughes")
    saved = await pathway.record_step(service.conn, ann, step, today=TODAY, now=NOW)
    assert saved.problem == pathway.BAD_FIELD


async def test_a_referral_needs_a_reason_without_a_recent_notice_to_improve(
        service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum = await _parent(conn, pupil, "Jo Hughes")
    referral = NewStep(pupil, "pn_referral", TODAY, (mum,))
    refused = await pathway.record_step(conn, ann, referral, today=TODAY, now=NOW)
    assert refused.problem == pathway.REASON_NEEDED
    assert [item.text for item in refused.eligibility] == [
        "first notice: £80 if paid within 21 days, £160 within 28 days"]
    # A Notice to Improve alone is not enough: the penalty-notice rule must hold too.
    nti = NewStep(pupil, "nti", TODAY - timedelta(weeks=4), (mum,), period_weeks=3)
    assert (await pathway.record_step(conn, ann, nti, today=TODAY, now=NOW)).id
    refused = await pathway.record_step(conn, ann, referral, today=TODAY, now=NOW)
    assert refused.problem == pathway.REASON_NEEDED
    monday = TODAY - timedelta(days=TODAY.weekday())
    await service.marks(pupil, [(monday - timedelta(weeks=w) + timedelta(days=d), s, "O")
                                for w in range(10) for d in range(5) for s in ("AM", "PM")])
    assert (await pathway.record_step(conn, ann, referral, today=TODAY, now=NOW)).id


async def test_a_third_notice_within_three_years_cannot_be_saved(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum, dad = await _parent(conn, pupil, "Jo Hughes"), await _parent(conn, pupil, "Al Hughes")
    await _notice(conn, ann, pupil, mum, TODAY - timedelta(days=400), "paid")
    await _notice(conn, ann, pupil, mum, TODAY - timedelta(days=200), "unpaid")
    await _notice(conn, ann, pupil, dad, TODAY - timedelta(days=100), "withdrawn")
    refused = await pathway.record_step(conn, ann, NewStep(
        pupil, "pn_referral", TODAY, (mum, dad), reason="holiday"), today=TODAY, now=NOW)
    assert refused.problem == pathway.THIRD_NOTICE
    assert [(e.contact_id, e.counted, e.allowed) for e in refused.eligibility] == [
        (mum, 2, False), (dad, 0, True)]
    counts = await pathway.parent_counts(conn, ann, pupil, today=TODAY, now=NOW)
    assert [(c.name, c.eligibility.ordinal) for c in counts] == [
        ("Al Hughes", 1), ("Jo Hughes", None)]
    assert (await pathway.record_step(conn, ann, NewStep(
        pupil, "pn_referral", TODAY, (dad,), reason="holiday"), today=TODAY, now=NOW)).id


async def test_an_outcome_fits_its_step_and_parent(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum, dad = await _parent(conn, pupil, "Jo Hughes"), await _parent(conn, pupil, "Al Hughes")
    referral = (await pathway.record_step(conn, ann, NewStep(
        pupil, "pn_referral", TODAY, (mum,), reason="holiday"), today=TODAY, now=NOW)).id
    assert referral is not None

    async def outcome(what: str, contact: int | None = mum, **more: object) -> str | None:
        return (await pathway.record_outcome(conn, ann, NewOutcome(
            referral, what, TODAY, contact, **more), now=NOW)).problem  # type: ignore[arg-type]

    assert await outcome("paid") == pathway.NOT_ISSUED
    assert await outcome("issued", dad) == pathway.UNKNOWN_PARENT
    assert await outcome("issued", None) == pathway.BAD_FIELD
    assert await outcome("granted") == pathway.BAD_FIELD
    assert await outcome("issued") is None
    assert await outcome("issued") == pathway.ALREADY_ISSUED
    assert await outcome("withdrawn") == pathway.BAD_FIELD  # a withdrawal says why
    assert await outcome("paid") is None
    eso = (await pathway.record_step(conn, ann, NewStep(pupil, "eso", TODAY),
                                     today=TODAY, now=NOW)).id
    granted = await pathway.record_outcome(conn, ann, NewOutcome(
        eso, "granted", date(2027, 1, 31)), now=NOW)  # type: ignore[arg-type]
    assert granted.id is not None
    assert await conn.fetchval("SELECT end_date FROM pathway_outcomes WHERE id = ?",
                               (granted.id,)) == "2028-01-31"


async def test_a_correction_is_by_its_author_within_seven_days(service: Service) -> None:
    people = await service.team()
    conn = service.conn
    ewo1 = people["EWO1"]
    plan = (await pathway.record_step(conn, ewo1, NewStep(2, "support_plan", TODAY),
                                      today=TODAY, now=NOW)).id
    fix = NewStep(2, "support_plan", TODAY - timedelta(days=1), supersedes=plan)
    later = NOW + timedelta(days=7)
    assert (await pathway.record_step(conn, ewo1, fix, today=TODAY, now=later)).problem == (
        pathway.TOO_OLD)
    wrong_kind = NewStep(2, "sao", TODAY, supersedes=plan)
    assert (await pathway.record_step(conn, ewo1, wrong_kind, today=TODAY, now=NOW)).problem \
        == pathway.NOT_VISIBLE
    corrected = await pathway.record_step(conn, ewo1, fix, today=TODAY, now=NOW)
    assert corrected.id is not None
    assert (await pathway.record_step(conn, ewo1, fix, today=TODAY, now=NOW)).problem == (
        pathway.ALREADY_CORRECTED)
    assert await _audit(conn, "pathway_step_saved") == ["chat_entry", "correction"]
    entries, total = await pathway.chronology(conn, ewo1, 2, now=NOW)
    assert total == 1 and entries[0].id == corrected.id


async def test_a_step_with_outcomes_is_not_corrected(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    step = (await pathway.record_step(conn, ann, NewStep(pupil, "sao", TODAY),
                                      today=TODAY, now=NOW)).id
    await pathway.record_outcome(conn, ann, NewOutcome(step, "order", TODAY),  # type: ignore[arg-type]
                                 now=NOW)
    fix = NewStep(pupil, "sao", TODAY, supersedes=step)
    assert (await pathway.record_step(conn, ann, fix, today=TODAY, now=NOW)).problem == (
        pathway.HAS_OUTCOMES)


async def test_the_chronology_is_newest_first_with_visits_and_paged(service: Service) -> None:
    people = await service.team()
    conn = service.conn
    ewo1 = people["EWO1"]
    await service.visit(2, ewo1, TODAY - timedelta(days=30))
    await pathway.record_step(conn, ewo1, NewStep(2, "support_plan", TODAY - timedelta(days=20)),
                              today=TODAY, now=NOW)
    eso = (await pathway.record_step(conn, ewo1, NewStep(2, "eso", TODAY - timedelta(days=5)),
                                     today=TODAY, now=NOW)).id
    await pathway.record_outcome(conn, ewo1, NewOutcome(eso, "refused", TODAY),  # type: ignore[arg-type]
                                 now=NOW)
    entries, total = await pathway.chronology(conn, ewo1, 2, limit=3, now=NOW)
    assert total == 4
    assert [(e.source, e.what) for e in entries] == [
        ("outcome", "refused"), ("step", "eso"), ("step", "support_plan")]
    rest, _ = await pathway.chronology(conn, ewo1, 2, offset=3, limit=3, now=NOW)
    assert [(e.source, e.what, e.officer_ref) for e in rest] == [("visit", "home", "EWO1")]
    # The supervisor reads their team's, audited as supervision; others see nothing.
    assert (await pathway.chronology(conn, people["SUP1"], 2, now=NOW))[1] == 4
    assert await pathway.chronology(conn, people["SUP2"], 2, now=NOW) == ([], 0)
    assert await pathway.chronology(conn, people["CTL1"], 2, now=NOW) == ([], 0)
    assert await _audit(conn, "case_chronology") == ["case_view", "case_view", "supervision"]
    assert await _audit(conn, "refused:case_chronology") == ["not_visible"] * 2


async def test_open_items_and_reminders_due(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum = await _parent(conn, pupil, "Jo Hughes")
    start = date(2026, 9, 7)
    await pathway.record_step(conn, ann, NewStep(pupil, "support_plan", start),
                              today=start, now=NOW)
    nti = NewStep(pupil, "nti", date(2026, 10, 5), (mum,), period_weeks=3)
    await pathway.record_step(conn, ann, nti, today=TODAY, now=NOW)
    await _notice(conn, ann, pupil, mum, date(2026, 11, 2))
    items = await pathway.open_items(conn, ann, pupil, today=TODAY, now=NOW)
    # The plan's review and the improvement period were followed by later steps.
    assert [(i.kind, i.due) for i in items] == [("payment_closes", date(2026, 11, 30))]
    assert await pathway.items_due(conn, ann, today=date(2026, 11, 30), now=NOW) == []
    due = await pathway.items_due(conn, ann, today=date(2026, 12, 1), now=NOW)
    assert [(i.kind, i.due, i.contact_id) for i in due] == [
        ("outcome_reminder", date(2026, 12, 1), mum)]
    assert await _audit(conn, "pupil_list") == ["pathway_due"]


async def test_reminders_of_a_lone_step(service: Service) -> None:
    ann = await service.officer("EWO1")
    conn = service.conn
    plan_pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    nti_pupil = await service.pupil("Ben", "Hughes", officer=ann)
    eso_pupil = await service.pupil("Cara", "Hughes", officer=ann)
    mum = await _parent(conn, nti_pupil, "Jo Hughes")
    await pathway.record_step(conn, ann, NewStep(plan_pupil, "support_plan", date(2026, 9, 7)),
                              today=TODAY, now=NOW)
    await pathway.record_step(conn, ann, NewStep(nti_pupil, "nti", date(2026, 9, 7), (mum,),
                                                 period_weeks=4), today=TODAY, now=NOW)
    eso = (await pathway.record_step(conn, ann, NewStep(eso_pupil, "eso", date(2026, 1, 5)),
                                     today=TODAY, now=NOW)).id
    await pathway.record_outcome(conn, ann, NewOutcome(  # type: ignore[arg-type]
        eso, "granted", date(2026, 1, 30), end_date=date(2027, 1, 29)), now=NOW)
    due = await pathway.items_due(conn, ann, today=date(2027, 1, 1), now=NOW)
    assert [(i.pupil_id, i.kind, i.due) for i in due] == [
        (nti_pupil, "improvement_reminder", date(2026, 10, 6)),
        (plan_pupil, "review", date(2026, 10, 19)),
        (eso_pupil, "eso_reminder", date(2027, 1, 1)),
    ]
    assert [i.pupil_id for i in await pathway.items_due(conn, ann, today=date(2026, 10, 5),
                                                         now=NOW)] == []


async def test_the_same_rules_hold_on_postgresql(pg_db: object,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The audit trail is not wired to PostgreSQL yet (issue 18): this checks the SQL.
    async def no_audit(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(audit, "append", no_audit)
    monkeypatch.setattr(audit, "append_many", no_audit)

    async def scenario(conn: Conn) -> tuple[object, ...]:
        service = Service(conn)
        ann = await service.officer("EWO1")
        pupil = await service.pupil("Amelia", "Hughes", officer=ann)
        mum = await _parent(conn, pupil, "Jo Hughes")
        await _notice(conn, ann, pupil, mum, TODAY - timedelta(days=300), "paid")
        await _notice(conn, ann, pupil, mum, TODAY - timedelta(days=20))
        third = await pathway.record_step(conn, ann, NewStep(
            pupil, "pn_referral", TODAY, (mum,), reason="holiday"), today=TODAY, now=NOW)
        entries, total = await pathway.chronology(conn, ann, pupil, now=NOW)
        items = await pathway.open_items(conn, ann, pupil, today=TODAY, now=NOW)
        due = await pathway.items_due(conn, ann, today=TODAY + timedelta(days=9), now=NOW)
        return third.problem, total, [e.what for e in entries][:2], \
            [i.kind for i in items], [i.kind for i in due]

    assert await pg_db.write(scenario) == (  # type: ignore[attr-defined]
        pathway.THIRD_NOTICE, 5, ["issued", "pn_referral"], ["payment_closes"],
        ["outcome_reminder"])


async def test_an_imported_history_counts_and_is_shown_as_imported(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum, dad = await _parent(conn, pupil, "Jo Hughes"), await _parent(conn, pupil, "Al Hughes")
    history = [
        pathway.ImportedNotice(pupil, mum, "nti", date(2026, 1, 5)),
        pathway.ImportedNotice(pupil, mum, "pn", date(2026, 2, 2), "paid", date(2026, 2, 20)),
        pathway.ImportedNotice(pupil, mum, "pn", date(2026, 6, 1)),
        pathway.ImportedNotice(pupil, dad, "pn", date(2026, 6, 1), "withdrawn", date(2026, 6, 3)),
    ]
    assert await pathway.apply_notices(conn, history, now=NOW) == {
        "added": 4, "updated": 0, "unchanged": 0}
    assert await pathway.apply_notices(conn, history, now=NOW) == {
        "added": 0, "updated": 0, "unchanged": 4}
    counts = await pathway.parent_counts(conn, ann, pupil, today=TODAY, now=NOW)
    assert [(c.name, c.eligibility.counted, c.eligibility.allowed) for c in counts] == [
        ("Al Hughes", 0, True), ("Jo Hughes", 2, False)]
    entries, total = await pathway.chronology(conn, ann, pupil, now=NOW)
    assert total == 9 and {e.officer_ref for e in entries} == {None}
    # An imported notice awaiting its outcome is reminded on day 29 like any other.
    due = await pathway.items_due(conn, ann, today=date(2026, 6, 30), now=NOW)
    assert [(i.kind, i.contact_id) for i in due] == [("outcome_reminder", mum)]


async def test_a_corrected_issue_date_moves_the_count_and_the_reminder(
        service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum = await _parent(conn, pupil, "Jo Hughes")
    referral = (await pathway.record_step(conn, ann, NewStep(
        pupil, "pn_referral", date(2026, 10, 1), (mum,), reason="holiday"),
        today=TODAY, now=NOW)).id
    wrong = (await pathway.record_outcome(conn, ann, NewOutcome(
        referral, "issued", date(2026, 10, 2), mum), now=NOW)).id  # type: ignore[arg-type]
    fixed = await pathway.record_outcome(conn, ann, NewOutcome(  # type: ignore[arg-type]
        referral, "issued", date(2026, 10, 12), mum, supersedes=wrong), now=NOW)
    assert fixed.id is not None
    notices = await pathway.notices_on_record(conn, pupil)
    assert [(n.kind, n.issued) for n in notices] == [("pn", date(2026, 10, 12))]
    # Day 29 of the corrected date is 10 November, not 31 October.
    assert await pathway.items_due(conn, ann, today=date(2026, 11, 9), now=NOW) == []
    due = await pathway.items_due(conn, ann, today=date(2026, 11, 10), now=NOW)
    assert [(i.kind, i.due) for i in due] == [("outcome_reminder", date(2026, 11, 10))]
    assert await _audit(conn, "pathway_outcome_saved") == ["chat_entry", "correction"]


async def _step_record_scenario(conn: Conn) -> tuple[object, ...]:
    """What /step may offer: parents with responsibility, the notices awaiting an
    outcome per parent, and nothing for a pupil outside one's own caseload."""
    service = Service(conn)
    people = await service.team()
    ewo1, sup1 = people["EWO1"], people["SUP1"]
    pupil = 2  # EWO1's, in SUP1's team
    mum = await _parent(conn, pupil, "Jo Hughes")
    dad = await _parent(conn, pupil, "Al Hughes")
    await _parent(conn, pupil, "Gran Hughes", pr=0)
    referral = await pathway.record_step(conn, ewo1, NewStep(
        pupil, "pn_referral", TODAY, (mum, dad), reason="holiday"), today=TODAY, now=NOW)
    assert referral.id is not None
    await pathway.record_outcome(conn, ewo1, NewOutcome(referral.id, "issued", TODAY, mum),
                                 now=NOW)
    eso = await pathway.record_step(conn, ewo1, NewStep(pupil, "eso", TODAY), today=TODAY,
                                    now=NOW)
    record = await pathway.step_record(conn, ewo1, pupil, today=TODAY, now=NOW)
    assert record is not None
    hidden = [await pathway.step_record(conn, sup1, pupil, today=TODAY, now=NOW),
              await pathway.step_record(conn, people["EWO2"], pupil, today=TODAY, now=NOW)]
    return ([p.name for p in record.parents],
            [(t.key, t.outcomes, t.issued) for t in record.targets],
            [n.contact_id for n in record.notices], hidden,
            await pathway.saved_from_draft(conn, "nope"), referral.id, eso.id, mum, dad)


async def test_step_record_offers_parents_and_what_awaits_an_outcome(service: Service) -> None:
    parents, targets, notices, hidden, repeat, referral, eso, mum, dad = (
        await _step_record_scenario(service.conn))
    assert parents == ["Al Hughes", "Jo Hughes"]  # the grandparent has no responsibility
    assert targets == [(f"{referral}.{dad}", ("issued", "withdrawn"), None),  # by name
                       (f"{referral}.{mum}", ("paid", "withdrawn", "unpaid"), TODAY),
                       (str(eso), ("granted", "refused"), None)]
    assert notices == [mum]
    assert hidden == [None, None]  # a supervisor records for their own pupils only
    assert repeat is False
    assert await _audit(service.conn, "pathway_record") == ["step_command"]
    assert await _audit(service.conn, "refused:pathway_step") == ["not_visible", "not_visible"]


async def test_step_record_on_postgresql(pg_db: object, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_audit(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(audit, "append", no_audit)
    monkeypatch.setattr(audit, "append_many", no_audit)
    found = await pg_db.write(_step_record_scenario)  # type: ignore[attr-defined]
    assert found[0] == ["Al Hughes", "Jo Hughes"] and len(found[1]) == 3


async def test_a_referral_withdrawn_before_its_notice_was_issued_is_closed(
        service: Service) -> None:
    """Withdrawn may come before Issued (the council issued no notice): dated from the
    referral, it closes that parent's share; nothing is issued after it."""
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum, dad = await _parent(conn, pupil, "Jo Hughes"), await _parent(conn, pupil, "Al Hughes")
    referred = TODAY - timedelta(days=3)
    referral = (await pathway.record_step(conn, ann, NewStep(
        pupil, "pn_referral", referred, (mum, dad), reason="holiday"), today=TODAY,
        now=NOW)).id
    assert referral is not None

    async def outcome(what: str, on: date, contact: int = dad) -> str | None:
        return (await pathway.record_outcome(conn, ann, NewOutcome(
            referral, what, on, contact, detail="Not issued"), now=NOW)).problem

    assert await outcome("withdrawn", referred - timedelta(days=1)) == pathway.BEFORE_REFERRAL
    assert await outcome("withdrawn", referred) is None
    assert await outcome("issued", TODAY) == pathway.REFERRAL_CLOSED
    assert await outcome("paid", TODAY) == pathway.NOT_ISSUED
    record = await pathway.step_record(conn, ann, pupil, today=TODAY, now=NOW)
    assert record is not None
    assert [(t.key, t.outcomes) for t in record.targets] == [
        (f"{referral}.{mum}", ("issued", "withdrawn"))]
    counts = await pathway.parent_counts(conn, ann, pupil, today=TODAY, now=NOW)
    assert [(c.name, c.eligibility.counted, c.awaiting) for c in counts] == [
        ("Al Hughes", 0, ()), ("Jo Hughes", 0, (referred,))]
    assert await pathway.open_items(conn, ann, pupil, today=TODAY, now=NOW) == []


async def test_a_third_notice_within_three_years_is_not_recorded_as_issued(
        service: Service) -> None:
    """A referral saved while the parent had one notice; by its Issued, another was on
    record (an imported history, a second referral): a third cannot be issued, so it is
    refused, and the referral is closed as Withdrawn."""
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum = await _parent(conn, pupil, "Jo Hughes")
    await _notice(conn, ann, pupil, mum, TODAY - timedelta(days=400), "paid")
    referral = (await pathway.record_step(conn, ann, NewStep(
        pupil, "pn_referral", TODAY - timedelta(days=5), (mum,), reason="holiday"),
        today=TODAY, now=NOW)).id
    assert referral is not None
    await _notice(conn, ann, pupil, mum, TODAY - timedelta(days=300), "unpaid")

    async def outcome(what: str, on: date) -> str | None:
        return (await pathway.record_outcome(conn, ann, NewOutcome(
            referral, what, on, mum, detail="Third not possible"), now=NOW)).problem

    assert await outcome("issued", TODAY) == pathway.THIRD_ISSUED
    assert await outcome("withdrawn", TODAY) is None
    counts = await pathway.parent_counts(conn, ann, pupil, today=TODAY, now=NOW)
    assert [(c.name, c.eligibility.counted, c.awaiting) for c in counts] == [
        ("Jo Hughes", 2, ())]


async def test_a_referral_awaiting_issued_is_shown_per_parent_but_not_counted(
        service: Service) -> None:
    """Jo has a notice issued, a referral awaiting Issued and one superseded by it; Al's
    share of that referral was issued. The count is of notices issued only."""
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum, dad = await _parent(conn, pupil, "Jo Hughes"), await _parent(conn, pupil, "Al Hughes")
    await _notice(conn, ann, pupil, mum, TODAY - timedelta(days=400), "paid")
    wrong = await pathway.record_step(conn, ann, NewStep(
        pupil, "pn_referral", TODAY - timedelta(days=5), (mum, dad), reason="holiday"),
        today=TODAY, now=NOW)
    fixed = await pathway.record_step(conn, ann, NewStep(
        pupil, "pn_referral", TODAY - timedelta(days=3), (mum, dad), reason="holiday",
        supersedes=wrong.id), today=TODAY, now=NOW)
    assert fixed.id is not None, fixed.problem
    await pathway.record_outcome(conn, ann, NewOutcome(fixed.id, "issued", TODAY, dad), now=NOW)
    counts = await pathway.parent_counts(conn, ann, pupil, today=TODAY, now=NOW)
    assert [(c.name, c.eligibility.counted, c.eligibility.allowed, c.awaiting)
            for c in counts] == [("Al Hughes", 1, True, ()),
                                 ("Jo Hughes", 1, True, (TODAY - timedelta(days=3),))]
    record = await pathway.step_record(conn, ann, pupil, today=TODAY, now=NOW)
    assert record is not None
    assert record.referrals_awaiting(mum) == (TODAY - timedelta(days=3),)
    assert record.referrals_awaiting(dad) == ()
    assert record.referrals_awaiting(mum, besides=fixed.id) == ()  # correcting it


async def test_a_step_in_the_meantime_leaves_a_notices_period_and_a_plans_review_open(
        service: Service) -> None:
    """A support plan beside a Notice to Improve (as the guidance expects): the notice's
    period end and reminder, and the plan's review, each belong to their own step."""
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum = await _parent(conn, pupil, "Jo Hughes")
    issued = date(2026, 10, 5)  # 4 weeks: the period ends 2 November, reminder 3 November
    for new in (NewStep(pupil, "nti", issued, (mum,), period_weeks=4),
                NewStep(pupil, "support_plan", date(2026, 10, 12))):  # review 23 November
        assert (await pathway.record_step(conn, ann, new, today=new.step_date, now=NOW)).id

    def dated(items: list[pathway.OpenItem]) -> list[tuple[str, date]]:
        return [(item.kind, item.due) for item in items]
    assert dated(await pathway.open_items(conn, ann, pupil, today=date(2026, 10, 20),
                                          now=NOW)) == [
        ("improvement_ends", date(2026, 11, 2)), ("review", date(2026, 11, 23))]
    assert dated(await pathway.items_due(conn, ann, today=date(2026, 11, 3), now=NOW)) == [
        ("improvement_reminder", date(2026, 11, 3))]

    # A contract after the period ended and on the plan's review date closes both.
    contract = NewStep(pupil, "contract", date(2026, 11, 23), (mum,))
    assert (await pathway.record_step(conn, ann, contract, today=contract.step_date,
                                      now=NOW)).id
    assert dated(await pathway.open_items(conn, ann, pupil, today=date(2026, 11, 23),
                                          now=NOW)) == [("review", date(2027, 1, 4))]


@pytest.mark.parametrize("born", ["2008-05-01", "2022-03-01"])  # past Year 11; not yet 5
async def test_the_penalty_notice_rule_does_not_hold_outside_compulsory_school_age(
        service: Service, born: str) -> None:
    """ATTENDANCE.md: rules apply only to pupils of compulsory school age on the date of
    the latest mark, so a referral for an older or younger pupil needs a reason, however
    many unauthorised sessions and however recent the Notice to Improve."""
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    await conn.execute("UPDATE pupils SET date_of_birth = ? WHERE id = ?", (born, pupil))
    mum = await _parent(conn, pupil, "Jo Hughes")
    nti = NewStep(pupil, "nti", TODAY - timedelta(weeks=4), (mum,), period_weeks=3)
    assert (await pathway.record_step(conn, ann, nti, today=TODAY, now=NOW)).id
    monday = TODAY - timedelta(days=TODAY.weekday())
    await service.marks(pupil, [(monday - timedelta(weeks=w) + timedelta(days=d), s, "O")
                                for w in range(10) for d in range(5) for s in ("AM", "PM")])
    record = await pathway.step_record(conn, ann, pupil, today=TODAY, now=NOW)
    assert record is not None and not record.rule_holds
    referral = NewStep(pupil, "pn_referral", TODAY, (mum,))
    refused = await pathway.record_step(conn, ann, referral, today=TODAY, now=NOW)
    assert refused.problem == pathway.REASON_NEEDED


async def test_a_notice_recorded_unpaid_is_no_longer_listed_as_due(service: Service) -> None:
    """/due's day-29 item asks for Paid, Withdrawn or Unpaid: once Unpaid is recorded
    (in the chat or by an imported history) nothing more can be recorded for that
    notice, so it is not listed as due any more; the day-29 push still went."""
    ann = await service.officer("EWO1")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    conn = service.conn
    mum, dad = await _parent(conn, pupil, "Jo Hughes"), await _parent(conn, pupil, "Al Hughes")
    issued = date(2026, 10, 1)
    referral = await _notice(conn, ann, pupil, mum, issued)
    await pathway.apply_notices(conn, [pathway.ImportedNotice(
        pupil, dad, "pn", date(2025, 3, 3), "unpaid", date(2025, 3, 31))], now=NOW)
    reminder_day = issued + timedelta(days=29)
    assert [i.kind for i in await pathway.caseload_items(conn, ann.id, today=reminder_day)
            if i.kind == "outcome_reminder" and i.contact_id == mum] == ["outcome_reminder"]
    await pathway.record_outcome(conn, ann, NewOutcome(  # type: ignore[arg-type]
        referral, "unpaid", issued + timedelta(days=28), mum), now=NOW)
    # The push on day 29 is as before: neither Paid nor Withdrawn is recorded.
    assert [i.contact_id for i in await pathway.caseload_items(conn, ann.id, today=reminder_day)
            if i.kind == "outcome_reminder" and pathway.reminder_due(i)] == [dad, mum]
    assert await pathway.items_due(conn, ann, today=TODAY, now=NOW) == []
