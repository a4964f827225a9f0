"""PIN shape and strength: which messages are PIN attempts, which PINs are refused, and
why (in the officer's words)."""

from __future__ import annotations

from itertools import pairwise

MIN_LENGTH = 4
MAX_LENGTH = 8

_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit also accepts other scripts


def pin_problem(pin: str) -> str | None:
    """None for an acceptable PIN, otherwise a short reason for refusing it.

    A run of consecutive digits is the whole PIN ascending or descending by one at
    each step. 0 counts as following 9 (and 9 as preceding 0), as on a keyboard's
    number row and a phone's keypad, so 7890 and 0987 are refused like 1234 and 4321;
    0123 and 3210 are refused too.
    """
    if not MIN_LENGTH <= len(pin) <= MAX_LENGTH or not _DIGITS.issuperset(pin):
        return f"A PIN must be {MIN_LENGTH} to {MAX_LENGTH} digits."
    if len(set(pin)) == 1:
        return "A PIN must not be one digit repeated."
    steps = {(int(later) - int(earlier)) % 10 for earlier, later in pairwise(pin)}
    if steps in ({1}, {9}):
        return "A PIN must not be a run of consecutive digits."
    return None


def is_pin_shaped(text: str) -> bool:
    """4 to 8 ASCII digits (spaces around ignored): a PIN attempt, never a search, since
    no name, UPN or case reference is all digits."""
    text = text.strip()
    return MIN_LENGTH <= len(text) <= MAX_LENGTH and _DIGITS.issuperset(text)
