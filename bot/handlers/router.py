"""Plain text that is not a command: an answer to the open conversation, else a search.

Text sent while a conversation waits is an answer to it, never a search. A message of
4 to 8 digits is neither: it is a PIN sent while already unlocked, so it is deleted
from the chat. The composition root says which handler answers which conversation kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from telegram import Update

from bot.domain.pins import is_pin_shaped
from bot.handlers.common import Context, answer, current_officer, forget_message, services
from bot.storage import conversations
from bot.storage.conversations import Conversation

TextAnswer = Callable[[Update, Context, Conversation], Awaitable[None]]
Search = Callable[[Update, Context], Awaitable[None]]

NOTHING_TO_DO = "Send /help to see what you can do."
ALREADY_UNLOCKED = "Already unlocked."


@dataclass(frozen=True)
class TextRoutes:
    answers: Mapping[str, TextAnswer] = field(default_factory=dict)
    search: Search | None = None


def text_handler(routes: TextRoutes) -> Callable[[Update, Context], Awaitable[None]]:
    async def on_text(update: Update, context: Context) -> None:
        """Route typed text to the open conversation, or search the officer's pupils."""
        message = update.effective_message
        if message is not None and message.text and is_pin_shaped(message.text):
            await forget_message(context, message)
            await answer(update, ALREADY_UNLOCKED)
            return
        officer = current_officer(context)
        svc = services(context)
        # A quick read (on the loop's thread): this comes before every typed search.
        talk = await svc.db.read(conversations.current, officer.id, svc.clock.now())
        if talk is not None and talk.kind in routes.answers:
            await routes.answers[talk.kind](update, context, talk)
        elif routes.search is not None and officer.role != "controller":
            await routes.search(update, context)
        else:
            await answer(update, NOTHING_TO_DO)

    return on_text
