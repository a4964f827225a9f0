"""Drill 2 at the suite's size: ten officers at once, two visits and four cards each,
while another process imports (`python -m bench.drills concurrency`: 20 × 50 × 50)."""

from __future__ import annotations

from pathlib import Path

from bench.drills import concurrency
from bench.drills.common import SUITE


async def test_officers_at_once_lose_nothing_and_meet_no_lock(tmp_path: Path) -> None:
    drill = await concurrency.concurrency_drill(tmp_path, SUITE)
    assert any("p95" in line for line in drill.lines)
