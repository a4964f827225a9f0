"""`ewobot run` as a real process: refuses without a token, answers, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.drills.custody import FixedAnswer, closed_port
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


@dataclass
class Ran:
    """How a `run` process ended, once it has."""
    code: int | None = None
    out: str = ""
    err: str = ""


@asynccontextmanager
async def bot_running(tmp_path: Path, env: dict[str, str]) -> AsyncIterator[Ran]:
    """`ewobot run` as a process until the block ends, then SIGTERM and its end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    ran = Ran()
    try:
        yield ran
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        ran.code, ran.out, ran.err = process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("given", ["setting", "file"])
async def test_run_answers_and_stops_cleanly_on_sigterm(tmp_path: Path, given: str) -> None:
    """The token given as EWO_TELEGRAM_TOKEN or read from EWO_TELEGRAM_TOKEN_FILE."""
    async with BotApiStandIn() as standin:
        token = ({"EWO_TELEGRAM_TOKEN": standin.token} if given == "setting" else
                 {"EWO_TELEGRAM_TOKEN_FILE": token_file(tmp_path, standin.token)})
        env = bot_env(tmp_path, **token, EWO_TELEGRAM_API_URL=standin.base_url)
        async with bot_running(tmp_path, env) as ran:
            stranger = standin.user(4242)
            await stranger.send("hello")
            reply = await stranger.next_message(timeout=30)
            assert reply.text == access.STRANGER
    assert ran.code == 0
    assert standin.token not in ran.err and standin.token not in ran.out


TOKEN = "123456789:AAH-not_a_real_token_but_shaped_like_one"


async def run_once(tmp_path: Path, api_url: str) -> tuple[int | None, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path,
        env=bot_env(tmp_path, EWO_TELEGRAM_TOKEN=TOKEN, EWO_TELEGRAM_API_URL=api_url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


def assert_one_line_without_the_token(out: str, err: str) -> None:
    assert out == ""
    assert err.count("\n") == 1, err
    secret_part = TOKEN.split(":")[1]
    assert secret_part not in err and TOKEN.split(":")[0] not in err


@pytest.mark.parametrize(("status", "description"), [(401, "Unauthorized"),
                                                     (404, "Not Found")])
async def test_a_refused_token_is_one_line_and_exit_1(tmp_path: Path, status: int,
                                                      description: str) -> None:
    async with FixedAnswer(status, description) as api_url:
        code, out, err = await run_once(tmp_path, api_url)
    assert code == 1
    assert_one_line_without_the_token(out, err)
    assert err.startswith(f"Telegram refused the bot token ({description}): "
                          "check EWO_TELEGRAM_TOKEN")


async def test_an_unreachable_api_is_retried_then_one_line_and_exit_1(tmp_path: Path) -> None:
    port = closed_port()
    code, out, err = await run_once(tmp_path, f"http://127.0.0.1:{port}/bot")
    assert code == 1
    assert_one_line_without_the_token(out, err)
    assert err.startswith(f"cannot reach the Telegram Bot API at 127.0.0.1:{port} (")
    assert "after 3 attempts" in err


async def test_a_loose_database_stops_run_before_telegram_is_asked(tmp_path: Path) -> None:
    database = tmp_path / "data" / "ewo.sqlite3"
    database.parent.mkdir(mode=0o700)
    database.touch(mode=0o666)
    database.chmod(0o666)
    telegram = FixedAnswer(401, "Unauthorized")
    async with telegram as api_url:
        code, out, err = await run_once(tmp_path, api_url)
    assert code == 1 and telegram.requests == 0
    assert_one_line_without_the_token(out, err)
    assert err == f"refused: {database} is open to group or others (mode 0666); chmod 600 it\n"


def token_file(tmp_path: Path, token: str, mode: int = 0o600) -> str:
    """A private file holding the token, as systemd's LoadCredential leaves one."""
    path = tmp_path / "telegram-token"
    path.write_text(token + "\n")
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize("argv", [["run"], ["webhook", "info"]])
async def test_a_refused_token_from_a_file_is_one_line_without_it(tmp_path: Path,
                                                                  argv: list[str]) -> None:
    async with FixedAnswer(401, "Unauthorized") as api_url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *argv, cwd=tmp_path,
            env=bot_env(tmp_path, EWO_TELEGRAM_TOKEN_FILE=token_file(tmp_path, TOKEN),
                        EWO_TELEGRAM_API_URL=api_url),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert_one_line_without_the_token(out.decode(), err.decode())
    assert err.decode().startswith("Telegram refused the bot token (Unauthorized): ")


async def test_run_refuses_a_token_file_others_can_read(tmp_path: Path) -> None:
    path = token_file(tmp_path, TOKEN, mode=0o644)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path,
        env=bot_env(tmp_path, EWO_TELEGRAM_TOKEN_FILE=path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert_one_line_without_the_token(out.decode(), err.decode())
    assert err.decode() == (f"EWO_TELEGRAM_TOKEN_FILE: refused: {path} can be read by group "
                            "or others (mode 0644); chmod 600 it\n")
