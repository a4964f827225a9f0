"""Fixtures shared by the whole suite: settings on a temporary folder, an open database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from bot.domain import pinhash
from bot.settings import Settings
from bot.storage.db import Database

# The throwaway PostgreSQL cluster (pg_cluster, pg_url, pg_db): see tests/pg.py.
pytest_plugins = ["tests.pg"]

# PINs hashed at the production cost (about 0.3 s each) would make the suite wait
# minutes and prove nothing more: tests/domain/test_pinhash.py checks that cost.
TEST_PIN_COST = pinhash.PinCost(2**8, 1, 1)
pinhash.use_cost(TEST_PIN_COST)

# Property tests draw the same examples on every run (seeded from each test), so a run
# passes or fails for the code alone; a slow example on a busy machine is no failure.
hypothesis_settings.register_profile("suite", derandomize=True, deadline=None)
hypothesis_settings.load_profile("suite")


def _has_sqlcipher() -> bool:
    try:
        import sqlcipher3  # noqa: F401
    except ImportError:
        return False
    return True


# SQLCipher comes with sqlcipher3-binary, on Linux x86_64 only: elsewhere the tests of an
# encrypted database are skipped, and only those.
needs_sqlcipher = pytest.mark.skipif(
    not _has_sqlcipher(), reason="sqlcipher3 is not installed: no encrypted database here")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: files under tmp_path, no .env, no quiet hours, no weekly
    digest and no compliance reminders unless asked."""
    values: dict[str, Any] = {
        "database": tmp_path / "data" / "ewo.sqlite3",
        "export_dir": tmp_path / "data" / "exports",
        "audit_key": "test-audit-key",
        "quiet_hours": "",
        "quiet_days": "",
        # The weekly digest would reach supervisors mid-test; digest tests turn it on.
        "caseload_digest": "",
        # Compliance reminders would too (test people have no dates); their tests turn
        # them on.
        "compliance": "off",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings)
    try:
        yield database
    finally:
        await database.close()
