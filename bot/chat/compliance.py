"""What a person whose DBS check or training has lapsed is told (CASEWORK.md §4):
under EWO_COMPLIANCE=enforce, in place of anything but /help; under warn, on /help and
when they unlock. Only their own dates are named, never anyone else's.

Whom to ask follows who is reminded about them (bot/storage/compliance.py
`due_reminders`): an officer's supervisor; for an officer without a current supervisor,
a supervisor or a controller, a controller (another one, for a controller).
"""

from __future__ import annotations

from bot.domain.compliance import LAPSED, Compliance

YOUR_SUPERVISOR, A_CONTROLLER, ANOTHER_CONTROLLER = (
    "your supervisor", "a controller", "another controller")
BLOCKED = ("Only /help is open to you: {what}. Ask {whom} to have it renewed and the new "
           "date recorded.")
WARNING = "Please note: {what}. Ask {whom} to have it renewed and the new date recorded."


def whom_to_ask(role: str, *, has_supervisor: bool) -> str:
    """Who is reminded about this person's dates, as they are named to them."""
    if role == "controller":
        return ANOTHER_CONTROLLER
    return YOUR_SUPERVISOR if role == "officer" and has_supervisor else A_CONTROLLER


def _what(standing: Compliance) -> str:
    return "; ".join(item.describe() for item in standing.items if item.state == LAPSED)


def blocked_text(standing: Compliance, whom: str) -> str:
    """Why everything but /help is refused (short enough for a button's alert)."""
    return BLOCKED.format(what=_what(standing), whom=whom)


def warning_text(standing: Compliance, whom: str) -> str:
    return WARNING.format(what=_what(standing), whom=whom)
