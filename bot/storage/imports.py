"""Applying checked import files, inside the caller's write transaction.

Every function takes `conn` from the caller's `db.write(fn, ...)`, so an import, its alert
rows and its audit entry commit or roll back together. Rows are compared with what
is held and only differences are written, so importing the same file twice changes
nothing; nothing is deleted because a file leaves it out. Rows come from
bot.importing, already checked; the protocols below say what is read from them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from bot.domain.attendance import SESSIONS, Tally
from bot.domain.dates import YearEnd, academic_year_of
from bot.domain.marks import (
    CODE_BITS,
    CODE_MASK,
    CODE_NUMBER,
    CODE_TABLE,
    CompactMarks,
    MarkWindow,
    slot,
    slot_day,
    slot_session,
)
from bot.domain.text import search_key, search_tails
from bot.storage.db import Conn, stamp
from bot.storage.rights import RESTRICTED_SQL

BATCH = 500  # keys per IN (…) list, well inside SQLite's limit on parameters

T = TypeVar("T")


class PupilFields(Protocol):
    """What apply_pupils reads from a row (bot.importing.pupils.PupilRow)."""

    @property
    def upn(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def date_of_birth(self) -> date: ...
    @property
    def year_group(self) -> str: ...
    @property
    def school_urn(self) -> str: ...
    @property
    def school_name(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def postcode(self) -> str | None: ...
    @property
    def sen(self) -> str | None: ...
    @property
    def health_needs(self) -> str | None: ...


class ContactFields(Protocol):
    """What apply_contacts reads from a row (bot.importing.contacts.ContactRow)."""

    @property
    def name(self) -> str: ...
    @property
    def relationship(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def date_of_birth(self) -> date | None: ...
    @property
    def parental_responsibility(self) -> bool | None: ...
    @property
    def priority(self) -> int | None: ...


class VisitFields(Protocol):
    """What apply_visits reads from a row (bot.importing.visits.VisitRow)."""

    @property
    def date(self) -> date: ...
    @property
    def type(self) -> str: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def action(self) -> str | None: ...
    @property
    def follow_up(self) -> date | None: ...
    @property
    def notes(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a file did: counts by outcome (in the order they are worth
    reading), and the pupils whose records changed."""

    counts: Mapping[str, int]
    changed_pupils: tuple[int, ...] = field(default=())
    # An attendance import's changed pupils' marks in the file's dates, as now held.
    marks: Mapping[int, MarkWindow] = field(default_factory=dict)


def contact_name_key(name: str) -> str:
    """What tells a pupil's contacts apart: the name, ignoring case and spacing (one
    school's file writes "Jane SMITH", the next "Jane  Smith")."""
    return " ".join(name.casefold().split())


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --- who the rows are about --------------------------------------------------------------


async def pupil_ids(conn: Conn, upns: Iterable[str]) -> dict[str, int]:
    """The id of each of `upns` the service holds; UPNs it does not hold are left out."""
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(upns))):
        rows = await conn.fetchall(
            f"SELECT id, upn FROM pupils WHERE upn IN ({_placeholders(len(chunk))})", chunk
        )
        found.update((row["upn"], row["id"]) for row in rows)
    return found


async def record_import_date(conn: Conn, pupils: Iterable[int], today: date) -> None:
    """Note that data about these pupils was imported today: with no visit, retention
    counts from the latest such date."""
    day = today.isoformat()
    await conn.executemany(
        "UPDATE pupils SET last_imported = ? WHERE id = ? AND last_imported < ?",
        ((day, pupil, day) for pupil in sorted(set(pupils))),
    )


async def restricted_pupils(conn: Conn, pupils: Iterable[int]) -> set[int]:
    """Which of these pupils' records are restricted now (CASEWORK.md section 3: stored
    and nothing else), so an import records no visit or pathway step about them."""
    found: set[int] = set()
    for chunk in _chunks(sorted(set(pupils))):
        rows = await conn.fetchall(
            f"SELECT p.id FROM pupils p WHERE p.id IN ({_placeholders(len(chunk))})"
            f" AND {RESTRICTED_SQL.format(pupil='p.id')}", chunk)
        found.update(row["id"] for row in rows)
    return found


# --- pupils ----------------------------------------------------------------------------

# Stored pupil columns an import sets, besides the UPN; the optional ones only when
# the file's header names them.
PUPIL_COLUMNS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "year_group",
    "school_urn",
    "address",
    "postcode",
    "sen",
    "health_needs",
)
OPTIONAL_PUPIL_COLUMNS = frozenset({"address", "postcode", "sen", "health_needs"})


def _pupil_values(row: PupilFields) -> dict[str, Any]:
    return {
        "first_name": row.first_name,
        "last_name": row.last_name,
        "date_of_birth": row.date_of_birth.isoformat(),
        "year_group": row.year_group,
        "school_urn": row.school_urn,
        "address": row.address,
        "postcode": row.postcode,
        "sen": row.sen or "N",  # blank means no special educational needs recorded
        "health_needs": row.health_needs,
    }


async def apply_pupils(
    conn: Conn, rows: Sequence[PupilFields], *, columns: Collection[str], today: date
) -> Applied:
    """Add new pupils and update held ones in place, by UPN."""
    await _save_schools(conn, rows)
    kept = [name for name in PUPIL_COLUMNS if name not in OPTIONAL_PUPIL_COLUMNS or name in columns]
    held = await _held_pupils(conn, [row.upn for row in rows])
    new: list[tuple[str, dict[str, Any]]] = []
    changed: list[tuple[int, dict[str, Any]]] = []
    renamed: list[tuple[int, str]] = []
    moved: list[tuple[int, str]] = []
    for row in rows:
        values = _pupil_values(row)
        stored = held.get(row.upn)
        if stored is None:
            new.append((row.upn, values))
        elif any(stored[name] != values[name] for name in kept):
            changed.append((stored["id"], values))
            if stored["last_name"] != values["last_name"]:
                renamed.append((stored["id"], values["last_name"]))
            if stored["school_urn"] != values["school_urn"]:
                moved.append((stored["id"], values["school_urn"]))
    await _insert_pupils(conn, new, today)
    await _update_pupils(conn, changed, kept)
    await save_name_tails(conn, renamed)
    await _record_school_moves(conn, moved, today)
    counts = {"added": len(new), "updated": len(changed)}
    counts["unchanged"] = len(rows) - len(new) - len(changed)
    return Applied(counts, tuple(pupil for pupil, _ in changed))


async def _save_schools(conn: Conn, rows: Sequence[PupilFields]) -> None:
    schools = {row.school_urn: row.school_name for row in rows}
    await conn.executemany(
        "INSERT INTO schools (urn, name) VALUES (?, ?)"
        " ON CONFLICT (urn) DO UPDATE SET name = excluded.name"
        " WHERE schools.name <> excluded.name",
        sorted(schools.items()),
    )


async def _held_pupils(conn: Conn, upns: Sequence[str]) -> dict[str, Any]:
    held: dict[str, Any] = {}
    for chunk in _chunks(sorted(set(upns))):
        rows = await conn.fetchall(
            f"SELECT id, upn, {', '.join(PUPIL_COLUMNS)} FROM pupils"
            f" WHERE upn IN ({_placeholders(len(chunk))})",
            chunk,
        )
        held.update((row["upn"], row) for row in rows)
    return held


async def _insert_pupils(
    conn: Conn, pupils: Sequence[tuple[str, dict[str, Any]]], today: date
) -> None:
    """Insert, then give each new pupil its case reference, made from its id (ids are
    never reused): a placeholder reference keeps the column's uniqueness meanwhile."""
    day = today.isoformat()
    await conn.executemany(
        f"INSERT INTO pupils (upn, case_ref, search_first, search_last, first_imported,"
        f" last_imported, {', '.join(PUPIL_COLUMNS)})"
        f" VALUES (?, ?, ?, ?, ?, ?, {_placeholders(len(PUPIL_COLUMNS))})",
        (
            (upn, f"~{index}", search_key(values["first_name"]),
             search_key(values["last_name"]), day, day,
             *(values[name] for name in PUPIL_COLUMNS))
            for index, (upn, values) in enumerate(pupils)
        ),
    )  # fmt: skip
    if not pupils:
        return
    fresh = await conn.fetchall(
        "SELECT id, last_name, school_urn FROM pupils WHERE case_ref LIKE '~%'")
    await conn.executemany(
        "UPDATE pupils SET case_ref = ? WHERE id = ?",
        ((f"C{row['id']:05d}", row["id"]) for row in fresh),
    )
    await save_name_tails(conn, [(row["id"], row["last_name"]) for row in fresh], fresh=True)
    await _open_school_spans(conn, [(row["id"], row["school_urn"]) for row in fresh], today)


async def _update_pupils(
    conn: Conn, pupils: Sequence[tuple[int, dict[str, Any]]], kept: Sequence[str]
) -> None:
    assignments = ", ".join(f"{name} = ?" for name in kept)
    await conn.executemany(
        f"UPDATE pupils SET {assignments}, search_first = ?, search_last = ? WHERE id = ?",
        (
            (*(values[name] for name in kept), search_key(values["first_name"]),
             search_key(values["last_name"]), pupil)
            for pupil, values in pupils
        ),
    )  # fmt: skip


async def save_name_tails(conn: Conn, pupils: Sequence[tuple[int, str]], *,
                          fresh: bool = False) -> None:
    """Hold the search tails (bot.domain.text.search_tails) of each (pupil id, last name)
    in place of any held before (`fresh`: pupils just added, that have none): written
    wherever a last name is, so the search finds "Jones" in Smith-Jones."""
    if pupils and not fresh:
        await conn.executemany("DELETE FROM pupil_name_tails WHERE pupil_id = ?",
                               [(pupil,) for pupil, _ in pupils])
    tails = [(pupil, tail) for pupil, last_name in pupils for tail in search_tails(last_name)]
    if tails:
        await conn.executemany(
            "INSERT INTO pupil_name_tails (pupil_id, search_tail) VALUES (?, ?)", tails)


async def _record_school_moves(conn: Conn, moves: Sequence[tuple[int, str]],
                               today: date) -> None:
    """Each (pupil id, new school URN) of a pupil now at another school: its open span
    in school_history ends today and one at the new school starts today, as an
    allocation's do (`_record_allocation_history`). `ended` is the first day at the new
    school: a school's report counts the pupil's days there up to the day before."""
    if not moves:
        return
    await conn.executemany(
        "UPDATE school_history SET ended = ? WHERE pupil_id = ? AND ended IS NULL",
        ((today.isoformat(), pupil) for pupil, _ in moves))
    await _open_school_spans(conn, moves, today)


async def _open_school_spans(conn: Conn, pupils: Sequence[tuple[int, str]],
                             today: date) -> None:
    """A span at its school, starting today, for each (pupil id, school URN)."""
    await conn.executemany(
        "INSERT INTO school_history (pupil_id, school_urn, started) VALUES (?, ?, ?)",
        ((pupil, urn, today.isoformat()) for pupil, urn in pupils))


# --- contacts ----------------------------------------------------------------------------

CONTACT_COLUMNS = (
    "name",
    "relationship",
    "phone",
    "email",
    "address",
    "date_of_birth",
    "parental_responsibility",
    "priority",
)
OPTIONAL_CONTACT_COLUMNS = frozenset(CONTACT_COLUMNS) - {"name", "relationship"}


def _contact_values(row: ContactFields) -> dict[str, Any]:
    responsibility = row.parental_responsibility
    return {
        "name": row.name,
        "relationship": row.relationship,
        "phone": row.phone,
        "email": row.email,
        "address": row.address,
        "date_of_birth": _iso(row.date_of_birth),
        "parental_responsibility": None if responsibility is None else int(responsibility),
        "priority": row.priority,
    }


async def apply_contacts(
    conn: Conn, rows: Sequence[tuple[int, ContactFields]], *, columns: Collection[str]
) -> Applied:
    """Add new contacts and update held ones in place, by pupil and name."""
    kept = [n for n in CONTACT_COLUMNS if n not in OPTIONAL_CONTACT_COLUMNS or n in columns]
    held = await _held_contacts(conn, [pupil for pupil, _ in rows])
    new: list[tuple[int, dict[str, Any]]] = []
    changed: list[tuple[int, dict[str, Any]]] = []
    touched: set[int] = set()
    for pupil, row in rows:
        values = _contact_values(row)
        stored = held.get((pupil, contact_name_key(row.name)))
        if stored is None:
            new.append((pupil, values))
        elif any(stored[name] != values[name] for name in kept):
            changed.append((stored["id"], values))
        else:
            continue
        touched.add(pupil)
    await conn.executemany(
        f"INSERT INTO contacts (pupil_id, {', '.join(CONTACT_COLUMNS)})"
        f" VALUES (?, {_placeholders(len(CONTACT_COLUMNS))})",
        ((pupil, *(values[name] for name in CONTACT_COLUMNS)) for pupil, values in new),
    )
    assignments = ", ".join(f"{name} = ?" for name in kept)
    await conn.executemany(
        f"UPDATE contacts SET {assignments} WHERE id = ?",
        ((*(values[name] for name in kept), contact) for contact, values in changed),
    )
    counts = {"added": len(new), "updated": len(changed)}
    counts["unchanged"] = len(rows) - len(new) - len(changed)
    return Applied(counts, tuple(sorted(touched)))


async def _held_contacts(conn: Conn, pupils: Sequence[int]) -> dict[tuple[int, str], Any]:
    held: dict[tuple[int, str], Any] = {}
    for chunk in _chunks(sorted(set(pupils))):
        rows = await conn.fetchall(
            f"SELECT id, pupil_id, {', '.join(CONTACT_COLUMNS)} FROM contacts"
            f" WHERE pupil_id IN ({_placeholders(len(chunk))})",
            chunk,
        )
        held.update(((row["pupil_id"], contact_name_key(row["name"])), row) for row in rows)
    return held


# --- attendance ------------------------------------------------------------------------

_STATS = ("possible", "attended", "authorised", "unauthorised", "lates_l", "lates_u")
_UPSERT_MARK = (
    "INSERT INTO marks (pupil_id, date, session, code) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (pupil_id, date, session) DO UPDATE SET code = excluded.code"
)
# A pupil's new marks in one statement, as a JSON array of [date, session, code]:
# SQLite unpacks them, so a first import binds two values a pupil, not four a mark,
# and the statement runs without Python's lock for all of a pupil's marks at once.
_INSERT_MARKS = (
    "INSERT INTO marks (pupil_id, date, session, code)"
    " SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'),"
    " json_extract(value, '$[2]') FROM json_each(?2)"
)

# The same rows on PostgreSQL, COPY's text format: pupil_id, date, session, code.
_COPY_MARKS = "COPY marks (pupil_id, date, session, code) FROM STDIN"


class _YearChange:
    """The marks one import adds to and takes from one pupil's academic year."""

    __slots__ = ("added", "removed", "latest")

    def __init__(self) -> None:
        self.added: Counter[str] = Counter()
        self.removed: Counter[str] = Counter()
        self.latest = ""

    def tally(self, held: Tally) -> Tally:
        """The year's figures after the change, from the figures before it: every
        replaced mark is taken away and every new one added, counted code by code
        rather than mark by mark."""
        after = held + Tally.of_counts(self.added)
        return after - Tally.of_counts(self.removed) if self.removed else after


async def apply_marks(
    conn: Conn, marks_by_pupil: Iterable[tuple[int, CompactMarks]], *, year_end: YearEnd
) -> Applied:
    """Add marks, replace marks whose code differs, and keep each pupil's figures for
    each academic year (pupil_stats) exact by applying only the difference.

    `marks_by_pupil` gives each pupil's marks, one per session.
    """
    counts: Counter[str] = Counter(added=0, replaced=0, unchanged=0)
    changed: list[int] = []
    windows: dict[int, MarkWindow] = {}
    texts = _MarkTexts(year_end)
    batch: list[tuple[int, CompactMarks]] = []
    for pupil, marks in marks_by_pupil:
        batch.append((pupil, marks))
        if len(batch) == BATCH:
            changed += await _apply_mark_batch(conn, batch, texts, counts, windows)
            batch = []
    if batch:
        changed += await _apply_mark_batch(conn, batch, texts, counts, windows)
    return Applied(dict(counts), tuple(changed), windows)


class _MarkTexts:
    """How a mark is stored, and its slot's academic year, each worked out once:
    a file repeats a few hundred slots and a few codes millions of times."""

    def __init__(self, year_end: YearEnd) -> None:
        self.iso = _Cached(lambda number: slot_day(number).isoformat())
        self.year = _Cached(lambda number: academic_year_of(slot_day(number), year_end))
        self.json = _Cached(self._json)  # mark → its [date, session, code] in JSON
        self.copy_line = _Cached(self._copy_line)  # mark → "\tdate\tsession\tcode" for COPY
        self._slots: dict[tuple[str, str], int] = {}

    def _json(self, value: int) -> str:
        number = value >> CODE_BITS
        return json.dumps([self.iso[number], slot_session(number), CODE_TABLE[value & CODE_MASK]])

    def _copy_line(self, value: int) -> str:
        number = value >> CODE_BITS
        code = CODE_TABLE[value & CODE_MASK].replace("\\", "\\\\")  # doubled in COPY text
        return f"\t{self.iso[number]}\t{slot_session(number)}\t{code}"

    def slot_of(self, iso: str, session: str) -> int:
        """The slot of a stored mark."""
        found = self._slots.get((iso, session))
        if found is None:
            day = date.fromisoformat(iso)
            found = self._slots[iso, session] = slot(day, SESSIONS.index(session))
        return found


class _Cached(dict[int, T]):
    """A dict that works out a missing value once (so map(d.__getitem__) stays in C)."""

    def __init__(self, work_out: Callable[[int], T]) -> None:
        super().__init__()
        self._work_out = work_out

    def __missing__(self, key: int) -> T:
        value = self[key] = self._work_out(key)
        return value


async def _apply_mark_batch(
    conn: Conn,
    batch: Sequence[tuple[int, CompactMarks]],
    texts: _MarkTexts,
    counts: Counter[str],
    windows: dict[int, MarkWindow],
) -> list[int]:
    """Pupils with no marks held in the batch's dates (a first import) have all their
    marks inserted as they are, without an object per mark; the others' are compared
    mark by mark with what is held. Each pupil's marks in the batch's dates, as held
    once written, go into `windows`."""
    marked = [marks.marks for _, marks in batch if marks]
    if not marked:
        return []
    first = slot_day(min(map(min, marked)) >> CODE_BITS)
    last = slot_day(max(map(max, marked)) >> CODE_BITS)
    held = await _held_marks(conn, [pupil for pupil, _ in batch], first, last, texts)
    new: list[tuple[int, CompactMarks]] = []
    writes: list[tuple[int, str, str, str]] = []
    years: dict[tuple[int, int], _YearChange] = {}
    changed: list[int] = []
    for pupil, marks in batch:
        if not marks:
            continue
        held_marks = held.get(pupil)
        if held_marks is None:
            new.append((pupil, marks))
            _count_new(pupil, marks, texts, years)
            counts["added"] += len(marks)
            changed.append(pupil)
            windows[pupil] = MarkWindow(first, last, marks.in_order())
            continue
        if _compare(pupil, marks, held_marks, texts, years, writes, counts):
            changed.append(pupil)
            after = {number: CODE_NUMBER[code] for number, code in held_marks.items()}
            after.update(zip(marks.slots(), marks.codes, strict=True))
            windows[pupil] = MarkWindow(first, last, CompactMarks.by_slot(after))
    await _insert_new_marks(conn, new, texts)
    await conn.executemany(_UPSERT_MARK, writes)
    await _apply_year_changes(conn, years)
    return changed


async def _insert_new_marks(conn: Conn, new: Sequence[tuple[int, CompactMarks]],
                            texts: _MarkTexts) -> None:
    """Insert the marks of pupils with none held in their dates, as they are: on SQLite a
    statement a pupil unpacking a JSON array; on PostgreSQL one COPY for the batch, the
    rows written as COPY's text (so a first import streams, as psycopg's own COPY does)."""
    if not new:
        return
    if conn.dialect != "postgres":
        await conn.executemany(_INSERT_MARKS, [
            (pupil, f"[{','.join(map(texts.json.__getitem__, marks.marks))}]")
            for pupil, marks in new])
        return
    raw = await conn.connection()  # type: ignore[attr-defined]  # psycopg, for COPY
    data = "".join(f"{pupil}" + f"\n{pupil}".join(map(texts.copy_line.__getitem__, marks.marks))
                   + "\n" for pupil, marks in new)
    async with raw.cursor() as cursor, cursor.copy(_COPY_MARKS) as copy:
        await copy.write(data)


def _count_new(pupil: int, marks: CompactMarks, texts: _MarkTexts,
               years: dict[tuple[int, int], _YearChange]) -> None:
    """Add a pupil's new marks to their years' changes, all at once when the marks
    lie in one academic year (as a school's file does)."""
    first, last = min(marks.marks) >> CODE_BITS, max(marks.marks) >> CODE_BITS
    year = texts.year[first]
    if year == texts.year[last]:
        change = years.setdefault((pupil, year), _YearChange())
        for code, times in Counter(marks.codes).items():
            change.added[CODE_TABLE[code]] += times
        change.latest = max(change.latest, texts.iso[last])
        return
    for number, code in zip(marks.slots(), marks.codes, strict=True):
        change = years.setdefault((pupil, texts.year[number]), _YearChange())
        change.added[CODE_TABLE[code]] += 1
        change.latest = max(change.latest, texts.iso[number])


def _compare(pupil: int, marks: CompactMarks, held: dict[int, str], texts: _MarkTexts,
             years: dict[tuple[int, int], _YearChange],
             writes: list[tuple[int, str, str, str]], counts: Counter[str]) -> bool:
    """Add the pupil's new and replaced marks to `writes` and their years' changes;
    whether any mark changed."""
    added = replaced = unchanged = 0
    before = len(writes)
    for number, position in zip(marks.slots(), marks.codes, strict=True):
        code = CODE_TABLE[position]
        old = held.get(number)
        if old == code:
            unchanged += 1
            continue
        iso = texts.iso[number]
        writes.append((pupil, iso, slot_session(number), code))
        key = (pupil, texts.year[number])
        change = years.get(key)
        if change is None:
            change = years[key] = _YearChange()
        change.added[code] += 1
        if iso > change.latest:
            change.latest = iso
        if old is None:
            added += 1
        else:
            change.removed[old] += 1
            replaced += 1
    counts["added"] += added
    counts["replaced"] += replaced
    counts["unchanged"] += unchanged
    return len(writes) > before


async def _held_marks(
    conn: Conn, pupils: Sequence[int], first: date, last: date, texts: _MarkTexts
) -> dict[int, dict[int, str]]:
    """The marks already held for `pupils` from `first` to `last`, by pupil and slot;
    a pupil with none is left out."""
    rows = await conn.fetchall(
        "SELECT pupil_id, date, session, code FROM marks"
        f" WHERE pupil_id IN ({_placeholders(len(pupils))}) AND date >= ? AND date <= ?",
        (*pupils, first.isoformat(), last.isoformat()),
    )
    held: dict[int, dict[int, str]] = {}
    for row in rows:
        number = texts.slot_of(row["date"], row["session"])
        held.setdefault(row["pupil_id"], {})[number] = row["code"]
    return held


async def _apply_year_changes(conn: Conn, years: Mapping[tuple[int, int], _YearChange]) -> None:
    if not years:
        return
    pupils = sorted({pupil for pupil, _ in years})
    rows = await conn.fetchall(
        f"SELECT pupil_id, academic_year, latest_mark, {', '.join(_STATS)} FROM pupil_stats"
        f" WHERE pupil_id IN ({_placeholders(len(pupils))})",
        pupils,
    )
    held = {(row["pupil_id"], row["academic_year"]): row for row in rows}
    updates = []
    for (pupil, year), change in sorted(years.items()):
        row = held.get((pupil, year))
        before = Tally(*(row[name] for name in _STATS)) if row else Tally()
        latest = max(change.latest, (row["latest_mark"] or "") if row else "")
        after = change.tally(before)
        updates.append((pupil, year, *(getattr(after, name) for name in _STATS), latest))
    await conn.executemany(
        f"INSERT INTO pupil_stats (pupil_id, academic_year, {', '.join(_STATS)}, latest_mark)"
        f" VALUES (?, ?, {_placeholders(len(_STATS))}, ?)"
        " ON CONFLICT (pupil_id, academic_year) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in (*_STATS, "latest_mark")),
        updates,
    )


# --- allocations -----------------------------------------------------------------------


async def apply_allocations(
    conn: Conn, rows: Sequence[tuple[int, int | None]], *, now: datetime
) -> Applied:
    """Allocate each pupil to an officer (reallocating if needed); None ends it."""
    held: dict[int, int] = {}
    for chunk in _chunks(sorted({pupil for pupil, _ in rows})):
        found = await conn.fetchall(
            "SELECT pupil_id, officer_id FROM allocations"
            f" WHERE pupil_id IN ({_placeholders(len(chunk))})",
            chunk,
        )
        held.update((row["pupil_id"], row["officer_id"]) for row in found)
    writes = [(p, o) for p, o in rows if o is not None and held.get(p) != o]
    ends = [(p,) for p, o in rows if o is None and p in held]
    await conn.executemany(
        "INSERT INTO allocations (pupil_id, officer_id, allocated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (pupil_id) DO UPDATE SET officer_id = excluded.officer_id,"
        " allocated_at = excluded.allocated_at",
        ((pupil, officer, stamp(now)) for pupil, officer in writes),
    )
    await conn.executemany("DELETE FROM allocations WHERE pupil_id = ?", ends)
    await _record_allocation_history(conn, writes, [pupil for (pupil,) in ends], now=now)
    reallocated = sum(1 for pupil, _ in writes if pupil in held)
    counts = {
        "allocated": len(writes) - reallocated,
        "reallocated": reallocated,
        "ended": len(ends),
        "unchanged": len(rows) - len(writes) - len(ends),
    }
    changed = sorted({pupil for pupil, _ in writes} | {pupil for (pupil,) in ends})
    return Applied(counts, tuple(changed))


async def _record_allocation_history(conn: Conn, writes: Sequence[tuple[int, int]],
                                     ends: Sequence[int], *, now: datetime) -> None:
    """Close the open span of every pupil whose allocation changed; open the new ones."""
    today = now.date().isoformat()
    closing = [(today, pupil) for pupil in (*(pupil for pupil, _ in writes), *ends)]
    await conn.executemany(
        "UPDATE allocation_history SET ended = ? WHERE pupil_id = ? AND ended IS NULL", closing)
    await conn.executemany(
        "INSERT INTO allocation_history (pupil_id, officer_id, started) VALUES (?, ?, ?)",
        ((pupil, officer, today) for pupil, officer in writes))


# --- visits ----------------------------------------------------------------------------


def _visit_key(pupil: int, officer: int, row: VisitFields) -> tuple[int, int, str, str, str]:
    """What makes an imported visit the same visit (as the visits_import_key index)."""
    return pupil, officer, row.date.isoformat(), row.type, row.outcome or ""


async def apply_visits(
    conn: Conn, rows: Sequence[tuple[int, int, VisitFields]], *, now: datetime
) -> Applied:
    """Add past visits; a visit already imported (same key) is left as it is."""
    held: set[tuple[int, int, str, str, str]] = set()
    for chunk in _chunks(sorted({pupil for pupil, _, _ in rows})):
        found = await conn.fetchall(
            "SELECT pupil_id, officer_id, visit_date, type, contact FROM visits"
            f" WHERE source = 'import' AND pupil_id IN ({_placeholders(len(chunk))})",
            chunk,
        )
        held.update(
            (r["pupil_id"], r["officer_id"], r["visit_date"], r["type"], r["contact"] or "")
            for r in found
        )
    new = [(p, o, row) for p, o, row in rows if _visit_key(p, o, row) not in held]
    saved_at = stamp(now)  # and placed there: an imported visit corrects nothing
    await conn.executemany(
        "INSERT INTO visits (pupil_id, officer_id, visit_date, type, contact, reason, action,"
        " follow_up, notes, source, saved_at, placed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'import', ?, ?)",
        (
            (pupil, officer, row.date.isoformat(), row.type, row.outcome, row.reason,
             row.action, _iso(row.follow_up), row.notes, saved_at, saved_at)
            for pupil, officer, row in new
        ),
    )  # fmt: skip
    counts = {"added": len(new), "unchanged": len(rows) - len(new)}
    return Applied(counts, tuple(sorted({pupil for pupil, _, _ in new})))
