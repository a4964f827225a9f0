"""The bot and the command line as real child processes, to kill, stop and restart.

A child reads its settings from the environment (as on a server), talks to the
stand-in served by the drill's own process, and logs to a file the drill reads after.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.handlers import access
from bot.sandbox import BotApiStandIn, FakeUser
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]
STARTUP = 60.0  # seconds a fresh interpreter may take to import and answer
STRANGER_ID = 99_999


def environment(settings: Settings, standin: BotApiStandIn | None = None,
                **extra: str) -> dict[str, str]:
    """The environment of a child on the drill's database (and stand-in): nothing of
    this process's own EWO_ settings leaks in."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EWO_")}
    env.update({
        "EWO_DATABASE": str(settings.database),
        "EWO_EXPORT_DIR": str(settings.export_dir),
        "EWO_AUDIT_KEY": settings.audit_key.get_secret_value() if settings.audit_key else "",
        "EWO_QUIET_HOURS": "",
        "EWO_QUIET_DAYS": "",
        "EWO_CASELOAD_DIGEST": "",
        "EWO_COMPLIANCE": "off",
        "EWO_OUTBOX_POLL_SECONDS": "0.2",
        "PYTHONPATH": str(REPO),
    })
    if settings.database_url is not None:  # the same PostgreSQL database, same secrets
        env["EWO_DATABASE_URL"] = settings.database_url.get_secret_value()
        if settings.pin_pepper is not None:
            env["EWO_PIN_PEPPER"] = settings.pin_pepper.get_secret_value()
    if standin is not None:
        env.update({"EWO_TELEGRAM_TOKEN": standin.token,
                    "EWO_TELEGRAM_API_URL": standin.base_url})
    env.update(extra)
    return env


class BotProcess:
    """`python -m bot run` in a child process, started, killed and stopped on demand."""

    def __init__(self, settings: Settings, standin: BotApiStandIn, workdir: Path,
                 **extra: str) -> None:
        self.env = environment(settings, standin, **extra)
        self.workdir = workdir
        self.standin = standin
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        workdir.mkdir(parents=True, exist_ok=True)

    async def start(self) -> None:
        self.starts += 1
        with (self.workdir / f"bot-{self.starts}.log").open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=self.workdir, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)

    async def kill(self) -> None:
        """kill -9: no shutdown hook runs, nothing is flushed."""
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()

    async def terminate(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """SIGTERM, as systemd stops the service; returns the exit code."""
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                return await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
            return -signal.SIGKILL

    def log(self, start: int | None = None) -> str:
        """What the child wrote to stderr and stdout (the latest start by default)."""
        path = self.workdir / f"bot-{start or self.starts}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(self.log(number) for number in range(1, self.starts + 1))


async def answers_a_stranger(standin: BotApiStandIn) -> bool:
    """The running bot answers someone not enrolled with the short refusal."""
    stranger: FakeUser = standin.user(STRANGER_ID, "Stranger")
    await stranger.send("hello")
    reply = await stranger.next_message(timeout=STARTUP)
    return reply.text == access.STRANGER


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str


async def start_cli(settings: Settings, workdir: Path, *argv: str) -> asyncio.subprocess.Process:
    """`python -m bot ARGV…` started, output piped."""
    workdir.mkdir(parents=True, exist_ok=True)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *argv, cwd=workdir, env=environment(settings),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)


async def run_cli(settings: Settings, workdir: Path, *argv: str,
                  timeout: float = 120.0) -> CliRun:  # noqa: ASYNC109
    """`python -m bot ARGV…` to the end."""
    process = await start_cli(settings, workdir, *argv)
    async with asyncio.timeout(timeout):
        out, err = await process.communicate()
    assert process.returncode is not None
    return CliRun(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
