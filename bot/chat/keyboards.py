"""Inline keyboards from `[label, data]` pairs, as pushed messages (the outbox) and the
alert screens lay them out."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


def keyboard(buttons: Sequence[Sequence[str]], columns: int,
             last: Sequence[str] | None = None) -> InlineKeyboardMarkup | None:
    """Buttons `[label, data]` laid out `columns` to a row, then `last` on its own row."""
    columns = max(columns, 1)
    cells = [InlineKeyboardButton(label, callback_data=data) for label, data in buttons]
    rows = [cells[start:start + columns] for start in range(0, len(cells), columns)]
    if last is not None:
        rows.append([InlineKeyboardButton(last[0], callback_data=last[1])])
    return InlineKeyboardMarkup(rows) if rows else None
