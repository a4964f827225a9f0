"""The delivery job's pure parts: backoff and the buttons of a message."""

from __future__ import annotations

from datetime import timedelta

from bot.jobs.outbox import BACKOFF_CAP, _backoff, markup
from bot.storage.outbox import Delivery


def delivery(payload: dict[str, object]) -> Delivery:
    return Delivery(7, "alert", "officer:1", payload, 0, 100, 1, "EWO1", None)


def test_backoff_doubles_and_is_capped() -> None:
    assert [_backoff(n) for n in range(4)] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert _backoff(7) == BACKOFF_CAP == timedelta(minutes=15)
    assert _backoff(1000) == BACKOFF_CAP


def test_buttons_in_columns_and_more_for_a_second_page() -> None:
    buttons = [[f"C-{n} A.H.", f"al:card:{n}"] for n in range(3)]
    keyboard = markup(delivery({"text": "t", "buttons": buttons, "columns": 2,
                                "pages": [{}, {}]}))
    assert keyboard is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in keyboard.inline_keyboard]
    assert rows == [[("C-0 A.H.", "al:card:0"), ("C-1 A.H.", "al:card:1")],
                    [("C-2 A.H.", "al:card:2")], [("More", "al:more:7:1")]]


def test_a_message_without_buttons_has_no_keyboard() -> None:
    assert markup(delivery({"text": "t"})) is None
