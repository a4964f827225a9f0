"""The bot and the command line as child processes, on the test database and the stand-in."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.sandbox import BotApiStandIn
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def bot_environment(settings: Settings, standin: BotApiStandIn) -> dict[str, str]:
    """The environment of a bot process on the test database (SQLite's file, or
    PostgreSQL's URL with the secrets it needs) and the stand-in."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EWO_")}
    env.update({
        "EWO_TELEGRAM_TOKEN": standin.token,
        "EWO_TELEGRAM_API_URL": standin.base_url,
        "EWO_DATABASE": str(settings.database),
        "EWO_EXPORT_DIR": str(settings.export_dir),
        "EWO_AUDIT_KEY": "test-audit-key",
        "EWO_QUIET_HOURS": "",
        "EWO_QUIET_DAYS": "",
        "EWO_COMPLIANCE": "off",
        "EWO_OUTBOX_POLL_SECONDS": "0.2",
        "PYTHONPATH": str(REPO),
    })
    if settings.database_url is not None:  # the same PostgreSQL database as the test's
        env["EWO_DATABASE_URL"] = settings.database_url.get_secret_value()
        assert settings.pin_pepper is not None
        env["EWO_PIN_PEPPER"] = settings.pin_pepper.get_secret_value()
    return env


class BotProcess:
    """`python -m bot run` in a child process (its working folder holds no .env)."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        self.env, self.cwd = dict(env), cwd
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=self.env, cwd=self.cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()
        self.process = None

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 20)
        self.process = None
