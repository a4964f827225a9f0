"""Text rules: folding names for search and near misses, initials, a pupil's name as shown in
chat, and counts with their nouns."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

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


# What a name search ignores inside names, after folding: "obrien", "o brien" and
# "O’Brien" are one name, as are "Smith-Jones" and "smithjones".
_SEARCH_IGNORED = frozenset("'-")


def search_key(text: str) -> str:
    """The form of a name (or of what was typed) that the search compares: folded, with
    apostrophes, hyphens and spaces taken out. Stored as `pupils.search_first` and
    `pupils.search_last` at import."""
    return "".join(ch for ch in fold(text) if ch not in _SEARCH_IGNORED and not ch.isspace())


def search_tails(last_name: str) -> list[str]:
    """The last name from each of its later words on, as search_key has it: "jones" for
    Smith-Jones; "lacruz" and "cruz" for De La Cruz; none for a name of one word. Stored
    as `pupil_name_tails` at import, so that "Jones" and "Amelia Jones" find Amelia
    Smith-Jones as "Smith" and "Amelia Smith" do.

    Words part at spaces and hyphens (as folded); an apostrophe stays inside its word,
    so O'Brien is one word and "Brien" finds nobody."""
    words = [key for word in fold(last_name).replace("-", " ").split()
             if (key := search_key(word))]
    return ["".join(words[start:]) for start in range(1, len(words))]


def name_matches(query: str, first_name: str, last_name: str) -> bool:
    """Whether `query` is a prefix of the first name, the last name or "first last", or
    of a tail of the last name (search_tails) or "first tail", compared by search_key
    (case, accents, apostrophes, hyphens and spaces aside): what find_pupils matches by
    name. An empty query matches nothing."""
    wanted = search_key(query)
    if not wanted:
        return False
    first = search_key(first_name)
    return any(last.startswith(wanted) or (first + last).startswith(wanted)
               for last in (search_key(last_name), *search_tails(last_name)))


# A near miss allows this many typing slips (a letter wrong, missing, extra or two
# swapped) for what was typed of this length; shorter queries get no suggestions, as
# one slip in three letters would suggest half a caseload.
NEAR_MISS_SLIPS = ((8, 2), (4, 1))


def slips_allowed(wanted: str) -> int:
    """How many slips a near miss of `wanted` (a search_key) may have; 0: none offered."""
    return next((slips for length, slips in NEAR_MISS_SLIPS if len(wanted) >= length), 0)


def prefix_slips(wanted: str, name: str, most: int) -> int | None:
    """The fewest slips (edits, a swap of neighbours counting as one) that turn `wanted`
    into a prefix of `name`; None when more than `most` are needed.

    Only cells within `most` of the diagonal can hold `most` or fewer (the lengths
    alone differ by that much), so each row computes 2 × most + 1 cells, and the
    table stops as soon as a whole row needs more."""
    width = min(len(name), len(wanted) + most)
    over = most + 1  # stands for "too many" wherever it is reached
    row = [min(j, over) for j in range(width + 1)]
    before = row
    for i in range(1, len(wanted) + 1):
        current = [over] * (width + 1)
        current[0] = min(i, over)
        for j in range(max(1, i - most), min(width, i + most) + 1):
            best = min(row[j] + 1, current[j - 1] + 1,
                       row[j - 1] + (wanted[i - 1] != name[j - 1]))
            if (i > 1 and j > 1 and wanted[i - 1] == name[j - 2]
                    and wanted[i - 2] == name[j - 1]):
                best = min(best, before[j - 2] + 1)
            current[j] = min(best, over)
        if min(current) > most:
            return None
        before, row = row, current
    slips = min(row)
    return slips if slips <= most else None


def near_miss(wanted: str, first_name_key: str, last_name_key: str,
              last_name_tails: Sequence[str] = ()) -> int | None:
    """How near `wanted` (what was typed, as search_key has it) comes to the name: the
    fewest slips against the last name or "first last", or against a tail of the last
    name (search_tails) or "first tail", as the search matches (search_key forms too);
    None when it is not a near miss."""
    most = slips_allowed(wanted)
    if not most:
        return None
    lasts = (last_name_key, *last_name_tails)
    found = [slips for name in (*lasts, *(first_name_key + last for last in lasts))
             if (slips := prefix_slips(wanted, name, most)) is not None]
    return min(found) if found else None




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


def noun_for(count: int, singular: str, plural: str | None = None) -> str:
    """The noun agreeing with `count`: `record` for 1, else `records` (or `plural`)."""
    return singular if count == 1 else (plural or singular + "s")


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """`1 record`, `2 records`: a count with its noun agreeing (plural defaults to +s)."""
    return f"{count} {noun_for(count, singular, plural)}"
