"""The contacts import file: a pupil's parents, carers and other contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.importing.rows import TEXT_MAX, FileKind, ParsedFile, RowCheck, parse_file
from bot.storage.imports import contact_name_key

COLUMNS = (
    "upn",
    "name",
    "relationship",
    "phone",
    "email",
    "address",
    "date_of_birth",
    "parental_responsibility",
    "priority",
)
REQUIRED = frozenset({"upn", "name", "relationship"})

PHONE_MAX = 40
EMAIL_MAX = 254
PRIORITY_MAX = 99
_PHONE_CHARACTERS = frozenset("0123456789 +()-")
_PHONE_MIN_DIGITS = 6


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One valid row of a contacts file; optional values are None when blank."""

    line: int
    upn: str
    name: str
    relationship: str
    phone: str | None
    email: str | None
    address: str | None
    date_of_birth: date | None
    parental_responsibility: bool | None
    priority: int | None  # 1 = first


def _contact(check: RowCheck, values: tuple[str, ...]) -> ContactRow:
    upn, name, relationship, phone, email, address, born, responsibility, priority = values
    row = ContactRow(
        line=check.line,
        upn=check.upn("upn", upn),
        name=check.line_text("name", name),
        relationship=check.line_text("relationship", relationship),
        phone=_phone(check, phone),
        email=_email(check, email),
        address=check.optional_text("address", address, max_length=TEXT_MAX),
        date_of_birth=check.optional_past_date("date_of_birth", born),
        parental_responsibility=_yes_no(check, responsibility),
        priority=check.whole_number("priority", priority, 1, PRIORITY_MAX),
    )
    return row


def _phone(check: RowCheck, raw: str) -> str | None:
    phone = check.optional_line_text("phone", raw, max_length=PHONE_MAX)
    if phone and not (
        _PHONE_CHARACTERS.issuperset(phone)
        and sum(ch.isdigit() for ch in phone) >= _PHONE_MIN_DIGITS
    ):
        check.fail("phone", "is not a phone number (digits, spaces, + ( ) - only)")
    return phone


def _email(check: RowCheck, raw: str) -> str | None:
    email = check.optional_line_text("email", raw, max_length=EMAIL_MAX)
    if email:
        local, _, domain = email.rpartition("@")
        if not local or "." not in domain.strip(".") or " " in email:
            check.fail("email", "is not an email address")
    return email


def _yes_no(check: RowCheck, raw: str) -> bool | None:
    answer = check.choice("parental_responsibility", raw, ("Y", "N"), "must be Y or N")
    return None if answer is None else answer == "Y"


CONTACTS = FileKind(
    name="contacts",
    columns=COLUMNS,
    required=REQUIRED,
    build=_contact,
    key_columns=frozenset({"upn", "name"}),
    key=lambda row: (row.upn, contact_name_key(row.name)),
    key_column="name",
    key_text="the same upn and name",
)


def parse_contacts(
    path: Path, *, today: date, progress: TextIO | None = None, finish: bool = True
) -> ParsedFile[ContactRow]:
    """Every row of a contacts file, checked; ImportRejected listing the bad rows."""
    return parse_file(CONTACTS, path, today=today, progress=progress, finish=finish)
