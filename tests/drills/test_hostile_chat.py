"""Drill 5b at the suite's size: random text and button data at every conversation step
(`python -m bench.drills hostile-chat` sends forty of each per step)."""

from __future__ import annotations

from pathlib import Path

from bench.drills import hostile_chat
from bench.drills.common import SUITE


async def test_random_input_at_every_step_gets_a_hint_or_a_refusal(tmp_path: Path) -> None:
    drill = await hostile_chat.hostile_chat_drill(tmp_path, SUITE)
    assert sum("tried:" in line for line in drill.lines) == 16  # with the old-date check and Change
