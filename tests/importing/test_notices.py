"""The notices file: kinds and outcomes checked, dates in order, repeats refused."""

from __future__ import annotations

from datetime import date

import pytest

from bot.importing.csvfile import ImportRejected
from bot.importing.notices import NoticeRow, parse_notices
from tests.importing.conftest import (
    TODAY,
    UPN_1,
    UPN_2,
    WriteFile,
    assert_not_echoed,
    problem_lines,
)

HEADER = "upn,contact_name,kind,issued,outcome,outcome_date"


def test_a_good_file(write_file: WriteFile) -> None:
    path = write_file(
        f"{HEADER}\n"
        f"{UPN_1},Jo Hughes,NTI,2024-09-02,,\n"
        f"{UPN_1},Jo Hughes,pn,03/10/2024,Paid,20/10/2024\n"
        f"{UPN_2},Al Jones,pn,2025-01-06,,\n"
    )
    rows = list(parse_notices(path, today=TODAY).rows)
    assert rows == [
        NoticeRow(2, UPN_1, "Jo Hughes", "nti", date(2024, 9, 2), None, None),
        NoticeRow(3, UPN_1, "Jo Hughes", "pn", date(2024, 10, 3), "paid", date(2024, 10, 20)),
        NoticeRow(4, UPN_2, "Al Jones", "pn", date(2025, 1, 6), None, None),
    ]


def test_only_the_required_columns(write_file: WriteFile) -> None:
    path = write_file(f"upn,contact_name,kind,issued\n{UPN_1},Jo Hughes,pn,2024-09-02\n")
    assert [row.outcome for row in parse_notices(path, today=TODAY).rows] == [None]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (",pn,2024-09-02,,", "column contact_name: is empty"),
        ("Jo,,2024-09-02,,", "column kind: is empty"),
        ("Jo,Canary,2024-09-02,,", "column kind: must be one of nti, pn"),
        ("Jo,pn,,,", "column issued: is empty"),
        ("Jo,pn,2025-03-15,,", "column issued: is after today"),
        ("Jo,pn,Canary,,", "column issued: is not a date"),
        ("Jo,pn,2024-09-02,Canary,2024-09-20", "column outcome: must be one of paid,"),
        ("Jo,pn,2024-09-02,paid,", "column outcome_date: is empty but an outcome is given"),
        ("Jo,pn,2024-09-02,,2024-09-20", "column outcome: is empty but an outcome_date"),
        ("Jo,pn,2024-09-02,paid,2024-09-01", "column outcome_date: is before the date issued"),
        ("Jo,nti,2024-09-02,paid,2024-09-20", "column outcome: must be blank for a Notice"),
    ],
)
def test_bad_values_are_named_by_line_and_column_never_echoed(
    write_file: WriteFile, values: str, expected: str
) -> None:
    path = write_file(f"{HEADER}\n{UPN_1},{values}\n")
    with pytest.raises(ImportRejected) as caught:
        parse_notices(path, today=TODAY)
    (line,) = problem_lines(caught.value)
    assert line.startswith(f"line 2, {expected}"), line
    assert_not_echoed(caught.value, "Canary")


def test_the_same_notice_twice_is_a_bad_row(write_file: WriteFile) -> None:
    path = write_file(
        f"{HEADER}\n"
        f"{UPN_1},Jo Hughes,pn,2024-09-02,,\n"
        f"{UPN_1},JO  HUGHES,PN,02/09/2024,paid,2024-09-10\n"
        f"{UPN_1},Al Hughes,pn,2024-09-02,,\n"
    )
    with pytest.raises(ImportRejected) as caught:
        parse_notices(path, today=TODAY)
    assert problem_lines(caught.value) == [
        "line 3, column upn: the same upn, contact_name, kind and issued as line 2"]
