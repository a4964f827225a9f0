"""The daily retention check: one reminder per stage, weekly while past due, holds, catch-up."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import monotonic as time_now
from zoneinfo import ZoneInfo

import pytest

from bot.domain.retention import RetentionPolicy
from bot.settings import Settings
from bot.storage import audit, compliance, retention, rights
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database, DatabaseError
from bot.storage.officers import Officer
from bot.storage.sar import export_subject_access
from bot.usecases.retention import (
    check_if_due,
    check_is_due,
    clean_up_after_disposals,
    run_retention_check,
)
from tests.conftest import make_settings
from tests.e2e.retention_files import upn
from tests.held import held_write
from tests.storage.retention_seed import NOW, Seed

LONDON = ZoneInfo("Europe/London")


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


async def reminders(db: Database) -> list[dict]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT audience, payload FROM outbox WHERE kind = 'retention' ORDER BY id")
    rows = await db.read(_snapshot)
    assert all(row["audience"] == "controllers" for row in rows)
    return [json.loads(row["payload"]) for row in rows]


async def test_one_reminder_per_stage_then_weekly_while_past_due(db: Database,
                                                                 settings: Settings) -> None:
    seed = Seed(db)
    await seed.officer("DPO1", "controller")
    await seed.pupil(imported=date(2025, 6, 1), first="Zebediah", last="Quuxworth")
    sent_on = []
    for day in [at(2026, 7, 31), at(2026, 8, 1), at(2026, 8, 1, 15), at(2026, 8, 2),
                at(2026, 8, 31), at(2026, 9, 1), at(2026, 9, 2), at(2026, 9, 7),
                at(2026, 9, 8), at(2026, 9, 9), at(2026, 9, 15)]:
        result = await run_retention_check(db, settings, day)
        if result.reminded:
            sent_on.append(day)
    assert sent_on == [at(2026, 8, 1), at(2026, 9, 1), at(2026, 9, 8), at(2026, 9, 15)]
    coming, past, again, _ = await reminders(db)
    assert coming["text"].splitlines()[0] == (
        "Retention check 01/08/2026: 0 past due, 1 coming due by 31/08/2026, 0 on hold.")
    assert "Hillside Primary: 0 past due, 1 coming due" in coming["text"]
    assert "Hillside Primary: 1 past due, 0 coming due" in past["text"]
    assert past["buttons"] == [["Open /retention", "ret:open"]]
    for message in (coming, past, again):  # names no one, not even a case reference
        assert "Zebediah" not in message["text"] and "Quuxworth" not in message["text"]
        assert "C00001" not in message["text"]


async def test_the_reminder_carries_the_audit_head(db: Database, settings: Settings) -> None:
    seed = Seed(db)
    await seed.pupil(imported=date(2024, 3, 1))
    result = await run_retention_check(db, settings, at(2026, 11, 25), actor="os:dpo")
    async def _snapshot(conn: Conn):
        head = await audit.head(conn)
        (entry,) = await audit.entries(conn, actor="os:dpo")
        return entry, head
    entry, head = await db.read(_snapshot)
    assert result.head == head and head.count == entry.seq  # the check's own entry
    assert entry.detail == {"coming_due": 0, "past_due": 1, "held": 0, "reminded": True}
    (message,) = await reminders(db)
    assert f"Audit trail head: {head.short()}." in message["text"]
    assert len(head.short().split(":")[1]) == 12


async def test_a_hold_stops_reminders_until_its_review_date(db: Database,
                                                            settings: Settings) -> None:
    seed = Seed(db)
    controller = await seed.officer("DPO1", "controller")
    held = await seed.pupil(imported=date(2024, 3, 1))
    await seed.hold(held, controller, date(2026, 12, 10))
    quiet = await run_retention_check(db, settings, at(2026, 11, 25))
    assert (quiet.reminded, quiet.past_due, quiet.held) == (False, 0, 1)
    assert not (await run_retention_check(db, settings, at(2026, 12, 9))).reminded
    resumed = await run_retention_check(db, settings, at(2026, 12, 10))
    assert resumed.reminded and resumed.news.newly_past == 1


async def test_a_new_visit_moves_the_record_out_and_resets_its_reminders(
        db: Database, settings: Settings) -> None:
    seed = Seed(db)
    officer = await seed.officer("EWO1")
    pupil = await seed.pupil(imported=date(2024, 3, 1))
    assert (await run_retention_check(db, settings, at(2026, 11, 2))).reminded
    await seed.visit(pupil, officer, date(2026, 11, 3))
    later = await run_retention_check(db, settings, at(2026, 11, 20))
    assert (later.reminded, later.past_due, later.coming_due) == (False, 0, 0)
    async def _snapshot(conn: Conn) -> None:
        assert await conn.fetchval("SELECT count(*) FROM retention_reminders") == 0
    await db.read(_snapshot)


def test_the_check_is_due_daily_at_its_time_and_after_downtime() -> None:
    nine = time(9, 0)
    assert check_is_due(at(2026, 11, 25, 8), None, nine)  # never run
    assert not check_is_due(at(2026, 11, 25, 8), at(2026, 11, 24, 9), nine)
    assert check_is_due(at(2026, 11, 25, 9), at(2026, 11, 24, 9), nine)
    assert not check_is_due(at(2026, 11, 25, 9, 1), at(2026, 11, 25, 9), nine)
    # Down at nine yesterday and today until now: more than a day since the last check.
    assert check_is_due(at(2026, 11, 25, 8), at(2026, 11, 23, 9), nine)


async def test_a_check_missed_while_down_runs_at_start(db: Database, settings: Settings) -> None:
    seed = Seed(db)
    assert await check_if_due(db, settings, at(2026, 11, 20)) is not None
    assert await check_if_due(db, settings, at(2026, 11, 20, 20)) is None
    # The bot is down over the weekend; a record falls past due meanwhile.
    await seed.pupil(imported=date(2024, 3, 1))
    result = await check_if_due(db, settings, at(2026, 11, 23, 7))
    assert result is not None and result.reminded
    (message,) = await reminders(db)
    assert "1 past due" in message["text"]
    assert await check_if_due(db, settings, at(2026, 11, 23, 8)) is None
    assert await check_if_due(db, settings, at(2026, 11, 23, 9)) is not None  # the daily one


def test_a_check_time_missed_before_midnight_is_due_after_it() -> None:
    half_eleven = time(23, 30)
    # The last check ran at 00:40 on Sunday; down from 23:00 to 00:30 on Monday.
    assert check_is_due(at(2026, 11, 23, 0, 30), at(2026, 11, 22, 0, 40), half_eleven)
    assert not check_is_due(at(2026, 11, 23, 0, 30), at(2026, 11, 22, 23, 30), half_eleven)
    assert not check_is_due(at(2026, 11, 23, 23, 29), at(2026, 11, 23, 0, 30), half_eleven)
    assert check_is_due(at(2026, 11, 23, 23, 30), at(2026, 11, 23, 0, 30), half_eleven)


async def test_a_check_missed_over_midnight_runs_when_the_bot_is_back(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_check_time="23:30")
    db = await Database.open(settings)
    try:
        seed = Seed(db)
        # Saturday's check was missed too: it ran at 00:40 on Sunday, when the bot was back.
        assert await check_if_due(db, settings, at(2026, 11, 22, 0, 40)) is not None
        assert await check_if_due(db, settings, at(2026, 11, 22, 22, 59)) is None
        # Down from 23:00 on Sunday to 00:30 on Monday; a record falls past due meanwhile.
        await seed.pupil(imported=date(2024, 3, 1))
        result = await check_if_due(db, settings, at(2026, 11, 23, 0, 30))
        assert result is not None and result.reminded
        (message,) = await reminders(db)
        assert message["text"].startswith("Retention check 23/11/2026: 1 past due")
        assert await check_if_due(db, settings, at(2026, 11, 23, 0, 35)) is None
        assert await check_if_due(db, settings, at(2026, 11, 23, 23, 30)) is not None
    finally:
        await db.close()


async def test_the_same_check_twice_in_a_day_sends_nothing_new(db: Database,
                                                               settings: Settings) -> None:
    seed = Seed(db)
    for _ in range(3):
        await seed.pupil(imported=date(2024, 3, 1))
    first = await run_retention_check(db, settings, at(2026, 11, 25))
    second = await run_retention_check(db, settings, at(2026, 11, 25, 17))
    assert first.reminded and first.news.newly_past == 3
    assert not second.reminded and second.past_due == 3
    assert len(await reminders(db)) == 1


async def test_a_week_is_counted_in_days_whatever_the_minute(db: Database,
                                                             settings: Settings) -> None:
    seed = Seed(db)
    await seed.pupil(imported=date(2024, 3, 1))
    assert (await run_retention_check(db, settings, at(2026, 11, 2, 10))).reminded
    assert not (await run_retention_check(db, settings, at(2026, 11, 8, 23))).reminded
    assert (await run_retention_check(db, settings, at(2026, 11, 9, 0))).reminded


async def test_a_disposal_left_uncleaned_is_cleaned_by_the_next_run(
        db: Database, settings: Settings) -> None:
    """Another process was reading when the record was disposed of (or the bot was killed
    just after): the files still hold it until the retention job's next run cleans them."""
    seed = Seed(db)
    controller = await seed.officer("DPO1", "controller")
    officer = await seed.officer("EWO1")
    pupil = await seed.pupil(imported=date(2024, 3, 1), first="Zebediah", last="Quuxworth",
                             officer=officer)
    await seed.full_record(pupil, officer, "Zebediah Quuxworth")
    files = [settings.database, settings.database.with_name(settings.database.name + "-wal")]

    def readable() -> bool:
        return any(b"Quuxworth" in path.read_bytes() for path in files if path.exists())

    reader = sqlite3.connect(settings.database, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM pupils").fetchall()
    async def _transaction(conn: Conn) -> None:
        policy = RetentionPolicy(date(2026, 11, 25), settings.academic_year_end, 30)
        assert await retention.dispose(conn, pupil, by=controller, policy=policy, now=NOW)
    await db.write(_transaction)
    started = time_now()
    with pytest.raises(DatabaseError):
        await db.checkpoint(attempts=3)
    assert time_now() - started < 2  # each attempt gives up at once, not after 15 s
    assert not await clean_up_after_disposals(db, settings.export_dir)
    assert readable()
    reader.close()

    assert await clean_up_after_disposals(db, settings.export_dir)
    assert not readable()
    async def _snapshot(conn: Conn) -> None:
        assert await retention.clean_up_owed(conn) is None
    await db.read(_snapshot)


async def test_a_disposed_records_subject_access_exports_go_with_it(
        db: Database, settings: Settings, tmp_path: Path) -> None:
    seed = Seed(db)
    controller = await seed.officer("DPO1", "controller")
    disposed = await seed.pupil(imported=date(2024, 3, 1), upn=upn(1))
    kept = await seed.pupil(imported=date(2026, 11, 1), upn=upn(2))  # not yet due: stays
    made = [await export_subject_access(db, settings, upn(number), actor="os:dpo", now=moment)
            for number, moment in ((1, NOW), (1, NOW + timedelta(seconds=1)), (2, NOW))]
    elsewhere = await export_subject_access(db, settings, upn(1), actor="os:dpo", now=NOW,
                                            out=tmp_path / "for-the-family.json")
    async def _transaction(conn: Conn) -> None:
        policy = RetentionPolicy(date(2026, 11, 25), settings.academic_year_end, 30)
        assert await retention.dispose(conn, disposed, by=controller, policy=policy, now=NOW)
    await db.write(_transaction)
    assert await clean_up_after_disposals(db, settings.export_dir)
    assert [export.path.exists() for export in made] == [False, False, True]
    assert elsewhere.path.exists()  # written with --out: where the administrator chose
    async def _snapshot(conn: Conn) -> None:
        # The disposed pupil's requests went with the record; nothing more is owed.
        assert [row["pupil_ref"] for row in await conn.fetchall(
            "SELECT pupil_ref FROM subject_access_requests")] == [f"pupil:{kept}"]
        assert await retention.exports_owed(conn) == []
    await db.read(_snapshot)


async def test_rights_requests_due_soon_or_overdue_are_told_once_a_day(
        db: Database, settings: Settings) -> None:
    seed = Seed(db)
    await seed.officer("DPO1", "controller")
    await seed.pupil(imported=date(2026, 9, 1), first="Zebediah", last="Quuxworth", upn=upn(1))
    async with held_write(db) as conn:
        for received in (date(2026, 10, 1), date(2026, 10, 20), date(2026, 10, 28)):
            await rights.add(conn, upn(1), "rectification", received, actor="os:dpo", now=NOW)
    # 01/11 and 20/11 are due; the third, due 28/11, is within seven days of 21/11.
    first = await run_retention_check(db, settings, at(2026, 11, 21))
    again = await run_retention_check(db, settings, at(2026, 11, 21, 15))
    next_day_check = await run_retention_check(db, settings, at(2026, 11, 22))
    assert (first.reminded, again.reminded, next_day_check.reminded) == (True, False, True)
    told, next_day = await reminders(db)
    lines = told["text"].splitlines()
    assert lines[0].startswith("Retention check 21/11/2026: 0 past due, 0 coming due")
    assert lines[1:3] == ["Rights requests overdue: 2 (1, 2).",
                          "Rights requests due within 7 days: 1 (3)."]
    assert lines[3].startswith("Audit trail head: ")
    assert "Zebediah" not in told["text"] and "C00001" not in told["text"]
    assert next_day["text"].splitlines()[1] == "Rights requests overdue: 2 (1, 2)."


async def compliance_people(db: Database) -> tuple[Seed, Officer, Officer]:
    """DPO1 (a controller without dates), SUP1 and EWO1 under them, in a service whose
    compliance checks began on 01/01/2026: the seed, SUP1 and EWO1."""
    seed = Seed(db)
    await seed.officer("DPO1", "controller")
    supervisor = await seed.officer("SUP1", "supervisor")
    officer = await seed.officer("EWO1", supervisor="SUP1")
    async with held_write(db) as conn:
        await compliance.record_since(conn, date(2026, 1, 1))
    return seed, supervisor, officer


async def compliance_reminders(db: Database) -> list[tuple[str, str]]:
    async with held_write(db) as conn:
        rows = await conn.fetchall(
            "SELECT audience, payload FROM outbox WHERE kind = 'compliance' ORDER BY id")
    return [(row["audience"], json.loads(row["payload"])["text"]) for row in rows]


async def test_compliance_reminders_thirty_days_before_and_on_the_day_once_a_day(
        db: Database, settings: Settings) -> None:
    settings = settings.model_copy(update={"compliance": "warn"})
    seed, supervisor, officer = await compliance_people(db)
    current = await seed.officer("DPO2", "controller")
    async with held_write(db) as conn:
        for person, trained in ((supervisor, date(2025, 12, 21)), (officer, date(2025, 11, 21))):
            await compliance.set_dates(conn, person, dbs=date(2025, 1, 1), training=trained,
                                       actor="os:admin", now=NOW)
        await compliance.set_dates(conn, current, dbs=date(2025, 1, 1), training=date(2026, 6, 1),
                                   actor="os:admin", now=NOW)
    # DPO1 has no dates: reminded daily until they count as lapsed.
    await run_retention_check(db, settings, at(2026, 11, 21))
    await run_retention_check(db, settings, at(2026, 11, 21, 15))  # the same day: nothing
    await run_retention_check(db, settings, at(2026, 11, 22))
    sent = await compliance_reminders(db)
    assert [audience for audience, _ in sent] == [
        "controllers", f"supervisor_of:{officer.id}", "controllers"]
    to_controllers = sent[0][1].splitlines()
    assert to_controllers[0] == "DBS checks and training due or lapsed (21/11/2026):"
    assert to_controllers[1:3] == [
        "DPO1: DBS check not recorded (counts as lapsed from 25/12/2026); training not"
        " recorded (counts as lapsed from 25/12/2026)",
        "SUP1: training 21/12/2025 (due 21/12/2026)"]
    assert sent[1][1].splitlines()[1] == "EWO1: training lapsed 21/11/2026"
    # The next day: the thirty-day and on-the-day reminders are not repeated.
    assert sent[2][1].splitlines()[1:] == [
        to_controllers[1],
        "Record new dates with `ewobot officers compliance`."]


async def test_compliance_reminders_missed_while_down_go_at_the_next_check(
        db: Database, settings: Settings) -> None:
    settings = settings.model_copy(update={"compliance": "warn"})
    _, supervisor, officer = await compliance_people(db)
    async with held_write(db) as conn:
        await compliance.set_dates(conn, supervisor, dbs=date(2025, 1, 1),
                                   training=date(2026, 6, 1), actor="os:admin", now=NOW)
        # Training lapses on Saturday 21/11/2026; its thirty-day reminder was 22/10/2026.
        await compliance.set_dates(conn, officer, dbs=date(2025, 1, 1),
                                   training=date(2025, 11, 21), actor="os:admin", now=NOW)
    await run_retention_check(db, settings, at(2026, 10, 20))
    # The bot is down from 21/10 to 23/10 and over the weekend of 21/11.
    await run_retention_check(db, settings, at(2026, 10, 24))
    await run_retention_check(db, settings, at(2026, 11, 20))
    await run_retention_check(db, settings, at(2026, 11, 23))
    sent = [(audience, text.splitlines()[1]) for audience, text in await compliance_reminders(db)
            if audience == f"supervisor_of:{officer.id}"]
    assert sent == [(f"supervisor_of:{officer.id}", "EWO1: training 21/11/2025 (due 21/11/2026)"),
                    (f"supervisor_of:{officer.id}", "EWO1: training lapsed 21/11/2026")]
    # A day told already is not told again.
    await run_retention_check(db, settings, at(2026, 11, 24))
    assert len([a for a, _ in await compliance_reminders(db)
                if a == f"supervisor_of:{officer.id}"]) == 2


async def test_compliance_reminders_of_an_officer_whose_supervisor_left_go_to_the_controllers(
        db: Database, settings: Settings) -> None:
    # Addressed to the revoked supervisor, the reminder was kept as undelivered for
    # nobody: no one was told before the officer was locked out.
    settings = settings.model_copy(update={"compliance": "warn"})
    seed = Seed(db)
    dpo = await seed.officer("DPO1", "controller")
    supervisor = await seed.officer("SUP1", "supervisor")
    officer = await seed.officer("EWO1", supervisor="SUP1")
    async with held_write(db) as conn:
        await compliance.record_since(conn, date(2026, 1, 1))
        await compliance.set_dates(conn, dpo, dbs=date(2025, 1, 1), training=date(2026, 6, 1),
                                   actor="os:admin", now=NOW)
        for person in (supervisor, officer):
            await compliance.set_dates(conn, person, dbs=date(2025, 1, 1),
                                       training=date(2025, 11, 21), actor="os:admin", now=NOW)
        await officer_store.revoke(conn, supervisor, now=NOW)
    await run_retention_check(db, settings, at(2026, 11, 21))
    sent = await compliance_reminders(db)
    assert sent == [("controllers", "\n".join([
        "DBS checks and training due or lapsed (21/11/2026):",
        "EWO1: training lapsed 21/11/2026",
        "Record new dates with `ewobot officers compliance`."]))]
