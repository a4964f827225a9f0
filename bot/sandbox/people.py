"""Fake Telegram users and groups: they type, press buttons and watch what the bot sends."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.sandbox.models import BotMessage, ChatEvent
from bot.sandbox.world import Chat, World, update_chat


class ChatView:
    """What one chat shows: the bot's messages now, and what happened in order."""

    def __init__(self, world: World, chat: Chat) -> None:
        self._world = world
        self._chat = chat
        self._messages_read = 0
        self._events_read = 0

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def history(self) -> list[BotMessage]:
        """The bot's messages still visible, after edits, oldest first."""
        return [message.snapshot() for message in self._chat.visible()]

    def last(self) -> BotMessage:
        """The newest visible bot message; LookupError when there is none."""
        visible = self._chat.visible()
        if not visible:
            raise LookupError(f"no bot message in chat {self._chat.id}")
        return visible[-1].snapshot()

    @property
    def deleted(self) -> set[int]:
        """Ids of deleted messages, the user's and the bot's."""
        return set(self._chat.deleted)

    async def next_message(self, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109 (public API)
        """The next message the bot sent here that this method has not returned yet, as sent."""

        def unread() -> BotMessage | None:
            if self._messages_read < len(self._chat.sent):
                self._messages_read += 1
                return self._chat.sent[self._messages_read - 1]
            return None

        async with asyncio.timeout(timeout):
            return await self._world.signal.wait_until(unread)

    async def edited(self, message: BotMessage, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
        """`message` as shown once the bot has edited it (at once, when it already has)."""

        def done() -> BotMessage | None:
            current = self._chat.messages.get(message.message_id)
            return current.snapshot() if current is not None and current.edited else None

        async with asyncio.timeout(timeout):
            return await self._world.signal.wait_until(done)

    async def next_event(self, timeout: float = 5.0) -> ChatEvent:  # noqa: ASYNC109
        """The next thing the bot did here: sent, edited, deleted or answered."""

        def unread() -> ChatEvent | None:
            if self._events_read < len(self._chat.events):
                self._events_read += 1
                return self._chat.events[self._events_read - 1]
            return None

        async with asyncio.timeout(timeout):
            return await self._world.signal.wait_until(unread)

    async def taken(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (public API)
        """Return once the bot has confirmed (taken) every update from this chat."""

        def none_pending() -> bool | None:
            pending = any(update_chat(update) == self._chat.id
                          for update in self._world.updates)
            return None if pending else True

        async with asyncio.timeout(timeout):
            await self._world.signal.wait_until(none_pending)

    async def answer_to(
        self, callback_id: str, timeout: float = 5.0  # noqa: ASYNC109
    ) -> str | None:
        """The text the bot answered a press with (None for a silent answer), once answered."""
        query = self._world.callbacks.get(callback_id)
        if query is None:
            raise LookupError(f"no press with id {callback_id!r}")
        async with asyncio.timeout(timeout):
            await self._world.signal.wait_until(lambda: True if query.answered else None)
        return query.answer

    def _press(self, person: dict[str, Any], label: str, message_id: int | None) -> str:
        message = self._message_with_button(label, message_id)
        button = message.button(label)
        if button.data is None:
            raise LookupError(f"button {label!r} sends no callback data")
        return self._world.press(self._chat, person, button.data, message.message_id)

    def _message_with_button(self, label: str, message_id: int | None) -> BotMessage:
        if message_id is not None:
            message = self._chat.messages.get(message_id)
            if message is None or message.deleted or label not in message.labels():
                raise LookupError(f"no button {label!r} on message {message_id}")
            return message
        for message in reversed(self._chat.visible()):
            if label in message.labels():
                return message
        raise LookupError(f"no button {label!r} in chat {self._chat.id}")


class FakeUser(ChatView):
    """A person in a private chat with the bot (the chat id is the user id)."""

    def __init__(self, world: World, chat: Chat, person: dict[str, Any]) -> None:
        super().__init__(world, chat)
        self._person = person

    @property
    def user_id(self) -> int:
        return int(self._person["id"])

    @property
    def first_name(self) -> str:
        return str(self._person["first_name"])

    @property
    def username(self) -> str | None:
        return self._person.get("username")

    @property
    def person(self) -> dict[str, Any]:
        """The user as the Bot API describes them."""
        return dict(self._person)

    async def send(self, text: str) -> int:
        """Type a message to the bot; returns its message id."""
        _check_typed(text)
        return self._world.user_message(self._chat, self._person, text)

    async def press(self, label: str, *, message_id: int | None = None) -> str:
        """Press the button with this exact label on the newest message that has it."""
        return self._press(self._person, label, message_id)

    async def send_unreadable(self, text: str) -> None:
        """A message whose update this version of python-telegram-bot cannot read, as a
        newer Bot API might send one (a field of another shape: here its date)."""
        message = {"message_id": self._chat.next_message_id(), "from": self._person,
                   "chat": self._chat.json(), "date": "soon", "text": text}
        self._world.queue_update("message", message)

    async def send_in(self, other: FakeUser, text: str, *, business: bool = False) -> int:
        """Write in `other`'s private chat as this user: a business message (this user's
        business account connected to the bot), or with `business=False` a plain message
        whose chat is not the sender's own, as a forged or broken client could."""
        _check_typed(text)
        if business:
            return self._world.user_message(other._chat, self._person, text,
                                            kind="business_message",
                                            business_connection_id=f"bc{self.user_id}")
        return self._world.user_message(other._chat, self._person, text)

    async def press_data(self, data: str, message_id: int) -> str:
        """Send a callback query with any data at all, as a modified client could."""
        return self._world.press(self._chat, self._person, data, message_id)

    def block(self) -> None:
        """Block the bot: its messages to this user fail with 403 until unblocked."""
        self._chat.blocked = True

    def unblock(self) -> None:
        self._chat.blocked = False


class FakeGroup(ChatView):
    """A group chat the bot is in; members are FakeUsers."""

    @property
    def title(self) -> str:
        return str(self._chat.title)

    async def send(self, user: FakeUser, text: str) -> int:
        """A member writes in the group; the bot gets nothing once it has left."""
        _check_typed(text)
        return self._world.user_message(self._chat, user.person, text)

    async def press(self, user: FakeUser, label: str, *, message_id: int | None = None) -> str:
        return self._press(user.person, label, message_id)


def _check_typed(text: str) -> None:
    # Telegram clients cannot send an empty or whitespace-only message.
    if not text.strip():
        raise ValueError("a message needs some text")

