"""Drill 6: every command and button of every role, tried by every other role, a locked
and a revoked officer and a stranger, with forged data for every pupil id."""

from __future__ import annotations

from pathlib import Path

from bench.drills import access
from bench.drills.common import SUITE


async def test_nothing_is_revealed_and_every_refusal_is_audited(tmp_path: Path) -> None:
    await access.access_drill(tmp_path, SUITE)
