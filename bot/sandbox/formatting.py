"""Turns message text sent with a parse mode into what the user reads, refusing bad markup."""

from __future__ import annotations

import html
import re

# Tags Telegram accepts in HTML parse mode.
HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "code", "pre", "blockquote", "tg-emoji",
    }
)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
# MarkdownV2 characters that must be escaped when they are not markup.
_V2_RESERVED = frozenset("[]()>#+-=|{}.!")
_V2_MARKERS = frozenset("*_~|`")


class EntityParseError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"."""


def visible_text(text: str, parse_mode: str | None) -> str:
    """Return the text as shown to the user; raise EntityParseError on malformed markup."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _render_html(text)
    if mode == "markdownv2":
        return _render_markdown_v2(text)
    if mode == "markdown":
        return _render_markdown(text)
    return text


def _render_html(text: str) -> str:
    shown: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in _TAG.finditer(text):
        shown.append(_html_data(text[position : match.start()], position))
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_offset(text, match.start())}'
            )
        if closing:
            if not open_tags or open_tags[-1] != name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {_offset(text, match.start())}, '
                    f'expected "</{open_tags[-1]}>", found "</{name}>"'
                    if open_tags
                    else f'Unexpected end tag at byte offset {_offset(text, match.start())}'
                )
            open_tags.pop()
        else:
            open_tags.append(name)
        position = match.end()
    shown.append(_html_data(text[position:], position))
    if open_tags:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"'
        )
    return "".join(shown)


def _html_data(chunk: str, start: int) -> str:
    # A "<" outside a tag is refused by Telegram: text must be escaped.
    stray = chunk.find("<")
    if stray >= 0:
        raise EntityParseError(
            f"Unsupported start tag at byte offset {start + stray}: "
            "\"<\" must be escaped as &lt;"
        )
    return html.unescape(chunk)


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _render_markdown_v2(text: str) -> str:
    """Approximate MarkdownV2: drops markers and link targets, checks escaping."""
    shown: list[str] = []
    index = 0
    at_line_start = True
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            shown.append(text[index + 1])
            index += 2
        elif char == "[":
            index = _markdown_v2_link(text, index, shown)
        elif char in _V2_MARKERS:
            index += 1
        elif char == ">" and at_line_start:
            index += 1  # a quotation line
        elif char in _V2_RESERVED:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            shown.append(char)
            index += 1
        at_line_start = char == "\n"
    return "".join(shown)


def _markdown_v2_link(text: str, index: int, shown: list[str]) -> int:
    close = text.find("](", index)
    end = text.find(")", close + 2) if close >= 0 else -1
    if close < 0 or end < 0:
        raise EntityParseError(
            "Character '[' is reserved and must be escaped with the preceding '\\'"
        )
    shown.append(_render_markdown_v2(text[index + 1 : close]))
    return end + 1


def _render_markdown(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[*_`]", "", text)
