"""Alert rules after an import: crossings at the boundaries, nesting, years, age, digests."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from bot.domain.attendance import Rule
from bot.settings import Settings
from bot.storage import alerts as alert_store
from bot.storage import audit
from bot.storage import outbox as outbox_store
from bot.storage.db import Conn, Database
from tests.held import held_write
from tests.storage.alert_seed import NOW, YEAR_END, AlertSeed, ending_on, sessions

SEVERE_CODES = ["/"] * 30 + ["I"] * 50


@pytest.fixture
def seed(db: Database, settings: Settings) -> AlertSeed:
    return AlertSeed(db, settings)


async def alerts_of(db: Database, pupil_id: int) -> list[Rule]:
    async def _snapshot(conn: Conn):
        return [alert.rule for alert in await alert_store.alerts_for(conn, [pupil_id])]
    return await db.read(_snapshot)


async def held(db: Database, pupil_id: int, year: int = 2027) -> frozenset[Rule]:
    return await db.read(alert_store.rules_held, pupil_id, year)


async def pupil_with(seed: AlertSeed, codes: list[str], **pupil: object) -> int:
    pupil_id = await seed.pupil(**pupil)  # type: ignore[arg-type]
    await seed.marks(pupil_id, sessions(codes))
    return pupil_id


# --- crossings at the boundaries --------------------------------------------------------


async def test_72_of_80_is_90_per_cent_and_in_persistent_absence(seed: AlertSeed,
                                                                 db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 72 + ["I"] * 8)
    result = await seed.evaluate([pupil_id])
    assert (result.evaluated, result.alerts) == (1, 1)
    assert await alerts_of(db, pupil_id) == [Rule.PERSISTENT]
    assert await held(db, pupil_id) == {Rule.PERSISTENT}


async def test_181_of_201_shows_90_per_cent_but_is_not_in_the_band(seed: AlertSeed,
                                                                   db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 181 + ["I"] * 20)
    result = await seed.evaluate([pupil_id])
    assert (result.evaluated, result.alerts) == (1, 0)
    assert await held(db, pupil_id) == frozenset()


async def test_no_possible_sessions_is_n_a_and_never_alerts(seed: AlertSeed,
                                                            db: Database) -> None:
    pupil_id = await pupil_with(seed, ["#"] * 30 + ["X"] * 30)
    result = await seed.evaluate([pupil_id])
    assert (result.evaluated, result.alerts) == (0, 0)


async def test_rules_wait_for_the_minimum_of_possible_sessions(seed: AlertSeed,
                                                               db: Database) -> None:
    pupil_id = await pupil_with(seed, ["I"] * 19 + ["Q"] * 5)  # Q is not possible
    assert (await seed.evaluate([pupil_id])).alerts == 0
    await seed.marks(pupil_id, sessions(["I"] * 19 + ["Q"] * 5 + ["I"]))
    assert (await seed.evaluate([pupil_id])).alerts == 1
    # 0 of 20: in both bands, and the one alert names the deeper one.
    assert await alerts_of(db, pupil_id) == [Rule.SEVERE]
    assert await held(db, pupil_id) == {Rule.SEVERE, Rule.PERSISTENT}


async def test_the_same_crossing_alerts_once(seed: AlertSeed, db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 72 + ["I"] * 8)
    await seed.evaluate([pupil_id])
    again = await seed.evaluate([pupil_id])
    assert again.alerts == 0
    assert await alerts_of(db, pupil_id) == [Rule.PERSISTENT]


async def test_recovery_then_a_fall_back_alerts_again(seed: AlertSeed, db: Database) -> None:
    codes = ["/"] * 72 + ["I"] * 8
    pupil_id = await pupil_with(seed, codes)
    await seed.evaluate([pupil_id])
    codes += ["/"] * 20  # 92 of 100: out of the band
    await seed.marks(pupil_id, sessions(codes))
    assert (await seed.evaluate([pupil_id])).alerts == 0
    assert await held(db, pupil_id) == frozenset()
    codes += ["I"] * 12  # 92 of 112: back in
    await seed.marks(pupil_id, sessions(codes))
    assert (await seed.evaluate([pupil_id])).alerts == 1
    assert await alerts_of(db, pupil_id) == [Rule.PERSISTENT, Rule.PERSISTENT]


async def test_falling_from_persistent_into_severe_alerts_severe(seed: AlertSeed,
                                                                 db: Database) -> None:
    codes = ["/"] * 72 + ["I"] * 8
    pupil_id = await pupil_with(seed, codes)
    await seed.evaluate([pupil_id])
    codes += ["I"] * 70  # 72 of 150 = 48 %
    await seed.marks(pupil_id, sessions(codes))
    await seed.evaluate([pupil_id])
    assert await alerts_of(db, pupil_id) == [Rule.PERSISTENT, Rule.SEVERE]


async def test_both_bands_at_once_give_one_alert_naming_severe(seed: AlertSeed,
                                                               db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 30 + ["I"] * 50)
    assert (await seed.evaluate([pupil_id])).alerts == 1
    assert await alerts_of(db, pupil_id) == [Rule.SEVERE]


async def test_each_academic_year_starts_with_no_rule_holding(seed: AlertSeed,
                                                              db: Database) -> None:
    pupil_id = await seed.pupil()
    spring = sessions(["/"] * 72 + ["I"] * 8, start=date(2026, 3, 2))
    await seed.marks(pupil_id, spring)
    await seed.evaluate([pupil_id], today=date(2026, 7, 1))
    assert await held(db, pupil_id, 2026) == {Rule.PERSISTENT}
    await seed.marks(pupil_id, sessions(["/"] * 72 + ["I"] * 8))  # autumn 2026
    assert (await seed.evaluate([pupil_id])).alerts == 1
    assert await alerts_of(db, pupil_id) == [Rule.PERSISTENT, Rule.PERSISTENT]
    async def _snapshot(conn: Conn):
        return [a.academic_year for a in await alert_store.alerts_for(conn, [pupil_id])]
    years = await db.read(_snapshot)
    assert years == [2026, 2027]


async def test_baseline_records_bands_without_alerting(seed: AlertSeed, db: Database) -> None:
    codes = ["/"] * 72 + ["I"] * 8
    pupil_id = await pupil_with(seed, codes)
    assert (await seed.evaluate([pupil_id], baseline=True)).alerts == 0
    assert await held(db, pupil_id) == {Rule.PERSISTENT}
    assert (await seed.evaluate([pupil_id])).alerts == 0  # already holding: no crossing
    codes += ["I"] * 70
    await seed.marks(pupil_id, sessions(codes))
    assert (await seed.evaluate([pupil_id])).alerts == 1
    assert await alerts_of(db, pupil_id) == [Rule.SEVERE]
    async def _snapshot(conn: Conn) -> None:
        assert await outbox_store.rows(conn, kind="alert") == []  # not allocated: waits
    await db.read(_snapshot)


# --- compulsory school age ---------------------------------------------------------------


@pytest.mark.parametrize(("born", "last_day", "alerts"), [
    # Fifth birthday 15 January 2027: compulsory from 31 March 2027.
    (date(2022, 1, 15), date(2027, 3, 30), 0),
    (date(2022, 1, 15), date(2027, 3, 31), 1),
    # Sixteen on 1 October 2026: compulsory until the last Friday in June 2027 (the 25th).
    (date(2010, 10, 1), date(2027, 6, 25), 1),
    (date(2010, 10, 1), date(2027, 6, 28), 0),
])
async def test_rules_apply_only_at_compulsory_school_age_on_the_latest_mark(
        seed: AlertSeed, db: Database, born: date, last_day: date, alerts: int) -> None:
    pupil_id = await seed.pupil(born=born)
    await seed.marks(pupil_id, ending_on(["/"] * 20 + ["I"] * 20, last_day))
    result = await seed.evaluate([pupil_id], today=last_day)
    assert result.alerts == alerts
    assert await alerts_of(db, pupil_id) == [Rule.SEVERE] * alerts


# --- the window rules ---------------------------------------------------------------------


async def test_penalty_notice_consideration(seed: AlertSeed, db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 190 + ["G", "/"] * 10)
    await seed.evaluate([pupil_id])
    assert await alerts_of(db, pupil_id) == [Rule.PENALTY]


async def test_continuous_absence(seed: AlertSeed, db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 200 + ["N"] * 20)
    await seed.evaluate([pupil_id])
    # Twenty N sessions are also ten or more unauthorised ones.
    assert await alerts_of(db, pupil_id) == [Rule.CONTINUOUS, Rule.PENALTY]


async def test_punctuality_concern(seed: AlertSeed, db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 190 + ["L"] * 10)
    await seed.evaluate([pupil_id])
    assert await alerts_of(db, pupil_id) == [Rule.PUNCTUALITY]


async def test_a_run_across_a_long_closure_is_seen_beyond_the_first_window(
        seed: AlertSeed, db: Database) -> None:
    pupil_id = await seed.pupil()
    first = sessions(["N"] * 10, start=date(2026, 9, 7))
    closed = sessions(["#"] * 120, start=date(2026, 9, 14))  # twelve weeks
    last = sessions(["N"] * 10, start=date(2026, 12, 7))
    await seed.marks(pupil_id, first + closed + last)
    await seed.evaluate([pupil_id], today=date(2026, 12, 11))
    # The closure neither breaks nor extends the run: 20 N sessions in a row.
    assert await alerts_of(db, pupil_id) == [Rule.SEVERE, Rule.CONTINUOUS, Rule.PENALTY]


async def test_a_pupil_no_longer_eligible_stops_holding(seed: AlertSeed, db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 72 + ["I"] * 8)
    await seed.evaluate([pupil_id])
    await seed.marks(pupil_id, sessions(["/"] * 72 + ["I"] * 8 + ["X"] * 4))
    async def _transaction(conn: Conn) -> None:
        await conn.execute("UPDATE pupils SET date_of_birth = '2022-06-01' WHERE id = ?",
                           (pupil_id,))
    await db.write(_transaction)
    assert (await seed.evaluate([pupil_id])).evaluated == 0
    assert await held(db, pupil_id) == frozenset()


async def test_evaluation_is_set_based(seed: AlertSeed, db: Database) -> None:
    pupil_ids = []
    codes = sessions(["/"] * 72 + ["I"] * 8)
    async def _transaction(conn: Conn) -> None:
        await conn.execute("INSERT INTO schools (urn, name) VALUES ('100001', 'Hillside')")
        for n in range(1200):
            pupil_ids.append(await conn.insert(
                "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
                " search_last, date_of_birth, year_group, school_urn, first_imported,"
                " last_imported) VALUES (?, ?, 'A', 'B', 'a', 'b', '2015-01-10', '7',"
                " '100001', '2026-11-25', '2026-11-25')", (f"U{n}", f"R{n}")))
        await conn.executemany(
            "INSERT INTO marks (pupil_id, date, session, code) VALUES (?, ?, ?, ?)",
            [(p, d.isoformat(), s, c) for p in pupil_ids for d, s, c in codes])
        await conn.executemany(
            "INSERT INTO pupil_stats (pupil_id, academic_year, possible, attended,"
            " latest_mark) VALUES (?, 2027, 80, 72, ?)",
            [(p, codes[-1][0].isoformat()) for p in pupil_ids])
    await db.write(_transaction)
    before = db.counter.count
    result = await seed.evaluate(pupil_ids, baseline=True)
    assert result.evaluated == 1200
    # Three chunks of pupils, a handful of statements each: never one per pupil.
    assert db.counter.count - before <= 3 * 8


# --- digests -------------------------------------------------------------------------------


async def test_one_message_per_officer_with_twenty_buttons_then_more(
        seed: AlertSeed, db: Database) -> None:
    await seed.officer("SUP1", "supervisor")
    officer = await seed.officer("EWO1", supervisor="SUP1")
    other = await seed.officer("EWO2", supervisor="SUP1")
    ids = [await pupil_with(seed, ["/"] * 72 + ["I"] * 8, officer=officer) for _ in range(25)]
    other_id = await pupil_with(seed, ["/"] * 72 + ["I"] * 8, officer=other)
    result = await seed.evaluate([*ids, other_id])
    assert (result.alerts, result.messages) == (26, 2)
    rows = await db.read(outbox_store.rows, kind="alert")
    assert [row.audience for row in rows] == [f"officer:{officer.id}", f"officer:{other.id}"]
    payload = rows[0].payload
    assert len(payload["pages"]) == 2
    assert payload["buttons"] == [[f"C-{n:05d} A.H.", f"al:card:{pupil_id}"]
                                  for n, pupil_id in enumerate(ids[:20], start=1)]
    assert payload["text"].startswith("New attendance alerts (25) — page 1 of 2\n")
    assert "• C-00001 A.H., Hillside Primary: persistent absence, 90.0 % this year" \
        in payload["text"]
    assert len(payload["pages"][1]["buttons"]) == 5
    # Names never travel: only the case reference and initials.
    assert "Amy" not in json.dumps(payload) and "Hill " not in json.dumps(payload)


async def test_severe_and_continuous_absence_are_copied_to_the_supervisor(
        seed: AlertSeed, db: Database) -> None:
    await seed.officer("SUP1", "supervisor")
    officer = await seed.officer("EWO1", supervisor="SUP1")
    severe = await pupil_with(seed, ["/"] * 30 + ["I"] * 50, officer=officer)
    persistent = await pupil_with(seed, ["/"] * 72 + ["I"] * 8, officer=officer)
    missing = await pupil_with(seed, ["/"] * 200 + ["N"] * 20, officer=officer)
    await seed.evaluate([severe, persistent, missing])
    rows = await db.read(outbox_store.rows, kind="alert")
    assert [row.audience for row in rows] == [f"officer:{officer.id}",
                                              f"supervisor_of:{officer.id}"]
    assert rows[0].payload["text"].splitlines()[1:] == [  # a line per alert
        "• C-00001 A.H., Hillside Primary: severe absence, 37.5 % this year",
        "• C-00003 A.H., Hillside Primary: continuous absence (possible CME — check), "
        "90.9 % this year",
        "• C-00003 A.H., Hillside Primary: penalty-notice consideration, 90.9 % this year",
        "• C-00002 A.H., Hillside Primary: persistent absence, 90.0 % this year"]
    copy = rows[1].payload
    assert copy["text"].startswith(
        "Copy for supervisor: severe or continuous absence among EWO1's pupils (2)\n")
    assert [button[1] for button in copy["buttons"]] == [f"al:card:{severe}", f"al:card:{missing}"]
    assert "continuous absence (possible CME — check)" in copy["text"]


async def test_a_supervisors_own_pupils_have_no_copy(seed: AlertSeed, db: Database) -> None:
    supervisor = await seed.officer("SUP1", "supervisor")
    pupil_id = await pupil_with(seed, ["/"] * 30 + ["I"] * 50, officer=supervisor)
    await seed.evaluate([pupil_id])
    rows = await db.read(outbox_store.rows, kind="alert")
    assert [row.audience for row in rows] == [f"officer:{supervisor.id}"]


async def test_an_unallocated_pupils_alert_waits_for_an_allocation(seed: AlertSeed,
                                                                   db: Database) -> None:
    officer = await seed.officer("EWO1")
    pupil_id = await pupil_with(seed, ["/"] * 72 + ["I"] * 8)
    result = await seed.evaluate([pupil_id])
    assert (result.alerts, result.messages) == (1, 0)
    async def _snapshot(conn: Conn) -> None:
        assert not await alert_store.has_waiting(conn)
        assert [a.queued for a in await alert_store.alerts_for(conn, [pupil_id])] == [False]
    await db.read(_snapshot)
    await seed.allocate(pupil_id, officer)
    async def _transaction(conn: Conn):
        assert await alert_store.has_waiting(conn)
        assert await alert_store.queue_waiting(conn, NOW + timedelta(minutes=1),
                                              year_end=YEAR_END) == 1
        rows = await outbox_store.rows(conn, kind="alert")
        assert not await alert_store.has_waiting(conn)
        return rows
    rows = await db.write(_transaction)
    assert [row.audience for row in rows] == [f"officer:{officer.id}"]
    assert f"al:card:{pupil_id}" in json.dumps(rows[0].payload)


async def test_each_alert_is_audited_by_reference(seed: AlertSeed, db: Database) -> None:
    pupil_id = await pupil_with(seed, ["/"] * 30 + ["I"] * 50)
    await seed.evaluate([pupil_id])
    entries = await db.read(audit.entries, targets=(f"pupil:{pupil_id}",))
    assert [(e.action, e.reason, e.actor) for e in entries] == [
        ("alert_created", "severe_absence", "os:test")]


async def test_alerts_written_together_keep_the_audit_chain_whole(seed: AlertSeed,
                                                                  db: Database) -> None:
    await db.write(audit.append, actor="os:test", action="import_pupils", reason="admin_command")
    ids = [await pupil_with(seed, SEVERE_CODES) for _ in range(3)]
    await seed.evaluate(ids)
    await db.write(audit.append, actor="os:test", action="import_attendance",
                   reason="admin_command")
    async def _snapshot(conn: Conn):
        result = await audit.verify(conn)
        entries = await audit.entries(conn, actor="os:test")
        return entries, result
    entries, result = await db.read(_snapshot)
    assert result.ok and result.head.count == 5
    assert [e.target for e in entries if e.action == "alert_created"] == [
        f"pupil:{pupil_id}" for pupil_id in ids]


# --- a restricted record ----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status", "evaluated"), [
    ("restriction", "open", False), ("objection", "open", False),
    ("restriction", "upheld", False), ("objection", "upheld", False),
    ("restriction", "lifted", True), ("restriction", "rejected", True),
    ("erasure", "open", True), ("rectification", "upheld", True)])
async def test_no_rule_is_evaluated_for_a_restricted_record(
        seed: AlertSeed, db: Database, kind: str, status: str, evaluated: bool) -> None:
    restricted = await pupil_with(seed, SEVERE_CODES)
    other = await pupil_with(seed, SEVERE_CODES, first="Bea")
    async with held_write(db) as conn:
        await conn.execute(
            "INSERT INTO rights_requests (pupil_id, kind, received, due, status, recorded_by)"
            " VALUES (?, ?, '2026-11-01', '2026-12-01', ?, 'os:dpo')",
            (restricted, kind, status))
    result = await seed.evaluate([restricted, other])
    assert (result.evaluated, result.alerts) == (1 + evaluated, 1 + evaluated)
    assert await alerts_of(db, other) == [Rule.SEVERE]
    assert await alerts_of(db, restricted) == ([Rule.SEVERE] if evaluated else [])
    assert await held(db, restricted) == (frozenset({Rule.SEVERE, Rule.PERSISTENT})
                                          if evaluated else frozenset())


async def test_a_digest_readdressed_for_a_lapsed_supervisor_is_not_narrowed_away(
        seed: AlertSeed, db: Database) -> None:
    """Readdressed (`supervisor:N`, `controllers`), a digest went to whoever stood in:
    waiting for them, it keeps its pupils (only a restriction would take one out)."""
    ewo = await seed.officer("EWO1")
    pupil_id = await seed.pupil(officer=ewo)
    await seed.marks(pupil_id, sessions(["/"] * 72 + ["I"] * 8))
    await seed.evaluate([pupil_id])

    async def _readdress(conn: Conn) -> None:
        await conn.execute("UPDATE outbox SET audience = 'controllers' WHERE kind = 'alert'")
    await db.write(_readdress)
    assert await db.write(alert_store.narrow_to_holders, NOW) == 0

    async def _waiting(conn: Conn) -> list[tuple[str, int]]:
        rows = await conn.fetchall("SELECT o.audience, op.pupil_id FROM outbox o"
                                   " JOIN outbox_pupils op ON op.outbox_id = o.id")
        return [(row["audience"], row["pupil_id"]) for row in rows]
    assert await db.read(_waiting) == [("controllers", pupil_id)]


async def test_an_alert_waiting_from_a_past_year_says_which_year_its_figure_is(
        seed: AlertSeed, db: Database) -> None:
    """A pupil in persistent absence in the summer term, allocated only in the autumn:
    the waiting alert's figure is last year's, and the new year's card shows another."""
    officer = await seed.officer("EWO1")
    pupil_id = await seed.pupil()
    await seed.marks(pupil_id, sessions(["/"] * 68 + ["I"] * 12, start=date(2026, 6, 1)))
    await seed.evaluate([pupil_id], today=date(2026, 7, 31))  # 85.0 %, in 2025/26
    await seed.marks(pupil_id, sessions(["/"] * 30))  # all present in 2026/27 so far
    await seed.evaluate([pupil_id])
    await seed.allocate(pupil_id, officer)
    rows = await db.write(_queue_now)
    text = rows[0].payload["text"]
    assert "• C-00001 A.H., Hillside Primary: persistent absence, 85.0 % in 2025/26" in text
    assert "this year" not in text


async def _queue_now(conn: Conn) -> list:
    await alert_store.queue_waiting(conn, NOW + timedelta(minutes=1), year_end=YEAR_END)
    return await outbox_store.rows(conn, kind="alert")
