"""Which records are due, holds and disposal, against a real database file."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import psycopg
import pytest

from bot.chat.reminders import reminder_payload
from bot.domain.alerts import DIGEST_TITLE, AlertLine, digest_payload
from bot.domain.attendance import Rule
from bot.domain.dates import YearEnd
from bot.domain.pathway_reminders import Reminder
from bot.domain.retention import COMING, PAST, RetentionPolicy
from bot.settings import Settings
from bot.storage import audit, retention
from bot.storage import outbox as outbox_store
from bot.storage import pathway_reminders as reminder_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.storage.retention_seed import NOW, Seed, contact

AUGUST = YearEnd(8, 31)
TODAY = date(2026, 11, 25)
POLICY = RetentionPolicy(TODAY, AUGUST, 30)
CANARY = "Zebediah Quuxworth"
# A last name of two words: its later word is held on its own too (pupil_name_tails).
CANARY_LAST = "Quuxworth-Vimbleton"


def pupil_tables(settings: Settings) -> list[str]:
    """Every table with a pupil_id column, read from the schema itself."""
    if settings.database_url is not None:
        with psycopg.connect(settings.database_url.get_secret_value()) as pg:
            return [row[0] for row in pg.execute(
                "SELECT table_name FROM information_schema.columns WHERE column_name ="
                " 'pupil_id' AND table_schema = current_schema() ORDER BY table_name")]
    raw = sqlite3.connect(str(settings.database))
    try:
        tables = [row[0] for row in
                  raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [table for table in tables
                if any(column[1] == "pupil_id"
                       for column in raw.execute(f"PRAGMA table_info({table})"))]
    finally:
        raw.close()


@pytest.fixture
async def seed(db: Database) -> Seed:
    return Seed(db)


@pytest.fixture
async def controller(seed: Seed) -> Officer:
    return await seed.officer("DPO1", "controller")


@pytest.fixture
async def officer(seed: Seed) -> Officer:
    return await seed.officer("EWO1")


async def listing(db: Database, viewer: Officer,
                  policy: RetentionPolicy = POLICY) -> dict[int, retention.DueRecord]:
    records, total = await db.read(retention.due_records, viewer, policy, limit=100)
    assert total == len(records)
    return {record.pupil_id: record for record in records}


async def test_deadlines_at_the_year_boundary(db: Database, seed: Seed, controller: Officer,
                                              officer: Officer) -> None:
    kept_a_year_more = await seed.pupil(imported=date(2025, 9, 1))
    last_day = await seed.pupil(imported=date(2025, 8, 31))
    visited = await seed.pupil(imported=date(2020, 1, 1))
    await seed.visit(visited, officer, date(2025, 9, 1))  # the visit, not the import, counts
    leap = await seed.pupil(imported=date(2024, 2, 29))

    on_deadline = await listing(db, controller, RetentionPolicy(date(2026, 8, 31), AUGUST, 30))
    assert on_deadline[last_day].stage == COMING
    assert on_deadline[last_day].deadline == date(2026, 8, 31)
    assert kept_a_year_more not in on_deadline and visited not in on_deadline

    next_day = await listing(db, controller, RetentionPolicy(date(2026, 9, 1), AUGUST, 30))
    assert next_day[last_day].stage == PAST
    assert next_day[leap].stage == PAST and next_day[leap].deadline == date(2025, 8, 31)
    assert kept_a_year_more not in next_day and visited not in next_day


async def test_a_configured_year_end(seed: Seed, db: Database, controller: Officer) -> None:
    pupil = await seed.pupil(imported=date(2025, 7, 31))
    july = YearEnd(7, 31)
    before = await listing(db, controller, RetentionPolicy(date(2026, 7, 31), july, 0))
    after = await listing(db, controller, RetentionPolicy(date(2026, 8, 1), july, 0))
    assert before[pupil].stage == COMING and before[pupil].deadline == date(2026, 7, 31)
    assert after[pupil].stage == PAST


async def test_a_correction_replaces_the_visit_it_supersedes(db: Database, seed: Seed,
                                                             controller: Officer,
                                                             officer: Officer) -> None:
    pupil = await seed.pupil(imported=date(2023, 1, 1))
    mistyped = await seed.visit(pupil, officer, date(2025, 10, 1))
    await seed.visit(pupil, officer, date(2024, 10, 1), supersedes=mistyped)
    record = (await listing(db, controller))[pupil]
    assert record.last_intervention == date(2024, 10, 1)
    assert record.deadline == date(2026, 8, 31) and record.stage == PAST


async def test_listing_shows_references_and_dates_to_controllers_only(
        db: Database, seed: Seed, controller: Officer, officer: Officer) -> None:
    allocated = await seed.pupil(imported=date(2024, 3, 1), officer=officer)
    await seed.pupil(imported=date(2024, 3, 2), urn="100002")
    await seed.pupil(imported=date(2026, 9, 2))  # not due
    records = await listing(db, controller)
    assert len(records) == 2
    assert records[allocated].allocated and records[allocated].case_ref == "C00001"
    assert records[allocated].school_name == "Hillside Primary"
    assert await listing(db, officer) == {}
    supervisor = await seed.officer("SUP1", "supervisor")
    assert await listing(db, supervisor) == {}
    async def _snapshot(conn: Conn) -> None:
        assert await retention.due_record(conn, officer, POLICY, allocated) is None
        assert await retention.disposable_ids(conn, officer, POLICY) == []
    await db.read(_snapshot)


async def test_counts_by_school_keep_held_records_apart(db: Database, seed: Seed,
                                                        controller: Officer) -> None:
    first = await seed.pupil(imported=date(2024, 3, 1))
    await seed.pupil(imported=date(2024, 3, 1))
    await seed.pupil(imported=date(2024, 3, 1), urn="100002")
    await seed.hold(first, controller, date(2027, 1, 1))
    counts = await db.read(retention.school_counts, POLICY)
    assert [(c.school_name, c.past_due, c.coming_due, c.held) for c in counts] == [
        ("Hillside Primary", 1, 0, 1), ("Riverside Academy", 1, 0, 0)]


async def test_hold_is_audited_and_stops_disposal_until_review(db: Database, seed: Seed,
                                                               controller: Officer) -> None:
    pupil = await seed.pupil(imported=date(2024, 3, 1))
    record = await db.write(retention.hold, controller, POLICY, pupil, reason="legal",
                            review_date=date(2027, 1, 15), now=NOW)
    assert record is not None and record.held and not record.disposable
    async def _transaction2(conn: Conn):
        assert not await retention.dispose(conn, pupil, by=controller, policy=POLICY, now=NOW)
        return await audit.entries(conn, targets=(f"pupil:{pupil}",))
    entries = await db.write(_transaction2)
    assert [(e.action, e.reason, e.detail) for e in entries] == [
        ("hold", "retention_hold", {"hold_reason": "legal", "review_date": "2027-01-15"})]
    on_review = RetentionPolicy(date(2027, 1, 15), AUGUST, 30)
    async def _transaction(conn: Conn) -> None:
        assert await retention.dispose(conn, pupil, by=controller, policy=on_review, now=NOW)
    await db.write(_transaction)


async def test_hold_refused_for_non_controllers_and_records_not_due(
        db: Database, seed: Seed, controller: Officer, officer: Officer) -> None:
    due = await seed.pupil(imported=date(2024, 3, 1))
    not_due = await seed.pupil(imported=date(2026, 9, 1))
    async def _transaction(conn: Conn) -> None:
        assert await retention.hold(conn, officer, POLICY, due, reason="legal",
                                    review_date=date(2027, 1, 1), now=NOW) is None
        assert await retention.hold(conn, controller, POLICY, not_due, reason="legal",
                                    review_date=date(2027, 1, 1), now=NOW) is None
        assert await conn.fetchval("SELECT count(*) FROM holds") == 0
    await db.write(_transaction)


async def test_disposal_removes_every_row_about_the_pupil_and_nothing_else(
        db: Database, seed: Seed, settings: Settings, controller: Officer,
        officer: Officer) -> None:
    disposed = await seed.pupil(imported=date(2024, 3, 1), first="Zebediah",
                                last=CANARY_LAST, officer=officer)
    await seed.full_record(disposed, officer, CANARY)
    kept = await seed.pupil(imported=date(2024, 3, 1), officer=officer)
    await contact(db, kept, "Shared Grandparent")  # the same person, held for another pupil
    tables = pupil_tables(settings)
    async def _snapshot2(conn: Conn):
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t} WHERE pupil_id = ?",
                                         (disposed,)) for t in tables}
    before = await db.read(_snapshot2)
    # Every table about pupils really held a row about this one.
    assert all(before[t] for t in tables if t != "pupils"), before

    async def _transaction(conn: Conn) -> None:
        assert await retention.dispose(conn, disposed, by=controller, policy=POLICY, now=NOW)
    await db.write(_transaction)
    async def _snapshot(conn: Conn):
        for table in tables:
            assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE pupil_id = ?",
                                       (disposed,)) == 0, table
        assert await conn.fetchval("SELECT count(*) FROM pupils WHERE id = ?", (disposed,)) == 0
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        # Requests keyed by reference go too, with the export's name the child gave.
        assert await conn.fetchval("SELECT count(*) FROM subject_access_requests") == 0
        # Only the name of the export in the export folder is kept, for the clean-up.
        assert await retention.exports_owed(conn) == [
            f"sar-C{disposed:05d}-20240502-100000.json"]
        # The request kept while locked that named the pupil is gone, not just its link.
        assert await conn.fetchval("SELECT count(*) FROM sessions"
                                   " WHERE pending_update IS NOT NULL") == 0
        assert await conn.fetchval("SELECT name FROM contacts WHERE pupil_id = ?",
                                   (kept,)) == "Shared Grandparent"
        assert await conn.fetchval("SELECT count(*) FROM allocations WHERE pupil_id = ?",
                                   (kept,)) == 1
        return (await audit.entries(conn, targets=(f"pupil:{disposed}",)))[-1]
    entry = await db.read(_snapshot)
    assert (entry.actor, entry.action, entry.reason) == ("officer:DPO1", "disposal",
                                                         "retention_due")
    assert entry.detail == {"deadline": "2025-08-31"}


async def test_a_digest_naming_other_pupils_is_written_again_without_the_disposed_one(
        db: Database, seed: Seed, controller: Officer, officer: Officer) -> None:
    disposed = await seed.pupil(imported=date(2024, 3, 1), officer=officer)
    kept = await seed.pupil(imported=date(2024, 3, 1), officer=officer)
    lines = {pupil: AlertLine(pupil, f"C0000{pupil}", "A.B.", "Hillside Primary",
                              Rule.PERSISTENT, 70, 80) for pupil in (disposed, kept)}
    async def _transaction(conn: Conn):
        both = await outbox_store.enqueue(
            conn, kind="alert", audience=f"officer:{officer.id}", now=NOW,
            payload=digest_payload(DIGEST_TITLE, list(lines.values())),
            pupil_ids=[disposed, kept])
        await outbox_store.enqueue(  # a copy about the disposed pupil alone
            conn, kind="alert", audience=f"supervisor_of:{officer.id}", now=NOW,
            payload=digest_payload(DIGEST_TITLE, [lines[disposed]]), pupil_ids=[disposed])
        assert await retention.dispose(conn, disposed, by=controller, policy=POLICY, now=NOW)
        rows = await conn.fetchall("SELECT id, payload FROM outbox")
        linked = await conn.fetchall("SELECT outbox_id, pupil_id FROM outbox_pupils")
        return both, linked, rows
    both, linked, rows = await db.write(_transaction)
    assert [row["id"] for row in rows] == [both]  # the copy is gone
    payload = json.loads(rows[0]["payload"])
    assert payload == digest_payload(DIGEST_TITLE, [lines[kept]])  # still reaches the officer
    assert f"C0000{disposed}" not in rows[0]["payload"]
    assert [tuple(row) for row in linked] == [(both, kept)]


async def test_a_waiting_reminder_naming_other_pupils_leaves_theirs_due_again(
        db: Database, seed: Seed, controller: Officer, officer: Officer) -> None:
    disposed = await seed.pupil(imported=date(2024, 3, 1), officer=officer)
    kept = await seed.pupil(imported=date(2024, 3, 1), officer=officer)
    due = [Reminder(f"review:{pupil}:0:2026-11-25", pupil, officer.id, f"C0000{pupil}",
                    "A.B.", "Hillside Primary", "review", TODAY, "support_plan",
                    date(2026, 10, 14)) for pupil in (disposed, kept)]
    async def _transaction(conn: Conn):  # as the reminders' run queues them
        claimed = await reminder_store.claim(conn, due, now=NOW)
        await outbox_store.enqueue(conn, kind="reminder", audience=f"officer:{officer.id}",
                                   payload=reminder_payload(claimed), now=NOW,
                                   pupil_ids=[disposed, kept])
        assert await retention.dispose(conn, disposed, by=controller, policy=POLICY, now=NOW)
        return (await conn.fetchval("SELECT count(*) FROM outbox"),
                await conn.fetchval("SELECT count(*) FROM pathway_reminders"))
    assert await db.write(_transaction) == (0, 0)  # the message went with the record...
    async def _again(conn: Conn):  # ...and the other pupil's reminder can be queued again
        return await reminder_store.claim(conn, due[1:], now=NOW)
    assert await db.write(_again) == due[1:]


@pytest.mark.sqlite_only("the SQLite file canary")
async def test_disposal_leaves_no_trace_in_the_database_files(
        db: Database, seed: Seed, settings: Settings, controller: Officer,
        officer: Officer) -> None:
    pupil = await seed.pupil(imported=date(2024, 3, 1), first="Zebediah", last=CANARY_LAST,
                             officer=officer)
    await seed.full_record(pupil, officer, CANARY)
    files = [settings.database, settings.database.with_name(settings.database.name + "-wal")]
    canary = CANARY.encode()

    def traces(needle: bytes) -> int:
        """How often `needle` is in the files, in any case (search keys are folded)."""
        return sum(path.read_bytes().lower().count(needle.lower())
                   for path in files if path.exists())

    assert traces(canary) > 0  # the name really was written to the files
    # ...and the later word of the last name, on its own, for the search.
    assert await db.read(lambda conn: conn.fetchval(
        "SELECT search_tail FROM pupil_name_tails WHERE pupil_id = ?", (pupil,))) == "vimbleton"
    async def _transaction(conn: Conn) -> None:
        assert await retention.dispose(conn, pupil, by=controller, policy=POLICY, now=NOW)
    await db.write(_transaction)
    await db.checkpoint()
    assert traces(canary) == 0
    for word in (b"Zebediah", b"Quuxworth", b"Vimbleton"):
        assert traces(word) == 0, word


async def test_disposal_refused_unless_past_due_and_by_a_controller(
        db: Database, seed: Seed, controller: Officer, officer: Officer) -> None:
    past = await seed.pupil(imported=date(2024, 3, 1))
    coming = await seed.pupil(imported=date(2025, 8, 1))
    held = await seed.pupil(imported=date(2024, 3, 1))
    await seed.hold(held, controller, date(2027, 1, 1))
    august = RetentionPolicy(date(2026, 8, 10), AUGUST, 30)
    async def _transaction(conn: Conn) -> None:
        assert not await retention.dispose(conn, past, by=officer, policy=POLICY, now=NOW)
        assert not await retention.dispose(conn, coming, by=controller, policy=august, now=NOW)
        assert not await retention.dispose(conn, held, by=controller, policy=POLICY, now=NOW)
        assert not await retention.dispose(conn, 9999, by=controller, policy=POLICY, now=NOW)
        assert await conn.fetchval("SELECT count(*) FROM pupils") == 3
        assert await retention.disposable_ids(conn, controller, POLICY) == [past, coming]
    await db.write(_transaction)


async def test_the_whole_service_is_read_in_few_statements(
        db: Database, controller: Officer, officer: Officer) -> None:
    # The count of statements does not depend on the size; PostgreSQL's row-by-row
    # executemany would spend a minute on SQLite's size.
    pupils = 100_000 if db.dialect == "sqlite" else 5_000
    async def _transaction(conn: Conn) -> None:
        await conn.executemany("INSERT INTO schools (urn, name) VALUES (?, ?)",
                               [(str(200000 + n), f"School {n}") for n in range(50)])
        await conn.executemany(
            "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
            " search_last, date_of_birth, year_group, school_urn, first_imported,"
            " last_imported) VALUES (?, ?, 'A', 'B', 'a', 'b', '2014-01-01', '7', ?, ?, ?)",
            [(f"T{n:012d}", f"C{n:06d}", str(200000 + n % 50),
              f"{2022 + n % 5}-03-01", f"{2022 + n % 5}-03-01") for n in range(pupils)])
        await conn.executemany(
            "INSERT INTO visits (pupil_id, officer_id, visit_date, type, saved_at)"
            " VALUES (?, ?, ?, 'home', ?)",
            [(1 + (n * 7) % pupils, officer.id, f"{2022 + n % 5}-06-0{1 + n % 9}", "x")
             for n in range(2 * pupils)])
    await db.write(_transaction)
    # Speed is measured in bench/ (retention sweep); here, the work is set-based.
    before = db.counter.count
    stock = await db.write(retention.take_stock, POLICY, NOW)
    check_statements = db.counter.count - before
    async def _snapshot(conn: Conn):
        counts = await retention.school_counts(conn, POLICY)
        records, total = await retention.due_records(conn, controller, POLICY, offset=500,
                                                     limit=5)
        return counts, records, total
    counts, records, total = await db.read(_snapshot)
    assert stock.counts == counts
    assert sum(c.past_due for c in counts) == total == stock.news.newly_past > 0
    assert len(records) == 5
    assert check_statements < 30, "the check reads the service set-wise, not per pupil"


async def _step(db: Database, pupil: int, officer: Officer, day: date, *, notes: str = "",
                supersedes: int | None = None) -> int:
    async def _transaction(conn: Conn) -> int:
        return await conn.insert(
            "INSERT INTO pathway_steps (pupil_id, officer_id, kind, step_date, notes,"
            " supersedes, saved_at) VALUES (?, ?, 'support_plan', ?, ?, ?, ?)",
            (pupil, officer.id, day.isoformat(), notes, supersedes, NOW.isoformat()))
    return await db.write(_transaction)


async def test_a_pathway_step_or_outcome_is_an_intervention(
        db: Database, seed: Seed, controller: Officer, officer: Officer) -> None:
    pupil = await seed.pupil(imported=date(2023, 1, 1))
    await seed.visit(pupil, officer, date(2024, 10, 1))
    mistyped = await _step(db, pupil, officer, date(2026, 10, 1))
    step = await _step(db, pupil, officer, date(2025, 1, 6), supersedes=mistyped)
    assert (await listing(db, controller))[pupil].last_intervention == date(2025, 1, 6)
    await db.write(lambda conn: conn.execute(
        "INSERT INTO pathway_outcomes (step_id, pupil_id, officer_id, outcome,"
        " outcome_date, saved_at) VALUES (?, ?, ?, 'order', '2025-09-01', ?)",
        (step, pupil, officer.id, NOW.isoformat())))
    records = await listing(db, controller, RetentionPolicy(date(2031, 1, 1), AUGUST, 0))
    assert records[pupil].last_intervention == date(2025, 9, 1)
    assert records[pupil].deadline == date(2027, 8, 31)  # the year after 2025/26 ends


@pytest.mark.sqlite_only("the SQLite file canary")
async def test_a_canary_in_a_pathway_step_is_gone_from_the_files_after_disposal(
        db: Database, seed: Seed, settings: Settings, controller: Officer,
        officer: Officer) -> None:
    pupil = await seed.pupil(imported=date(2024, 3, 1), officer=officer)
    canary = "Pathway canary Xylophone"
    await _step(db, pupil, officer, date(2024, 4, 1), notes=canary)
    files = [settings.database, settings.database.with_name(settings.database.name + "-wal")]

    def traces() -> int:
        return sum(path.read_bytes().count(canary.encode()) for path in files if path.exists())

    assert traces() > 0
    assert await db.write(retention.dispose, pupil, by=controller, policy=POLICY, now=NOW)
    await db.checkpoint()
    assert traces() == 0
