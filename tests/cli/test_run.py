"""`ewobot run` as a real process: refuses without a token, answers, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.handlers import access
from bot.sandbox import BotApiStandIn


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EWO_")}
    env.update({"EWO_DATABASE": str(tmp_path / "data" / "ewo.sqlite3"),
                "EWO_QUIET_HOURS": "", "EWO_QUIET_DAYS": ""})
    env.update(extra)
    return env


async def test_run_refuses_without_a_token(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=bot_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 1
    assert err.decode().count("\n") == 1
    assert err.decode().startswith("EWO_TELEGRAM_TOKEN is not set")


async def test_run_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with BotApiStandIn() as standin:
        env = bot_env(tmp_path, EWO_TELEGRAM_TOKEN=standin.token,
                      EWO_TELEGRAM_API_URL=standin.base_url)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            stranger = standin.user(4242)
            await stranger.send("hello")
            reply = await stranger.next_message(timeout=30)
            assert reply.text == access.STRANGER
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    assert standin.token not in err.decode() and standin.token not in out.decode()
