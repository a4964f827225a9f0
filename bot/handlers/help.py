"""/help: the commands this person's role may use, as the registry lists them (and,
with a DBS check or training lapsed, why only /help is open, or a note of it).

The same rows, in the same order, are the command menu set with setMyCommands when a
person enrols (bot/handlers/access.py); both come from `Registry.listed`.
"""

from __future__ import annotations

from telegram import Update

from bot.chat.compliance import blocked_text, warning_text
from bot.handlers.access import standing_of
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
    if standing is not None and context.services.settings.compliance == "enforce":
        await answer(update, blocked_text(standing, officer.role))
        return
    text = context.registry.help_text(officer.role)
    if standing is not None:
        text = f"{warning_text(standing, officer.role)}\n\n{text}"
    await answer(update, text)
