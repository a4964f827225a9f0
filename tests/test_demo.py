"""`ewobot demo`: the terminal chat driven by a script, on a small synthetic service."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli import build_parser
from bot.clock import FixedClock
from bot.demo import ReadLine, StdinLines, run_demo
from bot.handlers.common import NOT_ALLOWED
from tests.conftest import make_settings

CLOCK = FixedClock(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London")))


def script(lines: Iterable[str]) -> ReadLine:
    pending = list(lines)

    async def read_line() -> str | None:
        return pending.pop(0) + "\n" if pending else None

    return read_line


async def test_a_scripted_chat_lists_opens_a_card_and_switches_person(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    out = io.StringIO()
    await run_demo(settings, out=out, clock=CLOCK, pupils=30, read_line=script([
        "9",  # not a person: asked again
        "2",  # EWO01, the first officer (the supervisor comes first)
        "/pupils",
        "1",  # the first pupil's button
        ":who",
        "6",  # DPO01, the controller
        "/pupils",
        ":quit",
    ]))
    transcript = out.getvalue()
    assert "Type a number from 1 to 6, or :quit." in transcript
    assert "You are EWO01 (officer). Your PIN is 2580." in transcript
    assert "bot: My pupils (" in transcript
    assert "[1] 1. " in transcript  # the list's buttons, numbered
    card = transcript.split("EWO01> ")[2]  # what pressing [1] showed
    assert "Attendance this year:" in card and "[1] Contacts & needs" in card
    assert f"bot: {NOT_ALLOWED}" in transcript.split("DPO01> ")[1]
    assert transcript.rstrip().endswith("Goodbye.")
    assert not settings.database.exists()  # EWO_DATABASE never touched


async def test_the_end_of_input_ends_the_demo(tmp_path: Path) -> None:
    out = io.StringIO()
    await run_demo(make_settings(tmp_path), out=out, clock=CLOCK, pupils=5,
                   read_line=script(["1", "/help"]))
    transcript = out.getvalue()
    assert "/caseload" in transcript  # the supervisor's help
    assert transcript.rstrip().endswith("Goodbye.")


async def test_stdin_lines_end_with_none() -> None:
    read_line = StdinLines(io.StringIO("one\ntwo\n"))
    assert [await read_line(), await read_line(), await read_line()] == ["one\n", "two\n", None]


def test_demo_is_a_command() -> None:
    args = build_parser().parse_args(["demo"])
    assert args.handler.__name__ == "cmd_demo"
