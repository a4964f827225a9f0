"""Unique pupil numbers: normalising and checking them (ATTENDANCE.md)."""

from __future__ import annotations

# The check-letter alphabet: 23 letters, no I, O or S (they look like 1, 0 and 5).
ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
UPN_LENGTH = 13

_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit also accepts other scripts

# Why a UPN given to a command (`ewobot sar`, `requests`, `audit show --upn`, `/sar`) is
# refused: every one of them says it alike.
NOT_A_UPN = "that is not a valid UPN"
NOT_HELD = "no pupil with that UPN is held"


class UpnProblem(ValueError):
    """A UPN given to a command that is not one (NOT_A_UPN), or names no pupil held."""


def normalise_upn(raw: str) -> str:
    """The UPN as stored: upper-case, with all spaces removed."""
    return "".join(raw.split()).upper()


def _value(character: str, position: int) -> int:
    if character in _DIGITS:
        return int(character)
    if position == UPN_LENGTH and character in ALPHABET:
        return ALPHABET.index(character)  # a temporary UPN ends in a letter
    raise ValueError("not a UPN character")


def check_letter(upn: str) -> str:
    """The check letter due for a 13-character UPN, from its positions 2 to 13.

    ValueError when those positions cannot be part of a UPN.
    """
    if len(upn) != UPN_LENGTH:
        raise ValueError("a UPN has 13 characters")
    total = sum(
        _value(character, position) * position
        for position, character in enumerate(upn[1:], start=2)
    )
    return ALPHABET[total % len(ALPHABET)]


def is_valid_upn(upn: str) -> bool:
    """Whether a normalised UPN is well formed and its check letter matches."""
    if len(upn) != UPN_LENGTH or upn[0] not in ALPHABET:
        return False
    if not _DIGITS.issuperset(upn[1:12]):
        return False
    try:
        return check_letter(upn) == upn[0]
    except ValueError:
        return False


def checked_upn(raw: str) -> str:
    """The UPN as stored, from what was typed; UpnProblem(NOT_A_UPN) when it is not one."""
    upn = normalise_upn(raw)
    if not is_valid_upn(upn):
        raise UpnProblem(NOT_A_UPN)
    return upn
