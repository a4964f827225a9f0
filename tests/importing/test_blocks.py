"""Reading in blocks gives exactly what reading row by row gives: rows, line numbers,
problems, counts and refusals, whatever the text (quotes, line ends, blank and ragged
rows, columns in any order)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.importing import attendance, csvfile
from bot.importing.attendance import COLUMNS, _MarkReader, parse_attendance
from bot.importing.csvfile import Columns, CsvReader, ImportRejected, Problems
from bot.importing.rows import Fields
from tests.importing.conftest import TODAY, UPN_1, UPN_2, WriteFile, problem_lines

EXAMPLES = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few lines, so that every example is read as many blocks."""
    monkeypatch.setattr(csvfile, "_BLOCK_CHARS", 48)


# --- the CSV reader --------------------------------------------------------------------

CELLS = ["a", " b ", "", "é", "x y", "1", '"q"', '"a,b"', '"two\nlines"', '"say ""hi"""']
LINE_ENDS = ["\n", "\r\n", "\r"]


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(st.permutations(["upn", "date", "note", "extra"]))[: draw(st.integers(2, 4))]
    width = len(header)
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 12))):
        shape = draw(st.sampled_from(["row", "row", "row", "blank", "commas", "ragged"]))
        if shape == "blank":
            lines.append("")
        elif shape == "commas":
            lines.append(" ," * (width - 1))
        else:
            count = width + (draw(st.sampled_from([-1, 1])) if shape == "ragged" else 0)
            lines.append(",".join(draw(st.sampled_from(CELLS)) for _ in range(max(count, 1))))
    end = draw(st.sampled_from(LINE_ENDS))
    return end.join(lines) + draw(st.sampled_from(["", end]))


def by_rows(path: Path) -> tuple[Any, ...]:
    problems = Problems()
    try:
        with CsvReader(path, ("upn", "date", "note"), required={"upn"},
                       problems=problems) as reader:
            rows = list(reader)
    except ImportRejected as rejected:
        return ("refused", rejected.reason)
    return rows, reader.rows_read, _problems(problems)


def by_blocks(path: Path) -> tuple[Any, ...]:
    problems = Problems()
    try:
        with CsvReader(path, ("upn", "date", "note"), required={"upn"},
                       problems=problems) as reader:
            rows = list(_rows_of_blocks(reader))
    except ImportRejected as rejected:
        return ("refused", rejected.reason)
    return rows, reader.rows_read, _problems(problems)


def _rows_of_blocks(reader: CsvReader) -> Iterator[tuple[int, tuple[str, ...]]]:
    for block in reader.blocks():
        if isinstance(block, Columns):
            for index in range(len(block)):
                values = block.row(index)
                if values is not None:
                    assert values == tuple(column[index].strip() for column in block.values)
                    yield block.first_line + index, values
        else:
            yield from block.rows


def _problems(problems: Problems) -> list[str]:
    try:
        problems.raise_if_any()
    except ImportRejected as rejected:
        return rejected.report_lines()
    return []


@EXAMPLES
@given(text=csv_texts())
def test_blocks_give_what_rows_give(write_file: WriteFile, text: str) -> None:
    path = write_file(text)
    assert by_blocks(path) == by_rows(path)


def test_a_line_longer_than_many_blocks(write_file: WriteFile) -> None:
    path = write_file("upn,note\nA1," + "x" * 500 + "\nA2,y\nA3," + "z" * 300)
    assert by_blocks(path) == by_rows(path)
    rows, rows_read, problems = by_blocks(path)
    assert [(line, values[0]) for line, values in rows] == [(2, "A1"), (3, "A2"), (4, "A3")]
    assert (rows_read, problems) == (3, [])


def test_plain_lines_come_as_columns_and_a_quote_sends_the_rest_to_the_csv_module(
    write_file: WriteFile,
) -> None:
    path = write_file("upn,date\n" + "a,1\n" * 30 + '"b",2\n' + "c,3\n" * 30)
    with CsvReader(path, ("upn", "date"), required={"upn"}, problems=Problems()) as reader:
        kinds = [type(block).__name__ for block in reader.blocks()]
    assert kinds[0] == "Columns" and kinds[-1] == "Rows"
    assert "Columns" not in kinds[kinds.index("Rows"):]


# --- the attendance file -----------------------------------------------------------------

UPNS = [UPN_1, UPN_2, UPN_1.lower(), f" {UPN_2}", "H80120000100Z", ""]
DATES = ["2025-03-10", "11/03/2025", "2025-03-17", "2025-02-30", " 2025-03-12"]  # 17th: future
SESSIONS = ["AM", "PM", "pm", " AM", "XX"]
CODES = ["/", "\\", "N", "l", "C1", "-", "", "Q9"]


@st.composite
def attendance_texts(draw: st.DrawFn) -> str:
    extra = draw(st.booleans())
    order = list(draw(st.permutations(list(COLUMNS))))
    if draw(st.booleans()):
        order.remove("upn")
        order.insert(0, "upn")  # as most schools' files have it: keyed by line
    header = order + (["note"] if extra else [])
    lines = [",".join(header)]
    pick = {"upn": UPNS, "date": DATES, "session": SESSIONS, "code": CODES}
    for _ in range(draw(st.integers(0, 14))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", ",,,", "a,b"])))
            continue
        upns = UPNS[:3] if draw(st.booleans()) else UPNS  # runs of one pupil, or any UPN
        upn = draw(st.sampled_from(upns))
        values = {"upn": upn, **{name: draw(st.sampled_from(pick[name]))
                                 for name in ("date", "session", "code")}}
        lines.append(",".join([values[name] for name in order] + (["x"] if extra else [])))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(lines) + end


def parse_by_rows(path: Path) -> tuple[Any, ...]:
    """The reference: every row through the row-by-row check."""
    problems = Problems()
    marks = _MarkReader(Fields(problems, TODAY))
    try:
        with CsvReader(path, COLUMNS, required=frozenset(COLUMNS), problems=problems) as reader:
            for line, values in reader:
                marks.add(line, values)
    except ImportRejected as rejected:
        return ("refused", rejected.reason)
    marks.report_repeats(problems)
    try:
        problems.raise_if_any()
    except ImportRejected as rejected:
        return ("refused", rejected.report_lines())
    found = attendance.AttendanceMarks(marks.by_pupil)
    no_mark = sum(pupil.unmarked for pupil in marks.by_pupil.values())
    return sorted(found, key=repr), reader.rows_read, no_mark


def parse_by_blocks(path: Path) -> tuple[Any, ...]:
    try:
        parsed = parse_attendance(path, today=TODAY)
    except ImportRejected as rejected:
        lines = rejected.report_lines()
        return ("refused", lines if rejected.problems or rejected.more else rejected.reason)
    return sorted(parsed.rows, key=repr), parsed.rows_read, parsed.no_mark


@EXAMPLES
@given(text=attendance_texts())
def test_attendance_in_blocks_is_checked_as_row_by_row(write_file: WriteFile, text: str) -> None:
    path = write_file(text)
    assert parse_by_blocks(path) == parse_by_rows(path)


def test_a_future_unmarked_row_is_taken_in_a_block_and_a_future_mark_refused(
    write_file: WriteFile,
) -> None:
    rows = "".join(f"{UPN_1},2025-03-{day:02},AM,/\n" for day in range(3, 15))
    path = write_file("upn,date,session,code\n" + rows + f"{UPN_1},2025-03-17,AM,-\n")
    parsed = parse_attendance(path, today=TODAY)
    assert (len(parsed.rows), parsed.no_mark) == (12, 1)
    path = write_file("upn,date,session,code\n" + rows + f"{UPN_1},2025-03-17,AM,-\n"
                      f"{UPN_1},2025-03-17,PM,/\n")
    with pytest.raises(ImportRejected) as caught:
        parse_attendance(path, today=TODAY)
    assert problem_lines(caught.value) == ["line 15, column date: is after today"]


def test_marks_keep_their_dates_sessions_codes_and_lines(write_file: WriteFile) -> None:
    path = write_file("upn,date,session,code\r\n"
                      f"{UPN_1},10/03/2025,PM,\\\r\n{UPN_1},2025-03-10,AM,c1\r\n")
    parsed = parse_attendance(path, today=TODAY)
    assert sorted((row.line, row.date, row.session, row.code) for row in parsed.rows) == [
        (2, date(2025, 3, 10), "PM", "\\"), (3, date(2025, 3, 10), "AM", "C1")]
