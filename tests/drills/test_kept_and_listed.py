"""Drill 13: lists of pupils are audited naming each pupil shown, and a request kept
while locked holds references only, removed by disposal and replayed after the PIN."""

from __future__ import annotations

from pathlib import Path

from bench.drills import kept_and_listed
from bench.drills.common import SUITE


async def test_lists_are_audited_and_kept_requests_name_no_one(tmp_path: Path) -> None:
    await kept_and_listed.kept_and_listed_drill(tmp_path, SUITE)
