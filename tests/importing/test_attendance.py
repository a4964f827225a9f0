"""The attendance file: marks normalised, no-mark rows skipped, repeats and future dates refused."""

from __future__ import annotations

from datetime import date

import pytest

from bot.importing.attendance import CODES_NOTE, AttendanceRow, parse_attendance
from bot.importing.csvfile import ImportRejected
from tests.importing.conftest import (
    TODAY,
    UPN_1,
    UPN_2,
    WriteFile,
    assert_not_echoed,
    problem_lines,
)


def rejection(write_file: WriteFile, content: str) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        parse_attendance(write_file(content), today=TODAY)
    return caught.value


def test_a_good_file_gives_marks_grouped_by_pupil(write_file: WriteFile) -> None:
    path = write_file(
        "Code,Session,Date,UPN\n"
        f"/,AM,2025-03-10,{UPN_1}\n"
        f"n,pm,10/03/2025,{UPN_2}\n"
        f"l,Pm,10/03/2025,{UPN_1}\n"
        f"-,PM,2025-03-11,{UPN_1}\n"
        f",AM,2025-03-11,{UPN_2}\n"
        f"c1,AM,2025-03-11,{UPN_1[:4]} {UPN_1[4:].lower()}\n"
    )
    parsed = parse_attendance(path, today=TODAY)
    assert (parsed.kind, parsed.rows_read, parsed.no_mark, len(parsed.rows)) == (
        "attendance",
        6,
        2,
        4,
    )
    assert list(parsed.rows.by_pupil) == [UPN_1, UPN_2]  # type: ignore[attr-defined]
    assert list(parsed.rows.by_pupil[UPN_1].marks()) == [  # type: ignore[attr-defined]
        (date(2025, 3, 10), "AM", "/"),
        (date(2025, 3, 10), "PM", "L"),
        (date(2025, 3, 11), "AM", "C1"),
    ]
    assert AttendanceRow(3, UPN_2, date(2025, 3, 10), "PM", "N") in parsed.rows


def test_pupils_with_only_unmarked_rows_are_not_touched(write_file: WriteFile) -> None:
    parsed = parse_attendance(
        write_file(f"upn,date,session,code\n{UPN_1},2025-03-10,AM,-\n"), today=TODAY
    )
    assert len(parsed.rows) == 0 and parsed.no_mark == 1
    assert dict(parsed.rows.by_pupil) == {}  # type: ignore[attr-defined]


def test_retired_codes_are_accepted(write_file: WriteFile) -> None:
    path = write_file(f"upn,date,session,code\n{UPN_1},2024-03-10,AM,H\n{UPN_1},2024-03-10,PM,J\n")
    assert [row.code for row in parse_attendance(path, today=TODAY).rows] == ["H", "J"]


def test_each_kind_of_bad_value(write_file: WriteFile) -> None:
    rejected = rejection(
        write_file,
        "upn,date,session,code\n"
        f"{UPN_1},2025-03-10,AM,CANARY\n"
        f"{UPN_1},2025-03-15,AM,/\n"
        f"{UPN_1},2025-03-15,AM,\n"  # no mark yet: may be after today
        f"{UPN_1},Canary-03-10,AM,/\n"
        f"{UPN_1},2025-03-10,Canary,/\n"
        f"{UPN_1},2025-03-10,,/\n"
        f"Canary0001001,2025-03-10,PM,/\n"
        f",2025-03-10,PM,/\n",
    )
    assert rejected.reason == "7 bad rows in the file; nothing was imported"
    assert problem_lines(rejected) == [
        "line 2, column code: is not an attendance code (the codes accepted are listed below)",
        "line 3, column date: is after today",
        "line 5, column date: is not a date (use YYYY-MM-DD or DD/MM/YYYY)",
        "line 6, column session: must be AM or PM",
        "line 7, column session: is empty",
        "line 8, column upn: is not a valid UPN (13 characters with a matching check letter)",
        "line 9, column upn: is empty",
    ]
    assert_not_echoed(rejected, "canary")


def test_the_same_session_twice_is_a_bad_row_whatever_the_date_form(
    write_file: WriteFile,
) -> None:
    rejected = rejection(
        write_file,
        "upn,date,session,code\n"
        f"{UPN_1},2025-03-10,AM,/\n"
        f"{UPN_2},2025-03-10,AM,/\n"
        f"{UPN_1},10/03/2025,am,N\n"
        f"{UPN_1},10/03/2025,PM,-\n"
        f"{UPN_1},2025-03-10,PM,-\n",
    )
    assert problem_lines(rejected) == [
        "line 4, column session: the same upn, date and session as line 2",
        "line 6, column session: the same upn, date and session as line 5",
    ]


def test_crlf_and_multi_line_values_give_physical_lines(write_file: WriteFile) -> None:
    content = (
        "upn,comment,date,session,code\r\n"
        f'{UPN_1},"a comment\r\nover\r\nthree lines",2025-03-10,AM,/\r\n'
        f"{UPN_1},,2025-03-10,PM,Q9\r\n"
    )
    assert problem_lines(rejection(write_file, content)) == [
        "line 5, column code: is not an attendance code (the codes accepted are listed below)"
    ]


def test_at_most_twenty_problems_are_listed(write_file: WriteFile) -> None:
    rows = "".join(f"{UPN_1},2025-03-{day:02},AM,Z9\n" for day in range(1, 14))
    rows += "".join(f"{UPN_2},2025-03-{day:02},PM,Z9\n" for day in range(1, 14))
    rejected = rejection(write_file, "upn,date,session,code\n" + rows)
    assert len(rejected.problems) == 20
    assert [problem.line for problem in rejected.problems] == list(range(2, 22))
    assert rejected.reason == "26 bad rows in the file; nothing was imported"
    assert rejected.report_lines()[-2:] == ["… and 6 more bad rows", CODES_NOTE]
