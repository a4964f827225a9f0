"""The attendance import file: session marks, held compactly while the file is checked.

A school's whole-school file can hold millions of marks, and the file is checked
completely before anything is written, so marks are kept in arrays (9 bytes a mark)
rather than as one object per row.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TextIO

from bot.domain.attendance import CODES, SESSIONS, UnknownCode, normalise_code
from bot.importing.csvfile import CsvReader, Problems
from bot.importing.rows import Fields, ParsedFile

COLUMNS = ("upn", "date", "session", "code")

# A mark stores its code as a position in this table; NO_MARK stands for `-`/blank,
# kept only so that a repeated key is noticed whatever the rows say.
CODE_TABLE: tuple[str, ...] = tuple(CODES)
_CODE_POSITION = {code: position for position, code in enumerate(CODE_TABLE)}
NO_MARK = 255

NOT_CODE = "is not an attendance code (see ATTENDANCE.md)"
NOT_SESSION = "must be AM or PM"
REPEATED = "the same upn, date and session as line {first}"


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    """One mark of the file, as the rest of the service sees it."""

    line: int
    upn: str
    date: date
    session: str  # AM or PM
    code: str


@lru_cache(maxsize=4096)
def _day(ordinal: int) -> date:
    """The date of an ordinal; one object per date, as a file repeats its dates."""
    return date.fromordinal(ordinal)


def _slot(day: date, session: int) -> int:
    """A date and session as one number: later sessions have larger numbers."""
    return day.toordinal() * 2 + session


class PupilMarks:
    """One pupil's rows from the file, in file order."""

    __slots__ = ("upn", "_slots", "_codes", "_lines")

    def __init__(self, upn: str) -> None:
        self.upn = upn
        self._slots = array("I")  # _slot(date, session)
        self._codes = bytearray()  # position in CODE_TABLE, or NO_MARK
        self._lines = array("I")

    def add(self, slot: int, code: int, line: int) -> None:
        self._slots.append(slot)
        self._codes.append(code)
        self._lines.append(line)

    def __len__(self) -> int:
        """The number of marks (rows without a mark are not marks)."""
        return len(self._codes) - self._codes.count(NO_MARK)

    def marks(self) -> Iterator[tuple[date, str, str]]:
        """(date, session, code) of each mark, in file order."""
        for slot, code in zip(self._slots, self._codes, strict=True):
            if code != NO_MARK:
                yield _day(slot >> 1), SESSIONS[slot & 1], CODE_TABLE[code]

    def rows(self) -> Iterator[AttendanceRow]:
        for slot, code, line in zip(self._slots, self._codes, self._lines, strict=True):
            if code != NO_MARK:
                yield AttendanceRow(
                    line, self.upn, _day(slot >> 1), SESSIONS[slot & 1], CODE_TABLE[code]
                )

    def repeats(self) -> Iterator[tuple[int, int]]:
        """(line, first line) for each row whose date and session came earlier."""
        if len(set(self._slots)) == len(self._slots):
            return  # the usual case, checked without a Python loop
        first: dict[int, int] = {}
        for slot, line in zip(self._slots, self._lines, strict=True):
            earlier = first.setdefault(slot, line)
            if earlier != line:
                yield line, earlier


class AttendanceMarks(Collection[AttendanceRow]):
    """Every mark of a file, grouped by pupil; iterating gives AttendanceRow objects."""

    def __init__(self, by_pupil: Mapping[str, PupilMarks]) -> None:
        self.by_pupil: Mapping[str, PupilMarks] = MappingProxyType(
            {upn: marks for upn, marks in by_pupil.items() if len(marks)}
        )
        self._count = sum(len(marks) for marks in self.by_pupil.values())

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[AttendanceRow]:
        for marks in self.by_pupil.values():
            yield from marks.rows()

    def __contains__(self, row: object) -> bool:
        return any(row == mine for mine in self)


class _MarkReader:
    """Checks attendance rows one by one, remembering the raw texts already found
    good: a file repeats a few hundred dates and a few codes millions of times."""

    def __init__(self, fields: Fields) -> None:
        self._fields = fields
        self._upns: dict[str, str] = {}
        self._days: dict[str, int] = {}
        self._sessions: dict[str, int] = {name: n for n, name in enumerate(SESSIONS)}
        self._codes: dict[str, int] = {}
        self.by_pupil: dict[str, PupilMarks] = {}
        self.no_mark = 0

    def add(self, line: int, values: tuple[str, ...]) -> None:
        raw_upn, raw_date, raw_session, raw_code = values
        upn = self._upns.get(raw_upn)
        day = self._days.get(raw_date)
        session = self._sessions.get(raw_session)
        code = self._codes.get(raw_code)
        if upn is None or day is None or session is None or code is None:
            checked = self._check(line, values)
            if checked is None:
                return
            upn, day, session, code = checked
        marks = self.by_pupil.get(upn)
        if marks is None:
            marks = self.by_pupil[upn] = PupilMarks(upn)
        marks.add(day + session, code, line)
        if code == NO_MARK:
            self.no_mark += 1

    def _check(self, line: int, values: tuple[str, ...]) -> tuple[str, int, int, int] | None:
        """Check each value in full, recording problems; remember the good texts.

        A row without a mark may be dated after today: schools' files carry the
        rest of the current week unmarked.
        """
        raw_upn, raw_date, raw_session, raw_code = values
        code = self._code(raw_code)
        check = self._fields.row(line)
        upn = check.upn("upn", raw_upn)
        if code == NO_MARK:
            day = check.any_date("date", raw_date)
        else:
            day = check.past_date("date", raw_date)
        session = check.choice("session", raw_session, SESSIONS, NOT_SESSION, required=True)
        if code is None:
            check.fail("code", NOT_CODE)
        if not check.ok or session is None or code is None:
            return None
        slot = _slot(day, 0)
        if day <= self._fields.today:
            self._days[raw_date] = slot
        self._upns[raw_upn] = upn
        position = self._sessions[raw_session] = SESSIONS.index(session)
        self._codes[raw_code] = code
        return upn, slot, position, code

    @staticmethod
    def _code(raw: str) -> int | None:
        try:
            code = normalise_code(raw)
        except UnknownCode:
            return None
        return NO_MARK if code is None else _CODE_POSITION[code]

    def report_repeats(self, problems: Problems) -> None:
        for marks in self.by_pupil.values():
            for line, first in marks.repeats():
                problems.add(line, "session", REPEATED.format(first=first))


def parse_attendance(
    path: Path, *, today: date, progress: TextIO | None = None
) -> ParsedFile[AttendanceRow]:
    """Every mark of an attendance file, checked; ImportRejected listing the bad rows.

    The rows are an AttendanceMarks: `rows.by_pupil` gives each pupil's marks.
    """
    problems = Problems()
    reader_of_marks = _MarkReader(Fields(problems, today))
    with CsvReader(
        path, COLUMNS, required=frozenset(COLUMNS), problems=problems, progress=progress
    ) as reader:
        for line, values in reader:
            reader_of_marks.add(line, values)
    reader_of_marks.report_repeats(problems)
    problems.raise_if_any()
    return ParsedFile(
        "attendance",
        AttendanceMarks(reader_of_marks.by_pupil),
        reader.present,
        reader.sha256,
        reader.rows_read,
        no_mark=reader_of_marks.no_mark,
    )
