"""The parts every draft-backed flow shares (bot/handlers/drafts.py), seen through the
three flows' pure screens: /visit, /step and /share."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.chat.restriction import RESTRICTED_MARK
from bot.handlers import step, visit
from bot.handlers.drafts import Screen
from bot.handlers.share import screens as share_screens
from bot.handlers.share import texts as share
from bot.handlers.step import screens as step_screens
from bot.handlers.visit import screens as visit_screens
from bot.storage.conversations import Conversation
from bot.storage.pupils import PupilSummary

TODAY = date(2026, 11, 25)
OPEN = PupilSummary(7, "C00007", "Noah", "Patel", "Hillside", "5", 100, 50, "own", "EWO1")
RESTRICTED = PupilSummary(8, "C00008", "Zara", "Khan", "Hillside", "5", 100, 35, "own",
                          "EWO1", restricted=True)


def _pupil_step(kind: str) -> Screen:
    at = datetime(2026, 11, 25, 10, tzinfo=UTC)
    talk = Conversation(1, kind, "pupil", "tok", None, {}, None, at, at)
    choices = [OPEN, RESTRICTED]
    if kind == step.KIND:
        return step_screens.screen(talk, None, None, today=TODAY, choices=choices)
    screens = visit_screens if kind == visit.KIND else share_screens
    return screens.screen(talk, None, today=TODAY, choices=choices)


@pytest.mark.parametrize("kind", [visit.KIND, step.KIND, share.KIND])
def test_the_pupil_step_shows_a_restricted_record_by_name_and_marker_only(kind: str) -> None:
    screen = _pupil_step(kind)
    assert screen.markup is not None
    labels = [button.text for row in screen.markup.inline_keyboard for button in row]
    # As every list shows it (CASEWORK.md §3): no figure of a restricted record.
    assert labels == ["Noah Patel · 50.0 %", f"Zara Khan — {RESTRICTED_MARK}"]
