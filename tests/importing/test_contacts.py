"""The contacts file: keyed by pupil and name; optional details checked."""

from __future__ import annotations

from datetime import date

import pytest

from bot.importing.contacts import ContactRow, parse_contacts
from bot.importing.csvfile import ImportRejected
from tests.importing.conftest import (
    TODAY,
    UPN_1,
    UPN_2,
    WriteFile,
    assert_not_echoed,
    problem_lines,
)

HEADER = "upn,name,relationship,phone,email,address,date_of_birth,parental_responsibility,priority"


def test_a_good_file_gives_typed_rows(write_file: WriteFile) -> None:
    path = write_file(
        f"{HEADER}\n"
        f"{UPN_1},Ms Zoë Hughes,Mother,07700 900123,zoe@example.org,1 Lane,1988-02-29,y,1\n"
        f"{UPN_1},Mr Rhys Hughes,Father,,,,,N,2\n"
        f"{UPN_2},Ms Zoë Hughes,Aunt,,,,,,\n"
    )
    rows = list(parse_contacts(path, today=TODAY).rows)
    assert rows[0] == ContactRow(
        2, UPN_1, "Ms Zoë Hughes", "Mother", "07700 900123", "zoe@example.org", "1 Lane",
        date(1988, 2, 29), True, 1,
    )  # fmt: skip
    assert (rows[1].parental_responsibility, rows[1].priority, rows[1].phone) == (False, 2, None)
    assert rows[2].upn == UPN_2 and rows[2].parental_responsibility is None


def test_the_same_name_twice_for_one_pupil_is_a_bad_row(write_file: WriteFile) -> None:
    path = write_file(
        f"upn,name,relationship\n{UPN_1},Jane Smith,Mother\n{UPN_1},JANE  smith,Carer\n"
    )
    with pytest.raises(ImportRejected) as caught:
        parse_contacts(path, today=TODAY)
    assert problem_lines(caught.value) == ["line 3, column name: the same upn and name as line 2"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (",,,,,,", "column relationship: is empty"),
        ("Mother,0770 canary,,,,,", "column phone: is not a phone number"),
        ("Mother,123,,,,,", "column phone: is not a phone number"),
        ("Mother,,canary.example.org,,,,", "column email: is not an email address"),
        ("Mother,,canary@localhost,,,,", "column email: is not an email address"),
        ("Mother,,,,2030-01-01,,", "column date_of_birth: is after today"),
        ("Mother,,,,,Canary,", "column parental_responsibility: must be Y or N"),
        ("Mother,,,,,,0", "column priority: must be a whole number from 1 to 99"),
        ("Mother,,,,,,1.5", "column priority: must be a whole number from 1 to 99"),
        ("Mother,,,,,,١", "column priority: must be a whole number from 1 to 99"),
    ],
)
def test_bad_values(write_file: WriteFile, values: str, expected: str) -> None:
    path = write_file(f"{HEADER}\n{UPN_1},Jane,{values}\n")
    with pytest.raises(ImportRejected) as caught:
        parse_contacts(path, today=TODAY)
    (line,) = problem_lines(caught.value)
    assert line.startswith(f"line 2, {expected}")
    assert_not_echoed(caught.value, "canary")
