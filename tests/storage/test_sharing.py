"""The sharing log's storage: one entry per draft, the chronology's scope, corrections,
and the same queries on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.domain import sharing as words
from bot.storage import officers as officer_store
from bot.storage import pathway, sharing
from bot.storage.db import Conn, Database, stamp
from bot.storage.officers import Officer
from bot.storage.sharing import NewSharing
from tests.storage.retention_seed import Seed

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def entry(pupil_id: int, day: date, recipient: str = "police", *,
          decision: str = "shared", supersedes: int | None = None) -> NewSharing:
    shared = decision == "shared"
    return NewSharing(pupil_id=pupil_id, recipient=recipient, recipient_other=None,
                      decision=decision, items=("attendance",),
                      lawful_basis="public_task" if shared else None, special_condition=None,
                      reason="safeguarding", shared_on=day, note=None, supersedes=supersedes)


async def record(db: Database, officer: Officer, new: NewSharing, token: str) -> int | None:
    return await db.write(sharing.record, officer, new, draft_token=token, now=NOW)


async def test_one_entry_per_draft_and_the_case_chronology_newest_first(db: Database) -> None:
    seed = Seed(db)
    supervisor = await seed.officer("SUP1", "supervisor")
    ann = await seed.officer("EWO1", supervisor="SUP1")
    bob = await seed.officer("EWO2")
    pupil = await seed.pupil(imported=date(2026, 9, 1), officer=ann)
    first = await record(db, ann, entry(pupil, date(2026, 11, 2)), "tok1")
    assert first is not None
    assert await record(db, ann, entry(pupil, date(2026, 11, 2)), "tok1") is None  # again
    assert await db.read(sharing.saved_from_draft, "tok1")
    refused = await record(db, ann, entry(pupil, date(2026, 11, 3), "school",
                                          decision="not_shared"), "tok2")
    # A correction supersedes the first: only the newer shows.
    fixed = await record(db, ann, entry(pupil, date(2026, 11, 1), "camhs", supersedes=first),
                         "tok3")
    lines, total = await db.write(pathway.chronology, ann, pupil, now=NOW)
    assert total == 2
    assert [(line.source, line.id, line.on, words.describe(line.what), line.officer_ref)
            for line in lines] == [
        ("sharing", refused, date(2026, 11, 3), "Not shared with School", "EWO1"),
        ("sharing", fixed, date(2026, 11, 1), "Shared with CAMHS", "EWO1")]
    # The supervisor reads their team's (audited as supervision); another officer nothing.
    assert (await db.write(pathway.chronology, supervisor, pupil, now=NOW))[1] == 2
    assert await db.write(pathway.chronology, bob, pupil, now=NOW) == ([], 0)
    audited = await db.read(lambda conn: conn.fetchall(
        "SELECT actor, reason FROM audit WHERE action = 'case_chronology' ORDER BY seq"))
    assert [tuple(row) for row in audited] == [("officer:EWO1", "case_view"),
                                               ("officer:SUP1", "supervision")]
    assert await db.read(sharing.recipients_of, pupil) == ["CAMHS (last 01/11/2026)"]
    assert await db.read(sharing.recipient_counts, date(2025, 11, 26)) == {"CAMHS": 1}


async def _pg_service(conn: Conn) -> tuple[Officer, int]:
    officer = await officer_store.add_officer(conn, ref="EWO1", name="Officer EWO1",
                                              role="officer", supervisor_ref=None, now=NOW)
    await conn.execute("INSERT INTO schools (urn, name) VALUES ('100001', 'Hillside')")
    pupil = await conn.insert(
        "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first, search_last,"
        " date_of_birth, year_group, school_urn, first_imported, last_imported)"
        " VALUES ('T000000000001', 'C00001', 'Amelia', 'Hughes', 'amelia', 'hughes',"
        " '2014-03-01', '7', '100001', '2026-09-01', '2026-09-01')")
    await conn.execute("INSERT INTO allocations (pupil_id, officer_id, allocated_at)"
                       " VALUES (?, ?, ?)", (pupil, officer.id, stamp(NOW)))
    return officer, pupil


async def test_the_same_on_postgresql(pg_db: Any) -> None:
    officer, pupil = await pg_db.write(_pg_service)
    first = await record(pg_db, officer, entry(pupil, date(2026, 11, 2)), "tok1")
    assert first is not None
    assert await record(pg_db, officer, entry(pupil, date(2026, 11, 2)), "tok1") is None
    await record(pg_db, officer, entry(pupil, date(2026, 11, 4), "school"), "tok2")
    await record(pg_db, officer, entry(pupil, date(2026, 11, 5), "housing",
                                       decision="not_shared"), "tok3")
    lines, _total = await pg_db.write(pathway.chronology, officer, pupil, now=NOW)
    assert [line.what for line in lines] == ["not_shared:housing", "shared:school",
                                             "shared:police"]
    assert await pg_db.read(sharing.recipients_of, pupil) == [
        "Police (last 02/11/2026)", "School (last 04/11/2026)"]
    assert await pg_db.read(sharing.recipient_counts, date(2025, 11, 26)) == {
        "Police": 1, "School": 1}
    exported = await pg_db.read(sharing.for_export, pupil)
    assert [(row["recipient"], row["decision"], row["lawful_basis"]) for row in exported] == [
        ("Police", "Shared", "Public task"), ("School", "Shared", "Public task"),
        ("Housing", "Not shared", None)]
