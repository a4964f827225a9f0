"""Records written straight into the tables, for retention, disposal and subject-access tests.

`full_record` fills every table that holds rows about a pupil, so a test can check
that disposal removes, and an export shows, each of them.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from bot.domain.text import search_key
from bot.storage import officers as officer_store
from bot.storage import sessions
from bot.storage.db import Conn, Database, stamp
from bot.storage.imports import save_name_tails
from bot.storage.officers import Officer

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SCHOOLS = {"100001": "Hillside Primary", "100002": "Riverside Academy"}


class Seed:
    """A small service written row by row."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.serial = 0

    async def officer(self, ref: str, role: str = "officer",
                      supervisor: str | None = None) -> Officer:
        return await self.db.write(officer_store.add_officer, ref=ref, name=f"Officer {ref}",
                                   role=role, supervisor_ref=supervisor, now=NOW)

    async def pupil(self, *, imported: date, first: str = "Pupil", last: str | None = None,
                    urn: str = "100001", upn: str | None = None,
                    officer: Officer | None = None) -> int:
        """A pupil last imported on `imported` (and allocated to `officer`, if given)."""
        self.serial += 1
        last = last or f"Number{self.serial}"
        async def _transaction(conn: Conn):
            await conn.execute("INSERT INTO schools (urn, name) VALUES (?, ?)"
                               " ON CONFLICT DO NOTHING",
                               (urn, SCHOOLS[urn]))
            pupil_id = await conn.insert(
                "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
                " search_last, date_of_birth, year_group, school_urn, address, postcode,"
                " first_imported, last_imported)"
                " VALUES (?, ?, ?, ?, ?, ?, '2014-03-01', '7', ?, '1 Mill Lane', 'BS1 4AA',"
                " ?, ?)",
                (upn or f"T{self.serial:012d}", f"C{self.serial:05d}", first, last,
                 search_key(first), search_key(last), urn, imported.isoformat(),
                 imported.isoformat()))
            await save_name_tails(conn, [(pupil_id, last)], fresh=True)
            await conn.execute(
                "INSERT INTO school_history (pupil_id, school_urn, started) VALUES (?, ?, ?)",
                (pupil_id, urn, imported.isoformat()))
            if officer is not None:
                await conn.execute(
                    "INSERT INTO allocations (pupil_id, officer_id, allocated_at)"
                    " VALUES (?, ?, ?)", (pupil_id, officer.id, stamp(NOW)))
                await conn.execute(
                    "INSERT INTO allocation_history (pupil_id, officer_id, started)"
                    " VALUES (?, ?, ?)", (pupil_id, officer.id, NOW.date().isoformat()))
            return pupil_id
        pupil_id = await self.db.write(_transaction)
        return pupil_id

    async def visit(self, pupil_id: int, officer: Officer, day: date, *,
                    notes: str | None = None, supersedes: int | None = None) -> int:
        async def _transaction(conn: Conn):
            return await conn.insert(
                "INSERT INTO visits (pupil_id, officer_id, visit_date, type, contact, notes,"
                " supersedes, saved_at) VALUES (?, ?, ?, 'home', 'parent', ?, ?, ?)",
                (pupil_id, officer.id, day.isoformat(), notes, supersedes, stamp(NOW)))
        return await self.db.write(_transaction)

    async def hold(self, pupil_id: int, by: Officer, review: date) -> None:
        async def _transaction(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO holds (pupil_id, reason, review_date, officer_id, created_at)"
                " VALUES (?, 'legal', ?, ?, ?)", (pupil_id, review.isoformat(), by.id, stamp(NOW)))
        await self.db.write(_transaction)

    async def full_record(self, pupil_id: int, officer: Officer, name: str) -> None:
        """A row about the pupil in every table that holds one; `name` appears in each
        free-text place (contact, notes, draft) so its absence can be checked."""
        async def _transaction(conn: Conn) -> None:
            await _contacts(conn, pupil_id, name)
            await conn.executemany(
                "INSERT INTO marks (pupil_id, date, session, code) VALUES (?, ?, ?, ?)",
                [(pupil_id, "2024-05-13", "AM", "/"), (pupil_id, "2024-05-13", "PM", "O"),
                 (pupil_id, "2024-05-14", "AM", "L"), (pupil_id, "2024-05-14", "PM", "I")])
            await conn.execute(
                "INSERT INTO pupil_stats (pupil_id, academic_year, possible, attended,"
                " authorised, unauthorised, lates_l, lates_u, latest_mark)"
                " VALUES (?, 2024, 4, 2, 1, 1, 1, 0, '2024-05-14')", (pupil_id,))
            await conn.execute(
                "INSERT INTO rule_states (pupil_id, academic_year, rule, holding, changed_at)"
                " VALUES (?, 2024, 'persistent', 1, ?)", (pupil_id, stamp(NOW)))
            await conn.execute(
                "INSERT INTO alerts (pupil_id, rule, academic_year, attended, possible,"
                " created_at) VALUES (?, 'persistent', 2024, 2, 4, ?)", (pupil_id, stamp(NOW)))
            outbox_id = await conn.insert(
                "INSERT INTO outbox (kind, audience, payload, not_before, created_at)"
                " VALUES ('alert', ?, ?, ?, ?)",
                (f"officer:{officer.id}", json.dumps({"text": f"C{pupil_id:05d} alert"}),
                 stamp(NOW), stamp(NOW)))
            await conn.execute("INSERT INTO outbox_pupils (outbox_id, pupil_id) VALUES (?, ?)",
                               (outbox_id, pupil_id))
            await conn.execute(
                "INSERT INTO conversations (officer_id, kind, step, token, pupil_id, data,"
                " started_at, updated_at, expires_at) VALUES (?, 'visit', 'notes', 'abcd1234',"
                " ?, ?, ?, ?, '2999-01-01T00:00:00+00:00')",
                (officer.id, pupil_id, json.dumps({"notes": f"draft about {name}"}),
                 stamp(NOW), stamp(NOW)))
            await conn.execute(
                "INSERT INTO retention_reminders (pupil_id, stage, reminded_at)"
                " VALUES (?, 'past', ?)", (pupil_id, stamp(NOW)))
            await conn.execute(
                "INSERT INTO pathway_reminders (reminder_key, pupil_id, queued_at)"
                " VALUES (?, ?, ?)", (f"review:{pupil_id}:0:2026-11-25", pupil_id, stamp(NOW)))
            # A search kept while the officer's session is locked, naming the pupil.
            await sessions.keep_pending(conn, officer.id, json.dumps(
                {"kind": "search", "via": "search", "pupils": [pupil_id]}),
                until=NOW + timedelta(hours=12), pupil_ids=[pupil_id])
            # A rectification upheld, with its statement (it neither restricts the record
            # nor makes it past due).
            await conn.execute(
                "INSERT INTO rights_requests (pupil_id, kind, received, due, status, decided,"
                " decision_reason, statement, recorded_by) VALUES (?, 'rectification',"
                " '2024-05-01', '2024-06-01', 'upheld', '2024-05-20', 'data_inaccurate', ?,"
                " 'os:admin')", (pupil_id, f"{name} says the address was out of date"))
            # Subject-access requests (keyed by reference, not pupil_id), one export named
            # after the child with --out, one in the export folder under its usual name.
            await conn.executemany(
                "INSERT INTO subject_access_requests (pupil_ref, received, due, export_file,"
                " requested_by) VALUES (?, '2024-05-02', '2024-06-02', ?, 'os:admin')",
                [(f"pupil:{pupil_id}", f"{name} sar.json"),
                 (f"pupil:{pupil_id}", f"sar-C{pupil_id:05d}-20240502-100000.json")])
            # A hold whose review date has passed: it no longer stops disposal.
            await conn.execute(
                "INSERT INTO holds (pupil_id, reason, review_date, officer_id, created_at)"
                " VALUES (?, 'other', '2025-01-31', ?, ?)", (pupil_id, officer.id, stamp(NOW)))
        await self.db.write(_transaction)
        await self.visit(pupil_id, officer, date(2024, 5, 20), notes=f"Spoke to {name}'s mother")
        await self.db.write(_pathway, pupil_id, officer, name)
        await self.db.write(_sharing, pupil_id, officer, name)


async def _sharing(conn: Conn, pupil_id: int, officer: Officer, name: str) -> None:
    """A sharing decision with `name` in its typed recipient and its note (dated before
    the visit: the deadline is unchanged)."""
    await conn.execute(
        "INSERT INTO sharing_log (pupil_id, officer_id, recipient, recipient_other, decision,"
        " items, lawful_basis, special_condition, reason, shared_on, note, saved_at)"
        " VALUES (?, ?, 'other', ?, 'shared', 'attendance,sen_health', 'public_task',"
        " 'safeguarding', 'referral', '2024-05-15', ?, ?)",
        (pupil_id, officer.id, f"{name}'s GP", f"Shared with consent of {name}", stamp(NOW)))


async def _pathway(conn: Conn, pupil_id: int, officer: Officer, name: str) -> None:
    """A penalty-notice referral to the first contact, withdrawn, with `name` in its notes
    and in the withdrawal's reason (dated before the visit: the deadline is unchanged)."""
    parent = await conn.fetchval("SELECT min(id) FROM contacts WHERE pupil_id = ?", (pupil_id,))
    step = await conn.insert(
        "INSERT INTO pathway_steps (pupil_id, officer_id, kind, step_date, reason, notes,"
        " saved_at) VALUES (?, ?, 'pn_referral', '2024-05-15', 'holiday', ?, ?)",
        (pupil_id, officer.id, f"Holiday agreed with {name}", stamp(NOW)))
    await conn.execute("INSERT INTO pathway_parents (step_id, contact_id) VALUES (?, ?)",
                       (step, parent))
    await conn.executemany(
        "INSERT INTO pathway_outcomes (step_id, pupil_id, officer_id, contact_id, outcome,"
        " outcome_date, detail, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(step, pupil_id, officer.id, parent, "issued", "2024-05-16", None, stamp(NOW)),
         (step, pupil_id, officer.id, parent, "withdrawn", "2024-05-17",
          f"{name} was in hospital", stamp(NOW))])


async def _contacts(conn: Conn, pupil_id: int, name: str) -> None:
    await conn.executemany(
        "INSERT INTO contacts (pupil_id, name, relationship, phone, email, address,"
        " parental_responsibility, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(pupil_id, f"{name} Senior", "Mother", "07700 900123", "mum@example.org",
          "1 Mill Lane", 1, 1),
         (pupil_id, "Shared Grandparent", "Grandmother", None, None, None, 0, 2)])


async def contact(db: Database, pupil_id: int, name: str) -> None:
    """One more contact row for a pupil (the same person may be held for several)."""
    async def _transaction(conn: Conn) -> None:
        await conn.execute(
            "INSERT INTO contacts (pupil_id, name, relationship) VALUES (?, ?, 'Grandmother')",
            (pupil_id, name))
    await db.write(_transaction)
