"""Drill: a safeguarding concern reaches someone or the recorder is told it reached
nobody; no pushed message waits for nobody."""

from __future__ import annotations

from pathlib import Path

from bench.drills import recipients
from bench.drills.common import SUITE


async def test_every_concern_reaches_someone_or_says_it_did_not(tmp_path: Path) -> None:
    await recipients.recipients_drill(tmp_path, SUITE)
