"""Running `ewobot` in-process with captured streams and test settings."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import CliEnv, main
from tests.conftest import make_settings


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.settings = make_settings(tmp_path)

    def __call__(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        env = CliEnv(settings_factory=lambda: self.settings, out=out, err=err)
        code = main(list(argv), env)
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)
