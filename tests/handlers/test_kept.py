"""Which pupil a button kept while locked names (for disposal and subject access)."""

from __future__ import annotations

import pytest

from bot.handlers.kept import button_pupils


@pytest.mark.parametrize(("data", "named"), [
    ("card:42", (42,)), ("det:7", (7,)), ("pick:3", (3,)), ("v:new:9", (9,)),
    ("al:card:5", (5,)), ("ret:hold:8", (8,)), ("ret:dis:8", (8,)), ("ret:dok:8", (8,)),
    ("pg:2", ()), ("cl:pupils:EWO1:0", ()), ("v:abc:type:home", ()), ("card:x", ()),
    ("ret:pg:1", ()), ("al:more:4:1", ()),
])
def test_the_pupil_a_button_names(data: str, named: tuple[int, ...]) -> None:
    assert button_pupils(data) == named
