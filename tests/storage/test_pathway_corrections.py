"""Reading a saved step or outcome back for its correction (bot/storage/
pathway_corrections.py): the author's own, the pupil still theirs; what /case offers
Correct under; the same SQL on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.domain import step_flow as flow
from bot.storage import pathway
from bot.storage import pathway_corrections as corrections
from bot.storage.db import Conn, Database
from bot.storage.pathway import NewOutcome, NewStep
from tests.held import held_write
from tests.storage.pupil_rows import NOW, TODAY, Service


@pytest.fixture
async def service(db: Database) -> AsyncIterator[Service]:
    async with held_write(db) as conn:
        yield Service(conn)


async def scenario(conn: Conn) -> tuple[object, ...]:
    """EWO1's referral (issued) and Notice to Improve; what each officer may correct."""
    service = Service(conn)
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    pupil = await service.pupil("Amelia", "Hughes", officer=ann)
    mum = await conn.insert(
        "INSERT INTO contacts (pupil_id, name, relationship, parental_responsibility)"
        " VALUES (?, 'Jo Hughes', 'Mother', 1)", (pupil,))
    on = TODAY - timedelta(days=3)
    referral = await pathway.record_step(conn, ann, NewStep(pupil, "pn_referral", on, (mum,),
                                                            reason="holiday"),
                                         today=TODAY, now=NOW)
    nti = await pathway.record_step(conn, ann, NewStep(pupil, "nti", on, (mum,),
                                                       period_weeks=4), today=TODAY, now=NOW)
    issued = await pathway.record_outcome(conn, ann, NewOutcome(referral.id, "issued", TODAY,
                                                                mum), now=NOW)
    paid = await pathway.record_outcome(conn, ann, NewOutcome(referral.id, "paid", TODAY, mum),
                                        now=NOW)
    assert None not in (referral.id, nti.id, issued.id, paid.id)
    return (ann, bob, mum, referral.id, nti.id, issued.id, paid.id,
            await corrections.old_entry(conn, ann, flow.STEP_SOURCE, nti.id),
            await corrections.old_entry(conn, ann, flow.OUTCOME_SOURCE, paid.id),
            await corrections.old_entry(conn, ann, flow.STEP_SOURCE, referral.id),
            await corrections.old_entry(conn, bob, flow.STEP_SOURCE, nti.id),
            await corrections.correctable_entries(conn, ann, pupil, now=NOW),
            await corrections.correctable_entries(conn, ann, pupil,
                                                  now=NOW + timedelta(days=7)),
            await corrections.correctable_entries(conn, bob, pupil, now=NOW))


def check(found: tuple[object, ...]) -> None:
    (_ann, _bob, mum, referral, nti, issued, paid, old_nti, old_paid, old_referral, not_bobs,
     mine, week_on, bobs) = found
    assert old_nti is not None and old_paid is not None and old_referral is not None
    assert (old_nti.kind, old_nti.parents, old_nti.period_weeks, old_nti.has_outcomes) == (
        "nti", (mum,), 4, False)
    assert old_referral.has_outcomes and old_referral.reason == "holiday"
    assert old_paid.target is not None
    assert (old_paid.kind, old_paid.target.key, old_paid.target.what,
            old_paid.target.issued, old_paid.target.outcomes) == (
        "paid", f"{referral}.{mum}", flow.PN_OUTCOME, TODAY, ("paid",))
    assert not_bobs is None
    assert mine == {(flow.STEP_SOURCE, nti), (flow.OUTCOME_SOURCE, issued),
                    (flow.OUTCOME_SOURCE, paid)}  # not the referral: it has outcomes
    assert week_on == frozenset() and bobs == frozenset()


async def test_the_author_reads_their_entry_back_and_no_one_else(service: Service) -> None:
    check(await scenario(service.conn))


async def test_the_same_reads_on_postgresql(pg_db: object,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_audit(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(pathway.audit, "append", no_audit)
    check(await pg_db.write(scenario))  # type: ignore[attr-defined]
