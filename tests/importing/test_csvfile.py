"""The one CSV reader: encodings, headers, physical line numbers, refusals."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.importing.csvfile import MAX_REPORTED, CsvReader, ImportRejected, Problems, RowProblem
from tests.importing.conftest import WriteFile, assert_not_echoed, problem_lines

COLUMNS = ("upn", "date", "note")
REQUIRED = frozenset({"upn", "date"})


def read(path: Path) -> tuple[list[tuple[int, tuple[str, ...]]], Problems, CsvReader]:
    problems = Problems()
    with CsvReader(path, COLUMNS, required=REQUIRED, problems=problems) as reader:
        rows = list(reader)
    return rows, problems, reader


def rejection(path: Path) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        _, problems, _ = read(path)
        problems.raise_if_any()
    return caught.value


def test_columns_in_any_order_matched_ignoring_case_and_space(write_file: WriteFile) -> None:
    path = write_file(" Date ,Extra,UPN\n2025-01-06 , ignored ,  A1 \n")
    rows, problems, reader = read(path)
    assert rows == [(2, ("A1", "2025-01-06", ""))]
    assert problems.bad_rows == 0
    assert reader.present == {"upn", "date"}
    assert reader.rows_read == 1


def test_byte_order_mark_is_accepted(write_file: WriteFile) -> None:
    path = write_file(b"\xef\xbb\xbfupn,date,note\nZo\xc3\xab,d,n\n")
    rows, _, reader = read(path)
    assert rows == [(2, ("Zoë", "d", "n"))]
    assert "upn" in reader.present


def test_digest_is_the_sha256_of_the_file(write_file: WriteFile) -> None:
    content = b"upn,date\r\nA,B\r\n"
    path = write_file(content)
    _, _, reader = read(path)
    assert reader.sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(
    "content",
    [
        "upn,date,note\nZoë Canary,2025-01-06,x\n".encode("latin-1"),
        "upn,date,note\nSiân Canary,2025-01-06,x\n".encode("utf-16"),
        "upn,date,note\nCanary,2025-01-06,x\n".encode("cp1252") + b"\x93quoted\x94\n",
    ],
    ids=["latin-1", "utf-16", "windows-1252"],
)
def test_other_encodings_are_refused(write_file: WriteFile, content: bytes) -> None:
    rejected = rejection(write_file(content))
    assert "save as CSV UTF-8" in rejected.reason
    assert rejected.problems == []
    assert rejected.__context__ is None  # the decoding error holds the file's bytes
    assert_not_echoed(rejected, "canary")


def test_nul_bytes_are_refused(write_file: WriteFile) -> None:
    # UTF-16 without a byte-order mark decodes as UTF-8 full of NULs.
    rejected = rejection(write_file("upn,date\nCanary,1\n".encode("utf-16-le")))
    assert "NUL" in rejected.reason and "save as CSV UTF-8" in rejected.reason
    assert_not_echoed(rejected, "canary")


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"], ids=["nothing", "only a BOM"])
def test_an_empty_file_is_refused(write_file: WriteFile, content: bytes) -> None:
    assert rejection(write_file(content)).reason == "the file is empty"


def test_a_blank_first_line_is_refused(write_file: WriteFile) -> None:
    rejected = rejection(write_file("\nupn,date\nA,B\n"))
    assert rejected.reason == "line 1 is blank: the first line must be the header row"


def test_a_header_alone_gives_no_rows(write_file: WriteFile) -> None:
    rows, problems, reader = read(write_file("upn,date\n"))
    assert rows == [] and problems.bad_rows == 0 and reader.rows_read == 0


def test_missing_required_columns_are_named(write_file: WriteFile) -> None:
    assert rejection(write_file("note,other\nx,y\n")).reason == (
        "the header has no columns upn, date"
    )
    assert rejection(write_file("upn,note\nx,y\n")).reason == "the header has no column date"


def test_a_known_column_named_twice_is_refused(write_file: WriteFile) -> None:
    rejected = rejection(write_file("upn,date,UPN\na,b,c\n"))
    assert rejected.reason == "the header names the column upn twice"


def test_unknown_columns_may_repeat(write_file: WriteFile) -> None:
    rows, problems, _ = read(write_file("upn,x,date,x\na,1,b,2\n"))
    assert rows == [(2, ("a", "b", ""))] and problems.bad_rows == 0


def test_ragged_rows_are_bad_rows(write_file: WriteFile) -> None:
    rows, problems, _ = read(write_file("upn,date\na,b\nc\nd,e,Canary\nf,g\n"))
    assert [line for line, _ in rows] == [2, 5]
    with pytest.raises(ImportRejected) as caught:
        problems.raise_if_any()
    assert caught.value.reason == "2 bad rows in the file; nothing was imported"
    assert problem_lines(caught.value) == [
        "line 3: has 1 value where the header has 2",
        "line 4: has 3 values where the header has 2",
    ]
    assert_not_echoed(caught.value, "canary")


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_physical_line_numbers_count_every_line(write_file: WriteFile, ending: str) -> None:
    lines = [
        "upn,date,note",
        "a,1,plain",
        'b,2,"spans',
        "two lines",
        '"',  # the closing quote on a line of its own: the value spans three lines
        "",
        ",,",
        "c,3,last",
    ]
    rows, _, reader = read(write_file(ending.join(lines) + ending))
    assert [(line, values[0]) for line, values in rows] == [(2, "a"), (3, "b"), (8, "c")]
    assert rows[1][1][2] == f"spans{ending}two lines"  # trimmed
    assert reader.rows_read == 3


def test_a_file_without_a_final_line_ending_reads_its_last_row(write_file: WriteFile) -> None:
    rows, _, _ = read(write_file("upn,date\r\na,1\r\nb,2"))
    assert rows == [(2, ("a", "1", "")), (3, ("b", "2", ""))]


def test_a_misplaced_quote_is_refused_with_its_line(write_file: WriteFile) -> None:
    rejected = rejection(write_file('upn,date\na,1\nb,"Canary"x\n'))
    assert rejected.reason == "line 3 is not valid CSV: a quote is misplaced or not closed"
    assert_not_echoed(rejected, "canary")


def test_an_unclosed_quote_is_refused(write_file: WriteFile) -> None:
    rejected = rejection(write_file('upn,date\na,"Canary\n' + "b,2\n" * 20_000))
    assert rejected.reason.startswith("line 2")
    assert_not_echoed(rejected, "canary")


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ImportRejected) as caught:
        read(tmp_path / "absent.csv")
    assert caught.value.reason == "cannot read the file: No such file or directory"


def test_problems_keep_the_twenty_earliest_rows_and_count_the_rest() -> None:
    problems = Problems()
    for line in range(60, 2, -1):  # added out of order, as repeated keys are
        problems.add(line, "code", "is not an attendance code")
    problems.add(2, "upn", "is empty")
    problems.add(2, "date", "is after today")
    problems.add(2, "date", "is after today")
    problems.add(2, "code", "is not an attendance code")
    with pytest.raises(ImportRejected) as caught:
        problems.raise_if_any()
    rejected = caught.value
    assert rejected.reason == "59 bad rows in the file; nothing was imported"
    assert len(rejected.problems) == MAX_REPORTED
    assert [problem.line for problem in rejected.problems] == list(range(2, 22))
    assert str(rejected.problems[0]) == (
        "line 2, column upn: is empty; column date: is after today;"
        " column code: is not an attendance code"
    )
    assert str(rejected.problems[1]) == "line 3, column code: is not an attendance code"
    assert rejected.more == 59 - MAX_REPORTED
    assert rejected.report_lines()[-1] == "… and 39 more bad rows"
    assert str(rejected).splitlines()[0] == rejected.reason


def test_row_problem_reads_as_the_contract_says() -> None:
    assert str(RowProblem(7, "date", "is after today")) == "line 7, column date: is after today"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_in_place_on_a_terminal(write_file: WriteFile) -> None:
    path = write_file("upn,date\n" + "H801200001001,2025-01-06\n" * 20_000)
    terminal = FakeTerminal()
    with CsvReader(path, COLUMNS, required=REQUIRED, problems=Problems(), progress=terminal) as r:
        for _ in r:
            pass
    drawn = terminal.getvalue()
    assert "\rReading import.csv 100 %" in drawn
    assert "\n" not in drawn
    assert drawn.endswith("\r")  # the line is cleared for what comes next


def test_progress_is_silent_when_not_a_terminal(write_file: WriteFile) -> None:
    path = write_file("upn,date\n" + "a,b\n" * 1000)
    pipe = io.StringIO()
    with CsvReader(path, COLUMNS, required=REQUIRED, problems=Problems(), progress=pipe) as r:
        list(r)
    assert pipe.getvalue() == ""


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400))
def test_any_bytes_give_rows_or_a_refusal(write_file: WriteFile, content: bytes) -> None:
    path = write_file(b"upn,date,note\n" + content)
    try:
        read(path)
    except ImportRejected as rejected:
        assert rejected.reason and "\n" not in rejected.reason


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.text(alphabet=st.sampled_from(list('upn,date"\r\n \x00é\ufeffx')), max_size=200))
def test_any_text_gives_rows_or_a_refusal(write_file: WriteFile, content: str) -> None:
    try:
        read(write_file(content))
    except ImportRejected as rejected:
        assert rejected.reason and "\n" not in rejected.reason
