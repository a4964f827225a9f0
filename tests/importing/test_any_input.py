"""Whatever a file holds, reading it gives rows or a refusal, never another exception."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.importing.allocations import parse_allocations
from bot.importing.attendance import parse_attendance
from bot.importing.contacts import COLUMNS as CONTACT_COLUMNS
from bot.importing.contacts import parse_contacts
from bot.importing.csvfile import ImportRejected
from bot.importing.pupils import COLUMNS as PUPIL_COLUMNS
from bot.importing.pupils import parse_pupils
from bot.importing.visits import COLUMNS as VISIT_COLUMNS
from bot.importing.visits import parse_visits
from tests.importing.conftest import TODAY, UPN_1, WriteFile

PARSERS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "pupils": (parse_pupils, PUPIL_COLUMNS),
    "contacts": (parse_contacts, CONTACT_COLUMNS),
    "attendance": (parse_attendance, ("upn", "date", "session", "code")),
    "allocations": (parse_allocations, ("upn", "officer_ref")),
    "visits": (parse_visits, VISIT_COLUMNS),
}

# Pieces of plausible and implausible values, so rows get past the header often.
PIECES = [
    UPN_1, "2025-03-10", "10/03/2025", "2099-01-01", "AM", "PM", "/", "N", "-", "Y", "K",
    "R", "14", "Letter", "Home visit", "Child seen", "EWO01", "a@b.c", "07700 900123",
    ",", '"', "\r\n", "\n", "\r", " ", "é", "\x00", "\ufeff", "\x85", "\u2028", "0", "99",
]  # fmt: skip

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def outcome(parse: Callable[..., Any], path: Path) -> None:
    try:
        parse(path, today=TODAY)
    except ImportRejected as rejected:
        assert rejected.reason and "\n" not in rejected.reason
        assert len(rejected.problems) <= 20


@pytest.mark.parametrize("kind", PARSERS)
@FUZZ
@given(body=st.lists(st.sampled_from(PIECES), max_size=60).map("".join))
def test_plausible_rows(write_file: WriteFile, kind: str, body: str) -> None:
    parse, columns = PARSERS[kind]
    outcome(parse, write_file(",".join(columns) + "\n" + body))


@pytest.mark.parametrize("kind", PARSERS)
@FUZZ
@given(content=st.binary(max_size=300))
def test_arbitrary_bytes(write_file: WriteFile, kind: str, content: bytes) -> None:
    parse, columns = PARSERS[kind]
    outcome(parse, write_file(",".join(columns).encode() + b"\n" + content))


@pytest.mark.parametrize("kind", PARSERS)
@FUZZ
@given(content=st.text(max_size=300))
def test_arbitrary_text(write_file: WriteFile, kind: str, content: str) -> None:
    parse, _ = PARSERS[kind]
    outcome(parse, write_file(content))
