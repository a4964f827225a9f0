"""Drill 5c: emoji, right-to-left text, joiners and SQL metacharacters in names, every
field and a 4,096-character note round-trip intact (card, search, summary, export)."""

from __future__ import annotations

from pathlib import Path

from bench.drills import round_trip
from bench.drills.common import SUITE


async def test_names_and_notes_round_trip_intact(tmp_path: Path) -> None:
    await round_trip.round_trip_drill(tmp_path, SUITE)
