"""What every chat handler shares: services, the gate's verdict, replies, button data.

The gate (bot/handlers/access.py) resolves each update's person before any feature
handler runs and leaves the result here; handlers never look people up themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.clock import Clock
from bot.settings import Settings
from bot.storage import audit
from bot.storage import messages as message_store
from bot.storage.db import Database
from bot.storage.officers import Officer

Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Awaitable[Any]]
H = TypeVar("H", bound=Handler)

_OFFICER_KEY = "ewo.officer"
NOT_ALLOWED = "Sorry, that is not available to you."
STALE_BUTTON = "That button is out of date. Send the command again."


@dataclass(frozen=True, slots=True)
class Services:
    """The long-lived things a handler needs, built once by the composition root."""

    db: Database
    settings: Settings
    clock: Clock
    pepper: bytes
    audit_trail: audit.Appender  # the entry of every card view, a group at a time


def services(context: Context) -> Services:
    return context.application.bot_data["services"]  # type: ignore[no-any-return]


def set_current_officer(context: Context, officer: Officer | None) -> None:
    """Called by the gate only: who sent this update, already authorised for it."""
    if context.chat_data is not None:
        context.chat_data[_OFFICER_KEY] = officer


def current_officer(context: Context) -> Officer:
    """The unlocked, active person behind this update (the gate let it through)."""
    officer = context.chat_data.get(_OFFICER_KEY) if context.chat_data is not None else None
    if officer is None:
        raise RuntimeError("handler ran without the gate's verdict")
    return officer  # type: ignore[no-any-return]


def requires_role(*roles: str) -> Callable[[H], H]:
    """Refuse (politely, audited) a command or button outside the person's role."""

    def decorate(handler: H) -> H:
        @wraps(handler)
        async def guarded(update: Update, context: Context) -> Any:
            officer = current_officer(context)
            if officer.role not in roles:
                await refuse(update, context, officer, reason="role")
                return None
            return await handler(update, context)

        return guarded  # type: ignore[return-value]

    return decorate


async def refuse(update: Update, context: Context, officer: Officer, *, reason: str,
                 target: str | None = None, text: str = NOT_ALLOWED) -> None:
    """One polite refusal and an audit entry."""
    what = _what(update)
    services_ = services(context)
    async with services_.db.write() as conn:
        await audit.append(conn, actor=officer.actor, action=f"refused:{what}", target=target,
                           reason=reason)
    await answer(update, text, alert=True)


def _what(update: Update) -> str:
    if update.callback_query is not None:
        return "button"
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        return message.text.split()[0][1:].split("@")[0][:20].lower()
    return "message"


async def answer(update: Update, text: str, *, alert: bool = False,
                 markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply to a message, or answer a button press (short text as a notification)."""
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(text[:200], show_alert=alert)
        except BadRequest:  # the press is too old to answer; say it in the chat instead
            if query.message is not None:
                await query.message.chat.send_message(text, reply_markup=markup)
        return
    if update.effective_chat is not None:
        await update.effective_chat.send_message(text, reply_markup=markup)


async def send_sensitive(context: Context, chat_id: int, text: str, *,
                         markup: InlineKeyboardMarkup | None = None) -> Message:
    """Send a message holding contacts, SEN/health details or notes; it is deleted later."""
    services_ = services(context)
    message = await context.bot.send_message(chat_id, text, reply_markup=markup)
    minutes = services_.settings.sensitive_message_minutes
    if minutes:
        delete_at = services_.clock.now() + timedelta(minutes=minutes)
        async with services_.db.write() as conn:
            await message_store.schedule_deletion(conn, chat_id, message.message_id, delete_at)
    return message


async def forget_message(context: Context, message: Message | None) -> None:
    """Delete a message that held a secret (code, PIN) once it has been read."""
    if message is None:
        return
    with contextlib.suppress(BadRequest):  # already gone
        await message.delete()


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data)."""
    for row in rows:
        for _, data in row:
            if len(data.encode()) > 64:
                raise ValueError("callback data is limited to 64 bytes")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows])


def button_data(update: Update) -> list[str]:
    """The parts of a pressed button's data, `kind:arg:…` (untrusted: callers re-check)."""
    query = update.callback_query
    if query is None or not isinstance(query.data, str):
        return []
    return query.data.split(":")


def parse_id(text: str) -> int | None:
    """An id from button data, or None when it is not a plain positive number."""
    if not text.isdigit() or len(text) > 12:
        return None
    return int(text)
