"""What a person whose DBS check or training has lapsed is told (CASEWORK.md §4):
under EWO_COMPLIANCE=enforce, in place of anything but /help; under warn, on /help and
when they unlock. Only their own dates are named, never anyone else's.

Whom to ask follows who is reminded about them: an officer's supervisor; for a
supervisor or a controller, who has none, a controller (another one, for a controller).
"""

from __future__ import annotations

from bot.domain.compliance import LAPSED, Compliance

BLOCKED = ("Only /help is open to you: {what}. Ask your supervisor to have it renewed and "
           "the new date recorded.")
WARNING = ("Please note: {what}. Ask your supervisor to have it renewed and the new date "
           "recorded.")
BLOCKED_SUPERVISOR = ("Only /help is open to you: {what}. Ask a controller to have it "
                      "renewed and the new date recorded.")
WARNING_SUPERVISOR = ("Please note: {what}. Ask a controller to have it renewed and the new "
                      "date recorded.")
BLOCKED_CONTROLLER = ("Only /help is open to you: {what}. Ask another controller to have it "
                      "renewed and the new date recorded.")
WARNING_CONTROLLER = ("Please note: {what}. Ask another controller to have it renewed and "
                      "the new date recorded.")
# By role (bot/storage/officers.py ROLES).
BLOCKED_FOR = {"officer": BLOCKED, "supervisor": BLOCKED_SUPERVISOR,
               "controller": BLOCKED_CONTROLLER}
WARNING_FOR = {"officer": WARNING, "supervisor": WARNING_SUPERVISOR,
               "controller": WARNING_CONTROLLER}


def _what(standing: Compliance) -> str:
    return "; ".join(item.describe() for item in standing.items if item.state == LAPSED)


def blocked_text(standing: Compliance, role: str) -> str:
    """Why everything but /help is refused (short enough for a button's alert)."""
    return BLOCKED_FOR.get(role, BLOCKED).format(what=_what(standing))


def warning_text(standing: Compliance, role: str) -> str:
    return WARNING_FOR.get(role, WARNING).format(what=_what(standing))
