"""The notices import file: Notices to Improve and penalty notices issued before the
service used the bot, so the 3-year count per parent per child is right from day one
(CASEWORK.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.importing.rows import EMPTY, FileKind, ParsedFile, RowCheck, parse_file
from bot.storage.imports import contact_name_key

COLUMNS = ("upn", "contact_name", "kind", "issued", "outcome", "outcome_date")
REQUIRED = frozenset({"upn", "contact_name", "kind", "issued"})
KINDS = ("nti", "pn")
OUTCOMES = ("paid", "withdrawn", "unpaid")


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """One valid row of a notices file; `outcome` only for a penalty notice."""

    line: int
    upn: str
    contact_name: str
    kind: str  # nti, pn
    issued: date
    outcome: str | None
    outcome_date: date | None


def _word(check: RowCheck, column: str, raw: str, allowed: tuple[str, ...], *,
          required: bool) -> str | None:
    """One of `allowed`, ignoring case and surrounding spaces, or None when blank."""
    word = raw.strip().lower()
    if not word:
        if required:
            check.fail(column, EMPTY)
        return None
    if word not in allowed:
        check.fail(column, f"must be one of {', '.join(allowed)}")
        return None
    return word


def _notice(check: RowCheck, values: tuple[str, ...]) -> NoticeRow:
    upn, contact_name, kind, issued, outcome, outcome_date = values
    row = NoticeRow(
        line=check.line,
        upn=check.upn("upn", upn),
        contact_name=check.line_text("contact_name", contact_name),
        kind=_word(check, "kind", kind, KINDS, required=True) or "",
        issued=check.past_date("issued", issued),
        outcome=_word(check, "outcome", outcome, OUTCOMES, required=False),
        outcome_date=check.optional_past_date("outcome_date", outcome_date),
    )
    _outcome_fits(check, row, outcome, outcome_date)
    return row


def _outcome_fits(check: RowCheck, row: NoticeRow, raw_outcome: str, raw_date: str) -> None:
    """An outcome belongs to a penalty notice, with its date, on or after the issue."""
    if row.kind == "nti" and raw_outcome:
        check.fail("outcome", "must be blank for a Notice to Improve")
    if raw_outcome and not raw_date:
        check.fail("outcome_date", "is empty but an outcome is given")
    if raw_date and not raw_outcome:
        check.fail("outcome", "is empty but an outcome_date is given")
    if row.outcome_date is not None and "issued" not in check.failed \
            and row.outcome_date < row.issued:
        check.fail("outcome_date", "is before the date issued")


NOTICES = FileKind(
    name="notices",
    columns=COLUMNS,
    required=REQUIRED,
    build=_notice,
    key_columns=frozenset({"upn", "contact_name", "kind", "issued"}),
    # Contacts are told apart ignoring case and spacing, as the contacts import does.
    key=lambda row: (row.upn, contact_name_key(row.contact_name), row.kind, row.issued),
    key_column="upn",
    key_text="the same upn, contact_name, kind and issued",
)


def parse_notices(
    path: Path, *, today: date, progress: TextIO | None = None, finish: bool = True
) -> ParsedFile[NoticeRow]:
    """Every row of a notices file, checked; ImportRejected listing the bad rows."""
    return parse_file(NOTICES, path, today=today, progress=progress, finish=finish)
