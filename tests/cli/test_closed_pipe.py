"""`ewobot audit show | head -5`: when the reader of stdout goes away the command ends
quietly, with the shell's SIGPIPE status (141), as `git log | head` does."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import CLOSED_PIPE, CliEnv, main
from tests.cli.test_records import Records
from tests.conftest import make_settings
from tests.e2e.processes import REPO


@pytest.fixture
def records(tmp_path: Path) -> Records:
    return Records(make_settings(tmp_path))


class ClosedPipe(io.StringIO):
    """stdout whose reader has gone: every write fails as a closed pipe does."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def test_a_closed_stdout_ends_quietly(records: Records) -> None:
    for _ in range(3):
        records("retention", "check")
    err = io.StringIO()
    env = CliEnv(settings_factory=lambda: records.settings, out=ClosedPipe(), err=err)

    code = main(["audit", "show"], env)

    assert (code, err.getvalue()) == (CLOSED_PIPE, "")


def test_a_real_pipe_closed_by_its_reader_ends_quietly(records: Records) -> None:
    """The whole process, stdout a pipe whose read end is already closed: the buffered
    lines fail on the final flush, which must not print a traceback either."""
    for _ in range(3):
        records("retention", "check")
    read_end, write_end = os.pipe()
    os.close(read_end)
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("EWO_")}
    environment.update({"EWO_DATABASE": str(records.settings.database),
                        "EWO_AUDIT_KEY": "test-audit-key", "PYTHONPATH": str(REPO)})
    try:
        done = subprocess.run([sys.executable, "-m", "bot", "audit", "show"], stdout=write_end,
                              stderr=subprocess.PIPE, env=environment, cwd=REPO, timeout=60,
                              check=False)
    finally:
        os.close(write_end)

    assert (done.returncode, done.stderr.decode()) == (CLOSED_PIPE, "")
