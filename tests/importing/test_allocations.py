"""The allocations file: a blank officer ends an allocation; one row per pupil."""

from __future__ import annotations

import pytest

from bot.importing.allocations import AllocationRow, parse_allocations
from bot.importing.csvfile import ImportRejected
from tests.importing.conftest import TODAY, UPN_1, UPN_2, WriteFile, problem_lines


def test_a_good_file_reallocates_and_ends(write_file: WriteFile) -> None:
    path = write_file(f"officer_ref,upn\nEWO01,{UPN_1}\n  ,{UPN_2}\n")
    parsed = parse_allocations(path, today=TODAY)
    assert list(parsed.rows) == [AllocationRow(2, UPN_1, "EWO01"), AllocationRow(3, UPN_2, None)]


def test_a_pupil_twice_is_a_bad_row(write_file: WriteFile) -> None:
    path = write_file(f"upn,officer_ref\n{UPN_1},EWO01\n{UPN_2},EWO01\n{UPN_1},EWO02\n")
    with pytest.raises(ImportRejected) as caught:
        parse_allocations(path, today=TODAY)
    assert problem_lines(caught.value) == ["line 4, column upn: the same upn as line 2"]


def test_the_officer_column_is_required(write_file: WriteFile) -> None:
    with pytest.raises(ImportRejected) as caught:
        parse_allocations(write_file(f"upn\n{UPN_1}\n"), today=TODAY)
    assert caught.value.reason == "the header has no column officer_ref"
