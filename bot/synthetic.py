"""A deterministic synthetic service written as import CSV files, for tests, the demo and
the benchmarks.

The same seed always gives the same files. Everything is invented: names come from a
small built-in list, UPNs are valid but made up, phone numbers are in Ofcom's drama
range and e-mail addresses at example.org.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO

from bot.domain.upn import ALPHABET, check_letter
from bot.domain.visits import (
    ABSENCE_REASONS,
    ACTIONS,
    CONTACT_OUTCOMES,
    NO_CONTACT_TYPES,
    VISIT_TYPES,
)
from bot.importing import allocations as allocations_file
from bot.importing import attendance as attendance_file
from bot.importing import contacts as contacts_file
from bot.importing import pupils as pupils_file
from bot.importing import visits as visits_file

# The order in which the files must be imported: pupils before anything about them,
# allocations before attendance so that alerts find their officers.
IMPORT_ORDER = ("pupils", "contacts", "allocations", "attendance", "visits")

FIRST_NAMES = (
    "Oliver", "Amelia", "Noah", "Isla", "Jack", "Ava", "Harry", "Mia", "Leo", "Freya",
    "Mohammed", "Aisha", "Zoë", "Siân", "José", "Chloé", "Seán", "Renée", "Łukasz",
    "Ffion", "Rhys", "Aoife", "Kacper", "Priya", "Arjun", "Grace", "Ethan", "Lily",
    "Oscar", "Evie", "Theo", "Poppy", "Yusuf", "Maryam", "Dylan", "Niamh", "Kai", "Esme",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson",
    "Thomas", "Roberts", "Hughes", "Lewis", "Walker", "Patel", "Khan", "Ahmed", "Begum",
    "Hussain", "Nowak", "Kowalski", "O'Brien", "Murphy", "Silva", "Okafor", "Mensah",
    "Nguyen", "Clarke", "Morgan", "Wright", "Green", "Smith-Jones", "Llywelyn",
)  # fmt: skip
STREETS = ("Mill Lane", "Station Road", "Church Street", "Park Avenue", "Victoria Road",
           "Queen's Drive", "Orchard Close", "Hill View")  # fmt: skip
TOWNS = (("Bristol", "BS"), ("Bath", "BA"), ("Swindon", "SN"), ("Gloucester", "GL"))
SCHOOL_NAMES = (
    "Hillside Primary School", "Riverside Academy", "St Mary's CE Primary School",
    "Oakfield High School", "Meadow Lane Primary School", "Castle View School",
    "Brookfield Junior School", "Kingsway Academy",
)  # fmt: skip
HEALTH_NEEDS = ("Asthma", "Type 1 diabetes", "Epilepsy", "Severe nut allergy", "Eczema")
RELATIONSHIPS = (("Mother", True), ("Father", True), ("Stepfather", False),
                 ("Grandmother", False), ("Foster carer", False), ("Aunt", False))  # fmt: skip
VISIT_NOTES = (
    "Discussed attendance with parent; agreed a morning routine.",
    "Child says mornings are hard. School to offer a soft start.",
    "No answer at the door, card left.\nWill try again next week.",
    "Attendance letter sent with the school's figures.",
    "Met with head of year; support plan reviewed.",
)

PRIMARY_YEARS = ("N1", "N2", "R", "1", "2", "3", "4", "5", "6")
SECONDARY_YEARS = ("7", "8", "9", "10", "11", "12", "13")
# How far each year group's birth year lies before the academic year's start.
_YEAR_OFFSET = {"N1": -2, "N2": -1, "R": 0, **{str(year): year for year in range(1, 15)}}
WEEKS = 12  # school weeks of marks, by default
_LA_CODE = 801  # an invented local authority; more codes are used past 1,000 a year


@dataclass(frozen=True)
class SyntheticOfficer:
    """A person to create with `ewobot officers add` before the allocations import."""

    ref: str
    name: str
    role: str  # officer, supervisor or controller
    supervisor_ref: str | None = None
    # Current checks (CASEWORK.md §4), recorded with `ewobot officers compliance`, so a
    # service built from these files works with EWO_COMPLIANCE=enforce.
    dbs_checked: date | None = None
    training_completed: date | None = None


@dataclass(frozen=True)
class Showcase:
    """Hand-made cases written only when asked (the demo), so that every feature has
    something to show: a pupil for each alert rule, whose marks come in a later file,
    records past due (`held` among them) and coming due for retention, pathway cases,
    and a follow-up overdue."""

    late_attendance: Path  # import it after the others: each alert case newly holds
    officer_ref: str  # the officer the alert cases are allocated to
    alert_cases: Mapping[str, str]  # rule (bot.domain.attendance.Rule value) → UPN
    past_due: tuple[str, ...]  # UPNs whose last visit was two academic years ago
    coming_due: tuple[str, ...]  # UPNs whose last visit was in the previous academic year
    held: str  # the past-due UPN to put on hold
    # Pathway cases of `officer_ref` (CASEWORK.md §1), recorded by the demo as the officer
    # would (they are not import files): PATHWAY_CASES kind → UPN. Each has a mother with
    # parental responsibility first among its contacts, and marks in pathway_attendance.
    pathway_cases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    pathway_attendance: Path | None = None  # imported with the first attendance file
    shared: tuple[str, ...] = ()  # pathway cases with a sharing decision to record
    follow_up_overdue: str = ""  # UPN of officer_ref's visit whose follow-up is overdue


@dataclass(frozen=True)
class SyntheticService:
    """What `generate` wrote: the files in import order, the officers, headline counts."""

    directory: Path
    files: Mapping[str, Path]
    officers: tuple[SyntheticOfficer, ...]
    today: date
    school_days: tuple[date, ...]
    schools: int
    pupils: int
    contacts: int  # rows for pupils the service holds
    marks: int  # attendance rows with a mark, for pupils the service holds
    allocations: int
    visits: int
    # Rows about pupils of the same schools the service was not given (skipped, counted).
    contacts_not_held: int = 0
    marks_not_held: int = 0
    no_mark: int = 0  # rows with `-`: today's afternoon, not marked yet
    # A few allocated pupils of each officer, in file order: (upn, "first last").
    allocated: Mapping[str, tuple[tuple[str, str], ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    showcase: Showcase | None = None

    @property
    def sessions(self) -> int:
        """School sessions in the attendance file per pupil."""
        return 2 * len(self.school_days)


@dataclass(frozen=True)
class _School:
    urn: str
    name: str
    number: int  # the establishment number inside UPNs
    years: tuple[str, ...]
    iso_dates: bool  # schools' systems differ: some write DD/MM/YYYY


@dataclass
class _Pupil:
    upn: str
    first_name: str
    last_name: str
    date_of_birth: date
    year_group: str
    school: _School
    address: str
    postcode: str
    family: int
    absence_rate: float = 0.0
    persistent: bool = False
    late: bool = False
    continuous: bool = False
    officer_ref: str | None = None

    @property
    def concern(self) -> bool:
        return self.persistent or self.late or self.continuous


def generate(out_dir: Path, *, seed: int = 1, schools: int = 3, pupils: int = 100,
             officers: int = 4, supervisors: int = 1, controllers: int = 1,
             weeks: int = WEEKS, today: date, showcase: bool = False) -> SyntheticService:
    """Write pupils.csv, contacts.csv, allocations.csv, attendance.csv and visits.csv
    into `out_dir` (created if needed), in exactly the import formats.

    With `showcase`, the hand-made cases of `Showcase` are added to those files (after
    the generated rows, from a random stream of their own, so nothing else changes) and
    their marks are written to attendance-late.csv."""
    if schools < 1 or pupils < 0 or weeks < 1 or min(officers, supervisors, controllers) < 0:
        raise ValueError("need at least one school and one week, and no negative counts")
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    school_list = _schools(schools)
    people = _Generator(rng, today, school_list)
    held = people.pupils(pupils)
    not_held = people.pupils(max(1, pupils // 50) if pupils else 0)
    staff = _with_checks(_officers(rng, officers, supervisors, controllers), today)
    days = school_days(today, weeks)
    _allocate(rng, held, staff)
    files = {kind: out_dir / f"{kind}.csv" for kind in IMPORT_ORDER}
    _write_pupils(files["pupils"], rng, held)
    contacts, contacts_not_held = _write_contacts(files["contacts"], rng, held, not_held)
    allocations = _write_allocations(files["allocations"], held)
    marks, marks_not_held, no_mark = _write_attendance(
        files["attendance"], rng, held, not_held, days, school_list, today
    )
    visits = _write_visits(files["visits"], rng, held, days, today)
    cases = None
    if showcase:
        cases, added, added_contacts = _write_showcase(out_dir, files, people, staff, days,
                                                       today, seed)
        held = held + added
        visits += len(cases.past_due) + len(cases.coming_due) + bool(cases.follow_up_overdue)
        contacts += added_contacts
        allocations += len(cases.alert_cases) + len(cases.pathway_cases)
    return SyntheticService(
        directory=out_dir, files=MappingProxyType(files), officers=tuple(staff), today=today,
        school_days=tuple(days), schools=schools, pupils=len(held), contacts=contacts,
        marks=marks, allocations=allocations, visits=visits,
        contacts_not_held=contacts_not_held, marks_not_held=marks_not_held, no_mark=no_mark,
        allocated=_allocated(held), showcase=cases)


def _allocated(pupils: Sequence[_Pupil],
               per_officer: int = 5) -> Mapping[str, tuple[tuple[str, str], ...]]:
    """The first few pupils allocated to each officer: (UPN, full name)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for pupil in pupils:
        if pupil.officer_ref:
            some = found.setdefault(pupil.officer_ref, [])
            if len(some) < per_officer:
                some.append((pupil.upn, f"{pupil.first_name} {pupil.last_name}"))
    return MappingProxyType({ref: tuple(some) for ref, some in found.items()})


# --- people ---------------------------------------------------------------------------


def _schools(count: int) -> list[_School]:
    """Primaries and secondaries in turn; a service of one school gets an all-through."""
    result = []
    for index in range(count):
        primary = index % 2 == 0
        years = (
            PRIMARY_YEARS + SECONDARY_YEARS
            if count == 1
            else (PRIMARY_YEARS if primary else SECONDARY_YEARS)
        )
        name = SCHOOL_NAMES[index % len(SCHOOL_NAMES)]
        if index >= len(SCHOOL_NAMES):
            name = f"{name} ({index // len(SCHOOL_NAMES) + 1})"
        result.append(
            _School(
                urn=str(100_100 + index * 37),
                name=name,
                number=(2000 if primary else 4000) + index,
                years=years,
                iso_dates=index % 3 != 1,
            )
        )
    return result


class _Generator:
    """Invents families of pupils, keeping UPNs unique across calls."""

    def __init__(self, rng: random.Random, today: date, schools: Sequence[_School]) -> None:
        self._rng = rng
        self._schools = schools
        self._year_start = _academic_year_start(today)
        self._serials: dict[tuple[int, int], int] = {}
        self._families = 0

    def sharing_upns(self, rng: random.Random) -> _Generator:
        """A generator drawing from `rng` that never repeats one of this one's UPNs."""
        twin = _Generator(rng, self._year_start, self._schools)
        twin._serials = self._serials
        twin._families = self._families + 1_000_000  # families apart from this one's
        return twin

    def one(self, year_group: str) -> _Pupil:
        """A pupil of `year_group`, alone in their family, with no absence profile."""
        rng = self._rng
        self._families += 1
        last_name = rng.choice(LAST_NAMES)
        town, area = rng.choice(TOWNS)
        school = rng.choice([s for s in self._schools if year_group in s.years])
        return _Pupil(
            upn=self._upn(school, year_group), first_name=rng.choice(FIRST_NAMES),
            last_name=last_name, date_of_birth=self._birthday(year_group),
            year_group=year_group, school=school,
            address=f"{rng.randint(1, 199)} {rng.choice(STREETS)}, {town}",
            postcode=f"{area}{rng.randint(1, 16)} {rng.randint(1, 9)}{_letter(rng)}{_letter(rng)}",
            family=self._families)

    def pupils(self, count: int) -> list[_Pupil]:
        result: list[_Pupil] = []
        while len(result) < count:
            result.extend(self._family(min(count - len(result), self._siblings())))
        return result

    def _siblings(self) -> int:
        return self._rng.choices((1, 2, 3), weights=(80, 16, 4))[0]

    def _family(self, size: int) -> Iterator[_Pupil]:
        rng = self._rng
        self._families += 1
        last_name = rng.choice(LAST_NAMES)
        town, area = rng.choice(TOWNS)
        address = f"{rng.randint(1, 199)} {rng.choice(STREETS)}, {town}"
        postcode = f"{area}{rng.randint(1, 16)} {rng.randint(1, 9)}{_letter(rng)}{_letter(rng)}"
        for _ in range(size):
            year_group = self._year_group()
            school = rng.choice([s for s in self._schools if year_group in s.years])
            pupil = _Pupil(
                upn=self._upn(school, year_group),
                first_name=rng.choice(FIRST_NAMES),
                last_name=last_name,
                date_of_birth=self._birthday(year_group),
                year_group=year_group,
                school=school,
                address=address,
                postcode=postcode,
                family=self._families,
            )
            _profile(rng, pupil)
            yield pupil

    def _year_group(self) -> str:
        """Reception to Year 11 mostly; a few in nursery and the sixth form, so the
        compulsory-school-age rule has pupils on both sides of it."""
        draw = self._rng.random()
        if draw < 0.03:
            return self._rng.choice(("N1", "N2"))
        if draw < 0.06:
            return self._rng.choice(("12", "13"))
        return self._rng.choice(("R", *(str(year) for year in range(1, 12))))

    def _birthday(self, year_group: str) -> date:
        born_from = date(self._year_start.year - 5 - _YEAR_OFFSET[year_group], 9, 1)
        return born_from + timedelta(days=self._rng.randrange(365))

    def _upn(self, school: _School, year_group: str) -> str:
        entry_year = (self._year_start.year - _YEAR_OFFSET[year_group]) % 100
        serial = self._serials.get((school.number, entry_year), 0)
        self._serials[(school.number, entry_year)] = serial + 1
        la_code = _LA_CODE + serial // 1000
        body = f"{la_code:03d}{school.number:04d}{entry_year:02d}{serial % 1000:03d}"
        if self._rng.random() < 0.01:  # a temporary UPN ends in a letter
            body = body[:-1] + ALPHABET[serial % len(ALPHABET)]
        return check_letter("A" + body) + body


def _letter(rng: random.Random) -> str:
    return rng.choice("ABDEFGHJLNPQRSTUWXYZ")  # letters used in the inward code


def _academic_year_start(today: date) -> date:
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


DBS_CHECKED_DAYS_AGO = 400  # well within a three-year recheck
TRAINED_DAYS_AGO = 90  # well within a year's training


def _with_checks(staff: list[SyntheticOfficer], today: date) -> list[SyntheticOfficer]:
    """Every person with a current DBS check and training, dated from `today`."""
    return [SyntheticOfficer(person.ref, person.name, person.role, person.supervisor_ref,
                             today - timedelta(days=DBS_CHECKED_DAYS_AGO),
                             today - timedelta(days=TRAINED_DAYS_AGO)) for person in staff]


def _officers(
    rng: random.Random, officers: int, supervisors: int, controllers: int
) -> list[SyntheticOfficer]:
    def name() -> str:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

    heads = [
        SyntheticOfficer(f"SUP{n:02d}", name(), "supervisor") for n in range(1, supervisors + 1)
    ]
    team = [
        SyntheticOfficer(
            f"EWO{n:02d}", name(), "officer", heads[(n - 1) % len(heads)].ref if heads else None
        )
        for n in range(1, officers + 1)
    ]
    data = [
        SyntheticOfficer(f"DPO{n:02d}", name(), "controller") for n in range(1, controllers + 1)
    ]
    return heads + team + data


def _allocate(rng: random.Random, pupils: list[_Pupil], staff: list[SyntheticOfficer]) -> None:
    """Allocation follows concern: every pupil of concern and a fifth of the others;
    each supervisor keeps a few pupils of their own."""
    heads = [person.ref for person in staff if person.role == "supervisor"]
    team = [person.ref for person in staff if person.role == "officer"]
    allocated = [p for p in pupils if p.concern or rng.random() < 0.2]
    own = 3 * len(heads) if team else len(allocated)
    for index, pupil in enumerate(allocated):
        if index < own and heads:
            pupil.officer_ref = heads[index % len(heads)]
        elif team:
            pupil.officer_ref = team[index % len(team)]


def _profile(rng: random.Random, pupil: _Pupil) -> None:
    """Most pupils attend well; about 15 % are persistently absent, 3 % severely."""
    draw = rng.random()
    if draw < 0.03:
        pupil.absence_rate, pupil.persistent = rng.uniform(0.55, 0.85), True
    elif draw < 0.11:  # lates, runs and chance push a few more over the line
        pupil.absence_rate, pupil.persistent = rng.uniform(0.16, 0.4), True
    elif draw < 0.28:
        pupil.absence_rate = rng.uniform(0.04, 0.07)
    else:
        pupil.absence_rate = rng.uniform(0.0, 0.03)
    pupil.late = rng.random() < 0.07
    pupil.continuous = rng.random() < (0.25 if draw < 0.03 else 0.02)


# --- attendance --------------------------------------------------------------------------


def school_days(today: date, weeks: int) -> list[date]:
    """Weekdays of `weeks` school weeks ending at today, oldest first. Holidays are
    left out and are not school weeks: Christmas, August, and a half-term week in the
    middle of a span of more than seven weeks. The week in which September begins is a
    school week from the 1st (the autumn term starts that week, whatever its day)."""
    monday = today - timedelta(days=today.weekday())
    half_term_after = weeks // 2 if weeks > 7 else None  # school weeks counted back
    days: list[date] = []
    counted = 0
    while counted < weeks:
        weekdays = [monday + timedelta(days=n) for n in range(5)]
        if _christmas(weekdays) or all(day.month == 8 for day in weekdays):
            pass
        elif counted == half_term_after:
            half_term_after = None  # this week is the half-term holiday
        else:
            days.extend(day for day in weekdays if day <= today and day.month != 8)
            counted += 1
        monday -= timedelta(weeks=1)
    return sorted(days)


def sessions_marked(today: date, *, since: date, weeks: int = WEEKS) -> int:
    """Sessions the showcase's pupils have marks for from `since` to `today`, over the
    school days of `weeks` weeks (today's afternoon is not marked yet)."""
    return _marked(today, [day for day in school_days(today, weeks) if day >= since])


def _marked(today: date, days: Sequence[date]) -> int:
    """Sessions marked on `days` (school days up to today): both of each day's but
    today's afternoon, not marked yet."""
    return 2 * len(days) - (1 if days and days[-1] == today else 0)


def _christmas(weekdays: Sequence[date]) -> bool:
    return any((day.month, day.day) >= (12, 24) or (day.month, day.day) == (1, 1)
               for day in weekdays)


_GOOD_ABSENCES = ("I",) * 14 + ("M",) * 4 + ("C", "R")
_POOR_ABSENCES = ("N",) * 8 + ("O",) * 5 + ("I",) * 4 + ("G", "M", "C")


def _codes(rng: random.Random, pupil: _Pupil, days: Sequence[date], closed: set[date]) -> list[str]:
    """Two codes a school day; absences come in runs of days, as illness does."""
    random_draw = rng.random
    stay_away = 0.9 if pupil.absence_rate > 0.5 else 0.5
    # Chance of a new absence so that the long-run share of days away is absence_rate.
    start_away = min(1.0, (1 - stay_away) * pupil.absence_rate / (1 - pupil.absence_rate))
    reasons = _POOR_ABSENCES if pupil.persistent else _GOOD_ABSENCES
    late_chance = 0.3 if pupil.late else 0.01
    codes: list[str] = []
    away: str | None = None
    for day in days:
        if day in closed:
            codes += ("#", "#")
            continue
        if random_draw() < (stay_away if away else start_away):
            away = away or rng.choice(reasons)
            codes += (away, away)
            continue
        away = None
        codes += (_morning(rng, late_chance, pupil.late), _afternoon(rng))
    if pupil.continuous:
        _continuous_absence(rng, codes)
    return codes


def _morning(rng: random.Random, late_chance: float, late: bool) -> str:
    draw = rng.random()
    if draw < late_chance:
        return "U" if late and draw < late_chance / 5 else "L"
    if draw > 0.995:
        return rng.choice(("V", "B", "M"))  # a trip, off-site education, a dentist
    return "/"


def _afternoon(rng: random.Random) -> str:
    return rng.choice(("V", "B")) if rng.random() > 0.996 else "\\"


def _continuous_absence(rng: random.Random, codes: list[str]) -> None:
    """The latest 20 to 30 possible sessions all N or O; closures stay as they are."""
    run = rng.randint(20, 30)
    code = rng.choice(("N", "O"))
    for index in range(len(codes) - 1, -1, -1):
        if run == 0:
            break
        if codes[index] != "#":
            codes[index] = code
            run -= 1


def _closures(
    rng: random.Random, school_list: Sequence[_School], days: Sequence[date], today: date
) -> dict[str, set[date]]:
    """Planned closures (INSET days): one every six weeks or so, shared by a school."""
    candidates = [day for day in days if day != today]
    per_school = min(len(candidates), max(1, len(days) // 30))
    return {school.urn: set(rng.sample(candidates, per_school)) for school in school_list}


def _write_attendance(
    path: Path,
    rng: random.Random,
    held: Sequence[_Pupil],
    not_held: Sequence[_Pupil],
    days: Sequence[date],
    school_list: Sequence[_School],
    today: date,
) -> tuple[int, int, int]:
    """Stream the marks, a pupil at a time; returns (marks held, marks not held, no mark).

    Written without the csv module for speed: UPNs, dates and codes never need quoting.
    """
    closed = _closures(rng, school_list, days, today)
    iso = [f",{day.isoformat()}," for day in days]
    british = [f",{day:%d/%m/%Y}," for day in days]
    marks = [0, 0]
    no_mark = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(attendance_file.COLUMNS) + "\n")
        for held_pupil, pupils in ((True, held), (False, not_held)):
            for pupil in pupils:
                codes = _codes(rng, pupil, days, closed[pupil.school.urn])
                if days and days[-1] == today:
                    codes[-1] = "-"  # this afternoon is not marked yet
                    no_mark += 1
                written = _write_marks(out, pupil.upn, pupil.school, iso, british, codes)
                marks[0 if held_pupil else 1] += written
    return marks[0], marks[1], no_mark


def _write_marks(
    out: TextIO,
    upn: str,
    school: _School,
    iso: Sequence[str],
    british: Sequence[str],
    codes: Sequence[str],
) -> int:
    dates = iso if school.iso_dates else british
    lines = [
        f"{upn}{dates[index // 2]}{'PM' if index % 2 else 'AM'},{code}\n"
        for index, code in enumerate(codes)
    ]
    out.write("".join(lines))
    return sum(code != "-" for code in codes)


# --- the other files -------------------------------------------------------------------


@contextmanager
def _csv_file(path: Path, columns: Sequence[str], *, bom: bool = False) -> Iterator[Any]:
    """A csv.DictWriter on a new file, the header written."""
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        yield writer


def _write_pupils(path: Path, rng: random.Random, pupils: Sequence[_Pupil]) -> None:
    """Written with a byte-order mark, as Excel's "CSV UTF-8" does."""
    with _csv_file(path, pupils_file.COLUMNS, bom=True) as writer:
        for pupil in pupils:
            writer.writerow(_pupil_row(rng, pupil))


def _pupil_row(rng: random.Random, pupil: _Pupil) -> dict[str, str]:
    """One row of pupils.csv (draws the SEN and health flags from `rng`)."""
    return {
        "upn": pupil.upn,
        "first_name": pupil.first_name,
        "last_name": pupil.last_name,
        "date_of_birth": pupil.date_of_birth.isoformat(),
        "year_group": pupil.year_group,
        "school_urn": pupil.school.urn,
        "school_name": pupil.school.name,
        "address": pupil.address,
        "postcode": pupil.postcode,
        "sen": rng.choices("NKE", weights=(85, 12, 3))[0],
        "health_needs": rng.choice(HEALTH_NEEDS) if rng.random() < 0.1 else "",
    }


def _write_contacts(
    path: Path, rng: random.Random, held: Sequence[_Pupil], not_held: Sequence[_Pupil]
) -> tuple[int, int]:
    """One to three contacts a family, shared by siblings; returns (held, not held) rows."""
    families: dict[int, list[dict[str, str]]] = {}
    counts = [0, 0]
    with _csv_file(path, contacts_file.COLUMNS) as writer:
        for index, pupils in enumerate((held, not_held)):
            for pupil in pupils:
                if pupil.family not in families:
                    families[pupil.family] = _family_contacts(rng, pupil)
                for contact in families[pupil.family]:
                    writer.writerow({"upn": pupil.upn, **contact})
                    counts[index] += 1
    return counts[0], counts[1]


def _family_contacts(rng: random.Random, pupil: _Pupil) -> list[dict[str, str]]:
    contacts = []
    chosen = rng.sample(RELATIONSHIPS, rng.choices((1, 2, 3), weights=(40, 45, 15))[0])
    names: set[str] = set()
    for priority, (relationship, responsibility) in enumerate(chosen, start=1):
        first, last = pupil.first_name, pupil.last_name
        while f"{first} {last}" in names or first == pupil.first_name:  # one key per contact
            first = rng.choice(FIRST_NAMES)
            last = pupil.last_name if rng.random() < 0.8 else rng.choice(LAST_NAMES)
        names.add(f"{first} {last}")
        born = date(pupil.date_of_birth.year - rng.randint(22, 60), rng.randint(1, 12), 15)
        contacts.append(
            {
                "name": f"{first} {last}",
                "relationship": relationship,
                "phone": f"07700 900{rng.randrange(1000):03d}",
                "email": f"{_ascii(first)}.{_ascii(last)}@example.org"
                if rng.random() < 0.7
                else "",
                "address": pupil.address,
                "date_of_birth": born.isoformat() if rng.random() < 0.5 else "",
                "parental_responsibility": "Y" if responsibility else "N",
                "priority": str(priority),
            }
        )
    return contacts


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.replace("Ł", "L").replace("ł", "l"))
    return "".join(ch for ch in folded.casefold() if ch.isascii() and ch.isalpha())


def _write_allocations(path: Path, pupils: Sequence[_Pupil]) -> int:
    allocated = [pupil for pupil in pupils if pupil.officer_ref]
    with _csv_file(path, allocations_file.COLUMNS) as writer:
        writer.writerows({"upn": p.upn, "officer_ref": p.officer_ref} for p in allocated)
    return len(allocated)


# Home visits most often, then phone calls, school meetings, letters, anything else.
_TYPE_WEIGHTS = {"home": 50, "phone": 20, "school": 15, "letter": 10, "other": 5}


def _write_visits(
    path: Path, rng: random.Random, pupils: Sequence[_Pupil], days: Sequence[date], today: date
) -> int:
    """Past visits for most allocated pupils of concern, the latest with a follow-up."""
    past_days = [day for day in days if day < today]
    count = 0
    with _csv_file(path, visits_file.COLUMNS) as writer:
        for pupil in pupils:
            if not (pupil.officer_ref and pupil.concern and past_days and rng.random() < 0.7):
                continue
            visit_days = sorted(rng.sample(past_days, min(len(past_days), rng.randint(1, 3))))
            for number, day in enumerate(visit_days, start=1):
                writer.writerow(_visit(rng, pupil, day, latest=number == len(visit_days)))
                count += 1
    return count


def _visit(rng: random.Random, pupil: _Pupil, day: date, *, latest: bool) -> dict[str, str]:
    code, label = rng.choices(VISIT_TYPES, weights=[_TYPE_WEIGHTS[c] for c, _ in VISIT_TYPES])[0]
    follow_up = ""
    if latest and rng.random() < 0.8:  # earlier follow-ups were closed by the next visit
        follow_up = (day + timedelta(days=rng.choice((7, 14)))).isoformat()
    return {
        "upn": pupil.upn,
        "officer_ref": pupil.officer_ref or "",
        "date": day.isoformat(),
        "type": label,
        "outcome": "" if code in NO_CONTACT_TYPES else rng.choice(CONTACT_OUTCOMES[:4])[1],
        "reason": rng.choice(ABSENCE_REASONS)[1],
        "action": rng.choice(ACTIONS)[1],
        "follow_up": follow_up,
        "notes": rng.choice(VISIT_NOTES) if rng.random() < 0.8 else "",
    }


# --- the demo's hand-made cases ----------------------------------------------------------

# One pupil for each alert rule, each in a year group of compulsory school age.
_ALERT_CASES = (("persistent_absence", "4"), ("severe_absence", "9"),
                ("penalty_notice", "6"), ("continuous_absence", "10"), ("punctuality", "2"))
_LEAVERS_YEARS = ("3", "7", "11")
FOLLOW_UP_DAYS = 7  # the showcase's overdue follow-up: due a week after its visit
LATE_ATTENDANCE = "attendance-late.csv"
PATHWAY_ATTENDANCE = "attendance-pathway.csv"
# The pathway cases, each with the year group it is in and the marks its attendance
# follows (a rule of _case_codes): a support plan whose review is due today, a Notice
# to Improve in its improvement period, a penalty notice issued 29 days ago with no
# outcome (its reminder day).
PATHWAY_CASES = (("support_plan", "5", "persistent_absence"),
                 ("nti", "8", "persistent_absence"),
                 ("penalty_notice", "7", "penalty_notice"))
SHARED_CASES = ("support_plan", "nti")


def _write_showcase(out_dir: Path, files: Mapping[str, Path], people: _Generator,
                    staff: Sequence[SyntheticOfficer], days: Sequence[date], today: date,
                    seed: int) -> tuple[Showcase, list[_Pupil], int]:
    """Append the showcase's pupils to the files; returns it, its pupils, contact rows."""
    rng = random.Random(f"showcase-{seed}")
    maker = people.sharing_upns(rng)
    team = [p.ref for p in staff if p.role == "officer"] or \
        [p.ref for p in staff if p.role == "supervisor"]
    if not team:
        raise ValueError("the showcase needs an officer or a supervisor")
    alerts = {rule: maker.one(year) for rule, year in _ALERT_CASES}
    for pupil in alerts.values():
        pupil.officer_ref = team[0]
    year = _academic_year_start(today).year
    # Two academic years back is past due; the previous academic year is due at the
    # coming year end (coming due when the notice reaches that far).
    past = [(maker.one(rng.choice(_LEAVERS_YEARS)), day)
            for day in (date(year - 2, 11, 12), date(year - 1, 2, 4), date(year - 1, 5, 20))]
    coming = [(maker.one(rng.choice(_LEAVERS_YEARS)), day)
              for day in (date(year - 1, 11, 18), date(year, 3, 10))]
    added = [*alerts.values(), *(pupil for pupil, _ in past + coming)]
    _append(files["pupils"], pupils_file.COLUMNS, [_pupil_row(rng, pupil) for pupil in added])
    contacts = [{"upn": pupil.upn, **contact} for pupil in added
                for contact in _family_contacts(rng, pupil)]
    _append(files["contacts"], contacts_file.COLUMNS, contacts)
    _append(files["allocations"], allocations_file.COLUMNS,
            [{"upn": p.upn, "officer_ref": p.officer_ref} for p in alerts.values()])
    visits = [{**_visit(rng, pupil, day, latest=False), "officer_ref": team[-1]}
              for pupil, day in past + coming]
    _append(files["visits"], visits_file.COLUMNS, visits)
    late = out_dir / LATE_ATTENDANCE
    iso = [f",{day.isoformat()}," for day in days]
    with late.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(attendance_file.COLUMNS) + "\n")
        for rule, pupil in alerts.items():
            _write_marks(out, pupil.upn, pupil.school, iso, iso, _case_codes(rule, days, today))
    pathway, pathway_file, pathway_contacts = _write_pathway_cases(
        out_dir, files, maker, rng, team[0], days, today)
    # A visit of the officer's whose follow-up fell due a week or more ago, whatever the
    # random visits gave them: /due has a follow-up to show.
    overdue = pathway["support_plan"]
    visited = max(day for day in days if day <= today - timedelta(days=2 * FOLLOW_UP_DAYS))
    _append(files["visits"], visits_file.COLUMNS, [{
        **_visit(rng, overdue, visited, latest=False), "officer_ref": team[0],
        "follow_up": (visited + timedelta(days=FOLLOW_UP_DAYS)).isoformat()}])
    showcase = Showcase(late, team[0], MappingProxyType({r: p.upn for r, p in alerts.items()}),
                        tuple(p.upn for p, _ in past), tuple(p.upn for p, _ in coming),
                        held=past[0][0].upn,
                        pathway_cases=MappingProxyType({k: p.upn for k, p in pathway.items()}),
                        pathway_attendance=pathway_file,
                        shared=tuple(pathway[kind].upn for kind in SHARED_CASES),
                        follow_up_overdue=overdue.upn)
    return showcase, [*added, *pathway.values()], len(contacts) + pathway_contacts


def _write_pathway_cases(out_dir: Path, files: Mapping[str, Path], maker: _Generator,
                         rng: random.Random, officer_ref: str, days: Sequence[date],
                         today: date) -> tuple[dict[str, _Pupil], Path, int]:
    """Append the pathway cases' pupils, contacts and allocations to the files and write
    their marks to attendance-pathway.csv; returns them by kind, that file, contact rows."""
    cases = {kind: maker.one(year) for kind, year, _ in PATHWAY_CASES}
    for pupil in cases.values():
        pupil.officer_ref = officer_ref
    _append(files["pupils"], pupils_file.COLUMNS, [_pupil_row(rng, p) for p in cases.values()])
    contacts = []
    for pupil in cases.values():
        family = _family_contacts(rng, pupil)
        family[0] = {**family[0], "relationship": "Mother", "parental_responsibility": "Y"}
        contacts += [{"upn": pupil.upn, **contact} for contact in family]
    _append(files["contacts"], contacts_file.COLUMNS, contacts)
    _append(files["allocations"], allocations_file.COLUMNS,
            [{"upn": p.upn, "officer_ref": p.officer_ref} for p in cases.values()])
    path = out_dir / PATHWAY_ATTENDANCE
    iso = [f",{day.isoformat()}," for day in days]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(attendance_file.COLUMNS) + "\n")
        for kind, _, rule in PATHWAY_CASES:
            pupil = cases[kind]
            _write_marks(out, pupil.upn, pupil.school, iso, iso, _case_codes(rule, days, today))
    return cases, path, len(contacts)


def _append(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    with path.open("a", encoding="utf-8", newline="") as out:
        csv.DictWriter(out, columns).writerows(rows)


def _case_codes(rule: str, days: Sequence[date], today: date) -> list[str]:
    """Marks that make exactly `rule` hold (continuous absence brings the others that
    unauthorised absence does), present otherwise; today's afternoon not marked yet."""
    codes = ["\\" if index % 2 else "/" for index in range(2 * len(days))]
    marked = _marked(today, days)
    picked: Sequence[int]
    if rule == "persistent_absence":  # one session in seven, illness: about 86 %
        picked = range(3, marked, 7)
    elif rule == "severe_absence":  # three sessions in five, illness: about 40 %
        picked = [index for index in range(marked) if index % 5 < 3]
    elif rule == "penalty_notice":  # ten unauthorised sessions over eight weeks, > 90 %
        picked = range(marked - 3, -1, -8)[:10]
    elif rule == "continuous_absence":  # the latest 24 sessions
        picked = range(max(0, marked - 24), marked)
    else:  # punctuality: late on each of the latest 12 mornings
        picked = range(0, marked, 2)[-12:]
    code = {"persistent_absence": "I", "severe_absence": "I", "penalty_notice": "G",
            "continuous_absence": "N", "punctuality": "L"}[rule]
    for index in picked:
        codes[index] = code
    if marked < len(codes):
        codes[-1] = "-"
    return codes
