"""The own-chat and PIN-cost drills at the suite's size (`python -m bench.drills own-chat
pin-cost` also times a production PIN hash)."""

from __future__ import annotations

from pathlib import Path

from bench.drills import gatekeeping
from bench.drills.common import SUITE


async def test_nothing_is_shown_outside_the_senders_own_private_chat(tmp_path: Path) -> None:
    drill = await gatekeeping.own_chat_drill(tmp_path, SUITE)
    assert not any("FAILED" in line for line in drill.lines)
    assert sum("held:" in line for line in drill.lines) == 3


async def test_pins_are_hashed_at_the_production_cost_and_old_hashes_upgraded(
        tmp_path: Path) -> None:
    drill = await gatekeeping.pin_cost_drill(tmp_path, SUITE)
    assert not any("FAILED" in line for line in drill.lines)
    assert sum("held:" in line for line in drill.lines) == 3
