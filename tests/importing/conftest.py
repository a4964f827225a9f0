"""Helpers for import tests: writing a file, and checking a refusal echoes no value."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bot.importing.csvfile import ImportRejected

TODAY = date(2025, 3, 14)  # a Friday in the spring term

# Valid UPNs (check letters computed as ATTENDANCE.md describes).
UPN_1 = "H801200001001"
UPN_2 = "B801200005001"
UPN_TEMPORARY = "G80120000101A"

WriteFile = Callable[..., Path]


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """Write text (UTF-8, exactly as given: no newline translation) or bytes to a file."""

    def write(content: str | bytes, name: str = "import.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write


def problem_lines(rejected: ImportRejected) -> list[str]:
    return [str(problem) for problem in rejected.problems]


def assert_not_echoed(rejected: ImportRejected, canary: str) -> None:
    """The offending value appears nowhere a person or a log could see it."""
    shown = [
        str(rejected),
        repr(rejected.args),
        rejected.reason,
        *(repr(problem) for problem in rejected.problems),
        *rejected.report_lines(),
    ]
    for text in shown:
        assert canary.casefold() not in text.casefold()
