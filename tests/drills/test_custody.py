"""The custody drills at suite size: a kept audit head survives truncation and regrowth; every
operator error exits in one line without the token; loose key and database files are
refused by name."""

from __future__ import annotations

from pathlib import Path

from bench.drills import custody
from bench.drills.common import SUITE


async def test_a_truncated_and_regrown_trail_fails_the_kept_head(tmp_path: Path) -> None:
    await custody.audit_head_drill(tmp_path, SUITE)


async def test_operator_errors_exit_in_one_line_without_the_token(tmp_path: Path) -> None:
    await custody.exit_paths_drill(tmp_path, SUITE)


async def test_loose_key_and_database_files_are_refused_by_name(tmp_path: Path) -> None:
    await custody.key_files_drill(tmp_path, SUITE)
