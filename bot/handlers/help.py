"""/help: the commands this person's role may use, as the registry lists them.

The same rows, in the same order, are the command menu set with setMyCommands when a
person enrols (bot/handlers/access.py); both come from `Registry.listed`.
"""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import Context, answer
from bot.handlers.table import CONTROLLER, OFFICER, SUPERVISOR

# /help's last line, by role (the registry's `tips`).
TIPS = {
    OFFICER: "You can also just type a pupil's name.",
    SUPERVISOR: "You can also just type a pupil's name.",
    CONTROLLER: "Exports are written on the server, never sent here.",
}


async def help_command(update: Update, context: Context) -> None:
    """/help — the commands this person's role may use."""
    await answer(update, context.registry.help_text(context.officer.role))
