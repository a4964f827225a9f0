"""The small service a drill runs on: settings in a folder, officers, pupils imported from
CSV files through the real import service, and people enrolled on the stand-in.

Every pupil has made-up, distinctive personal data (names, dates of birth, addresses),
so a drill can look for it in places it must never be: replies to the wrong person,
log lines, files after a disposal.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.upn import check_letter
from bot.harness import enrol_directly
from bot.importing.service import run_import
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Database
from bot.storage.imports import pupil_ids
from bot.storage.officers import Officer
from bot.synthetic import school_days

PIN = "2580"
ACTOR = "os:drill"
AUDIT_KEY = "drill-audit-key"
SCHOOL_URN, SCHOOL_NAME = "100001", "Hillside Primary"
PUPILS_HEADER = ("upn", "first_name", "last_name", "date_of_birth", "year_group",
                 "school_urn", "school_name", "address", "postcode")
_LETTERS = "bcdfghjkmnpqrstvwxz"


def drill_settings(folder: Path, **overrides: Any) -> Settings:
    """Settings for a drill's database in `folder`: no quiet time, no weekly digest."""
    values: dict[str, Any] = {
        "database": folder / "data" / "ewo.sqlite3",
        "export_dir": folder / "data" / "exports",
        "audit_key": AUDIT_KEY,
        "quiet_hours": "",
        "quiet_days": "",
        "caseload_digest": "",
        "compliance": "off",  # its reminders would reach the staged people mid-drill
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def upn(number: int) -> str:
    """A valid UPN (matching check letter) made from a number."""
    body = f"{number:012d}"
    return check_letter("A" + body) + body


def made_up_word(number: int, length: int = 6) -> str:
    """A pronounceable-looking word that occurs nowhere else (no digits, so it passes as a
    name), distinct for each number."""
    letters = []
    for _ in range(length):
        number, rest = divmod(number, len(_LETTERS))
        letters.append(_LETTERS[rest])
    return "".join(letters).capitalize()


@dataclass(frozen=True)
class Pupil:
    """A pupil as the import file gives it, and its id once imported."""

    number: int
    upn: str
    first_name: str
    last_name: str
    date_of_birth: date
    address: str
    officer_ref: str | None
    id: int = 0

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def personal_data(self) -> tuple[str, ...]:
        """What must never show to someone who may not see this pupil, nor in any log."""
        born = self.date_of_birth
        return (self.first_name, self.last_name, self.upn, self.address,
                born.isoformat(), born.strftime("%d/%m/%Y"))


def made_up_pupil(number: int, officer_ref: str | None, *, first_name: str | None = None,
                  last_name: str | None = None) -> Pupil:
    """A pupil with distinctive made-up data (born 2013 or 2014, so of school age)."""
    born = date(2013, 1, 1) + timedelta(days=(number * 37) % 700)
    return Pupil(number, upn(number), first_name or made_up_word(number * 7919 + 11),
                 last_name or made_up_word(number * 104729 + 5, 8),
                 born, f"{number} {made_up_word(number * 31 + 3)} Lane", officer_ref)


@dataclass
class Service:
    """A drill's database and what was put in it."""

    folder: Path
    settings: Settings
    db: Database
    today: date
    now: datetime
    officers: dict[str, Officer] = field(default_factory=dict)
    pupils: list[Pupil] = field(default_factory=list)

    @classmethod
    async def open(cls, folder: Path, now: datetime, **overrides: Any) -> Service:
        """A new database in `folder`, its settings changed by `overrides`; `now` stamps
        what the drill adds (officers, imports)."""
        folder.mkdir(parents=True, exist_ok=True)
        settings = drill_settings(folder, **overrides)
        db = await Database.open(settings)
        return cls(folder, settings, db, now.date(), now)

    async def close(self) -> None:
        await self.db.close()

    # --- people ----------------------------------------------------------------------

    async def add_officer(self, ref: str, role: str = "officer",
                          supervisor: str | None = None) -> Officer:
        """As `ewobot officers add` would."""
        officer = await self.db.write(officer_store.add_officer, ref=ref, name=f"Officer {ref}",
                                      role=role, supervisor_ref=supervisor, now=self.now)
        self.officers[ref] = officer
        return officer

    async def enrol(self, ref: str, user_id: int, now: datetime | None = None) -> None:
        """Bound to a Telegram account, PIN set, session unlocked at `now`."""
        await enrol_directly(self.db, self.settings, ref=ref, user_id=user_id, pin=PIN,
                             now=now or self.now)
        officer = await self.db.read(officer_store.officer_by_ref, ref)
        assert officer is not None
        self.officers[ref] = officer

    # --- pupils ----------------------------------------------------------------------

    def write_csv(self, name: str, header: Sequence[str],
                  rows: Iterable[Sequence[object]]) -> Path:
        path = self.folder / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    async def import_file(self, kind: str, path: Path, today: date | None = None) -> None:
        """As `ewobot import KIND FILE` would (all or nothing, audited)."""
        await run_import(self.db, kind, path, actor=ACTOR, today=today or self.today,
                         settings=self.settings, now=self.now)

    async def add_pupils(self, pupils: Sequence[Pupil], *, imported_on: date | None = None,
                         name: str = "pupils.csv") -> list[Pupil]:
        """Import the pupils and their allocations; returns them with their ids."""
        rows = [(p.upn, p.first_name, p.last_name, p.date_of_birth.isoformat(), "7",
                 SCHOOL_URN, SCHOOL_NAME, p.address, "ZZ1 1ZZ") for p in pupils]
        await self.import_file("pupils", self.write_csv(name, PUPILS_HEADER, rows), imported_on)
        allocated = [(p.upn, p.officer_ref) for p in pupils if p.officer_ref]
        if allocated:
            path = self.write_csv(f"allocations-{name}", ("upn", "officer_ref"), allocated)
            await self.import_file("allocations", path, imported_on)
        ids = await self.db.read(pupil_ids, (p.upn for p in pupils))
        added = [Pupil(p.number, p.upn, p.first_name, p.last_name, p.date_of_birth, p.address,
                       p.officer_ref, ids[p.upn]) for p in pupils]
        self.pupils.extend(added)
        return added

    def attendance_file(self, pupils: Sequence[Pupil], *, weeks: int,
                        absent_every: int | None, name: str = "attendance.csv",
                        until: date | None = None) -> tuple[Path, int]:
        """Marks for every school session of the `weeks` before `until` (today): one
        session in `absent_every` unauthorised absence (`O`), the rest present (all of
        them with None). Returns the file and how many marks it holds."""
        days = school_days((until or self.today) - timedelta(days=1), weeks)
        rows = []
        for pupil in pupils:
            for index, day in enumerate(days):
                for half, session in enumerate(("AM", "PM")):
                    absent = (absent_every is not None
                              and (2 * index + half + pupil.number) % absent_every == 0)
                    rows.append((pupil.upn, day.isoformat(), session, "O" if absent else "/"))
        return self.write_csv(name, ("upn", "date", "session", "code"), rows), len(rows)

    def visible_to(self, ref: str) -> list[Pupil]:
        """The pupils this person may see: their own, and (a supervisor) their team's."""
        officer = self.officers[ref]
        if officer.role == "controller":
            return []
        team = {o.ref for o in self.officers.values()
                if o.supervisor_id == officer.id or o.id == officer.id}
        return [p for p in self.pupils if p.officer_ref in team]
