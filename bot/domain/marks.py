"""Marks held compactly: a whole-school attendance file holds millions of them.

A mark's date and session are one number, its *slot* (later sessions have larger
slots), and its code is one byte, its position in CODE_TABLE. The import keeps a
file's marks this way from reading to writing, so that no object is made per mark.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import compress, repeat
from operator import and_, rshift

from bot.domain.attendance import CODES, SESSIONS

CODE_TABLE: tuple[str, ...] = tuple(CODES)
CODE_NUMBER: dict[str, int] = {code: number for number, code in enumerate(CODE_TABLE)}
# A row without a mark (`-` or blank): kept by the reader only so that a repeated
# date and session is noticed whatever the rows say; never stored.
UNMARKED = 255
CODE_BITS = 8
CODE_MASK = (1 << CODE_BITS) - 1
# A mark shifted right this far is its date's ordinal (date.toordinal): see `slot`.
DAY_SHIFT = CODE_BITS + 1


def slot(day: date, session: int) -> int:
    """A date and session (0 for AM, 1 for PM) as one number."""
    return day.toordinal() * 2 + session


@lru_cache(maxsize=4096)
def slot_day(number: int) -> date:
    """The date of a slot; one object per date, as a file repeats its dates."""
    return date.fromordinal(number >> 1)


def slot_session(number: int) -> str:
    return SESSIONS[number & 1]


def mark(number: int, code: int) -> int:
    """A mark as one number: its slot, then its code's position in the low byte."""
    return number << CODE_BITS | code


@lru_cache(maxsize=16384)
def mark_tuple(value: int) -> tuple[date, str, str]:
    """A mark as (date, session, code); one tuple per distinct mark, as files repeat them."""
    number = value >> CODE_BITS
    return slot_day(number), slot_session(number), CODE_TABLE[value & CODE_MASK]


@dataclass(frozen=True, slots=True)
class CompactMarks:
    """One pupil's marks, each `mark(slot, code)`, at most one per slot; `codes` are
    their codes' positions in CODE_TABLE, in the same order."""

    marks: array[int]  # typecode "I"
    codes: bytes

    @classmethod
    def of(cls, marks: Iterable[tuple[date, str, str]]) -> CompactMarks:
        """From (date, session, code) marks, codes as stored (e.g. from normalise_code)."""
        return cls.marked(array("I", (mark(slot(day, SESSIONS.index(session)),
                                           CODE_NUMBER[code])
                                      for day, session, code in marks)))

    @classmethod
    def marked(cls, rows: array[int], codes: bytes | None = None) -> CompactMarks:
        """The marks among rows, some of which may be UNMARKED (`codes`: the rows'
        codes, when already worked out)."""
        if codes is None:
            codes = bytes(map(and_, rows, repeat(CODE_MASK)))
        if UNMARKED not in codes:
            return cls(rows, codes)
        keep = [code != UNMARKED for code in codes]
        return cls(array("I", compress(rows, keep)), bytes(compress(codes, keep)))

    def __len__(self) -> int:
        return len(self.marks)

    @classmethod
    def by_slot(cls, codes: Mapping[int, int]) -> CompactMarks:
        """From each slot's code position, in slot order."""
        ordered = sorted(codes)
        return cls(array("I", (mark(number, codes[number]) for number in ordered)),
                   bytes(codes[number] for number in ordered))

    def in_order(self) -> CompactMarks:
        """The same marks in slot order (a file may list them in any order)."""
        ordered = array("I", sorted(self.marks))
        return self if ordered == self.marks else CompactMarks.marked(ordered)

    def slots(self) -> list[int]:
        return list(map(rshift, self.marks, repeat(CODE_BITS)))

    def __iter__(self) -> Iterator[tuple[date, str, str]]:
        """(date, session, code) of each mark, in the order held."""
        return map(mark_tuple, self.marks)


@dataclass(frozen=True, slots=True)
class MarkWindow:
    """Every mark one pupil holds from `first` to `last` (dates, inclusive), in slot
    order: what an attendance import knows of a pupil once it has written the file."""

    first: date
    last: date
    marks: CompactMarks

    def index(self, day: date) -> int:
        """The position of the first mark on or after `day`."""
        return bisect_left(self.marks.marks, mark(slot(day, 0), 0))
