"""The stand-in's state: chats, messages, pending updates, callback queries and files."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.sandbox.models import BotMessage, Button, ChatEvent, FilePayload

T = TypeVar("T")


class Signal:
    """Wakes every waiter whenever the state changes; waiters re-check what they wait for."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, probe: Callable[[], T | None]) -> T:
        """Return the first non-None result of probe, checked after every change."""
        while True:
            found = probe()
            if found is not None:
                return found
            await self._event.wait()


@dataclass
class Chat:
    """One chat with the bot: a private chat (id == user id) or a group."""

    id: int
    kind: str
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    last_message_id: int = 0
    messages: dict[int, BotMessage] = field(default_factory=dict)
    user_message_ids: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    sent: list[BotMessage] = field(default_factory=list)
    events: list[ChatEvent] = field(default_factory=list)
    blocked: bool = False

    @property
    def is_private(self) -> bool:
        return self.kind == "private"

    def next_message_id(self) -> int:
        # User and bot messages share one increasing sequence per chat, as in Telegram.
        self.last_message_id += 1
        return self.last_message_id

    def visible(self) -> list[BotMessage]:
        return [message for message in self.messages.values() if not message.deleted]

    def has_message(self, message_id: int) -> bool:
        if message_id in self.deleted:
            return False
        return message_id in self.messages or message_id in self.user_message_ids

    def json(self) -> dict[str, Any]:
        if self.is_private:
            body: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
            if self.username:
                body["username"] = self.username
            return body
        return {"id": self.id, "type": self.kind, "title": self.title}


@dataclass
class CallbackQuery:
    """A button press and, once the bot answers it, the answer."""

    id: str
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer: str | None = None
    show_alert: bool = False


@dataclass
class Webhook:
    """What setWebhook registered, and the last failure, as getWebhookInfo reports it."""

    url: str
    secret: str | None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


# Update types Telegram sends only when getUpdates' allowed_updates names them.
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class World:
    """Everything the stand-in knows; the HTTP side and the fake people both change it."""

    def __init__(self, bot_id: int, bot_username: str) -> None:
        self.signal = Signal()
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "EWO Test Bot",
            "username": bot_username,
        }
        self.chats: dict[int, Chat] = {}
        self.people: dict[int, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self.callbacks: dict[str, CallbackQuery] = {}
        self.files: dict[str, FilePayload] = {}
        self.file_ids: dict[FilePayload, str] = {}
        self.left_chats: set[int] = set()
        self.commands: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self.allowed_updates: frozenset[str] | None = None  # None: Telegram's default
        self.webhook: Webhook | None = None  # set: updates are posted, getUpdates is refused
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_001)
        self._file_numbers = itertools.count(1)

    # Updates -------------------------------------------------------------------------

    def allow_updates(self, kinds: object) -> None:
        """getUpdates' allowed_updates: kept until a later call names others; an empty
        list means Telegram's default again."""
        if isinstance(kinds, list):
            self.allowed_updates = frozenset(str(kind) for kind in kinds) or None

    def queue_update(self, kind: str, payload: dict[str, Any]) -> None:
        """An update of this type, unless the bot asked not to get that type (Telegram
        then never creates it)."""
        allowed = self.allowed_updates
        if kind in _NOT_BY_DEFAULT if allowed is None else kind not in allowed:
            return
        self.updates.append({"update_id": next(self._update_ids), kind: payload})
        self.signal.notify()

    def confirm_updates(self, offset: int | None) -> None:
        """Forget updates the bot has confirmed (Bot API getUpdates offset rules)."""
        if not offset:
            return
        if offset < 0:
            del self.updates[:offset]
            return
        self.updates = [update for update in self.updates if update["update_id"] >= offset]

    def drop_update(self, update: dict[str, Any]) -> None:
        """Forget one update (the webhook accepted it, or gave up on it)."""
        with contextlib.suppress(ValueError):
            self.updates.remove(update)
        self.signal.notify()

    def user_message(self, chat: Chat, person: dict[str, Any], text: str, *,
                     kind: str = "message", business_connection_id: str | None = None) -> int:
        message_id = chat.next_message_id()
        chat.user_message_ids.add(message_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": person,
            "chat": chat.json(),
            "date": int(time.time()),
            "text": text,
        }
        entities = command_entities(text)
        if entities:
            message["entities"] = entities
        if business_connection_id is not None:
            message["business_connection_id"] = business_connection_id
        if chat.id not in self.left_chats:
            self.queue_update(kind, message)
        return message_id

    def press(self, chat: Chat, person: dict[str, Any], data: str, message_id: int) -> str:
        query_id = str(next(self._callback_ids))
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            # What Telegram sends for a message the bot can no longer see.
            shown: dict[str, Any] = {"chat": chat.json(), "message_id": message_id, "date": 0}
        else:
            shown = self.message_json(chat, message)
        self.callbacks[query_id] = CallbackQuery(query_id, chat.id, message_id, data)
        self.queue_update(
            "callback_query",
            {
                "id": query_id,
                "from": person,
                "message": shown,
                "chat_instance": str(chat.id),
                "data": data,
            },
        )
        return query_id

    # Bot messages ----------------------------------------------------------------------

    def add_bot_message(self, chat: Chat, message: BotMessage) -> None:
        chat.messages[message.message_id] = message
        chat.sent.append(message.snapshot())
        self.record_event(chat, ChatEvent("sent", message.message_id, message.snapshot()))

    def record_event(self, chat: Chat, event: ChatEvent) -> None:
        chat.events.append(event)
        self.signal.notify()

    def delete_message(self, chat: Chat, message_id: int) -> None:
        chat.deleted.add(message_id)
        message = chat.messages.get(message_id)
        if message is not None:
            message.deleted = True
        snapshot = message.snapshot() if message is not None else None
        self.record_event(chat, ChatEvent("deleted", message_id, snapshot))

    def message_json(self, chat: Chat, message: BotMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": chat.json(),
            "date": message.date,
        }
        if message.text is not None:
            body["text"] = message.text
        if message.caption is not None:
            body["caption"] = message.caption
        if message.buttons:
            body["reply_markup"] = {
                "inline_keyboard": [[button_json(button) for button in row]
                                    for row in message.buttons]
            }
        if message.protect_content:
            body["has_protected_content"] = True
        if message.edited:
            body["edit_date"] = int(time.time())
        if message.document is not None:
            body["document"] = self.file_json(message.document, "documents")
        if message.photo is not None:
            size = {**self.file_json(message.photo, "photos"), "width": 320, "height": 320}
            size.pop("file_name", None)
            size.pop("mime_type", None)
            body["photo"] = [size]
        return body

    # Files -----------------------------------------------------------------------------

    def store_file(self, payload: FilePayload, folder: str) -> str:
        file_id = self.file_ids.get(payload)
        if file_id is None:
            number = next(self._file_numbers)
            file_id = f"{folder}-file-{number}"
            self.file_ids[payload] = file_id
            self.files[file_id] = payload
        return file_id

    def file_json(self, payload: FilePayload, folder: str) -> dict[str, Any]:
        file_id = self.store_file(payload, folder)
        body: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(payload.content),
        }
        if payload.filename:
            body["file_name"] = payload.filename
        if payload.mime_type:
            body["mime_type"] = payload.mime_type
        return body

    def file_path(self, file_id: str) -> str:
        return f"files/{file_id}"

    def file_at(self, path: str) -> FilePayload | None:
        return self.files.get(path.removeprefix("files/"))


def button_json(button: Button) -> dict[str, Any]:
    body: dict[str, Any] = {"text": button.label}
    if button.data is not None:
        body["callback_data"] = button.data
    if button.url is not None:
        body["url"] = button.url
    return body


def command_entities(text: str) -> list[dict[str, Any]]:
    """A bot_command entity for a leading /command, as Telegram adds one."""
    if not text.startswith("/") or len(text) < 2:
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def update_chat(update: dict[str, Any]) -> int | None:
    """The chat an update comes from (a message's or a pressed button's message's)."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or payload.get("message", {}).get("chat")
        if isinstance(chat, dict):
            return chat.get("id")
    return None
