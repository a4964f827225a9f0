"""The pupils file: good rows typed, each kind of bad value reported without the value."""

from __future__ import annotations

from datetime import date

import pytest

from bot.importing.csvfile import ImportRejected
from bot.importing.pupils import PupilRow, parse_pupils
from tests.importing.conftest import (
    TODAY,
    UPN_1,
    UPN_2,
    UPN_TEMPORARY,
    WriteFile,
    assert_not_echoed,
    problem_lines,
)

HEADER = "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name"
FULL_HEADER = HEADER + ",address,postcode,sen,health_needs"


def test_a_good_file_gives_typed_rows(write_file: WriteFile) -> None:
    path = write_file(
        FULL_HEADER + "\n"
        f'{UPN_1.lower()},Zoë,Hughes,2014-05-02,6,100001,Hill Primary,"1 Lane\nTown",'
        "ab1  2cd ,k,Asthma\n"
        f"{UPN_2},Siân,Jones,03/09/2021,r,100001,Hill Primary,,,,\n"
    )
    parsed = parse_pupils(path, today=TODAY)
    assert parsed.kind == "pupils" and parsed.rows_read == 2
    assert parsed.columns == set(FULL_HEADER.split(","))
    assert list(parsed.rows) == [
        PupilRow(
            2, UPN_1, "Zoë", "Hughes", date(2014, 5, 2), "6", "100001", "Hill Primary",
            "1 Lane\nTown", "AB1 2CD", "K", "Asthma",
        ),
        PupilRow(
            4, UPN_2, "Siân", "Jones", date(2021, 9, 3), "R", "100001", "Hill Primary",
            None, None, None, None,
        ),
    ]  # fmt: skip


def test_optional_columns_may_be_left_out(write_file: WriteFile) -> None:
    path = write_file(HEADER + f"\n{UPN_TEMPORARY},José,Silva,2016-01-31,N1,100002,Vale\n")
    parsed = parse_pupils(path, today=TODAY)
    assert "sen" not in parsed.columns
    (row,) = parsed.rows
    assert row.year_group == "N1" and row.sen is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("H80120000100CANARY,A,B,2014-05-02,6,1,S", "column upn: is not a valid UPN"),
        ("A801200001001,A,B,2014-05-02,6,1,S", "column upn: is not a valid UPN"),
        (",A,B,2014-05-02,6,1,S", "column upn: is empty"),
        (f"{UPN_1},,B,2014-05-02,6,1,S", "column first_name: is empty"),
        (f"{UPN_1},A,B,Canary 2014,6,1,S", "column date_of_birth: is not a date (use"),
        (f"{UPN_1},A,B,31/02/2014,6,1,S", "column date_of_birth: is not a date (use"),
        (f"{UPN_1},A,B,2025-03-15,6,1,S", "column date_of_birth: is after today"),
        (f"{UPN_1},A,B,2014-05-02,Canary,1,S", "column year_group: must be N1, N2, R or 1 to 14"),
        (f"{UPN_1},A,B,2014-05-02,15,1,S", "column year_group: must be N1, N2, R or 1 to 14"),
        (f"{UPN_1},A,B,2014-05-02,6,1O0,S", "column school_urn: must be the school's URN"),
        (f"{UPN_1},A,B,2014-05-02,6,1,", "column school_name: is empty"),
        (f'{UPN_1},"A\nCanary",B,2014-05-02,6,1,S', "column first_name: must be on one line"),
        (f"{UPN_1},A,{'Canary' * 40},2014-05-02,6,1,S", "column last_name: is longer than 200"),
    ],
)
def test_bad_values_are_reported_by_line_and_column(
    write_file: WriteFile, values: str, expected: str
) -> None:
    path = write_file(f"{HEADER}\n{UPN_2},A,B,2014-05-02,6,1,S\n{values}\n")
    with pytest.raises(ImportRejected) as caught:
        parse_pupils(path, today=TODAY)
    assert caught.value.reason == "1 bad row in the file; nothing was imported"
    (line,) = problem_lines(caught.value)
    assert line.startswith(f"line 3, {expected}")
    assert_not_echoed(caught.value, "canary")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("1 Lane,Canary!,,", "column postcode: must be letters, digits and a space"),
        (",,X,", "column sen: must be N (none), K (SEN support) or E (EHC plan)"),
        (f",,,{'canary ' * 200}", "column health_needs: is longer than 1,000 characters"),
    ],
)
def test_bad_optional_values(write_file: WriteFile, values: str, expected: str) -> None:
    path = write_file(f"{FULL_HEADER}\n{UPN_1},A,B,2014-05-02,6,1,S,{values}\n")
    with pytest.raises(ImportRejected) as caught:
        parse_pupils(path, today=TODAY)
    assert problem_lines(caught.value) == [f"line 2, {expected}"]
    assert_not_echoed(caught.value, "canary")


def test_every_bad_value_of_every_row_is_reported(write_file: WriteFile) -> None:
    path = write_file(
        f"{HEADER}\n"
        "bad,,B,x,6,1,S\n"
        f"{UPN_1},A,B,2014-05-02,6,1,S\n"
        f"{UPN_1.lower()},A,B,2014-05-02,6,1,S\n"
    )
    with pytest.raises(ImportRejected) as caught:
        parse_pupils(path, today=TODAY)
    assert caught.value.reason == "2 bad rows in the file; nothing was imported"
    assert problem_lines(caught.value) == [
        "line 2, column upn: is not a valid UPN (13 characters with a matching check letter);"
        " column first_name: is empty;"
        " column date_of_birth: is not a date (use YYYY-MM-DD or DD/MM/YYYY)",
        "line 4, column upn: the same upn as line 3",
    ]


def test_joiners_inside_names_are_text_but_bidirectional_overrides_are_not(
        write_file: WriteFile) -> None:
    persian, astronaut = "مهر\u200cانگیز", "Astra 👩\u200d🚀"
    path = write_file(HEADER + f"\n{UPN_1},{persian},{astronaut},2014-05-02,6,1,S\n")
    (row,) = parse_pupils(path, today=TODAY).rows
    assert (row.first_name, row.last_name) == (persian, astronaut)
    disguised = write_file(HEADER + f"\n{UPN_1},Ann\u202eeB,B,2014-05-02,6,1,S\n")
    with pytest.raises(ImportRejected) as rejected:
        parse_pupils(disguised, today=TODAY)
    assert "column first_name: must be on one line" in problem_lines(rejected.value)[0]
