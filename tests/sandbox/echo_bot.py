"""A small bot for the sandbox tests: echo, a command with buttons, a file, deletions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

REPORT_CSV = b"upn,sessions\r\nA123456789012,38\r\n\x00\xff binary tail"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with the code given after /start and offer two buttons."""
    assert update.message is not None
    code = " ".join(context.args or []) or "none"
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Yes", callback_data="choice:yes"),
          InlineKeyboardButton("No", callback_data="choice:no")]]
    )
    await update.message.reply_text(
        f"Welcome. Code: {code}", reply_markup=keyboard, protect_content=True
    )


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a CSV file with an HTML caption."""
    assert update.message is not None
    await update.message.reply_document(
        REPORT_CSV,
        filename="report.csv",
        caption="<b>Report</b> for O&#x27;Brien",
        parse_mode=ParseMode.HTML,
        protect_content=True,
    )


async def tidy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove the user's command, then say so and remove that too."""
    assert update.message is not None
    await update.message.delete()
    notice = await context.bot.send_message(update.message.chat_id, "Tidied.")
    await notice.delete()


async def leave(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Leave a group chat."""
    assert update.effective_chat is not None
    await context.bot.leave_chat(update.effective_chat.id)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a press and replace the question with the choice (dropping the keyboard)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    picked = query.data.removeprefix("choice:")
    if picked not in ("yes", "no"):
        await query.answer("That button is not valid.", show_alert=True)
        return
    await query.answer("Noted")
    await query.edit_message_text(f"You chose {picked}")


@dataclass
class PollingBot:
    """A running Application and what its polling loop reported."""

    app: Application
    errors: list[TelegramError] = field(default_factory=list)
    polling_failed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, error: TelegramError) -> None:
        self.errors.append(error)
        self.polling_failed.set()


def add_handlers(app: Application) -> None:
    """Register every handler of the small bot in one place."""
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("report", report))
    app.add_handler(CommandHandler("tidy", tidy))
    app.add_handler(CommandHandler("leave", leave))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(choice))
