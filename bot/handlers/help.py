"""/help and the per-role command menu (set with setMyCommands when a person enrols)."""

from __future__ import annotations

from telegram import BotCommand, Update

from bot.handlers.common import Context, answer, current_officer

_COMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "officer": (
        ("pupils", "My pupils, lowest attendance first"),
        ("pupil", "A pupil's card: /pupil name, UPN or case ref"),
        ("visit", "Record a visit"),
        ("cancel", "Leave the visit being recorded"),
        ("due", "My follow-ups due"),
        ("help", "What I can do"),
        ("lock", "Lock now"),
    ),
    "supervisor": (
        ("caseload", "My team's caseload"),
        ("pupils", "My own pupils"),
        ("pupil", "A pupil's card: /pupil name, UPN or case ref"),
        ("visit", "Record a visit"),
        ("cancel", "Leave the visit being recorded"),
        ("due", "My follow-ups due"),
        ("help", "What I can do"),
        ("lock", "Lock now"),
    ),
    "controller": (
        ("retention", "Records coming due and past due"),
        ("sar", "Subject-access export: /sar UPN"),
        ("help", "What I can do"),
        ("lock", "Lock now"),
    ),
}

_TIPS = {
    "officer": "You can also just type a pupil's name.",
    "supervisor": "You can also just type a pupil's name.",
    "controller": "Exports are written on the server, never sent here.",
}


def commands_for(role: str) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in _COMMANDS[role]]


def help_text(role: str) -> str:
    lines = [f"/{name} — {description}" for name, description in _COMMANDS[role]]
    return "\n".join([*lines, "", _TIPS[role]])


async def help_command(update: Update, context: Context) -> None:
    """/help — the commands this person's role may use."""
    await answer(update, help_text(current_officer(context).role))
