"""Rows written by hand for caseload tests: pupils, allocations, figures, visits, outbox.

Small teams are written row by row so the expected figures can be worked out by hand;
the volume test writes its 20,000 pupils with a few executemany statements.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.domain.text import search_key
from bot.storage.db import Conn, placed_as_corrected, stamp

LONDON = ZoneInfo("Europe/London")
SCHOOL_URN = "100001"
ACADEMIC_YEAR = 2027  # 2026/27, holding the e2e clock's 25 November 2026

_PUPIL_SQL = (
    "INSERT INTO pupils (id, upn, case_ref, first_name, last_name, search_first, search_last,"
    " date_of_birth, year_group, school_urn, first_imported, last_imported)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, '2015-03-01', '6', ?, '2026-09-01', '2026-09-01')")
_ALLOCATION_SQL = "INSERT INTO allocations (pupil_id, officer_id, allocated_at) VALUES (?, ?, ?)"
_STATS_SQL = ("INSERT INTO pupil_stats (pupil_id, academic_year, possible, attended)"
              " VALUES (?, ?, ?, ?)")


def moment(day: date) -> str:
    """A stored moment at 09:00 London time on `day`."""
    return stamp(datetime.combine(day, time(9), LONDON))


async def school(conn: Conn) -> None:
    await conn.execute("INSERT INTO schools (urn, name) VALUES (?, 'Hillside Primary')"
                       " ON CONFLICT DO NOTHING",
                       (SCHOOL_URN,))


async def officer(conn: Conn, ref: str, *, role: str = "officer",
                  supervisor_id: int | None = None, status: str = "active") -> int:
    return await conn.insert(
        "INSERT INTO officers (ref, name, role, supervisor_id, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, '2026-09-01T00:00:00+00:00')",
        (ref, f"Officer {ref}", role, supervisor_id, status))


async def pupil(conn: Conn, pupil_id: int, *, officer_id: int, allocated: date,
                attended: int | None = None, possible: int | None = None,
                first_name: str = "Pupil", last_name: str | None = None,
                year: int = ACADEMIC_YEAR) -> int:
    """One pupil allocated on `allocated`; figures this academic year when given."""
    await school(conn)
    last = last_name or f"Number{pupil_id}"
    await conn.execute(_PUPIL_SQL, (pupil_id, f"UPN{pupil_id:010d}", f"C{pupil_id:05d}",
                                    first_name, last, search_key(first_name), search_key(last),
                                    SCHOOL_URN))
    await conn.execute(_ALLOCATION_SQL, (pupil_id, officer_id, moment(allocated)))
    if possible is not None:
        await conn.execute(_STATS_SQL, (pupil_id, year, possible, attended or 0))
    return pupil_id


async def visit(conn: Conn, *, pupil_id: int, officer_id: int, on: date,
                follow_up: date | None = None, supersedes: int | None = None,
                saved: date | None = None) -> int:
    return await conn.insert(
        "INSERT INTO visits (pupil_id, officer_id, visit_date, type, contact, follow_up,"
        " supersedes, saved_at, placed_at)"
        f" VALUES (?, ?, ?, 'home_visit', 'child_seen', ?, ?, ?, {placed_as_corrected('visits')})",
        (pupil_id, officer_id, on.isoformat(),
         None if follow_up is None else follow_up.isoformat(), supersedes,
         moment(saved or on), supersedes, moment(saved or on)))


async def outbox_row(conn: Conn, *, audience: str, status: str = "undelivered",
                     recipient_id: int | None = None) -> int:
    return await conn.insert(
        "INSERT INTO outbox (kind, audience, payload, status, not_before, recipient_id,"
        " created_at) VALUES ('alert', ?, ?, ?, '2026-11-01T00:00:00+00:00', ?,"
        " '2026-11-01T00:00:00+00:00')",
        (audience, json.dumps({"text": "x"}), status, recipient_id))


async def volume(conn: Conn, supervisor_id: int, *, officers: int, pupils: int,
                 today: date) -> None:
    """`officers` officers under the supervisor sharing `pupils` pupils, with figures,
    visits (some superseded, some with follow-ups) and undelivered alerts."""
    await school(conn)
    await conn.executemany(
        "INSERT INTO officers (id, ref, name, role, supervisor_id, created_at)"
        " VALUES (?, ?, ?, 'officer', ?, '2026-09-01T00:00:00+00:00')",
        [(10_000 + n, f"V{n:04d}", f"Officer V{n:04d}", supervisor_id) for n in range(officers)])
    ids = range(1, pupils + 1)
    await conn.executemany(_PUPIL_SQL, [
        (n, f"UPN{n:010d}", f"C{n:05d}", "Pupil", f"Number{n}", "pupil", f"number{n}",
         SCHOOL_URN) for n in ids])
    await conn.executemany(_ALLOCATION_SQL, [
        (n, 10_000 + n % officers, moment(date(2026, 9, 1))) for n in ids])
    await conn.executemany(_STATS_SQL, [(n, ACADEMIC_YEAR, 100, 40 + n % 61) for n in ids])
    await conn.executemany(
        "INSERT INTO visits (id, pupil_id, officer_id, visit_date, type, follow_up, supersedes,"
        " saved_at) VALUES (?, ?, ?, ?, 'home_visit', ?, ?, ?)",
        [(n, n, 10_000 + n % officers, date(2026, 10, 1 + n % 30).isoformat(),
          date(2026, 11, 1 + n % 28).isoformat() if n % 3 == 0 else None,
          n - 2 if n % 10 == 0 else None, moment(today))
         for n in ids if n % 2 == 0])
    await conn.executemany(
        "INSERT INTO outbox (kind, audience, payload, status, not_before, created_at)"
        " VALUES ('alert', ?, '{}', 'undelivered', '2026-11-01T00:00:00+00:00',"
        " '2026-11-01T00:00:00+00:00')",
        [(f"officer:{10_000 + n}",) for n in range(0, officers, 7)])
