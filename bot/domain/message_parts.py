"""A chat text cut into messages Telegram accepts (4,096 characters each), on line breaks.

Telegram refuses a longer text outright, so a view that can grow with imported data
(contacts, health needs, long lists) is sent as several messages instead.
"""

from __future__ import annotations

MESSAGE_LIMIT = 4096


def text_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in order as parts of at most `limit` each, cut between lines where it can.

    A line longer than a whole part is cut at its last space within the limit (or
    anywhere, when there is none). Blank lines at a cut are dropped: Telegram would
    strip them, and a part is never empty.
    """
    if limit < 2:
        raise ValueError("a part holds at least two characters")
    if text_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in _short_lines(text.split("\n"), limit):
        added = text_length(line) + (1 if current else 0)
        if current and size + added > limit:
            parts.append("\n".join(current))
            current, size = [], 0
            added = text_length(line)
        if not current and not line.strip():
            continue  # a cut falls here: no part starts with blank lines
        current.append(line)
        size += added
    if current:
        parts.append("\n".join(current))
    return [part.rstrip() for part in parts if part.strip()]


def _short_lines(lines: list[str], limit: int) -> list[str]:
    """Every line, the over-long ones cut into pieces of at most `limit`."""
    out: list[str] = []
    for line in lines:
        while text_length(line) > limit:
            cut = _cut_at(line, limit)
            out.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        out.append(line)
    return out


def _cut_at(line: str, limit: int) -> int:
    """The index to cut `line` at: at most `limit` units in, after a space if possible."""
    end = units = 0
    for char in line:
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            break
        end += 1
    space = line.rfind(" ", 0, end)
    # A space far back would leave a stub of a part: then cut mid-word instead.
    return space + 1 if space > end // 2 else max(end, 1)


def clipped(text: str, longest: int) -> str:
    """`text` cut to `longest` characters, an ellipsis marking the cut: one field of a list
    line (a page edited in place cannot be split, so its lines must stay short)."""
    return text if len(text) <= longest else text[:longest - 1].rstrip() + "…"
