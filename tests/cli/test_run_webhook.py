"""`ewobot run` in webhook mode: operator mistakes are one line and exit 1, never a trace."""

from __future__ import annotations

import asyncio
import io
import socket
import sys
from pathlib import Path

import pytest

from bot.cli import CliEnv, main
from bot.settings import load_settings
from tests.cli.test_run import TOKEN, FixedAnswer, assert_one_line_without_the_token, bot_env

SECRET = "a-webhook-secret"


def webhook_env(tmp_path: Path, api_url: str, port: int, **extra: str) -> dict[str, str]:
    return bot_env(tmp_path, EWO_TELEGRAM_TOKEN=TOKEN, EWO_TELEGRAM_API_URL=api_url,
                   EWO_WEBHOOK_URL="https://bot.example.test/telegram",
                   EWO_WEBHOOK_LISTEN=f"127.0.0.1:{port}", EWO_WEBHOOK_SECRET=SECRET, **extra)


async def run_once(env: dict[str, str], cwd: Path) -> tuple[int | None, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


async def test_a_refused_token_is_the_same_one_line_as_with_polling(tmp_path: Path) -> None:
    async with FixedAnswer(401, "Unauthorized") as api_url:
        code, out, err = await run_once(webhook_env(tmp_path, api_url, 8443), tmp_path)
    assert code == 1
    assert_one_line_without_the_token(out, err)
    assert err.startswith("Telegram refused the bot token (Unauthorized): ")


async def test_a_busy_listen_address_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    from bot.sandbox import BotApiStandIn

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        async with BotApiStandIn(token=TOKEN) as standin:
            code, out, err = await run_once(webhook_env(tmp_path, standin.base_url, port),
                                            tmp_path)
            assert standin.calls_to("setWebhook") == []
    assert code == 1
    assert_one_line_without_the_token(out, err)
    assert err.startswith(f"EWO_WEBHOOK_LISTEN: cannot listen on 127.0.0.1:{port} (")
    assert SECRET not in err


def run_in_process(tmp_path: Path, **settings: object) -> tuple[int, str]:
    err = io.StringIO()
    env = CliEnv(settings_factory=lambda: load_settings(
        _env_file=None, database=tmp_path / "ewo.sqlite3", telegram_token=TOKEN,
        webhook_url="https://bot.example.test/telegram", **settings),
        out=io.StringIO(), err=err)
    return main(["run"], env), err.getvalue()


@pytest.mark.parametrize(("mode", "content", "starts"), [
    (0o644, "Sup3rHiddenValue", "EWO_WEBHOOK_SECRET_FILE: refused: "),
    (0o600, "", "EWO_WEBHOOK_SECRET_FILE: "),
    (0o600, "not allowed Sup3rHiddenValue!", "EWO_WEBHOOK_SECRET_FILE: "),
])
def test_a_bad_secret_file_is_one_line_naming_it(tmp_path: Path, mode: int, content: str,
                                                 starts: str) -> None:
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(content)
    secret_file.chmod(mode)
    code, err = run_in_process(tmp_path, webhook_secret_file=secret_file)
    assert code == 1
    assert err.startswith(starts) and err.count("\n") == 1
    assert "Sup3rHiddenValue" not in err


def test_a_missing_secret_file_is_one_line(tmp_path: Path) -> None:
    code, err = run_in_process(tmp_path, webhook_secret_file=tmp_path / "absent")
    assert (code, err) == (1, f"EWO_WEBHOOK_SECRET_FILE: no such file {tmp_path / 'absent'}\n")


def test_webhook_commands_need_the_token(tmp_path: Path) -> None:
    err = io.StringIO()
    env = CliEnv(settings_factory=lambda: load_settings(
        _env_file=None, database=tmp_path / "ewo.sqlite3", telegram_token=""),
        out=io.StringIO(), err=err)
    assert main(["webhook", "delete"], env) == 1
    assert err.getvalue().startswith("EWO_TELEGRAM_TOKEN is not set")
    assert err.getvalue().count("\n") == 1
