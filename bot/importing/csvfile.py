"""The one CSV reader behind every `ewobot import …`.

UTF-8 (a byte-order mark accepted), a header row, columns in any order matched
case-insensitively, unknown columns ignored, values trimmed, physical line numbers.
The file is streamed once: its SHA-256 and the progress figure come from the same
read. Nothing here ever repeats a value from the file in a message, because import
files hold children's personal data and messages end up in terminals and logs.

A file of millions of rows (a whole-school attendance file) is read with `blocks()`:
text without quotes is split by str methods a block at a time, column by column,
instead of by the csv module row by row; what it gives is what iterating gives.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import os
import stat
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import TextIO, TypeVar

from bot.importing.progress import Progress

MAX_REPORTED = 20

T = TypeVar("T")

ENCODING_REASON = "the file is not UTF-8 text: save as CSV UTF-8 and import it again"
NUL_REASON = "the file holds NUL bytes, so it is not plain CSV text: save as CSV UTF-8"

NO_FILE = "no such file: {path}"
FOLDER = "{path} is a folder, not a file: give the path of the CSV file in it"
NOT_REGULAR = "{path} is not a regular file: give the path of a CSV file"
EMPTY_FILE = "{path} is empty (0 bytes): export the data again"
UNREADABLE = "cannot read {path}: {reason}"
# The header is split on commas; a header that holds these instead names the mistake.
OTHER_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}
SEPARATOR_REASON = "the file uses {separator} — save as CSV UTF-8 (comma)"

_READ_CHUNK = 1 << 16
_BLOCK_CHARS = 1 << 20  # text split at a time by blocks()
_BLOCK_ROWS = 4096  # rows per Rows block


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong with one row, by physical line: its bad columns in the order
    they were found, each with its reason (`column` empty for the whole row)."""

    line: int
    column: str
    problem: str
    others: tuple[tuple[str, str], ...] = ()  # further (column, problem) of the row

    def __str__(self) -> str:
        parts = [_part(column, problem) for column, problem in ((self.column, self.problem),
                                                                *self.others)]
        return f"line {self.line}{', ' if self.column else ': '}{'; '.join(parts)}"


def _part(column: str, problem: str) -> str:
    return f"column {column}: {problem}" if column else problem


class ImportRejected(Exception):
    """The whole file is refused: `reason` is one line, `problems` the first bad rows
    (at most MAX_REPORTED, in line order), `more` how many others there were and
    `notes` lines that explain the problems once (the accepted codes, say)."""

    def __init__(
        self,
        reason: str,
        problems: Sequence[RowProblem] = (),
        *,
        more: int = 0,
        notes: Sequence[str] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems: list[RowProblem] = list(problems)
        self.more = more
        self.notes: list[str] = list(notes)

    def report_lines(self) -> list[str]:
        """What stderr shows: the reason, one line per bad row, the rest counted, then
        the notes."""
        lines = [self.reason, *(str(problem) for problem in self.problems)]
        if self.more:
            lines.append(f"… and {_count(self.more, 'more bad row')}")
        return lines + self.notes

    def __str__(self) -> str:
        return "\n".join(self.report_lines())


class Problems:
    """The bad rows of a file: every one counted, the MAX_REPORTED earliest kept.

    A bad row is reported once, on one line that gives every bad column of the row
    with its own reason, as the contract asks for one line per bad row. The problems
    of one row are added one after another; a later pass (the checks against the
    database) may add to a row already counted with `counted=True`.
    """

    def __init__(self) -> None:
        self.bad_rows = 0
        self._current = 0  # the line of the row being recorded
        # The earliest rows' problems, and a max-heap (negated line) of their lines.
        self._kept: dict[int, list[tuple[str, str]]] = {}
        self._heap: list[int] = []
        self._notes: dict[str, None] = {}  # in the order first given, once each

    def add(self, line: int, column: str, problem: str, *, counted: bool = False) -> None:
        """Record one problem; `problem` must describe, never quote, the value.

        `counted`: the row is already counted as bad (by an earlier pass).
        """
        kept = self._kept.get(line)
        if kept is not None:
            if all(column != known for known, _ in kept):
                kept.append((column, problem))
            return
        if counted or line == self._current:
            return  # a row already counted, beyond those kept
        self.bad_rows += 1
        self._current = line
        if len(self._heap) < MAX_REPORTED:
            heapq.heappush(self._heap, -line)
        elif line < -self._heap[0]:
            del self._kept[-heapq.heapreplace(self._heap, -line)]
        else:
            return
        self._kept[line] = [(column, problem)]

    def note(self, text: str) -> None:
        """A line shown once after the bad rows, whatever number of rows need it."""
        self._notes.setdefault(text)

    def is_kept(self, line: int) -> bool:
        """Whether the row on `line` is among those reported in full."""
        return line in self._kept

    def raise_if_any(self) -> None:
        """Refuse the file if any row was bad."""
        if not self.bad_rows:
            return
        kept = [
            RowProblem(line, *found[0], others=tuple(found[1:]))
            for line, found in sorted(self._kept.items())
        ]
        reason = f"{_count(self.bad_rows, 'bad row')} in the file; nothing was imported"
        raise ImportRejected(
            reason, kept, more=self.bad_rows - len(kept), notes=list(self._notes)
        )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


@dataclass(frozen=True, slots=True)
class Rows:
    """A block of `(line, values)` rows, exactly as iterating the reader gives them."""

    rows: list[tuple[int, tuple[str, ...]]]


class Columns:
    """A block of plain rows on consecutive physical lines from `first_line`: `lines`
    are their texts, each with `width - 1` commas and no quote or line break.

    `values[k][i]` is the raw value (not trimmed) of the reader's k-th column on row i,
    "" for an optional column the header does not name; `positions[k]` is where that
    column is in a line (`width` when absent). A row whose raw values the caller cannot
    use as they are (they need trimming, or are wrong, or are all blank) is taken
    through `row(i)`.
    """

    __slots__ = ("_reader", "first_line", "lines", "width", "positions", "_values", "_blank")

    def __init__(self, reader: CsvReader, first_line: int, lines: list[str]) -> None:
        self._reader = reader
        self.first_line = first_line
        self.lines = lines
        self.width = reader.width
        self.positions = reader.positions
        self._values: tuple[list[str], ...] | None = None
        self._blank: set[int] = set()

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def values(self) -> tuple[list[str], ...]:
        """The raw values column by column (split on first use)."""
        if self._values is None:
            cells = "\n".join(self.lines).replace("\n", ",").split(",")
            width, count = self.width, len(self.lines)
            self._values = tuple(
                cells[position::width] if position < width else [""] * count
                for position in self.positions
            )
        return self._values

    def row(self, index: int) -> tuple[str, ...] | None:
        """Row `index` as iterating gives it (values trimmed), or None for a blank row
        (a spreadsheet's `,,,`), which is then not counted as read."""
        if index in self._blank:
            return None
        reader = self._reader
        reader.rows_read -= 1  # counted again by values_of unless blank
        values = reader.values_of(self.first_line + index, self.lines[index].split(","))
        if values is None:
            self._blank.add(index)
        return values


class _FileError(Exception):
    """A fault of the whole file, found while reading; it becomes ImportRejected."""


class _CountingReader(io.RawIOBase):
    """The raw file, hashed and measured as it is read; NUL bytes stop the read."""

    def __init__(self, raw: io.RawIOBase, on_read: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._on_read = on_read
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = self._raw.readinto(buffer)
        if size:
            chunk = memoryview(buffer)[:size].tobytes()
            if b"\0" in chunk:
                raise _FileError(NUL_REASON)
            self.sha256.update(chunk)
            self.bytes_read += size
            self._on_read(self.bytes_read)
        return size or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


class CsvReader:
    """An import file opened for reading; iterate it for `(line, values)`.

    `values` holds one trimmed string per name in `columns`, in that order, with ""
    for an optional column the header does not name. Blank rows are skipped. A row
    with the wrong number of values is recorded in `problems` and not yielded.
    Use as a context manager; after iterating, `sha256` is the digest of the file.
    """

    def __init__(
        self,
        path: Path,
        columns: Sequence[str],
        *,
        required: Collection[str],
        problems: Problems,
        progress: TextIO | None = None,
    ) -> None:
        self._columns = tuple(columns)
        self._required = frozenset(required)
        self._problems = problems
        self.present: frozenset[str] = frozenset()
        self.rows_read = 0
        self._line_after = 1  # where the record being read starts
        self._pick: Callable[[list[str]], tuple[str, ...]] = tuple
        self.width = 0  # values in the header
        self.positions: tuple[int, ...] = ()  # of `columns` in a row (width when absent)
        try:
            raw = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise ImportRejected(
                f"cannot read the file: {exc.strerror or 'unknown error'}"
            ) from None
        size = os.fstat(raw.fileno()).st_size
        self._progress = Progress(f"Reading {Path(path).name}", size, progress)
        self._counter = _CountingReader(raw, self._progress.advance_to)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter, _READ_CHUNK), encoding="utf-8-sig", newline=""
        )

    def __enter__(self) -> CsvReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._progress.finish()
        self._text.close()

    @property
    def sha256(self) -> str:
        return self._counter.sha256.hexdigest()

    def __iter__(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        return self._refusing(self._each_row())

    def blocks(self) -> Iterator[Columns | Rows]:
        """The rows in blocks, for files of millions of rows; the same rows, line numbers,
        problems and `rows_read` as iterating.

        Lines without quotes, each with the header's number of values, come as Columns,
        split by str methods; any other block as Rows, read by the csv module, and from
        the first quote on the rest of the file too (a quoted value may span lines).
        """
        return self._refusing(self._each_block())

    def _each_row(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        reader = csv.reader(self._text, strict=True)
        self._header(next(reader, None))
        yield from self._rows(reader, 0)

    def _each_block(self) -> Iterator[Columns | Rows]:
        texts = self._texts()
        first = next(texts, "")
        head = io.StringIO(first, newline="")
        header_reader = csv.reader(head, strict=True)
        self._header(next(header_reader, None))
        line = header_reader.line_num  # physical lines read so far
        texts = chain([first[head.tell():]], texts)
        for text in texts:
            if '"' in text:
                yield from self._csv_blocks(chain([text], texts), line)
                return
            block = self._split(text, line + 1)
            if block is not None:
                line += len(block)
                yield block
            else:
                line += yield from self._csv_blocks([text], line)

    def _refusing(self, items: Iterator[T]) -> Iterator[T]:
        """A fault of the whole file becomes ImportRejected, with nothing of it chained."""
        failure: str | None = None
        try:
            yield from items
        except _FileError as exc:
            failure = str(exc)
        except csv.Error as exc:
            failure = _csv_fault(str(exc), self._line_after)
        except UnicodeDecodeError:
            failure = ENCODING_REASON
        if failure is not None:
            # Raised here, outside the handlers, so that no exception holding bytes of
            # the file is chained to it.
            raise ImportRejected(failure)

    def _rows(
        self, reader: Iterator[list[str]], before: int
    ) -> Iterator[tuple[int, tuple[str, ...]]]:
        """(line, values) of each record of a csv reader whose text starts after
        physical line `before`."""
        line_num = reader.line_num  # type: ignore[attr-defined]
        self._line_after = before + line_num + 1  # where the record being read starts
        for row in reader:
            line = self._line_after
            self._line_after = before + reader.line_num + 1  # type: ignore[attr-defined]
            values = self.values_of(line, row)
            if values is not None:
                yield line, values

    def values_of(self, line: int, row: list[str]) -> tuple[str, ...] | None:
        """The trimmed values of one record, counted as read; None for a blank row, or
        for a row of the wrong width (recorded as a problem)."""
        if not any(row):
            return None  # a blank line
        if len(row) != self.width:
            self._ragged(line, row, self.width)
            return None
        row.append("")  # what an absent optional column reads as
        values = tuple(map(str.strip, self._pick(row)))
        if not any(values) and _blank(row):
            return None
        self.rows_read += 1
        return values

    def _texts(self) -> Iterator[str]:
        """The decoded file in pieces of whole lines (the last may lack its newline)."""
        pending: list[str] = []  # pieces since the last newline (one very long line)
        while piece := self._text.read(_BLOCK_CHARS):
            cut = piece.rfind("\n") + 1
            if not cut:
                pending.append(piece)
                continue
            yield "".join([*pending, piece[:cut]])
            pending = [piece[cut:]]
        if "".join(pending):
            yield "".join(pending)

    def _split(self, text: str, first_line: int) -> Columns | None:
        """Plain lines (no quote, every line of the header's width, line ends all
        `\n` or all `\r\n`) as Columns; None for any other text."""
        if "\r" in text:
            if text.count("\r") != text.count("\r\n"):
                return None  # a lone carriage return ends a line as the csv module reads
            text = text.replace("\r\n", "\n")
        lines = (text[:-1] if text.endswith("\n") else text).split("\n")
        if list(map(str.count, lines, repeat(","))).count(self.width - 1) != len(lines):
            return None  # blank lines or rows of another width: as the csv module reads
        if max(map(len, lines)) > csv.field_size_limit():
            return None  # the csv module refuses a value this long
        self.rows_read += len(lines)
        return Columns(self, first_line, lines)

    def _csv_blocks(self, texts: Iterable[str], before: int) -> Iterator[Rows]:
        """The records of `texts` (starting after physical line `before`) as Rows
        blocks, read by the csv module; returns the number of physical lines read."""
        lines = chain.from_iterable(io.StringIO(text, newline="") for text in texts)
        reader = csv.reader(lines, strict=True)
        rows: list[tuple[int, tuple[str, ...]]] = []
        for row in self._rows(reader, before):
            rows.append(row)
            if len(rows) == _BLOCK_ROWS:
                yield Rows(rows)
                rows = []
        if rows:
            yield Rows(rows)
        return reader.line_num  # type: ignore[no-any-return]

    def _header(self, header: list[str] | None) -> None:
        if header is None:
            raise _FileError("the file is empty")
        if not header:
            raise _FileError("line 1 is blank: the first line must be the header row")
        self._pick = self._picker(header)
        self.width = len(header)

    def _ragged(self, line: int, row: list[str], width: int) -> None:
        if not _blank(row):
            self.rows_read += 1
            self._problems.add(
                line, "", f"has {_count(len(row), 'value')} where the header has {width}"
            )

    def _picker(self, header: list[str]) -> Callable[[list[str]], tuple[str, ...]]:
        """Map the header onto `columns`; refuse missing or repeated known columns."""
        positions: dict[str, int] = {}
        for position, name in enumerate(header):
            name = name.strip().casefold()
            if name not in self._columns:
                continue  # unknown columns are ignored
            if name in positions:
                raise _FileError(f"the header names the column {name} twice")
            positions[name] = position
        missing = [
            name for name in self._columns if name in self._required and name not in positions
        ]
        if missing:
            separator = _other_separator(header, self._columns)
            if separator is not None:
                raise _FileError(SEPARATOR_REASON.format(separator=separator))
            noun = "column" if len(missing) == 1 else "columns"
            raise _FileError(f"the header has no {noun} {', '.join(missing)}")
        self.present = frozenset(positions)
        # An absent column reads the "" appended after the row's values.
        indices = [positions.get(name, len(header)) for name in self._columns]
        self.positions = tuple(indices)
        if len(indices) == 1:
            (index,) = indices
            return lambda row: (row[index],)
        return itemgetter(*indices)  # type: ignore[return-value]


def file_problem(path: Path, shown: str) -> str | None:
    """What stops `path` being read as an import file, in one line naming it as
    `shown` (as the person typed it); None when it is a readable, non-empty file.

    Checked before anything else, so that a mistyped name creates no database.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return NO_FILE.format(path=shown)
    except OSError as exc:
        return UNREADABLE.format(path=shown, reason=_reason(exc))
    if stat.S_ISDIR(info.st_mode):
        return FOLDER.format(path=shown)
    if not stat.S_ISREG(info.st_mode):
        return NOT_REGULAR.format(path=shown)
    if info.st_size == 0:
        return EMPTY_FILE.format(path=shown)
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return UNREADABLE.format(path=shown, reason=_reason(exc))
    return None


def _reason(exc: OSError) -> str:
    return (exc.strerror or "unknown error").lower()


def _blank(row: list[str]) -> bool:
    """Spreadsheets leave rows of empty cells (`,,,`) below the data."""
    return not any(map(str.strip, row))


def _other_separator(header: list[str], columns: Sequence[str]) -> str | None:
    """How the values are separated when the header names known columns between
    semicolons or tabs (a spreadsheet saved in a European locale, or as text)."""
    text = ",".join(header)
    for separator, name in OTHER_SEPARATORS.items():
        names = {part.strip().casefold() for part in text.split(separator)}
        if separator in text and not names.isdisjoint(columns):
            return name
    return None


def _csv_fault(message: str, line: int) -> str:
    """csv.Error in words; its own text is not shown, in case it ever quotes the file."""
    if "larger than field limit" in message:
        return f"line {line}: a value is too long (is a quote not closed?)"
    return f"line {line} is not valid CSV: a quote is misplaced or not closed"
