"""The shared chat rendering: dates, keyboards, and an edit that still shows its text."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from telegram.error import BadRequest

from bot.chat import render


def test_dates_show_as_day_month_year() -> None:
    assert render.day(date(2026, 3, 4)) == "04/03/2026"
    assert render.day("2026-11-25") == "25/11/2026"
    assert render.day(None) == "None"


def test_keyboards_refuse_callback_data_over_64_bytes() -> None:
    markup = render.keyboard([[("A", "a:1"), ("B", "b:2")]])
    assert [[button.text for button in row] for row in markup.inline_keyboard] == [["A", "B"]]
    with pytest.raises(ValueError, match="64 bytes"):
        render.keyboard([[("A", "x" * 65)]])


def test_a_grid_lays_buttons_out_in_columns_then_the_last_alone() -> None:
    markup = render.grid([["1", "a"], ["2", "b"], ["3", "c"]], 2, ["More", "m"])
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["1", "2"], ["3"], ["More"]]
    assert render.grid([], 2) is None


class _Sent:
    message_id = 99


class _Chat:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_message(self, text: str, reply_markup: Any = None) -> _Sent:
        self.sent.append(text)
        return _Sent()


class _Message:
    message_id = 7


class _Query:
    def __init__(self, error: str | None) -> None:
        self.error, self.message = error, _Message()
        self.edited: list[str] = []

    async def edit_message_text(self, text: str, reply_markup: Any = None) -> None:
        if self.error:
            raise BadRequest(self.error)
        self.edited.append(text)


class _Update:
    def __init__(self, error: str | None) -> None:
        self.callback_query, self.effective_chat = _Query(error), _Chat()


async def test_an_edit_of_the_same_text_is_fine_and_an_old_message_gets_a_new_one() -> None:
    shown = _Update(None)
    assert await render.edit(shown, "Hello") == 7  # type: ignore[arg-type]
    assert shown.callback_query.edited == ["Hello"]
    same = _Update("Message is not modified: specified new message content ...")
    assert await render.edit(same, "Hello") == 7  # type: ignore[arg-type]
    assert same.effective_chat.sent == []
    for error in ("Message can't be edited", "Message to edit not found"):
        old = _Update(error)
        assert await render.edit(old, "Hello") == 99  # type: ignore[arg-type]
        assert old.effective_chat.sent == ["Hello"]
    with pytest.raises(BadRequest):
        await render.edit(_Update("Chat not found"), "Hello")  # type: ignore[arg-type]
