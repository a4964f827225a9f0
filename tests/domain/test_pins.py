"""Which PINs are refused at enrolment, and the reason the officer sees."""

from __future__ import annotations

import pytest

from bot.domain.pins import is_pin_shaped, pin_problem

LENGTH = "A PIN must be 4 to 8 digits."
REPEATED = "A PIN must not be one digit repeated."
RUN = "A PIN must not be a run of consecutive digits."


@pytest.mark.parametrize("pin", ["1357", "2580", "1235", "90210", "12345670", "4812", "1122"])
def test_acceptable_pins(pin: str) -> None:
    assert pin_problem(pin) is None


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("123", LENGTH),
        ("123456789", LENGTH),
        ("", LENGTH),
        ("12a4", LENGTH),
        (" 1357", LENGTH),
        ("١٣٥٧", LENGTH),  # digits, but not ASCII ones
        ("1111", REPEATED),
        ("00000000", REPEATED),
        ("1234", RUN),
        ("98765", RUN),
        ("0123", RUN),
        ("3210", RUN),
        ("23456789", RUN),
        ("7890", RUN),  # 0 follows 9, as on a keyboard
        ("0987", RUN),
        ("8901", RUN),
    ],
)
def test_refused_pins(pin: str, problem: str) -> None:
    assert pin_problem(pin) == problem


@pytest.mark.parametrize("text", ["2580", " 4829 ", "12345678", "0000"])
def test_four_to_eight_ascii_digits_are_pin_shaped(text: str) -> None:
    assert is_pin_shaped(text)


@pytest.mark.parametrize("text", ["123", "123456789", "12 34", "١٢٣٤", "１２３４", "C00001", ""])
def test_anything_else_is_not(text: str) -> None:
    assert not is_pin_shaped(text)
