"""The attendance import file: session marks, held compactly while the file is checked.

A school's whole-school file can hold millions of marks, and the file is checked
completely before anything is written, so marks are kept in arrays (4 bytes a mark,
and a line number for each run of consecutive lines) rather than as one object per
row, and rows are checked a block at a time where they can be.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby, repeat
from operator import add, and_, itemgetter, lshift, rshift
from pathlib import Path
from types import MappingProxyType
from typing import TextIO

from bot.domain.attendance import CODES, RETIRED_CODES, SESSIONS, UnknownCode, normalise_code
from bot.domain.marks import (
    CODE_BITS,
    CODE_MASK,
    CODE_NUMBER,
    CODE_TABLE,
    UNMARKED,
    CompactMarks,
    mark,
    slot,
    slot_day,
    slot_session,
)
from bot.domain.upn import UPN_LENGTH
from bot.importing.csvfile import Columns, CsvReader, Problems
from bot.importing.rows import Fields, ParsedFile

COLUMNS = ("upn", "date", "session", "code")

NOT_CODE = "is not an attendance code (the codes accepted are listed below)"
# Shown once after the bad rows: the file's own value is never repeated, so the
# person is told what would have been accepted instead.
CODES_NOTE = (
    "attendance codes: " + " ".join(code for code in CODES if code not in RETIRED_CODES)
    + f" (retired, still read: {' '.join(RETIRED_CODES)}); - or blank: no mark"
    " — `ewobot codes` says what each means"
)
NOT_SESSION = "must be AM or PM"
# The code of a row whose only bad value is its code (no code's position): kept for
# finding repeats alone, since a file with such a row is refused whole.
BAD_CODE = 254
REPEATED = "the same upn, date and session as line {first}"

# Distinct row texts after the UPN remembered, at most (a file with more is read
# column by column instead).
_MAX_TAILS = 100_000


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    """One mark of the file, as the rest of the service sees it."""

    line: int
    upn: str
    date: date
    session: str  # AM or PM
    code: str


class PupilMarks:
    """One pupil's rows from the file, in file order."""

    __slots__ = ("upn", "_marks", "_run_starts", "_run_lines", "_next_line", "_unmarked",
                 "_code_bytes")

    def __init__(self, upn: str) -> None:
        self.upn = upn
        self._marks = array("I")  # mark(slot, code); code UNMARKED for a row without one
        # Line numbers, a run of consecutive lines at a time: row _run_starts[k] is on
        # line _run_lines[k], and the rows after it on the following lines.
        self._run_starts = array("I")
        self._run_lines = array("I")
        self._next_line = 0
        self._unmarked: int | None = None  # counted once all rows are in
        self._code_bytes: bytes | None = None

    def add(self, number: int, code: int, line: int) -> None:
        self._note_line(line, 1)
        self._marks.append(mark(number, code))

    def extend(self, marks: Sequence[int], first_line: int) -> None:
        """Rows (as mark() gives them) on consecutive lines from `first_line`."""
        self._note_line(first_line, len(marks))
        self._marks.extend(marks)

    def _note_line(self, line: int, count: int) -> None:
        self._unmarked = self._code_bytes = None  # rows change
        if line != self._next_line:
            self._run_starts.append(len(self._marks))
            self._run_lines.append(line)
        self._next_line = line + count

    def _line(self, index: int) -> int:
        run = bisect_right(self._run_starts, index) - 1
        return self._run_lines[run] + index - self._run_starts[run]

    def _codes(self) -> bytes:
        """The rows' codes (worked out once, when all rows are in)."""
        if self._code_bytes is None:
            self._code_bytes = bytes(map(and_, self._marks, repeat(CODE_MASK)))
        return self._code_bytes

    def _slots(self) -> array[int]:
        return array("I", map(rshift, self._marks, repeat(CODE_BITS)))

    @property
    def unmarked(self) -> int:
        """The number of rows without a mark (`-` or blank)."""
        if self._unmarked is None:
            self._unmarked = self._codes().count(UNMARKED)
        return self._unmarked

    def __len__(self) -> int:
        """The number of marks (rows without a mark are not marks)."""
        return len(self._marks) - self.unmarked

    def compact(self) -> CompactMarks:
        """The marks, as the import writes them."""
        return CompactMarks.marked(self._marks, self._codes())

    def marks(self) -> Iterator[tuple[date, str, str]]:
        """(date, session, code) of each mark, in file order."""
        return iter(self.compact())

    def rows(self) -> Iterator[AttendanceRow]:
        for index, value in enumerate(self._marks):
            code, number = value & CODE_MASK, value >> CODE_BITS
            if code != UNMARKED:
                yield AttendanceRow(self._line(index), self.upn, slot_day(number),
                                    slot_session(number), CODE_TABLE[code])

    def repeats(self) -> Iterator[tuple[int, int, bool]]:
        """(line, first line, whether the row is a bad one) for each row whose date and
        session came earlier."""
        if len(set(map(rshift, self._marks, repeat(CODE_BITS)))) == len(self._marks):
            return  # the usual case, checked without a Python loop
        slots = self._slots()
        first: dict[int, int] = {}
        for index, number in enumerate(slots):
            line = self._line(index)
            earlier = first.setdefault(number, line)
            if earlier != line:
                yield line, earlier, self._marks[index] & CODE_MASK == BAD_CODE


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
    """Checks attendance rows, remembering the raw texts already found good: a file
    repeats a few hundred dates and a few codes millions of times, and each pupil's
    UPN on a few hundred rows in a row.

    A row is taken as it is when its texts are known good (and its date is not after
    today unless it has no mark); any other row is checked in full. A block of plain
    lines is looked up a column at a time, or, when the UPN comes first and is 13
    characters on every line, by the UPN and the rest of the line.
    """

    def __init__(self, fields: Fields) -> None:
        self._fields = fields
        # Checks whose problems are not kept: a row checked only to learn its texts is
        # checked again, with its problems recorded, if it turns out not to be good.
        self._learning = Fields(Problems(), fields.today)
        self._upns: dict[str, str] = {}
        self._days: dict[str, int] = {}  # raw date → slot of its morning
        self._sessions: dict[str, int] = {name: n for n, name in enumerate(SESSIONS)}
        self._codes: dict[str, int] = {}
        self._tails: dict[str, int] = {}  # the text after the UPN → mark(slot, code)
        self._last_slot = slot(fields.today, 1)
        self.by_pupil: dict[str, PupilMarks] = {}

    # --- a row at a time ---------------------------------------------------------------

    def add(self, line: int, values: Sequence[str]) -> None:
        """One row, its values trimmed."""
        raw_upn, raw_date, raw_session, raw_code = values
        upn = self._upns.get(raw_upn)
        day = self._days.get(raw_date)
        session = self._sessions.get(raw_session)
        code = self._codes.get(raw_code)
        if (upn is None or day is None or session is None or code is None
                or (day > self._last_slot and code != UNMARKED)):
            checked = self._check(line, values, self._fields)
            if checked is None:
                return
            upn, day, session, code = checked
            self._remember(values, upn, day, session, code)
        self._pupil(upn).add(day + session, code, line)

    def _check(self, line: int, values: Sequence[str],
               fields: Fields) -> tuple[str, int, int, int] | None:
        """Check each value in full, recording problems in `fields`; returns the UPN,
        the morning's slot, the session and the code of a good row.

        A row without a mark may be dated after today: schools' files carry the
        rest of the current week unmarked.
        """
        raw_upn, raw_date, raw_session, raw_code = values
        code = self._code(raw_code)
        check = fields.row(line)
        upn = check.upn("upn", raw_upn)
        if code == UNMARKED:
            day = check.any_date("date", raw_date)
        else:
            day = check.past_date("date", raw_date)
        session = check.choice("session", raw_session, SESSIONS, NOT_SESSION, required=True)
        if code is None:
            check.fail("code", NOT_CODE)
            fields.problems.note(CODES_NOTE)
            if check.failed == {"code"} and session is not None and fields is self._fields:
                # Only the code is bad: the row still takes part in finding sessions
                # given twice, so that a repeat is reported in this same pass.
                self._pupil(upn).add(slot(day, 0) + SESSIONS.index(session), BAD_CODE, line)
        if not check.ok or session is None or code is None:
            return None
        return upn, slot(day, 0), SESSIONS.index(session), code

    def _remember(self, keys: Sequence[str], upn: str, day: int, session: int,
                  code: int) -> None:
        """A good row's texts (`keys`, as the file has them) and what they mean."""
        key_upn, key_date, key_session, key_code = keys
        self._upns[key_upn] = upn
        self._days[key_date] = day
        self._sessions[key_session] = session
        self._codes[key_code] = code

    @staticmethod
    def _code(raw: str) -> int | None:
        try:
            code = normalise_code(raw)
        except UnknownCode:
            return None
        return UNMARKED if code is None else CODE_NUMBER[code]

    def _pupil(self, upn: str) -> PupilMarks:
        marks = self.by_pupil.get(upn)
        if marks is None:
            marks = self.by_pupil[upn] = PupilMarks(upn)
        return marks

    # --- a block at a time -------------------------------------------------------------

    def add_block(self, block: Columns) -> None:
        """A block of plain rows; row by row only if it holds a row that is not good
        (or is blank), so that problems are recorded in line order."""
        found = self._by_line(block) if self._keyed_by_line(block) else None
        if found is None:
            found = self._by_column(block)
        if found is None:
            for index in range(len(block)):
                values = block.row(index)
                if values is not None:
                    self.add(block.first_line + index, values)
            return
        runs, marks = found
        start, line = 0, block.first_line
        for upn, count in runs:
            end = start + count
            self._pupil(upn).extend(marks[start:end], line + start)
            start = end

    def _keyed_by_line(self, block: Columns) -> bool:
        return (block.width == len(COLUMNS) and block.positions[0] == 0
                and len(self._tails) < _MAX_TAILS
                and min(map(len, block.lines)) > UPN_LENGTH
                and list(map(itemgetter(UPN_LENGTH), block.lines)).count(",") == len(block))

    def _by_line(self, block: Columns) -> tuple[list[tuple[str, int]], list[int]] | None:
        """Each row's UPN (by runs of rows) and mark, looking up the first 13 characters
        of the line and the rest after its comma; None when a row is not good."""
        lines = block.lines
        upn_texts = list(map(itemgetter(slice(UPN_LENGTH)), lines))
        tails = list(map(itemgetter(slice(UPN_LENGTH + 1, None)), lines))
        runs = [(raw, len(list(rows))) for raw, rows in groupby(upn_texts)]
        upns = list(map(self._upns.get, [raw for raw, _ in runs]))
        marks = list(map(self._tails.get, tails))
        unknown_marks = None in marks
        if unknown_marks or None in upns:
            unknown = set(_run_starts(runs, upns))
            if unknown_marks:
                unknown.update(index for index, mark in enumerate(marks) if mark is None)
            for index in sorted(unknown):
                if upn_texts[index] in self._upns and tails[index] in self._tails:
                    continue  # learnt from an earlier row of this block
                self._learn_line(block, index, upn_texts[index], tails[index])
            upns = list(map(self._upns.get, [raw for raw, _ in runs]))
            if unknown_marks:
                marks = list(map(self._tails.get, tails))
            if None in upns or None in marks:
                return None
        return list(zip(upns, (count for _, count in runs), strict=True)), marks  # type: ignore[arg-type]

    def _learn_line(self, block: Columns, index: int, upn_text: str, tail: str) -> None:
        if "," in upn_text:
            return  # the UPN is not the first 13 characters: read by column
        values = block.row(index)
        if values is None:
            return
        checked = self._check(block.first_line + index, values, self._learning)
        if checked is not None:
            upn, day, session, code = checked
            self._upns[upn_text] = upn
            self._tails[tail] = mark(day + session, code)

    def _by_column(self, block: Columns) -> tuple[list[tuple[str, int]], list[int]] | None:
        """Each row's UPN (by runs of rows) and mark, looking up each column's raw
        texts; None when a row is not good."""
        raw_upns, *others = block.values
        caches = (self._days, self._sessions, self._codes)
        runs = [(raw, len(list(rows))) for raw, rows in groupby(raw_upns)]
        upns = list(map(self._upns.get, [raw for raw, _ in runs]))
        found = [list(map(cache.get, column)) for cache, column in zip(caches, others, strict=True)]
        if None in upns or any(None in values for values in found):
            unknown = set(_run_starts(runs, upns))
            for values in found:
                if None in values:
                    unknown.update(index for index, value in enumerate(values) if value is None)
            for index in sorted(unknown):
                self._learn_row(block, index)
            upns = list(map(self._upns.get, [raw for raw, _ in runs]))
            found = [list(map(cache.get, column)) if None in values else values
                     for cache, column, values in zip(caches, others, found, strict=True)]
            if None in upns or any(None in values for values in found):
                return None
        days, sessions, codes = found
        if max(days) > self._last_slot and any(  # type: ignore[type-var]
            day > self._last_slot and code != UNMARKED  # type: ignore[operator]
            for day, code in zip(days, codes, strict=True)
        ):
            return None  # a mark after today (a date is known good for a row without one)
        slots = list(map(add, days, sessions))  # type: ignore[arg-type]
        marks = list(map(add, map(lshift, slots, repeat(CODE_BITS)), codes))  # type: ignore[arg-type]
        return list(zip(upns, (count for _, count in runs), strict=True)), marks  # type: ignore[arg-type]

    def _learn_row(self, block: Columns, index: int) -> None:
        keys = tuple(column[index] for column in block.values)
        if all(key in cache for key, cache in zip(
                keys, (self._upns, self._days, self._sessions, self._codes), strict=True)):
            return  # learnt from an earlier row of this block
        values = block.row(index)
        if values is None:
            return
        checked = self._check(block.first_line + index, values, self._learning)
        if checked is not None:
            self._remember(keys, *checked)

    def report_repeats(self, problems: Problems) -> None:
        for marks in self.by_pupil.values():
            for line, first, bad in marks.repeats():
                problems.add(line, "session", REPEATED.format(first=first), counted=bad)


def _run_starts(runs: list[tuple[str, int]], upns: list[str | None]) -> Iterator[int]:
    """The first row of each run whose UPN text is not known."""
    start = 0
    for (_, count), upn in zip(runs, upns, strict=True):
        if upn is None:
            yield start
        start += count


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
        for block in reader.blocks():
            if isinstance(block, Columns):
                reader_of_marks.add_block(block)
            else:
                for line, values in block.rows:
                    reader_of_marks.add(line, values)
    by_pupil = reader_of_marks.by_pupil
    reader_of_marks.report_repeats(problems)
    problems.raise_if_any()
    return ParsedFile(
        "attendance",
        AttendanceMarks(by_pupil),
        reader.present,
        reader.sha256,
        reader.rows_read,
        no_mark=sum(marks.unmarked for marks in by_pupil.values()),
    )
