"""Caseload figures: hand-computed on a small team, team scoping, and a constant
number of statements for a large team."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.caseload import Band, Figures
from bot.settings import Settings
from bot.storage import caseload
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer, officer_by_id
from tests.storage import caseload_seed as seed

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=seed.LONDON)
SEPT = date(2026, 9, 1)


async def small_team(db: Database) -> dict[str, int]:
    """The team the expected figures below were worked out for (today 25/11/2026,
    PA 90, SA 50). Returns officer ids by ref and pupil ids by name."""
    ids: dict[str, int] = {}
    async def _transaction(conn: Conn) -> None:
        s = ids["SUP1"] = await seed.officer(conn, "SUP1", role="supervisor")
        t = ids["SUP2"] = await seed.officer(conn, "SUP2", role="supervisor")
        a = ids["EWO1"] = await seed.officer(conn, "EWO1", supervisor_id=s)
        b = ids["EWO2"] = await seed.officer(conn, "EWO2", supervisor_id=s)
        x = ids["EWO9"] = await seed.officer(conn, "EWO9", supervisor_id=t)
        await seed.officer(conn, "GONE1", supervisor_id=s, status="revoked")
        r = ids["GONE2"] = await seed.officer(conn, "GONE2", supervisor_id=s, status="revoked")
        # EWO1
        await seed.pupil(conn, 1, officer_id=a, allocated=SEPT, attended=40, possible=100)
        await seed.visit(conn, pupil_id=1, officer_id=a, on=date(2026, 11, 20),
                         follow_up=date(2026, 11, 24))
        await seed.pupil(conn, 2, officer_id=a, allocated=SEPT, attended=90, possible=100)
        await seed.pupil(conn, 3, officer_id=a, allocated=date(2026, 11, 10), attended=181,
                         possible=201)
        await seed.pupil(conn, 4, officer_id=a, allocated=SEPT, attended=96, possible=100)
        await conn.execute("INSERT INTO pupil_stats (pupil_id, academic_year, possible, attended)"
                           " VALUES (4, ?, 100, 10)", (seed.ACADEMIC_YEAR - 1,))
        await seed.visit(conn, pupil_id=4, officer_id=a, on=date(2026, 10, 1),
                         follow_up=date(2026, 10, 10))
        await seed.visit(conn, pupil_id=4, officer_id=a, on=date(2026, 10, 20))
        await seed.pupil(conn, 5, officer_id=a, allocated=SEPT)
        await seed.visit(conn, pupil_id=5, officer_id=a, on=date(2026, 10, 28))
        await seed.pupil(conn, 6, officer_id=a, allocated=SEPT, attended=50, possible=100)
        first = await seed.visit(conn, pupil_id=6, officer_id=a, on=date(2026, 11, 1),
                                 follow_up=date(2026, 11, 30))
        await seed.visit(conn, pupil_id=6, officer_id=a, on=date(2026, 11, 1),
                         follow_up=date(2026, 11, 20), supersedes=first,
                         saved=date(2026, 11, 2))
        await seed.pupil(conn, 7, officer_id=a, allocated=SEPT, attended=0, possible=0)
        await seed.visit(conn, pupil_id=7, officer_id=b, on=date(2026, 10, 29))
        await seed.outbox_row(conn, audience=f"officer:{a}")
        await seed.outbox_row(conn, audience=f"officer:{a}", status="sent")
        await seed.outbox_row(conn, audience=f"supervisor_of:{a}", recipient_id=a)
        await seed.outbox_row(conn, audience=f"officer:{a}", recipient_id=s)
        # EWO2
        await seed.pupil(conn, 8, officer_id=b, allocated=date(2026, 11, 20), attended=85,
                         possible=100)
        await seed.pupil(conn, 9, officer_id=b, allocated=SEPT, attended=99, possible=100)
        await seed.visit(conn, pupil_id=9, officer_id=b, on=TODAY, follow_up=TODAY)
        # A visit recorded late (dated earlier, saved later) still closes the follow-up.
        await seed.pupil(conn, 13, officer_id=b, allocated=SEPT, attended=99, possible=100)
        await seed.visit(conn, pupil_id=13, officer_id=b, on=date(2026, 11, 20),
                         follow_up=date(2026, 11, 22))
        await seed.visit(conn, pupil_id=13, officer_id=b, on=date(2026, 11, 10),
                         saved=date(2026, 11, 21))
        # SUP1's own caseload
        await seed.pupil(conn, 10, officer_id=s, allocated=SEPT, attended=30, possible=100)
        # Another team
        await seed.pupil(conn, 11, officer_id=x, allocated=SEPT, attended=10, possible=100)
        await seed.visit(conn, pupil_id=11, officer_id=x, on=date(2026, 11, 1),
                         follow_up=date(2026, 11, 2))
        await seed.outbox_row(conn, audience=f"officer:{x}")
        # A revoked officer who still holds a pupil
        await seed.pupil(conn, 12, officer_id=r, allocated=SEPT, attended=95, possible=100)
    await db.write(_transaction)
    return ids


async def supervisor(db: Database, officer_id: int) -> Officer:
    officer = await db.read(officer_by_id, officer_id)
    assert officer is not None
    return officer


def bands(**counts: int) -> tuple[int, ...]:
    values = [0] * len(Band)
    for name, count in counts.items():
        values[Band[name]] = count
    return tuple(values)


async def test_figures_equal_hand_computed_values(db: Database, settings: Settings) -> None:
    ids = await small_team(db)
    sup = await supervisor(db, ids["SUP1"])
    team = await db.read(caseload.team_caseload, sup, terms=caseload.Terms.of(settings, NOW))
    assert team.today == TODAY
    assert [(line.ref, line.revoked) for line in team.officers] == [
        ("EWO1", False), ("GONE2", True), ("EWO2", False)]
    ewo1, gone2, ewo2 = (line.figures for line in team.officers)
    assert ewo1 == Figures(pupils=7, persistent=3, severe=2, visits=2, overdue=2,
                           not_visited=3, undelivered=2,
                           bands=bands(GOOD=1, ABOVE_PA=1, PERSISTENT=1, SEVERE=2,
                                       NOT_AVAILABLE=2))
    assert ewo2 == Figures(pupils=3, persistent=1, severe=0, visits=4, overdue=0,
                           not_visited=0, undelivered=0, bands=bands(GOOD=2, PERSISTENT=1))
    assert gone2 == Figures(pupils=1, not_visited=1, bands=bands(GOOD=1))
    assert team.own.ref == "SUP1" and team.own.own
    assert team.own.figures == Figures(pupils=1, persistent=1, severe=1, not_visited=1,
                                       undelivered=1, bands=bands(SEVERE=1))
    assert team.total == Figures(pupils=12, persistent=5, severe=3, visits=6, overdue=2,
                                 not_visited=5, undelivered=3,
                                 bands=bands(GOOD=4, ABOVE_PA=1, PERSISTENT=2, SEVERE=3,
                                             NOT_AVAILABLE=2))


async def test_thresholds_follow_the_settings(db: Database, settings: Settings) -> None:
    ids = await small_team(db)
    sup = await supervisor(db, ids["SUP1"])
    terms = caseload.Terms(NOW, settings.academic_year_end, pa_threshold=92, sa_threshold=45)
    team = await db.read(caseload.team_caseload, sup, terms=terms)
    ewo1 = team.officers[0].figures
    # 181/201 (90.05 %) is now persistent; 50/100 is no longer severe.
    assert (ewo1.persistent, ewo1.severe) == (4, 1)


async def test_officer_detail_lists_pupils_in_need(db: Database, settings: Settings) -> None:
    ids = await small_team(db)
    sup = await supervisor(db, ids["SUP1"])
    detail = await db.read(caseload.officer_caseload, sup, "ewo1",
                           terms=caseload.Terms.of(settings, NOW))
    assert detail is not None
    assert detail.line.ref == "EWO1" and detail.line.figures.pupils == 7
    assert [pupil.pupil_id for pupil in detail.pupils_in_need] == [1, 6, 2, 4, 5]
    first = detail.pupils_in_need[0]
    assert (first.case_ref, first.attended, first.possible) == ("C00001", 40, 100)
    assert first.follow_up == date(2026, 11, 24) and first.last_visit == date(2026, 11, 20)
    corrected = detail.pupils_in_need[1]
    assert corrected.follow_up == date(2026, 11, 20)


async def test_a_supervisor_never_sees_another_team(db: Database, settings: Settings) -> None:
    ids = await small_team(db)
    terms = caseload.Terms.of(settings, NOW)
    sup1, sup2 = await supervisor(db, ids["SUP1"]), await supervisor(db, ids["SUP2"])
    async def _snapshot(conn: Conn):
        assert await caseload.officer_caseload(conn, sup1, "EWO9", terms=terms) is None
        assert await caseload.officer_caseload(conn, sup1, "SUP2", terms=terms) is None
        assert await caseload.officer_caseload(conn, sup1, "NOPE", terms=terms) is None
        assert await caseload.officer_caseload(conn, sup1, "SUP1", terms=terms) is not None
        other = await caseload.team_caseload(conn, sup2, terms=terms)
        assert await caseload.officer_caseload(conn, sup2, "EWO1", terms=terms) is None
        return other
    other = await db.read(_snapshot)
    assert [line.ref for line in other.officers] == ["EWO9"]
    assert other.total == Figures(pupils=1, persistent=1, severe=1, visits=1, overdue=1,
                                  undelivered=1, bands=bands(SEVERE=1))


async def test_statements_for_200_officers_and_20000_pupils(db: Database,
                                                            settings: Settings) -> None:
    async def _transaction(conn: Conn):
        sup_id = await seed.officer(conn, "SUP1", role="supervisor")
        await seed.volume(conn, sup_id, officers=200, pupils=20_000, today=TODAY)
        return sup_id
    sup_id = await db.write(_transaction)
    sup = await supervisor(db, sup_id)
    terms = caseload.Terms.of(settings, NOW)
    async def _snapshot(conn: Conn):
        before = db.counter.count
        team = await caseload.team_caseload(conn, sup, terms=terms)
        team_statements = db.counter.count - before
        before = db.counter.count
        detail = await caseload.officer_caseload(conn, sup, "V0007", terms=terms)
        detail_statements = db.counter.count - before
        return detail, detail_statements, team, team_statements
    detail, detail_statements, team, team_statements = await db.read(_snapshot)
    assert team_statements == 5
    assert detail_statements == 5
    assert len(team.officers) == 200
    assert team.total.pupils == 20_000
    assert sum(line.figures.pupils for line in team.officers) == 20_000
    assert team.total.undelivered == len(range(0, 200, 7))
    assert detail is not None and detail.line.figures.pupils == 100
    # Most in need first: the severe counts never rise down the list.
    severe = [line.figures.severe for line in team.officers]
    assert severe == sorted(severe, reverse=True)


async def test_digest_week_is_kept_in_meta(db: Database) -> None:
    async def _transaction(conn: Conn) -> None:
        assert await caseload.last_digest_week(conn) is None
        await caseload.record_digest_week(conn, "2026-W48")
        await caseload.record_digest_week(conn, "2026-W49")
    await db.write(_transaction)
    async def _snapshot(conn: Conn) -> None:
        assert await caseload.last_digest_week(conn) == "2026-W49"
    await db.read(_snapshot)
