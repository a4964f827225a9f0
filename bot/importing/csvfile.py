"""The one CSV reader behind every `ewobot import …`.

UTF-8 (a byte-order mark accepted), a header row, columns in any order matched
case-insensitively, unknown columns ignored, values trimmed, physical line numbers.
The file is streamed once: its SHA-256 and the progress figure come from the same
read. Nothing here ever repeats a value from the file in a message, because import
files hold children's personal data and messages end up in terminals and logs.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import TextIO

from bot.importing.progress import Progress

MAX_REPORTED = 20

ENCODING_REASON = "the file is not UTF-8 text: save as CSV UTF-8 and import it again"
NUL_REASON = "the file holds NUL bytes, so it is not plain CSV text: save as CSV UTF-8"

_READ_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One bad value (or a whole bad row when `column` is empty), by physical line."""

    line: int
    column: str
    problem: str

    def __str__(self) -> str:
        if self.column:
            return f"line {self.line}, column {self.column}: {self.problem}"
        return f"line {self.line}: {self.problem}"


class ImportRejected(Exception):
    """The whole file is refused: `reason` is one line, `problems` the first bad rows
    (at most MAX_REPORTED, in line order) and `more` how many others there were."""

    def __init__(self, reason: str, problems: Sequence[RowProblem] = (), *, more: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems: list[RowProblem] = list(problems)
        self.more = more

    def report_lines(self) -> list[str]:
        """What stderr shows: the reason, one line per bad row, then the rest counted."""
        lines = [self.reason, *(str(problem) for problem in self.problems)]
        if self.more:
            lines.append(f"… and {_count(self.more, 'more bad row')}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.report_lines())


class Problems:
    """The bad rows of a file: every one counted, the MAX_REPORTED earliest kept.

    A bad row is reported once, by its first bad column, naming any other bad
    columns of the same row, as the contract asks for one line per bad row.
    """

    def __init__(self) -> None:
        self.bad_rows = 0
        self._row: RowProblem | None = None  # the row being recorded
        self._also: list[str] = []  # its other bad columns
        # A max-heap (negated line) of the earliest rows.
        self._kept: list[tuple[int, RowProblem]] = []

    def add(self, line: int, column: str, problem: str) -> None:
        """Record one problem; `problem` must describe, never quote, the value.

        The problems of one row are added one after another.
        """
        row = self._row
        if row is not None and row.line == line:
            if column not in (row.column, *self._also):
                self._also.append(column)
            return
        self._finish_row()
        self.bad_rows += 1
        self._row = RowProblem(line, column, problem)

    def _finish_row(self) -> None:
        row = self._row
        if row is None:
            return
        if self._also:
            also = ", ".join(self._also)
            verb = "is" if len(self._also) == 1 else "are"
            noun = "column" if len(self._also) == 1 else "columns"
            row = RowProblem(row.line, row.column, f"{row.problem}; {noun} {also} {verb} bad too")
        entry = (-row.line, row)
        if len(self._kept) < MAX_REPORTED:
            heapq.heappush(self._kept, entry)
        elif entry[0] > self._kept[0][0]:
            heapq.heapreplace(self._kept, entry)
        self._row, self._also = None, []

    def raise_if_any(self) -> None:
        """Refuse the file if any row was bad."""
        self._finish_row()
        if not self.bad_rows:
            return
        kept = [problem for _, problem in sorted(self._kept, key=lambda entry: -entry[0])]
        reason = f"{_count(self.bad_rows, 'bad row')} in the file; nothing was imported"
        raise ImportRejected(reason, kept, more=self.bad_rows - len(kept))


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


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
        reader = csv.reader(self._text, strict=True)
        line_after = 1  # where the record being read starts
        failure: str | None = None
        try:
            pick, width = self._header(next(reader, None))
            line_after = reader.line_num + 1
            for row in reader:
                line, line_after = line_after, reader.line_num + 1
                if not any(row):
                    continue  # a blank line
                if len(row) != width:
                    self._ragged(line, row, width)
                    continue
                row.append("")  # what an absent optional column reads as
                values = tuple(map(str.strip, pick(row)))
                if not any(values) and _blank(row):
                    continue
                self.rows_read += 1
                yield line, values
        except _FileError as exc:
            failure = str(exc)
        except csv.Error as exc:
            failure = _csv_fault(str(exc), line_after)
        except UnicodeDecodeError:
            failure = ENCODING_REASON
        if failure is not None:
            # Raised here, outside the handlers, so that no exception holding bytes of
            # the file is chained to it.
            raise ImportRejected(failure)

    def _header(
        self, header: list[str] | None
    ) -> tuple[Callable[[list[str]], tuple[str, ...]], int]:
        if header is None:
            raise _FileError("the file is empty")
        if not header:
            raise _FileError("line 1 is blank: the first line must be the header row")
        return self._picker(header), len(header)

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
            noun = "column" if len(missing) == 1 else "columns"
            raise _FileError(f"the header has no {noun} {', '.join(missing)}")
        self.present = frozenset(positions)
        indices = [positions.get(name, -1) for name in self._columns]
        if len(indices) == 1:
            (index,) = indices
            return lambda row: (row[index],)
        return itemgetter(*indices)  # type: ignore[return-value]


def _blank(row: list[str]) -> bool:
    """Spreadsheets leave rows of empty cells (`,,,`) below the data."""
    return not any(map(str.strip, row))


def _csv_fault(message: str, line: int) -> str:
    """csv.Error in words; its own text is not shown, in case it ever quotes the file."""
    if "larger than field limit" in message:
        return f"line {line}: a value is too long (is a quote not closed?)"
    return f"line {line} is not valid CSV: a quote is misplaced or not closed"
