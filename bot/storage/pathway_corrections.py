"""A saved pathway step or outcome read back for its correction by /step's Correct.

Only the entry's author may correct it, while the pupil is still allocated to them (the
scope /step records in); another's entry is answered like one that does not exist. The
7-day window, an entry already corrected and a step that has outcomes are told apart
here for the chat's answer; bot/storage/pathway.record_step and record_outcome check
them all again when the correction is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.domain import step_flow as flow
from bot.domain.corrections import CORRECTION_WINDOW
from bot.domain.step_flow import Target
from bot.storage.db import Conn, stamp
from bot.storage.officers import Officer

_CURRENT_ISSUE = ("NOT EXISTS (SELECT 1 FROM pathway_outcomes x"
                  " WHERE x.pupil_id = i.pupil_id AND x.supersedes = i.id)")


@dataclass(frozen=True, slots=True)
class OldEntry:
    """The entry a correction would supersede and the answers it holds (`kind` is a step's
    kind or an outcome's code; `target`, an outcome's step as the flow offers it)."""

    source: str  # flow.STEP_SOURCE or flow.OUTCOME_SOURCE
    id: int
    pupil_id: int
    saved_at: datetime
    superseded: bool
    has_outcomes: bool
    kind: str
    on: date
    parents: tuple[int, ...] = ()
    review_date: date | None = None
    period_weeks: int | None = None
    section: str | None = None
    reason: str | None = None
    detail: str | None = None
    target: Target | None = None


def _records(officer: Officer) -> bool:
    return officer.active and officer.role in ("officer", "supervisor")


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


async def old_entry(conn: Conn, officer: Officer, source: str, entry_id: int) -> OldEntry | None:
    """The officer's own step or outcome `entry_id` for a pupil still theirs, or None."""
    if not _records(officer):
        return None
    if source == flow.STEP_SOURCE:
        return await _old_step(conn, officer, entry_id)
    if source == flow.OUTCOME_SOURCE:
        return await _old_outcome(conn, officer, entry_id)
    return None


async def _old_step(conn: Conn, officer: Officer, entry_id: int) -> OldEntry | None:
    row = await conn.fetchone(
        "SELECT s.id, s.pupil_id, s.kind, s.step_date, s.review_date, s.period_weeks,"
        " s.section, s.reason, s.saved_at,"
        " EXISTS (SELECT 1 FROM pathway_steps n WHERE n.supersedes = s.id) AS superseded,"
        " EXISTS (SELECT 1 FROM pathway_outcomes o WHERE o.step_id = s.id) AS has_outcomes"
        " FROM pathway_steps s JOIN allocations a ON a.pupil_id = s.pupil_id"
        " WHERE s.id = ? AND s.officer_id = ? AND a.officer_id = ?",
        (entry_id, officer.id, officer.id))
    if row is None:
        return None
    parents = await conn.fetchall(
        "SELECT contact_id FROM pathway_parents WHERE step_id = ? ORDER BY contact_id",
        (entry_id,))
    return OldEntry(flow.STEP_SOURCE, row["id"], row["pupil_id"],
                    datetime.fromisoformat(row["saved_at"]), bool(row["superseded"]),
                    bool(row["has_outcomes"]), row["kind"], date.fromisoformat(row["step_date"]),
                    parents=tuple(p["contact_id"] for p in parents),
                    review_date=_day(row["review_date"]), period_weeks=row["period_weeks"],
                    section=row["section"], reason=row["reason"])


async def _old_outcome(conn: Conn, officer: Officer, entry_id: int) -> OldEntry | None:
    row = await conn.fetchone(
        "SELECT o.id, o.pupil_id, o.step_id, o.contact_id, o.outcome, o.outcome_date,"
        " o.detail, o.saved_at, s.kind AS step_kind, s.step_date, c.name AS contact_name,"
        " EXISTS (SELECT 1 FROM pathway_outcomes n WHERE n.supersedes = o.id) AS superseded,"
        " (SELECT min(i.outcome_date) FROM pathway_outcomes i WHERE i.step_id = o.step_id"
        "   AND i.contact_id = o.contact_id AND i.outcome = 'issued'"
        f"   AND {_CURRENT_ISSUE}) AS issued"
        " FROM pathway_outcomes o JOIN pathway_steps s ON s.id = o.step_id"
        " JOIN allocations a ON a.pupil_id = o.pupil_id"
        " LEFT JOIN contacts c ON c.id = o.contact_id"
        " WHERE o.id = ? AND o.officer_id = ? AND a.officer_id = ?",
        (entry_id, officer.id, officer.id))
    if row is None or row["step_kind"] not in flow.OUTCOME_OF:
        return None
    key = str(row["step_id"]) if row["contact_id"] is None else (
        f"{row['step_id']}.{row['contact_id']}")
    issued = None if row["outcome"] == "issued" else _day(row["issued"])
    target = Target(key, flow.OUTCOME_OF[row["step_kind"]], row["step_id"],
                    date.fromisoformat(row["step_date"]), row["contact_id"],
                    row["contact_name"], issued, (row["outcome"],))
    return OldEntry(flow.OUTCOME_SOURCE, row["id"], row["pupil_id"],
                    datetime.fromisoformat(row["saved_at"]), bool(row["superseded"]), False,
                    row["outcome"], date.fromisoformat(row["outcome_date"]),
                    detail=row["detail"], target=target)


async def correctable_entries(conn: Conn, officer: Officer, pupil_id: int, *,
                              now: datetime) -> frozenset[tuple[str, int]]:
    """The (source, id) of the pupil's steps and outcomes this officer may correct now:
    their own, the pupil still theirs, saved within 7 days, current, and (a step) with no
    outcome yet; what /case offers Correct under. Ids only: nothing here to audit."""
    if not _records(officer):
        return frozenset()
    params = {"pupil": pupil_id, "me": officer.id,
              "since": stamp(now - CORRECTION_WINDOW)}
    steps = await conn.fetchall(
        "SELECT s.id FROM pathway_steps s JOIN allocations a ON a.pupil_id = s.pupil_id"
        " WHERE s.pupil_id = :pupil AND s.officer_id = :me AND a.officer_id = :me"
        " AND s.saved_at > :since"
        " AND NOT EXISTS (SELECT 1 FROM pathway_steps n WHERE n.supersedes = s.id)"
        " AND NOT EXISTS (SELECT 1 FROM pathway_outcomes o WHERE o.step_id = s.id)", params)
    outcomes = await conn.fetchall(
        "SELECT o.id FROM pathway_outcomes o JOIN allocations a ON a.pupil_id = o.pupil_id"
        " WHERE o.pupil_id = :pupil AND o.officer_id = :me AND a.officer_id = :me"
        " AND o.saved_at > :since"
        " AND NOT EXISTS (SELECT 1 FROM pathway_outcomes n WHERE n.supersedes = o.id)",
        params)
    return frozenset([*((flow.STEP_SOURCE, row["id"]) for row in steps),
                      *((flow.OUTCOME_SOURCE, row["id"]) for row in outcomes)])
