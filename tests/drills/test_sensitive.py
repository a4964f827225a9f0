"""The sensitive-messages drill at the suite's size: every send fault once, two kills
(`python -m bench.drills sensitive` adds replies slower than the timeout and more kills)."""

from __future__ import annotations

from pathlib import Path

from bench.drills import sensitive
from bench.drills.common import SUITE


async def test_no_sensitive_or_secret_message_outlives_its_deadline(tmp_path: Path) -> None:
    await sensitive.sensitive_drill(tmp_path, SUITE)
