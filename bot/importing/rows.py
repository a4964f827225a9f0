"""What every kind of import file shares: value checks, repeated keys, the parsed file.

Every check records a problem that describes the value without repeating it, and
returns a placeholder, so a row function checks every column and builds its row;
the row is kept only if nothing was wrong, yet its good key still finds repeats and
its good UPN and officer reference are still checked against the database, so that
every problem of a file is reported at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Generic, TextIO, TypeVar

from bot.domain.dates import parse_import_date
from bot.domain.upn import is_valid_upn, normalise_upn
from bot.domain.visits import code_for_label
from bot.importing.csvfile import CsvReader, Problems

RowT = TypeVar("RowT")

LINE_MAX = 200  # names, references, phone numbers: one line each
TEXT_MAX = 1000  # addresses, health needs
NOTES_MAX = 4096  # visit notes, as in /visit

EMPTY = "is empty"
NOT_UPN = "is not a valid UPN (13 characters with a matching check letter)"
NOT_DATE = "is not a date (use YYYY-MM-DD or DD/MM/YYYY)"
AFTER_TODAY = "is after today"
NOT_ONE_LINE = "must be on one line, without control characters"

# A placeholder returned with a problem; the row is dropped, so it is never stored.
NO_DATE = date.min

# Invisible, yet part of how names are written: the zero-width non-joiner inside
# Persian and other words, the zero-width joiner inside emoji. Other format characters
# (bidirectional overrides above all, which can disguise text) stay refused.
_JOINERS = frozenset("\u200c\u200d")


def _shown(character: str) -> bool:
    """Whether a character is text as people read it (not a control character)."""
    return character.isprintable() or character in _JOINERS


def is_one_line(raw: str) -> bool:
    """Whether `raw` is text on one line, with no control or format characters (bar the
    joiners): what a name or reference may hold, wherever it is typed."""
    return raw.isprintable() or all(map(_shown, raw))  # the quick test first


def shown_safely(text: str) -> str:
    """`text` with every control or format character as `?`: a value stored before it
    was checked never reaches a terminal as an escape sequence."""
    return text if is_one_line(text) else "".join(ch if _shown(ch) else "?" for ch in text)


@dataclass(frozen=True)
class ParsedFile(Generic[RowT]):
    """A whole import file, every row valid.

    `columns` are the known columns its header named (an optional column the header
    does not name leaves stored values alone); `rows_read` counts non-blank rows;
    `no_mark` counts attendance rows without a mark (`-` or blank), which are skipped.

    Read with `finish=False`, a file may have bad rows still to report: `problems`
    holds them, and `bad` the reported bad rows, each with its bad columns, so that
    the checks against the database can add their findings on the same lines.
    """

    kind: str
    rows: Collection[RowT]
    columns: frozenset[str]
    sha256: str
    rows_read: int
    no_mark: int = 0
    problems: Problems | None = None
    bad: tuple[tuple[RowT, frozenset[str]], ...] = ()

    def raise_if_any(self) -> None:
        """Refuse the file if it has bad rows not yet raised."""
        if self.problems is not None:
            self.problems.raise_if_any()


class Fields:
    """Value checks for one file, recording problems in `problems`.

    UPNs and dates repeat across rows, so each distinct raw text is checked once.
    """

    def __init__(self, problems: Problems, today: date) -> None:
        self.problems = problems
        self.today = today
        self._upns: dict[str, str] = {}
        self._dates: dict[str, date] = {}

    def row(self, line: int) -> RowCheck:
        """Checks for the values of one row."""
        return RowCheck(self, line)

    def upn(self, raw: str) -> str | None:
        """The normalised UPN, or None when `raw` is not a valid one."""
        # Only good texts are remembered, so a file of junk cannot grow the memory.
        upn = self._upns.get(raw)
        if upn is None:
            upn = normalise_upn(raw)
            if not is_valid_upn(upn):
                return None
            self._upns[raw] = upn
        return upn

    def past_date(self, raw: str) -> date | str:
        """The date, or the problem with it (not a date, or after today)."""
        checked = self._dates.get(raw)
        if checked is None:
            try:
                checked = parse_import_date(raw)
            except ValueError:
                return NOT_DATE
            if checked > self.today:
                return AFTER_TODAY
            self._dates[raw] = checked
        return checked


class RowCheck:
    """The checks of one row; `ok` stays true until a value fails."""

    def __init__(self, fields: Fields, line: int) -> None:
        self._fields = fields
        self._problems = fields.problems
        self.line = line
        self.failed: set[str] = set()  # the columns whose values were bad

    @property
    def ok(self) -> bool:
        return not self.failed

    def fail(self, column: str, problem: str) -> None:
        """Record a problem with this row's value in `column`."""
        self.failed.add(column)
        self._problems.add(self.line, column, problem)

    def upn(self, column: str, raw: str) -> str:
        if not raw:
            self.fail(column, EMPTY)
            return ""
        upn = self._fields.upn(raw)
        if upn is None:
            self.fail(column, NOT_UPN)
            return ""
        return upn

    def line_text(self, column: str, raw: str, *, max_length: int = LINE_MAX) -> str:
        """A required one-line value."""
        if not raw:
            self.fail(column, EMPTY)
            return ""
        return self.optional_line_text(column, raw, max_length=max_length) or ""

    def optional_line_text(
        self, column: str, raw: str, *, max_length: int = LINE_MAX
    ) -> str | None:
        """A one-line value, or None when blank."""
        if not raw:
            return None
        if not is_one_line(raw):
            self.fail(column, NOT_ONE_LINE)
            return None
        return self._within(column, raw, max_length)

    def optional_text(self, column: str, raw: str, *, max_length: int = TEXT_MAX) -> str | None:
        """A value that may run over several lines (addresses, notes), or None."""
        if not raw:
            return None
        if any(not _shown(ch) and ch not in "\r\n\t" for ch in raw):
            self.fail(column, "holds control characters")
            return None
        return self._within(column, raw, max_length)

    def _within(self, column: str, raw: str, max_length: int) -> str | None:
        if len(raw) > max_length:
            self.fail(column, f"is longer than {max_length:,} characters")
            return None
        return raw

    def past_date(self, column: str, raw: str) -> date:
        """A required date, not after today."""
        if not raw:
            self.fail(column, EMPTY)
            return NO_DATE
        return self.optional_past_date(column, raw) or NO_DATE

    def optional_past_date(self, column: str, raw: str) -> date | None:
        if not raw:
            return None
        checked = self._fields.past_date(raw)
        if isinstance(checked, str):
            self.fail(column, checked)
            return None
        return checked

    def any_date(self, column: str, raw: str) -> date:
        """A required date, which may be after today."""
        if not raw:
            self.fail(column, EMPTY)
            return NO_DATE
        return self.optional_date(column, raw) or NO_DATE

    def optional_date(self, column: str, raw: str) -> date | None:
        """A date that may be in the future (a follow-up), or None when blank."""
        if not raw:
            return None
        try:
            return parse_import_date(raw)
        except ValueError:
            self.fail(column, NOT_DATE)
            return None

    def choice(
        self, column: str, raw: str, allowed: Collection[str], hint: str, *, required: bool = False
    ) -> str | None:
        """One of `allowed` (compared upper-cased), or None when blank."""
        if not raw:
            if required:
                self.fail(column, EMPTY)
            return None
        value = raw.upper()
        if value not in allowed:
            self.fail(column, hint)
            return None
        return value

    def label(
        self, column: str, raw: str, vocabulary: tuple[tuple[str, str], ...], what: str
    ) -> str | None:
        """The code of a visit label (matched ignoring case), or None when blank."""
        if not raw:
            return None
        code = code_for_label(vocabulary, raw)
        if code is None:
            labels = ", ".join(label for _, label in vocabulary)
            self.fail(column, f"is not {what} ({labels})")
        return code

    def whole_number(self, column: str, raw: str, low: int, high: int) -> int | None:
        """A whole number from `low` to `high`, or None when blank."""
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit() and low <= int(raw) <= high):
            self.fail(column, f"must be a whole number from {low} to {high}")
            return None
        return int(raw)


class KeyLines:
    """The line on which each key of a file was first seen, to refuse repeats."""

    def __init__(self, problems: Problems, column: str, what: str) -> None:
        self._first: dict[Hashable, int] = {}
        self._problems = problems
        self._column = column
        self._what = what

    def is_new(self, key: Hashable, line: int) -> bool:
        """True the first time; a problem (naming the earlier line) after that."""
        first = self._first.setdefault(key, line)
        if first == line:
            return True
        self._problems.add(line, self._column, f"{self._what} as line {first}")
        return False


@dataclass(frozen=True)
class FileKind(Generic[RowT]):
    """How to read one kind of import file.

    `build` checks every value of one row (in `columns` order) and returns the row,
    with placeholders where a value was bad (`RowCheck.failed`); `key` gives what may
    appear only once in a file, made of the `key_columns`: a bad row whose key columns
    are good still takes part, so a repeat is found in the same pass as bad values.
    """

    name: str
    columns: tuple[str, ...]
    required: frozenset[str]
    build: Callable[[RowCheck, tuple[str, ...]], RowT]
    key: Callable[[RowT], Hashable]
    key_columns: frozenset[str]
    key_column: str
    key_text: str  # "the same … as line N"


def parse_file(
    kind: FileKind[RowT],
    path: Path,
    *,
    today: date,
    progress: TextIO | None = None,
    finish: bool = True,
) -> ParsedFile[RowT]:
    """Read and check a whole file; ImportRejected with every problem found.

    `progress` is where the percentage goes (stderr by default), shown only on a
    terminal. With `finish=False`, bad rows are not raised but handed on in the
    ParsedFile, for the checks against the database to add to.
    """
    problems = Problems()
    fields = Fields(problems, today)
    keys = KeyLines(problems, kind.key_column, kind.key_text)
    rows: list[RowT] = []
    bad: dict[int, tuple[RowT, frozenset[str]]] = {}
    with CsvReader(
        path, kind.columns, required=kind.required, problems=problems, progress=progress
    ) as reader:
        for line, values in reader:
            check = fields.row(line)
            row = kind.build(check, values)
            new = kind.key_columns.isdisjoint(check.failed) and keys.is_new(kind.key(row), line)
            if check.ok and new:
                rows.append(row)
            elif not check.ok and problems.is_kept(line):
                bad[line] = (row, frozenset(check.failed))
    if finish:
        problems.raise_if_any()
    reported = tuple(found for line, found in sorted(bad.items()) if problems.is_kept(line))
    return ParsedFile(kind.name, rows, reader.present, reader.sha256, reader.rows_read,
                      problems=problems, bad=reported)
