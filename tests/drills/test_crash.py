"""Drill 1 at the suite's size: kill -9 during an import, visit saves, disposals and
outbox sends (`python -m bench.drills crash` runs twenty kills of each)."""

from __future__ import annotations

from pathlib import Path

from bench.drills import crash
from bench.drills.common import SUITE


async def test_a_killed_import_leaves_all_of_it_or_none(tmp_path: Path) -> None:
    drill = await crash.import_drill(tmp_path, SUITE)
    assert any("left nothing" in line for line in drill.lines)


async def test_every_visit_shown_saved_survives_kills(tmp_path: Path) -> None:
    await crash.visit_drill(tmp_path, SUITE)


async def test_a_killed_disposal_is_whole_and_unreadable_after_restart(tmp_path: Path) -> None:
    await crash.disposal_drill(tmp_path, SUITE)


async def test_no_message_is_marked_sent_without_telegram_accepting_it(tmp_path: Path) -> None:
    await crash.outbox_drill(tmp_path, SUITE)
