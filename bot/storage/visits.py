"""Visits recorded in the chat: saving a finished draft, follow-ups due, corrections.

Visits are never edited: a correction is a new row whose `supersedes` names the old
one, standing where the old one stood in the order visits were saved (`placed_at`),
so correcting an older visit never reopens the follow-up a later one closed. A visit
saved from a draft carries the draft's token, so a double-tapped Save (or two
processes racing) records one visit. Every read takes the requesting officer
and returns only that officer's own allocated pupils: visits are recorded for one's
own caseload only, even by a supervisor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain.conversation_kinds import ConversationKind
from bot.domain.text import initials, pupil_name
from bot.storage import rights
from bot.storage.db import Conn, placed_as_corrected, stamp
from bot.storage.officers import Officer

# A visit is current unless a later entry supersedes it.
_CURRENT = ("NOT EXISTS (SELECT 1 FROM visits c"
            " WHERE c.pupil_id = v.pupil_id AND c.supersedes = v.id)")

# Visits (as `v`) latest first in the order they were saved, a correction in the place
# of the visit it corrects (placed_at: its chain's first saved_at), so correcting an
# older visit never reopens the follow-up a later visit closed. /due, the card and
# /caseload all pick the pupil's latest current visit by it.
LATEST_FIRST = "COALESCE(v.placed_at, v.saved_at) DESC, v.saved_at DESC, v.id DESC"

@dataclass(frozen=True, slots=True)
class VisitPupil:
    """The little a visit conversation shows about its pupil."""

    id: int
    case_ref: str
    first_name: str
    last_name: str
    school_name: str

    @property
    def name(self) -> str:
        return pupil_name(self.first_name, self.last_name)

    @property
    def initials(self) -> str:
        return initials(self.first_name, self.last_name)


@dataclass(frozen=True, slots=True)
class NewVisit:
    """A finished draft, ready to save."""

    pupil_id: int
    visit_date: date
    type: str
    contact: str | None
    reason: str | None
    action: str | None
    follow_up: date | None
    notes: str | None
    supersedes: int | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    id: int
    pupil_id: int
    officer_id: int
    visit_date: date
    type: str
    contact: str | None
    reason: str | None
    action: str | None
    follow_up: date | None
    notes: str | None
    supersedes: int | None
    saved_at: datetime
    superseded: bool


@dataclass(frozen=True, slots=True)
class FollowUp:
    """An open follow-up: the one set by the pupil's latest visit."""

    pupil_id: int
    case_ref: str
    first_name: str
    last_name: str
    school_name: str
    follow_up: date
    visit_date: date
    restricted: bool = False  # listed by name and case reference only (CASEWORK.md §3)

    @property
    def name(self) -> str:
        return pupil_name(self.first_name, self.last_name)


def _records_visits(officer: Officer) -> bool:
    return officer.active and officer.role in ("officer", "supervisor")


async def visit_pupil(conn: Conn, officer: Officer, pupil_id: int) -> VisitPupil | None:
    """The pupil if allocated to this officer (who may record visits for them), else None.
    Raises rights.Restricted when the record is restricted: no visit is recorded."""
    if not _records_visits(officer):
        return None
    row = await conn.fetchone(
        "SELECT p.id, p.case_ref, p.first_name, p.last_name, s.name AS school_name,"
        f" {rights.RESTRICTED_SQL.format(pupil='p.id')} AS restricted"
        " FROM pupils p JOIN allocations a ON a.pupil_id = p.id"
        " JOIN schools s ON s.urn = p.school_urn"
        " WHERE p.id = ? AND a.officer_id = ?", (pupil_id, officer.id))
    if row is None:
        return None
    if row["restricted"]:
        raise rights.Restricted(pupil_id, "visit", officer.actor, "own")
    return VisitPupil(row["id"], row["case_ref"], row["first_name"], row["last_name"],
                      row["school_name"])


async def is_allocated_to(conn: Conn, officer_id: int, pupil_id: int) -> bool:
    """Whether the pupil is allocated to this officer right now."""
    found = await conn.fetchval(
        "SELECT 1 FROM allocations WHERE pupil_id = ? AND officer_id = ?",
        (pupil_id, officer_id))
    return found is not None


async def record_visit(conn: Conn, officer: Officer, visit: NewVisit, *, draft_token: str,
                       now: datetime) -> int | None:
    """Insert the visit; its id, or None when this draft was saved already.

    The caller checks the allocation in the same transaction and ends the draft.
    """
    saved_at = stamp(now)
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO visits (pupil_id, officer_id, visit_date, type, contact, reason, action,"
        " follow_up, notes, supersedes, source, saved_at, placed_at, draft_token)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'chat', ?, {placed_as_corrected('visits')}, ?)"
        " ON CONFLICT (draft_token) DO NOTHING RETURNING id",
        (visit.pupil_id, officer.id, visit.visit_date.isoformat(), visit.type, visit.contact,
         visit.reason, visit.action, _iso(visit.follow_up), visit.notes, visit.supersedes,
         saved_at, visit.supersedes, saved_at, draft_token))


async def saved_from_draft(conn: Conn, draft_token: str) -> bool:
    """Whether the draft with this token became a visit (a second Save is then a repeat)."""
    found = await conn.fetchval("SELECT 1 FROM visits WHERE draft_token = ?", (draft_token,))
    return found is not None


async def visit_for_correction(conn: Conn, officer: Officer, visit_id: int) -> Visit | None:
    """The visit if this officer wrote it and the pupil is still theirs; None otherwise
    (another officer's visit is answered exactly like one that does not exist)."""
    if not _records_visits(officer):
        return None
    row = await conn.fetchone(
        "SELECT v.id, v.pupil_id, v.officer_id, v.visit_date, v.type, v.contact, v.reason,"
        " v.action, v.follow_up, v.notes, v.supersedes, v.saved_at,"
        f" NOT {_CURRENT} AS superseded"
        " FROM visits v JOIN allocations a ON a.pupil_id = v.pupil_id"
        " WHERE v.id = ? AND v.officer_id = ? AND a.officer_id = ?",
        (visit_id, officer.id, officer.id))
    return None if row is None else _visit(row)


async def open_follow_ups(conn: Conn, officer: Officer, *, today: date) -> list[FollowUp]:
    """The officer's own pupils whose follow-up is dated `today` or earlier, oldest first.

    A follow-up is the one set by the pupil's latest current visit (by the order they
    were saved, a correction in its visit's place: LATEST_FIRST, as the card reads it),
    so the next visit saved closes it.
    """
    if not _records_visits(officer):
        return []
    rows = await conn.fetchall(
        "SELECT p.id, p.case_ref, p.first_name, p.last_name, s.name AS school_name,"
        " latest.follow_up, latest.visit_date,"
        f" {rights.RESTRICTED_SQL.format(pupil='p.id')} AS restricted"
        " FROM allocations a JOIN pupils p ON p.id = a.pupil_id"
        " JOIN schools s ON s.urn = p.school_urn"
        " JOIN visits latest ON latest.id = ("
        "   SELECT v.id FROM visits v WHERE v.pupil_id = a.pupil_id AND "
        f"  {_CURRENT} ORDER BY {LATEST_FIRST} LIMIT 1)"
        " WHERE a.officer_id = ? AND latest.follow_up IS NOT NULL AND latest.follow_up <= ?"
        " ORDER BY latest.follow_up, p.case_ref", (officer.id, today.isoformat()))
    return [FollowUp(row["id"], row["case_ref"], row["first_name"], row["last_name"],
                     row["school_name"], date.fromisoformat(row["follow_up"]),
                     date.fromisoformat(row["visit_date"]), bool(row["restricted"]))
            for row in rows]


async def discard_expired_drafts(conn: Conn, now: datetime) -> int:
    """Delete visit and pathway-step drafts whose time is up (they may hold notes);
    returns how many."""
    return await conn.execute(
        "DELETE FROM conversations WHERE kind IN (?, ?) AND expires_at <= ?",
        (ConversationKind.VISIT.value, ConversationKind.STEP.value, stamp(now)))


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _visit(row: Any) -> Visit:
    return Visit(row["id"], row["pupil_id"], row["officer_id"],
                 date.fromisoformat(row["visit_date"]), row["type"], row["contact"],
                 row["reason"], row["action"], _date(row["follow_up"]), row["notes"],
                 row["supersedes"], datetime.fromisoformat(row["saved_at"]),
                 bool(row["superseded"]))
