"""What every chat handler shares: the typed context, services, replies, button data.

Each update's context is an `EwoContext` (python-telegram-bot's `ContextTypes`, as
its examples/contexttypesbot.py shows): `context.services` are the long-lived things
the composition root built, `context.officer` the person the gate resolved and
admitted for this update, `context.registry` the table of commands, buttons and
conversations (bot/handlers/registry.py). Handlers never look people up themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackContext, ExtBot

from bot.chat.deletion import delete_due
from bot.chat.render import answer_press, not_modified
from bot.chat.render import keyboard as keyboard  # re-exported: handlers import it from here
from bot.clock import Clock
from bot.domain.message_parts import split_message
from bot.handlers.table import Registry
from bot.settings import Settings
from bot.storage import audit, conversations
from bot.storage import messages as message_store
from bot.storage.conversations import Conversation
from bot.storage.db import Database, DatabaseBusy
from bot.storage.officers import Officer

SERVICES_KEY = "services"  # bot_data: the Services, set in the composition root's post_init
REGISTRY_KEY = "ewo.registry"  # bot_data: the Registry the handlers were registered from
NOT_ALLOWED = "Sorry, that is not available to you."
STALE_BUTTON = "That button is out of date. Send the command again."
# What a sensitive message says for the moment between its send and its text.
SENSITIVE_PLACEHOLDER = "One moment…"
_UNREAD = object()  # the gate has not read the officer's open conversation


@dataclass(frozen=True, slots=True)
class Services:
    """The long-lived things a handler needs, built once by the composition root."""

    db: Database
    settings: Settings
    clock: Clock
    pepper: bytes
    audit_trail: audit.Appender  # the entry of every card view, a group at a time


class EwoContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context of one update (or job): typed access to what handlers share.

    python-telegram-bot makes one per update and hands the same one to every group's
    handler, so the gate's verdict (group -1) is seen by the feature handler (group 0)
    of that update and of no other.
    """

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._officer: Officer | None = None
        self._talk: Conversation | None | object = _UNREAD

    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]  # type: ignore[no-any-return]

    @property
    def registry(self) -> Registry:
        return self.application.bot_data[REGISTRY_KEY]  # type: ignore[no-any-return]

    @property
    def officer(self) -> Officer:
        """The unlocked, active person behind this update, admitted by the gate."""
        if self._officer is None:
            raise RuntimeError("handler ran without the gate's verdict")
        return self._officer

    def admit(self, officer: Officer | None, talk: Conversation | None | object = _UNREAD
              ) -> None:
        """Called by the gate only: who sent this update, already authorised for it, and
        their open conversation as the gate read it (with them, in the same statement)."""
        self._officer = officer
        self._talk = talk

    async def open_conversation(self) -> Conversation | None:
        """The admitted officer's open conversation: as the gate read it for this update
        (nothing is written between the two), else read now."""
        if self._talk is _UNREAD:
            svc = self.services
            return await svc.db.read(conversations.current, self.officer.id, svc.clock.now())
        return self._talk  # type: ignore[return-value]


Context = EwoContext


async def refuse(update: Update, context: Context, officer: Officer, *, reason: str,
                 target: str | None = None, text: str = NOT_ALLOWED) -> None:
    """One polite refusal and an audit entry."""
    what = _what(update)
    services_ = context.services
    await services_.db.write(audit.append, actor=officer.actor, action=f"refused:{what}",
                             target=target, reason=reason)
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
        # A press too old to answer, or replayed after the PIN: said in the chat instead.
        if not await answer_press(query, text[:200], alert=alert) and query.message is not None:
            await _send_in_parts(query.message.chat, text, markup)
        return
    if update.effective_chat is not None:
        await _send_in_parts(update.effective_chat, text, markup)


async def _send_in_parts(chat: Chat, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """A reply too long for one message goes as several; the keyboard on the last."""
    parts = split_message(text)
    for part in parts[:-1]:
        await chat.send_message(part)
    await chat.send_message(parts[-1], reply_markup=markup)


async def schedule_sensitive(context: Context, chat_id: int, message_id: int) -> None:
    """Record that this message goes after EWO_SENSITIVE_MESSAGE_MINUTES (0: it stays)."""
    svc = context.services
    minutes = svc.settings.sensitive_message_minutes
    if minutes:
        await svc.db.write(message_store.schedule_deletion, chat_id, message_id,
                           svc.clock.now() + timedelta(minutes=minutes))


async def schedule_typed(context: Context, message: Message) -> None:
    """The person's own message holding notes or names goes after
    EWO_SENSITIVE_MESSAGE_MINUTES, as the bot's sensitive messages do. When its row
    cannot be written (the database stayed busy), nothing would delete it later: it is
    deleted now, and the error goes on, so the person is asked to send it again."""
    try:
        await schedule_sensitive(context, message.chat_id, message.message_id)
    except DatabaseBusy:
        await _delete_now(context, message)
        raise


async def send_sensitive(context: Context, chat_id: int, text: str, *,
                         markup: InlineKeyboardMarkup | None = None) -> int:
    """Send contacts, SEN/health details or notes, deleted later; returns the last part's id.

    Each part goes out as a placeholder first, its deletion row is written once its id
    is known, and only then is it edited into the text: a slow, failed or interrupted
    send can leave a placeholder behind, never the text (and a lock-screen
    notification shows only the placeholder). Text over 4,096 characters is split.
    """
    return await _sensitive_parts(context, chat_id, split_message(text), markup)


async def edit_sensitive(context: Context, chat_id: int, message_id: int, text: str, *,
                         markup: InlineKeyboardMarkup | None = None) -> int:
    """Turn a message of the bot's into a sensitive one: its row first, then the edit.

    A text over 4,096 characters fills this message and continues in new ones."""
    parts = split_message(text)
    await schedule_sensitive(context, chat_id, message_id)
    await _edit_to(context, chat_id, message_id, parts[0], markup if len(parts) == 1 else None)
    if len(parts) == 1:
        return message_id
    return await _sensitive_parts(context, chat_id, parts[1:], markup)


async def _sensitive_parts(context: Context, chat_id: int, parts: Sequence[str],
                           markup: InlineKeyboardMarkup | None) -> int:
    keep = not context.services.settings.sensitive_message_minutes
    message_id = 0
    for number, part in enumerate(parts, 1):
        part_markup = markup if number == len(parts) else None
        if keep:  # nothing is deleted: no placeholder needed
            sent = await context.bot.send_message(chat_id, part, reply_markup=part_markup)
            message_id = sent.message_id
            continue
        placeholder = await context.bot.send_message(chat_id, SENSITIVE_PLACEHOLDER)
        message_id = placeholder.message_id
        await schedule_sensitive(context, chat_id, message_id)
        await _edit_to(context, chat_id, message_id, part, part_markup)
    return message_id


async def _edit_to(context: Context, chat_id: int, message_id: int, text: str,
                   markup: InlineKeyboardMarkup | None) -> None:
    try:
        await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                            reply_markup=markup)
    except BadRequest as exc:
        if not not_modified(exc):  # the same screen shown again
            raise


async def forget_message(context: Context, message: Message | None) -> None:
    """Delete a message that held a secret (code, PIN, UPN) once it has been read.

    Its row is written first, due now: a deletion that fails (or a crash before it)
    is retried by the sweep. A row that cannot be written (the database stayed busy):
    deleted all the same, once, and the error goes on (the person is asked to try again)."""
    if message is None:
        return
    svc = context.services
    now = svc.clock.now()
    item = message_store.DueDeletion(message.chat_id, message.message_id)
    try:
        await svc.db.write(message_store.schedule_deletion, item.chat_id, item.message_id, now)
    except DatabaseBusy:
        await _delete_now(context, message)
        raise
    await delete_due(context.bot, svc.db, item, now)


async def _delete_now(context: Context, message: Message) -> None:
    """Delete the person's message once, with no row to retry it: what could be done
    while the database is busy (a failure is left as it is)."""
    with contextlib.suppress(TelegramError):
        await context.bot.delete_message(message.chat_id, message.message_id)


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
