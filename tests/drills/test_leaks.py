"""Drill 7: a working day at DEBUG logging, every record scanned for the token, the
canary pupil's data, the PIN and the enrolment code."""

from __future__ import annotations

from pathlib import Path

from bench.drills import leaks
from bench.drills.common import SUITE


async def test_nothing_secret_or_personal_reaches_a_log(tmp_path: Path) -> None:
    await leaks.leaks_drill(tmp_path, SUITE)
