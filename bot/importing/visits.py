"""The visits import file: past interventions brought over from another system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.domain.visits import (
    ABSENCE_REASONS,
    ACTIONS,
    CONTACT_OUTCOMES,
    NO_CONTACT_TYPES,
    VISIT_TYPES,
)
from bot.importing.allocations import OFFICER_REF_MAX
from bot.importing.rows import EMPTY, NOTES_MAX, FileKind, ParsedFile, RowCheck, parse_file

COLUMNS = (
    "upn",
    "officer_ref",
    "date",
    "type",
    "outcome",
    "reason",
    "action",
    "follow_up",
    "notes",
)
REQUIRED = frozenset({"upn", "officer_ref", "date", "type", "outcome"})
NOT_APPLICABLE = "na"


@dataclass(frozen=True, slots=True)
class VisitRow:
    """One valid row of a visits file, labels turned into the codes /visit stores.

    `outcome` is None for a letter, which has no contact step in /visit either.
    """

    line: int
    upn: str
    officer_ref: str
    date: date
    type: str
    outcome: str | None
    reason: str | None
    action: str | None
    follow_up: date | None
    notes: str | None


def _visit(check: RowCheck, values: tuple[str, ...]) -> VisitRow:
    upn, officer_ref, when, kind, outcome, reason, action, follow_up, notes = values
    pupil_upn = check.upn("upn", upn)
    officer = check.line_text("officer_ref", officer_ref, max_length=OFFICER_REF_MAX)
    visit_date = check.past_date("date", when)
    visit_type = _visit_type(check, kind)
    row = VisitRow(
        line=check.line,
        upn=pupil_upn,
        officer_ref=officer,
        date=visit_date,
        type=visit_type or "",
        outcome=_outcome(check, outcome, visit_type),
        reason=check.label("reason", reason, ABSENCE_REASONS, "a reason of /visit"),
        action=check.label("action", action, ACTIONS, "an action of /visit"),
        follow_up=_follow_up(check, follow_up, visit_date),
        notes=check.optional_text("notes", notes, max_length=NOTES_MAX),
    )
    return row


def _visit_type(check: RowCheck, raw: str) -> str | None:
    if not raw:
        check.fail("type", EMPTY)
        return None
    return check.label("type", raw, VISIT_TYPES, "a visit type")


def _outcome(check: RowCheck, raw: str, visit_type: str | None) -> str | None:
    outcome = check.label("outcome", raw, CONTACT_OUTCOMES, "a contact outcome")
    if visit_type in NO_CONTACT_TYPES:
        if outcome not in (None, NOT_APPLICABLE):
            check.fail("outcome", "must be blank or Not applicable for a letter")
        return None
    if not raw and visit_type is not None:  # unknown type: it may have been a letter
        check.fail("outcome", EMPTY)
    return outcome


def _follow_up(check: RowCheck, raw: str, visit_date: date) -> date | None:
    follow_up = check.optional_date("follow_up", raw)
    if follow_up is not None and follow_up < visit_date:
        check.fail("follow_up", "is before the date of the visit")
    return follow_up


VISITS = FileKind(
    name="visits",
    columns=COLUMNS,
    required=REQUIRED,
    build=_visit,
    key_columns=frozenset({"upn", "officer_ref", "date", "type", "outcome"}),
    # References are matched in any case, as the officers themselves are found.
    key=lambda row: (row.upn, row.officer_ref.upper(), row.date, row.type, row.outcome),
    key_column="upn",
    key_text="the same upn, officer_ref, date, type and outcome",
)


def parse_visits(
    path: Path, *, today: date, progress: TextIO | None = None, finish: bool = True
) -> ParsedFile[VisitRow]:
    """Every row of a visits file, checked; ImportRejected listing the bad rows."""
    return parse_file(VISITS, path, today=today, progress=progress, finish=finish)
