"""The storage suite runs on both backends: every test that takes `settings` (or `db`)
runs once on SQLite and once on PostgreSQL (tests/pg.py), unless marked sqlite_only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from tests.pg import backend_settings


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Settings:
    return backend_settings(request, tmp_path, backend)  # type: ignore[no-any-return]
