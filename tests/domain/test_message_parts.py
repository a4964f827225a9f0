"""Texts cut into messages Telegram accepts: on line breaks, nothing lost, none too long."""

from __future__ import annotations

import pytest

from bot.domain.message_parts import MESSAGE_LIMIT, clipped, split_message, text_length


def test_a_short_text_is_one_part_unchanged() -> None:
    assert split_message("Line one\n\nLine two") == ["Line one\n\nLine two"]
    exactly = "x" * MESSAGE_LIMIT
    assert split_message(exactly) == [exactly]


def test_a_long_text_is_cut_between_lines_and_keeps_every_line_in_order() -> None:
    lines = [f"{n}. " + " ".join(["contact details"] * 10) for n in range(200)]
    parts = split_message("\n".join(lines))
    assert len(parts) > 1
    assert all(0 < text_length(part) <= MESSAGE_LIMIT for part in parts)
    assert [line for part in parts for line in part.split("\n")] == lines


def test_a_line_longer_than_a_part_is_cut_at_a_space() -> None:
    words = " ".join(f"word{n}" for n in range(2000))
    parts = split_message(words, limit=100)
    assert all(text_length(part) <= 100 for part in parts)
    assert " ".join(parts) == words  # cut between words, none lost or broken


def test_a_line_without_spaces_is_cut_anywhere() -> None:
    parts = split_message("Notes: " + "x" * 5000)
    assert [len(part) for part in parts] == [MESSAGE_LIMIT, 5007 - MESSAGE_LIMIT]


def test_blank_lines_at_a_cut_are_dropped_and_no_part_is_empty() -> None:
    text = "a" * 50 + "\n\n\n\n" + "b" * 50
    assert split_message(text, limit=60) == ["a" * 50, "b" * 50]


def test_length_is_counted_as_telegram_does_in_utf16_units() -> None:
    assert text_length("😀") == 2 and text_length("Zoë") == 3
    parts = split_message("😀" * 3000)
    assert all(text_length(part) <= MESSAGE_LIMIT for part in parts)
    assert "".join(parts) == "😀" * 3000


def test_a_limit_too_small_to_hold_a_character_is_refused() -> None:
    with pytest.raises(ValueError):
        split_message("text", limit=1)


def test_a_field_is_clipped_with_an_ellipsis_only_when_too_long() -> None:
    assert clipped("Hillside Primary School", 30) == "Hillside Primary School"
    assert clipped("Amelia " + "x" * 100, 10) == "Amelia xx…"
    assert clipped("Amelia Hughes", 8) == "Amelia…"
