"""UPN normalisation and check letters (ATTENDANCE.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.upn import ALPHABET, check_letter, is_valid_upn, normalise_upn

VALID = ["H801200001001", "G80120000101A", "B801200005001"]


def test_alphabet_has_23_letters_without_i_o_s() -> None:
    assert len(ALPHABET) == 23
    assert not set("IOS") & set(ALPHABET)


@pytest.mark.parametrize("upn", VALID)
def test_the_documented_examples_are_valid(upn: str) -> None:
    assert check_letter(upn) == upn[0]
    assert is_valid_upn(upn)


@pytest.mark.parametrize(
    "upn",
    [
        "H801200001002",  # last digit changed
        "H801200011001",  # a middle digit changed
        "A801200001001",  # wrong check letter
        "G80120000101B",  # temporary UPN, last letter changed
        "H80120000100",  # 12 characters
        "H8012000010011",  # 14 characters
        "",
        "I801200001001",  # I, O and S are never check letters
        "O801200001001",
        "S801200001001",
        "G80120000101I",  # nor final letters
        "G80120000101O",
        "G80120000101S",
        "h801200001001",  # not normalised
        "H80120000100A",  # a letter where the check letter needs a digit
        "H8012000A1001",  # a letter before position 13
        "H80120000100١",  # not an ASCII digit
        "1801200001001",
    ],
)
def test_corrupted_upns_are_invalid(upn: str) -> None:
    assert not is_valid_upn(upn)


@pytest.mark.parametrize(
    ("raw", "upn"),
    [
        ("h801200001001", "H801200001001"),
        (" H801 2000 01001 ", "H801200001001"),
        ("g80120000101a", "G80120000101A"),
        ("B801\t200005001\n", "B801200005001"),
    ],
)
def test_normalise_upn(raw: str, upn: str) -> None:
    assert normalise_upn(raw) == upn
    assert is_valid_upn(normalise_upn(raw))


def test_check_letter_refuses_what_cannot_be_a_upn() -> None:
    for upn in ("H80120000100", "H8012000A1001", "H80120000100I"):
        with pytest.raises(ValueError):
            check_letter(upn)


bodies = st.tuples(
    st.text("0123456789", min_size=11, max_size=11),
    st.sampled_from("0123456789" + ALPHABET),
).map("".join)


@given(bodies)
def test_any_body_with_its_check_letter_is_valid(body: str) -> None:
    upn = check_letter("?" + body) + body
    assert is_valid_upn(upn)
    # Any other first letter is caught.
    for letter in ALPHABET.replace(upn[0], ""):
        assert not is_valid_upn(letter + body)


@given(bodies, st.integers(1, 11), st.integers(1, 9))
def test_changing_one_digit_is_caught(body: str, index: int, change: int) -> None:
    upn = check_letter("?" + body) + body
    digit = int(upn[index])
    corrupted = upn[:index] + str((digit + change) % 10) + upn[index + 1 :]
    # Position weights 2..12 are all below 23, so one changed digit always shows.
    assert not is_valid_upn(corrupted)
