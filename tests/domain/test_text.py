"""Folding names for search, initials and the chat form of a pupil's name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.text import fold, initials, name_matches, pupil_name


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Amelia", "amelia"),
        ("ÉLODIE", "elodie"),
        ("Zoë", "zoe"),
        ("  Mary   Jane  ", "mary jane"),
        ("Łukasz", "lukasz"),
        ("Søren", "soren"),
        ("Straße", "strasse"),
        ("O’Brien", "o'brien"),
        ("Smith–Jones", "smith-jones"),
        ("İlkay", "ilkay"),
        ("Zoe\u0308", "zoe"),  # decomposed diaeresis
        ("\u210cill", "hill"),  # a compatibility letter decomposes to an upper-case one
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_is_idempotent() -> None:
    for text in ("ÉLODIE", "O’Brien", "Łukasz  Nowak"):
        assert fold(fold(text)) == fold(text)


@given(st.text())
def test_folded_text_has_no_case_left(text: str) -> None:
    # Search compares folded text exactly: what was typed in any case must fold alike.
    folded = fold(text)
    assert fold(folded) == folded
    assert folded.casefold() == folded


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("am", True),
        ("AMÉ", True),
        ("hug", True),
        ("amelia h", True),
        ("Amelia  Hughes", True),
        ("melia", False),
        ("hughes amelia", False),
        ("", False),
        ("   ", False),
    ],
)
def test_name_matches_prefixes(query: str, matches: bool) -> None:
    assert name_matches(query, "Amélia", "Hughes") is matches


def test_initials() -> None:
    assert initials("Amelia", "Hughes") == "A.H."
    assert initials("élodie", "o'brien") == "É.O."
    assert initials(" Mary-Jane", "'t Hooft") == "M.T."
    assert initials("", "Hughes") == "H."


def test_pupil_name() -> None:
    assert pupil_name("Amelia", "Hughes") == "Amelia Hughes"
    assert pupil_name(" Mary  Jane ", " van der Berg ") == "Mary Jane van der Berg"
