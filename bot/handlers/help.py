"""/help: the commands this person's role may use, as the registry lists them (and,
with a DBS check or training lapsed, why only /help is open, or a note of it).

The same rows, in the same order, are the command menu set with setMyCommands when a
person enrols (bot/handlers/access.py); both come from `Registry.listed`.
"""

from __future__ import annotations

from telegram import Update

from bot.handlers.access import lapsed_text, standing_of
from bot.handlers.common import Context, answer
from bot.handlers.table import CONTROLLER, OFFICER, SUPERVISOR

# /help's last line, by role (the registry's `tips`).
TIPS = {
    OFFICER: "You can also just type a pupil's name.",
    SUPERVISOR: "You can also just type a pupil's name.",
    CONTROLLER: "Exports are written on the server, never sent here.",
}


async def help_command(update: Update, context: Context) -> None:
    """/help — the commands this person's role may use; with a DBS check or training
    lapsed, why only /help is open (enforce) or a note of it first (warn)."""
    officer = context.officer
    standing = await standing_of(context, officer)
    text = context.registry.help_text(officer.role)
    if standing is not None:
        told = await lapsed_text(context, officer, standing)
        if context.services.settings.compliance == "enforce":
            await answer(update, told)
            return
        text = f"{told}\n\n{text}"
    await answer(update, text)
