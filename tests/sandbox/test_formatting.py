"""Parse modes: what the user reads, and the markup Telegram would refuse."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.helpers import escape_markdown

from bot.sandbox.formatting import EntityParseError, visible_text


@given(st.text())
def test_escaped_html_reads_as_the_original(text: str) -> None:
    assert visible_text(html.escape(text), "HTML") == text


@given(st.text())
def test_escaped_markdown_v2_reads_as_the_original(text: str) -> None:
    assert visible_text(escape_markdown(text, version=2), "MarkdownV2") == text


@pytest.mark.parametrize(
    ("markup", "shown"),
    [
        ('<b>Bold</b> <a href="https://example.org">link</a>', "Bold link"),
        ("<pre><code>x &lt; y</code></pre>", "x < y"),
        ('<span class="tg-spoiler">secret</span>', "secret"),
        ("plain", "plain"),
    ],
)
def test_html_markup_is_rendered_away(markup: str, shown: str) -> None:
    assert visible_text(markup, "HTML") == shown


@pytest.mark.parametrize("markup", ["<b>open", "</b>", "<b><i>x</b></i>", "1 < 2", "<div>x</div>"])
def test_malformed_html_is_refused(markup: str) -> None:
    with pytest.raises(EntityParseError):
        visible_text(markup, "HTML")


def test_markdown_v2_links_and_markers() -> None:
    assert visible_text("*Hi* [there](https://example.org)\\!", "MarkdownV2") == "Hi there!"
    with pytest.raises(EntityParseError):
        visible_text("Done!", "MarkdownV2")


def test_legacy_markdown_and_no_parse_mode() -> None:
    assert visible_text("*bold* _it_ [t](u)", "Markdown") == "bold it t"
    assert visible_text("<b>as is</b>", None) == "<b>as is</b>"
