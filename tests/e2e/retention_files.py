"""A small service imported from CSV files, as the administrator would, for retention tests.

Pupil 1 (the canary, Zebediah Quuxworth-Vimbleton) and pupil 2 were last imported long ago and
are past due on the end-to-end clock's day; pupil 3 is recent. Pupil 1 is allocated
to EWO1 and has a contact who is also pupil 2's contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot.domain.upn import check_letter
from bot.importing.service import run_import
from bot.settings import Settings
from bot.storage.db import Database

# Two words to the last name: the search holds its later word on its own
# (pupil_name_tails), which must go at disposal as the whole name does.
CANARY_FIRST, CANARY_LAST = "Zebediah", "Quuxworth-Vimbleton"
LONG_AGO = date(2024, 3, 1)
RECENTLY = date(2026, 9, 1)


def upn(number: int) -> str:
    """A valid UPN (right check letter) made from a number."""
    body = f"{number:012d}"
    return check_letter("A" + body) + body


def write_csv(path: Path, header: str, rows: Sequence[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


async def import_file(db: Database, settings: Settings, kind: str, path: Path,
                      today: date) -> None:
    await run_import(db, kind, path, actor="os:test", today=today, settings=settings)


async def import_service(db: Database, settings: Settings, folder: Path) -> None:
    """Import the three pupils, their contacts and pupil 1's allocation (EWO1 must exist)."""
    header = "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name,address"
    old = write_csv(folder / "pupils-old.csv", header, [
        f"{upn(1)},{CANARY_FIRST},{CANARY_LAST},2014-03-01,7,100001,Hillside Primary,"
        "1 Quuxworth Lane",
        f"{upn(2)},Amelia,Hughes,2014-05-01,7,100002,Riverside Academy,2 Mill Lane",
    ])
    await import_file(db, settings, "pupils", old, LONG_AGO)
    recent = write_csv(folder / "pupils-new.csv", header, [
        f"{upn(3)},Noah,Patel,2015-05-01,6,100001,Hillside Primary,3 Mill Lane"])
    await import_file(db, settings, "pupils", recent, RECENTLY)
    contacts = write_csv(folder / "contacts.csv", "upn,name,relationship,phone", [
        f"{upn(1)},Yolanda {CANARY_LAST},Mother,07700 900123",
        f"{upn(1)},Grace Shared,Grandmother,07700 900456",
        f"{upn(2)},Grace Shared,Grandmother,07700 900456",
    ])
    await import_file(db, settings, "contacts", contacts, LONG_AGO)
    allocations = write_csv(folder / "allocations.csv", "upn,officer_ref", [f"{upn(1)},EWO1"])
    await import_file(db, settings, "allocations", allocations, LONG_AGO)
