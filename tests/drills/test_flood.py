"""The flood drill at the suite's size (`python -m bench.drills flood` sends a thousand of
each): one chat's backlog never holds up another officer's reply."""

from __future__ import annotations

from pathlib import Path

from bench.drills import flood
from bench.drills.common import SUITE


async def test_other_officers_are_answered_while_one_chat_floods(tmp_path: Path) -> None:
    drill = await flood.flood_drill(tmp_path, SUITE)
    assert not any("FAILED" in line for line in drill.lines)
    assert sum("held:" in line for line in drill.lines) == 6
