"""The allocations import file: which officer each pupil is allocated to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.importing.rows import FileKind, ParsedFile, RowCheck, parse_file

COLUMNS = ("upn", "officer_ref")
OFFICER_REF_MAX = 32  # as `ewobot officers add` allows


@dataclass(frozen=True, slots=True)
class AllocationRow:
    """One valid row; `officer_ref` None (blank in the file) ends the allocation."""

    line: int
    upn: str
    officer_ref: str | None


def _allocation(check: RowCheck, values: tuple[str, ...]) -> AllocationRow:
    upn, officer_ref = values
    row = AllocationRow(
        line=check.line,
        upn=check.upn("upn", upn),
        officer_ref=check.optional_line_text(
            "officer_ref", officer_ref, max_length=OFFICER_REF_MAX
        ),
    )
    return row


ALLOCATIONS = FileKind(
    name="allocations",
    columns=COLUMNS,
    required=frozenset(COLUMNS),
    build=_allocation,
    key_columns=frozenset({"upn"}),
    key=lambda row: row.upn,
    key_column="upn",
    key_text="the same upn",
)


def parse_allocations(
    path: Path, *, today: date, progress: TextIO | None = None, finish: bool = True
) -> ParsedFile[AllocationRow]:
    """Every row of an allocations file, checked; ImportRejected listing the bad rows."""
    return parse_file(ALLOCATIONS, path, today=today, progress=progress, finish=finish)
