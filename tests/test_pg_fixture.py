"""Without PostgreSQL the PostgreSQL tests skip with one line, and under CI=true they fail:
CI can never pass without running them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ONE_TEST = "tests/storage/test_postgres.py::test_a_lock_may_be_taken_in_a_read"


def run_without_postgres(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["EWO_TEST_PG_BIN"] = "/nonexistent"  # as on a machine without the binaries
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
                           "-p", "no:cacheprovider", ONE_TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci", [None, "false"])
def test_a_developer_without_postgresql_gets_a_skip_and_one_line(ci: str | None) -> None:
    result = run_without_postgres(ci)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert result.stdout.count("PostgreSQL not installed (apt-get install postgresql)") == 1


def test_ci_without_postgresql_fails() -> None:
    result = run_without_postgres("true")
    assert result.returncode == 1, result.stdout
    assert "the PostgreSQL tests must run in CI" in result.stdout
