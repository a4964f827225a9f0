"""Drill 3 at the suite's size: one SIGTERM while a press, a Save, a card, a typed note
and an alert are in flight (`python -m bench.drills stop` does ten)."""

from __future__ import annotations

from pathlib import Path

from bench.drills import stop
from bench.drills.common import SUITE


async def test_sigterm_finishes_the_work_in_flight_and_keeps_drafts(tmp_path: Path) -> None:
    await stop.stop_drill(tmp_path, SUITE)
