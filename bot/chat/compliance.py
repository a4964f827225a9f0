"""What a person whose DBS check or training has lapsed is told (CASEWORK.md §4):
under EWO_COMPLIANCE=enforce, in place of anything but /help; under warn, on /help and
when they unlock. Only their own dates are named, never anyone else's."""

from __future__ import annotations

from bot.domain.compliance import LAPSED, Compliance

BLOCKED = ("Only /help is open to you: {what}. Ask your supervisor to have it renewed and "
           "the new date recorded.")
WARNING = ("Please note: {what}. Ask your supervisor to have it renewed and the new date "
           "recorded.")


def _what(standing: Compliance) -> str:
    return "; ".join(item.describe() for item in standing.items if item.state == LAPSED)


def blocked_text(standing: Compliance) -> str:
    """Why everything but /help is refused (short enough for a button's alert)."""
    return BLOCKED.format(what=_what(standing))


def warning_text(standing: Compliance) -> str:
    return WARNING.format(what=_what(standing))
