"""Folding names for search, initials and the chat form of a pupil's name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.text import (
    counted,
    fold,
    initials,
    name_matches,
    near_miss,
    prefix_slips,
    pupil_name,
    search_key,
    search_tails,
)


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
        ("ameliahu", True),
        ("a-m-e", True),
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


@pytest.mark.parametrize(
    ("text", "key"),
    [("O’Brien", "obrien"), ("o brien", "obrien"), ("Smith–Jones", "smithjones"),
     (" Van  der Berg ", "vanderberg"), ("Zoë", "zoe"), ("50%", "50%"), ("a_b", "a_b")],
)
def test_search_key_drops_apostrophes_hyphens_and_spaces_only(text: str, key: str) -> None:
    assert search_key(text) == key


def test_name_matches_whatever_the_punctuation_inside_names() -> None:
    for typed in ("obrien", "o'brien", "o brien", "dylan o brien", "dylanob"):
        assert name_matches(typed, "Dylan", "O’Brien"), typed
    assert not name_matches("brien", "Dylan", "O’Brien")


@pytest.mark.parametrize(
    ("last_name", "tails"),
    [("Smith-Jones", ["jones"]), ("Smith Jones", ["jones"]), ("García  López", ["lopez"]),
     ("De La Cruz", ["lacruz", "cruz"]), ("Smith – Jones", ["jones"]), ("O’Brien", []),
     ("O'Brien-Smith", ["smith"]), ("Hughes", []), ("-Jones-", []), ("", [])],
)
def test_search_tails_start_at_each_later_word(last_name: str, tails: list[str]) -> None:
    assert search_tails(last_name) == tails


def test_name_matches_a_later_word_of_the_last_name_and_first_name_with_it() -> None:
    for typed in ("Jones", "jo", "Amelia Jones", "amelia jo", "AMÉLIA-JONES", "smith jo"):
        assert name_matches(typed, "Amélia", "Smith-Jones"), typed
    for typed in ("cruz", "la cruz", "la", "rosa cruz", "rosa la c", "de la"):
        assert name_matches(typed, "Rosa", "De La Cruz"), typed
    for typed in ("ones", "jones amelia", "amelia smith-jones x", "rosa de cruz"):
        assert not name_matches(typed, "Amelia", "Smith-Jones") \
            and not name_matches(typed, "Rosa", "De La Cruz"), typed


def test_prefix_slips_counts_edits_against_the_best_prefix() -> None:
    assert prefix_slips("walkr", "walker", 1) == 1  # a letter missing
    assert prefix_slips("wlaker", "walker", 1) == 1  # two swapped
    assert prefix_slips("walk", "walker", 1) == 0  # a prefix already
    assert prefix_slips("wxlkr", "walker", 1) is None
    assert prefix_slips("wxlkr", "walker", 2) == 2
    assert prefix_slips("abcdef", "abc", 2) is None  # three letters too many


def test_near_misses_need_four_letters_and_allow_more_slips_for_longer_names() -> None:
    def near(typed: str, first: str, last: str) -> int | None:
        return near_miss(search_key(typed), first, last)

    assert near("Walkr", "jack", "walker") == 1
    assert near("Amelia Ahmd", "amelia", "ahmed") == 1
    assert near("Amelia Axmd", "amelia", "ahmed") == 2
    assert near("Wlk", "jack", "walker") is None  # three letters: no guessing
    assert near("Wxlkr", "jack", "walker") is None  # two slips in five letters
    assert near("Zebedee", "jack", "walker") is None


def test_near_misses_of_a_later_word_of_the_last_name_as_the_search_finds_it() -> None:
    def near(typed: str, first: str, last: str) -> int | None:
        return near_miss(search_key(typed), search_key(first), search_key(last),
                         search_tails(last))

    assert near("Jnoes", "Amelia", "Smith-Jones") == 1  # "Jones" finds her
    assert near("Amelia Jnoes", "Amelia", "Smith-Jones") == 1
    assert near("Crzu", "Rosa", "De La Cruz") == 1
    assert near("Lacrz", "Rosa", "De La Cruz") == 1
    assert near("Smiht", "Amelia", "Smith-Jones") == 1  # the whole name, as before
    assert near("Jnoes", "Amelia", "Smith") is None
    assert near("Brein", "Dylan", "O'Brien") is None  # one word: "Brien" finds nobody


@given(st.text("abcde", max_size=9), st.text("abcde", max_size=12), st.integers(1, 3))
def test_prefix_slips_agrees_with_the_full_table(wanted: str, name: str, most: int) -> None:
    expected = min(_slips(wanted, name[:end]) for end in range(len(name) + 1))
    assert prefix_slips(wanted, name, most) == (expected if expected <= most else None)


def _slips(a: str, b: str) -> int:
    """Edits with swaps of neighbours (optimal string alignment), the whole table."""
    table = [[max(i, j) if 0 in (i, j) else 0 for j in range(len(b) + 1)]
             for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1,
                              table[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[len(a)][len(b)]


def test_counted_agrees_with_its_count() -> None:
    assert counted(1, "record") == "1 record"
    assert counted(0, "record") == "0 records"
    assert counted(2, "follow-up overdue", "follow-ups overdue") == "2 follow-ups overdue"
