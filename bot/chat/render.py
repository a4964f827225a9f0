"""How the bot shows things in a chat, written once for every handler and job.

- `day`: a date as users read it, DD/MM/YYYY ("None" for no date).
- `keyboard`: the one builder of inline keyboards (callback data checked against
  Telegram's 64 bytes); `grid` lays a flat list of buttons out in columns with it.
- `ack`: answer a press; a replayed press may be too old to answer, which is fine.
  `answer_press` is the one call that answers one: never a press replayed after the
  PIN, whose id Telegram does not know.
- `edit`: show a text in the pressed message. "Message is not modified" (the same
  screen again) is fine; a message too old to edit, or gone, gets the text as a new
  message instead, so the user still sees it. A text over Telegram's 4,096 characters
  fills the pressed message and goes on in new ones, the keyboard on the last.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.domain.message_parts import split_message

NO_DATE = "None"
CALLBACK_LIMIT = 64  # bytes of callback data Telegram keeps
# Telegram's descriptions of an edit that cannot happen: then the text is sent anew.
_UNEDITABLE = ("message can't be edited", "message to edit not found")


def day(value: date | str | None) -> str:
    """A date (or its ISO text) as DD/MM/YYYY; `NO_DATE` for none."""
    if value is None:
        return NO_DATE
    when = date.fromisoformat(value) if isinstance(value, str) else value
    return when.strftime("%d/%m/%Y")


def keyboard(rows: Sequence[Sequence[Sequence[str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data)."""
    for row in rows:
        for _, data in row:
            if len(data.encode()) > CALLBACK_LIMIT:
                raise ValueError("callback data is limited to 64 bytes")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows])


def grid(buttons: Sequence[Sequence[str]], columns: int,
         last: Sequence[str] | None = None) -> InlineKeyboardMarkup | None:
    """Buttons `[label, data]` laid out `columns` to a row, then `last` on its own row;
    None when there is no button at all."""
    columns = max(columns, 1)
    rows = [list(buttons[start:start + columns]) for start in range(0, len(buttons), columns)]
    if last is not None:
        rows.append([last])
    return keyboard(rows) if rows else None


def not_modified(exc: BadRequest) -> bool:
    """Whether an edit failed only because the message already shows that."""
    return "not modified" in str(exc).lower()


# The id of a press kept while the session was locked and replayed after the PIN
# (bot/handlers/kept.py): Telegram has no such query, so it is not answered.
REPLAYED_PRESS = "kept-"


async def answer_press(query: CallbackQuery, text: str | None = None, *,
                       alert: bool = False) -> bool:
    """Answer a press; False when it cannot be (replayed after the PIN, or too old):
    the caller says it in the chat instead when it matters."""
    if query.id.startswith(REPLAYED_PRESS):
        return False
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest:
        return False
    return True


async def ack(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the press (a replayed press may be too old to answer: nothing to do then)."""
    query = update.callback_query
    if query is not None:
        await answer_press(query, text, alert=alert)


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> int:
    """Show `text` in the pressed message, or in a new one when that message cannot be
    edited any more; returns the id of the message that shows it (its last part, for a
    text too long for one message: Telegram refuses such an edit outright)."""
    parts = split_message(text)
    shown = await _edit_one(update, parts[0], markup if len(parts) == 1 else None)
    assert update.effective_chat is not None
    for number, part in enumerate(parts[1:], 2):
        sent = await update.effective_chat.send_message(
            part, reply_markup=markup if number == len(parts) else None)
        shown = sent.message_id
    return shown


async def _edit_one(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> int:
    query = update.callback_query
    assert query is not None and query.message is not None
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if not_modified(exc):
            return query.message.message_id
        if not any(reason in str(exc).lower() for reason in _UNEDITABLE):
            raise
        assert update.effective_chat is not None
        sent = await update.effective_chat.send_message(text, reply_markup=markup)
        return sent.message_id
    return query.message.message_id
