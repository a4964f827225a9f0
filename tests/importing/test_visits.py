"""The visits file: labels matched like /visit's buttons, dates and follow-ups checked."""

from __future__ import annotations

from datetime import date

import pytest

from bot.importing.csvfile import ImportRejected
from bot.importing.visits import VisitRow, parse_visits
from tests.importing.conftest import (
    TODAY,
    UPN_1,
    UPN_2,
    WriteFile,
    assert_not_echoed,
    problem_lines,
)

HEADER = "upn,officer_ref,date,type,outcome,reason,action,follow_up,notes"


def test_a_good_file_turns_labels_into_codes(write_file: WriteFile) -> None:
    path = write_file(
        f"{HEADER}\n"
        f"{UPN_1},EWO01,2025-03-03,home visit,NO REPLY - CARD LEFT,Illness,"
        f'Follow-up visit,10/03/2025,"Spoke to neighbour.\nWill return."\n'
        f"{UPN_2},EWO01,03/03/2025,Letter,,,,,\n"
    )
    rows = list(parse_visits(path, today=TODAY).rows)
    assert rows[0] == VisitRow(
        2, UPN_1, "EWO01", date(2025, 3, 3), "home", "noreply", "illness", "followup",
        date(2025, 3, 10), "Spoke to neighbour.\nWill return.",
    )  # fmt: skip
    assert rows[1] == VisitRow(
        4, UPN_2, "EWO01", date(2025, 3, 3), "letter", None, None, None, None, None
    )


def test_a_letter_with_and_without_not_applicable_is_one_key(write_file: WriteFile) -> None:
    path = write_file(
        f"{HEADER}\n"
        f"{UPN_2},EWO01,03/03/2025,Letter,,,,,\n"
        f"{UPN_2},EWO01,03/03/2025,Letter,Not applicable,,,,\n"
    )
    with pytest.raises(ImportRejected) as caught:
        parse_visits(path, today=TODAY)
    assert problem_lines(caught.value) == [
        "line 3, column upn: the same upn, officer_ref, date, type and outcome as line 2"
    ]


def test_the_same_visit_twice_is_a_bad_row(write_file: WriteFile) -> None:
    path = write_file(
        f"{HEADER}\n"
        f"{UPN_1},EWO01,2025-03-03,Phone call,Parent/carer seen,,,,\n"
        f"{UPN_1},EWO01,2025-03-03,Phone call,Child seen,,,,\n"
        f"{UPN_1},EWO01,03/03/2025,phone call,parent/carer seen,,,,different notes\n"
    )
    with pytest.raises(ImportRejected) as caught:
        parse_visits(path, today=TODAY)
    assert problem_lines(caught.value) == [
        "line 4, column upn: the same upn, officer_ref, date, type and outcome as line 2"
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (",2025-03-03,Letter,,,,,", "column officer_ref: is empty"),
        ("EWO01,2025-03-15,Letter,,,,,", "column date: is after today"),
        ("EWO01,,Letter,,,,,", "column date: is empty"),
        ("EWO01,2025-03-03,,,,,,", "column type: is empty"),
        ("EWO01,2025-03-03,Canary,Child seen,,,,", "column type: is not a visit type (Home"),
        ("EWO01,2025-03-03,Home visit,,,,,", "column outcome: is empty"),
        ("EWO01,2025-03-03,Home visit,Canary,,,,", "column outcome: is not a contact outcome"),
        ("EWO01,2025-03-03,Letter,Child seen,,,,", "column outcome: must be blank or Not"),
        ("EWO01,2025-03-03,Phone call,Child seen,Canary,,,", "column reason: is not a reason"),
        ("EWO01,2025-03-03,Phone call,Child seen,,Canary,,", "column action: is not an action"),
        ("EWO01,2025-03-03,Letter,,,,2025-03-02,", "column follow_up: is before the date"),
        ("EWO01,2025-03-03,Letter,,,,Canary,", "column follow_up: is not a date"),
        ("EWO01,2025-03-03,Letter,,,,," + "canary " * 600, "column notes: is longer than 4,096"),
    ],
)
def test_bad_values(write_file: WriteFile, values: str, expected: str) -> None:
    path = write_file(f"{HEADER}\n{UPN_1},{values}\n")
    with pytest.raises(ImportRejected) as caught:
        parse_visits(path, today=TODAY)
    (line,) = problem_lines(caught.value)
    assert line.startswith(f"line 2, {expected}")
    assert_not_echoed(caught.value, "canary")


def test_a_follow_up_may_be_after_today(write_file: WriteFile) -> None:
    path = write_file(f"{HEADER}\n{UPN_1},EWO01,2025-03-13,Letter,,,,2025-04-01,\n")
    (row,) = parse_visits(path, today=TODAY).rows
    assert row.follow_up == date(2025, 4, 1)
