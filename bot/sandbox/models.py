"""What tests observe in the stand-in: bot messages, buttons, files, chat events, API calls."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """One inline keyboard button: callback data or a URL (or neither, for other kinds)."""

    label: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class FilePayload:
    """A file the bot uploaded, as received."""

    filename: str | None
    content: bytes
    mime_type: str | None = None


@dataclass
class BotMessage:
    """A message the bot sent, as the user sees it.

    `text` and `caption` are what the user reads (parse-mode markup rendered away,
    HTML entities unescaped); `raw_text` is the text or caption exactly as the bot sent it.
    """

    message_id: int
    chat_id: int
    text: str | None = None
    caption: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    protect_content: bool = False
    document: FilePayload | None = None
    photo: FilePayload | None = None
    edited: bool = False
    deleted: bool = False
    parse_mode: str | None = None
    raw_text: str | None = None
    reply_to_message_id: int | None = None
    date: int = 0

    def labels(self) -> list[str]:
        """Every button label, row by row."""
        return [button.label for row in self.buttons for button in row]

    def button(self, label: str) -> Button:
        """The button with this exact label; LookupError when there is none."""
        for row in self.buttons:
            for button in row:
                if button.label == label:
                    return button
        raise LookupError(f"no button labelled {label!r}")

    def snapshot(self) -> BotMessage:
        """A copy that later edits do not change."""
        return dataclasses.replace(self, buttons=[list(row) for row in self.buttons])


@dataclass(frozen=True)
class ChatEvent:
    """Something the bot did in a chat.

    kind is "sent", "edited" or "deleted" (with the message after the change; message is
    None when a user's own message was deleted) or "answered" (a callback query answer).
    """

    kind: str
    message_id: int | None = None
    message: BotMessage | None = None
    callback_id: str | None = None
    answer: str | None = None
    show_alert: bool = False


@dataclass
class ApiCall:
    """One request the bot made; params are decoded (numbers, flags, JSON, files)."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
