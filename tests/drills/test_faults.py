"""Drill 4 at the suite's size: 429, 5xx and three seconds of refused connections
(`python -m bench.drills faults` adds timeouts and keeps Telegram away for a minute;
tests/e2e/test_alerts.py has a pushed message's timeout)."""

from __future__ import annotations

from pathlib import Path

from bench.drills import faults
from bench.drills.common import SUITE


async def test_the_bot_rides_out_telegram_faults_and_delivers_in_order(tmp_path: Path) -> None:
    await faults.faults_drill(tmp_path, SUITE)
