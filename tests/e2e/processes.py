"""The bot and the command line as child processes, on the test database and the stand-in;
several webhook instances of it on one PostgreSQL database (`Deployment`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import leases
from bot.storage.db import Conn, Database

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
        "EWO_AUDIT_KEY": (settings.audit_key.get_secret_value() if settings.audit_key
                          else "test-audit-key"),
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Instance:
    """One `ewobot run` in webhook mode: its name, port and log (its stderr)."""

    name: str
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Deployment:
    """`count` `ewobot run` processes in webhook mode on one PostgreSQL database, the
    stand-in posting each update to them in turn as a load balancer would.

    `env` may be changed before `start` (every instance gets it, with its own
    EWO_INSTANCE_NAME and EWO_WEBHOOK_LISTEN)."""

    def __init__(self, settings: Settings, standin: BotApiStandIn, folder: Path, *,
                 count: int = 3, lease_seconds: float = 3, secret: str,
                 public_url: str = "https://bot.example.test/telegram") -> None:
        assert settings.database_url is not None, "several instances need PostgreSQL"
        self.env = bot_environment(settings, standin)
        self.env.update({
            "EWO_WEBHOOK_URL": public_url, "EWO_WEBHOOK_SECRET": secret,
            "EWO_JOB_LEASE_SECONDS": f"{lease_seconds:g}",
        })
        self.cwd = folder
        self.instances = [Instance(f"web-{n}", free_port(), folder / f"web-{n}.log")
                          for n in range(1, count + 1)]
        self.standin = standin

    async def start(self) -> None:
        self.route_to(self.instances)
        self.standin.set_webhook_attempts(10_000)  # an instance down: tried again, elsewhere
        for instance in self.instances:
            await self._spawn(instance)
        async with aiohttp.ClientSession() as session:
            for instance in self.instances:
                await healthy(session, instance)

    async def restart(self, instance: Instance) -> None:
        """The instance started again under its name and port (after a kill or a stop, as
        systemd would), its log started afresh; once healthy."""
        await self._spawn(instance)
        async with aiohttp.ClientSession() as session:
            await healthy(session, instance)

    def environment(self, name: str, port: int) -> dict[str, str]:
        """An instance's environment: the deployment's, with its name and address."""
        return {**self.env, "EWO_INSTANCE_NAME": name,
                "EWO_WEBHOOK_LISTEN": f"127.0.0.1:{port}"}

    async def _spawn(self, instance: Instance) -> None:
        with instance.log.open("wb") as log:
            instance.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.environment(instance.name,
                                                                        instance.port),
                cwd=self.cwd, stdout=asyncio.subprocess.DEVNULL, stderr=log)

    def route_to(self, instances: Sequence[Instance]) -> None:
        """The balancer sends the updates to these instances only, in turn."""
        self.standin.route_webhook_to([instance.url for instance in instances])

    def by_name(self, name: str) -> Instance:
        return next(instance for instance in self.instances if instance.name == name)

    async def kill(self, instance: Instance) -> None:
        """SIGKILL: no clean-up of any kind runs."""
        assert instance.process is not None
        instance.process.kill()
        await instance.process.wait()

    async def stop(self) -> None:
        for instance in self.instances:
            process = instance.process
            if process is None or process.returncode is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for instance in self.instances:
            if instance.process is not None:
                try:
                    await asyncio.wait_for(instance.process.wait(), 20)
                except TimeoutError:
                    instance.process.kill()
                    await instance.process.wait()


@contextlib.asynccontextmanager
async def deployed(settings: Settings, standin: BotApiStandIn, folder: Path,
                   **options: Any) -> AsyncIterator[Deployment]:
    """A Deployment (`options` as its own) started, and stopped however the block ends."""
    running = Deployment(settings, standin, folder, **options)
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


async def healthy(session: aiohttp.ClientSession, instance: Instance) -> None:
    """Once the instance answers GET /healthz (within a minute, or AssertionError)."""
    health = instance.url.replace("/telegram", "/healthz")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert instance.process is not None and instance.process.returncode is None, \
            instance.log_text()[-2000:]
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(health) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)  # polled with a deadline: a child process has no event
    raise AssertionError(f"{instance.name} never became healthy: {instance.log_text()[-2000:]}")


async def lease_holder(db: Database) -> str | None:
    """The instance holding the jobs lease now, if its lease is live."""
    lease = await db.read(leases.current, leases.JOBS)
    return lease.holder if lease is not None and lease.live(datetime.now(UTC)) else None


async def outbox_claim(conn: Conn, outbox_id: int) -> tuple[str, str]:
    """An outbox row's status and the instance that claimed it."""
    row = await conn.fetchone("SELECT status, claimed_by FROM outbox WHERE id = ?", (outbox_id,))
    return row["status"], row["claimed_by"]
