"""The pupils import file: who the service holds, keyed by UPN, updated in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.importing.rows import TEXT_MAX, FileKind, ParsedFile, RowCheck, parse_file

COLUMNS = (
    "upn",
    "first_name",
    "last_name",
    "date_of_birth",
    "year_group",
    "school_urn",
    "school_name",
    "address",
    "postcode",
    "sen",
    "health_needs",
)
OPTIONAL = frozenset({"address", "postcode", "sen", "health_needs"})

YEAR_GROUPS = ("N1", "N2", "R", *(str(year) for year in range(1, 15)))
SEN_STATUSES = {"N": "none", "K": "SEN support", "E": "EHC plan"}


@dataclass(frozen=True, slots=True)
class PupilRow:
    """One valid row of a pupils file; optional values are None when blank."""

    line: int
    upn: str
    first_name: str
    last_name: str
    date_of_birth: date
    year_group: str
    school_urn: str
    school_name: str
    address: str | None
    postcode: str | None
    sen: str | None
    health_needs: str | None


def _pupil(check: RowCheck, values: tuple[str, ...]) -> PupilRow:
    upn, first, last, born, year, urn, school, address, postcode, sen, health = values
    row = PupilRow(
        line=check.line,
        upn=check.upn("upn", upn),
        first_name=check.line_text("first_name", first),
        last_name=check.line_text("last_name", last),
        date_of_birth=check.past_date("date_of_birth", born),
        year_group=check.choice(
            "year_group", year, YEAR_GROUPS, "must be N1, N2, R or 1 to 14", required=True
        )
        or "",
        school_urn=_school_urn(check, urn),
        school_name=check.line_text("school_name", school),
        address=check.optional_text("address", address, max_length=TEXT_MAX),
        postcode=_postcode(check, postcode),
        sen=check.choice(
            "sen", sen, SEN_STATUSES, "must be N (none), K (SEN support) or E (EHC plan)"
        ),
        health_needs=check.optional_text("health_needs", health, max_length=TEXT_MAX),
    )
    return row


def _school_urn(check: RowCheck, raw: str) -> str:
    urn = check.line_text("school_urn", raw, max_length=8)
    if urn and not (urn.isascii() and urn.isdigit()):
        check.fail("school_urn", "must be the school's URN, digits only")
    return urn


def _postcode(check: RowCheck, raw: str) -> str | None:
    postcode = check.optional_line_text("postcode", " ".join(raw.upper().split()), max_length=10)
    if postcode and not postcode.replace(" ", "").isalnum():
        check.fail("postcode", "must be letters, digits and a space")
    return postcode


PUPILS = FileKind(
    name="pupils",
    columns=COLUMNS,
    required=frozenset(COLUMNS) - OPTIONAL,
    build=_pupil,
    key_columns=frozenset({"upn"}),
    key=lambda row: row.upn,
    key_column="upn",
    key_text="the same upn",
)


def parse_pupils(
    path: Path, *, today: date, progress: TextIO | None = None, finish: bool = True
) -> ParsedFile[PupilRow]:
    """Every row of a pupils file, checked; ImportRejected listing the bad rows."""
    return parse_file(PUPILS, path, today=today, progress=progress, finish=finish)
