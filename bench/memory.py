"""The bot's memory: `python -m bot run` as its own process, with the whole service in
its database, after answering cards; read from /proc/<pid>/status."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from bench import chat
from bench.report import Result, Unavailable
from bench.workspace import LONDON, Workspace
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage.db import Database

MEMORY = "bot process memory"
LIMIT_MB = 150
START_TIMEOUT = 60.0


def status_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0]) / 1024
    return figures


def bot_environment(settings: Settings, standin: BotApiStandIn) -> dict[str, str]:
    """The environment of `ewobot run` against the stand-in, with the benchmark's database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EWO_")}
    assert settings.audit_key is not None
    env.update({
        "EWO_TELEGRAM_TOKEN": standin.token,
        "EWO_TELEGRAM_API_URL": standin.base_url,
        "EWO_DATABASE": str(settings.database),
        "EWO_EXPORT_DIR": str(settings.export_dir),
        "EWO_AUDIT_KEY": settings.audit_key.get_secret_value(),
        "EWO_QUIET_HOURS": "",
        "EWO_QUIET_DAYS": "",
    })
    return env


async def run(workspace: Workspace) -> list[Result]:
    if not Path("/proc/self/status").exists():
        return [Result.skip(MEMORY, "needs /proc (Linux)")]
    try:
        settings = await workspace.loaded()
    except Unavailable as missing:
        return [Result.skip(MEMORY, str(missing))]
    scale = workspace.scale
    async with BotApiStandIn() as standin:
        # The process keeps the real time: its sessions are unlocked now.
        db = await Database.open(settings)
        try:
            officers = await chat.enrol_officers(workspace, db, settings, standin,
                                                 scale.chat_officers, now=datetime.now(LONDON))
        finally:
            await db.close()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=bot_environment(settings, standin),
            cwd=workspace.folder("memory"), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            await standin.wait_for_long_poll(timeout=START_TIMEOUT)
            started = status_mb(process.pid)
            cards = await _ask_cards(officers, scale.memory_cards)
            after = status_mb(process.pid)
        finally:
            await _stop(process)
    peak = after["VmHWM"]
    return [Result(
        MEMORY,
        figures={"rss_started_mb": started["VmRSS"], "rss_after_mb": after["VmRSS"],
                 "peak_mb": peak, "cards": cards},
        headline=(f"peak {peak:.0f} MB RSS (started {started['VmRSS']:.0f} MB,"
                  f" {after['VmRSS']:.0f} MB after {cards:,} cards)"),
        target=f"≤ {LIMIT_MB} MB", met=peak <= LIMIT_MB,
        notes=[f"`python -m bot run` against the stand-in, {workspace.service().pupils:,}"
               " pupils with their marks in the database; the peak (VmHWM) is what is held"
               " against the target."])]


async def _ask_cards(officers: chat.Officers, total: int) -> int:
    """Cards of different pupils, every officer asking at once; returns how many."""
    per_officer = max(1, total // len(officers.users))
    sessions = [
        [chat.card_exchange(user, pupils[n % len(pupils)], typed=False)
         for n in range(per_officer)]
        for user, pupils in zip(officers.users, officers.pupils, strict=True)]
    load = await chat.closed_loop(sessions)
    return load.exchanges


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(30):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
