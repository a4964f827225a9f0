"""Text rules: folding names for search, initials, and a pupil's name as shown in chat."""

from __future__ import annotations

import unicodedata

# Letters that carry no combining mark to drop, and punctuation that phones "smarten":
# without these, "Lukasz" would not find Łukasz, nor "O'B" (straight) O’Brien (curly).
_FOLD_TABLE = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "‐": "-",
        "‑": "-",
        "–": "-",
        "—": "-",
    }
)


def fold(text: str) -> str:
    """A case- and accent-insensitive form of `text`, for prefix search: apply it to
    both the name and what was typed, then compare."""
    # Decomposed, case-folded, decomposed again: a compatibility letter such as ℌ
    # decomposes to an upper-case H, and case folding can leave a mark to split off.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.translate(_FOLD_TABLE).split())


def name_matches(query: str, first_name: str, last_name: str) -> bool:
    """Whether `query` is a prefix of the first name, the last name or "first last"
    (ignoring case and accents). An empty query matches nothing."""
    wanted = fold(query)
    if not wanted:
        return False
    first, last = fold(first_name), fold(last_name)
    return any(name.startswith(wanted) for name in (first, last, f"{first} {last}"))


def _initial(name: str) -> str:
    letter = next((ch for ch in name if ch.isalnum()), "")
    return f"{letter.upper()}." if letter else ""


def initials(first_name: str, last_name: str) -> str:
    """Initials as pushed messages show them, e.g. `A.H.`."""
    return _initial(first_name) + _initial(last_name)


def pupil_name(first_name: str, last_name: str) -> str:
    """A pupil's full name as shown in chat: "First Last", spaces tidied.

    Plain text: a message sent with a parse mode must escape it.
    """
    return " ".join(f"{first_name} {last_name}".split())


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """`1 record`, `2 records`: a count with its noun agreeing (plural defaults to +s)."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
