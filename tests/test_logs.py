"""Log redaction: no token in any line, traceback or URL."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import BaseRequest, RequestData

from bot.cli import CliEnv, main
from bot.logs import RedactingFilter, configure_logging, pin_library_loggers, redact
from tests.conftest import make_settings

TOKEN = "123456789:AAH-secret_token_value_abcdefghijkl"


def capture(secrets: tuple[str, ...] = ()) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(secrets))
    logger = logging.getLogger(f"test.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_token_in_url_is_redacted() -> None:
    text = redact(f"POST https://api.telegram.org/bot{TOKEN}/getUpdates")
    assert TOKEN not in text and "bot<redacted>/getUpdates" in text


def test_token_in_arguments_and_traceback_is_redacted() -> None:
    logger, stream = capture()
    try:
        raise RuntimeError(f"failed calling https://x/bot{TOKEN}/sendMessage")
    except RuntimeError:
        logger.exception("request to %s failed", f"https://x/bot{TOKEN}/getMe")
    output = stream.getvalue()
    assert TOKEN not in output
    assert "secret_token" not in output
    assert "request to https://x/bot<redacted>/getMe failed" in output


def test_named_secret_is_redacted_anywhere() -> None:
    logger, stream = capture(("hunter2-key",))
    logger.warning("key is hunter2-key")
    assert "hunter2" not in stream.getvalue()


def test_library_loggers_stay_quiet_at_debug() -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    pin_library_loggers()
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("telegram.ext.ExtBot").getEffectiveLevel() >= logging.INFO


@pytest.fixture
def configured() -> Iterator[None]:
    """configure_logging for one test, with the process's logging put back after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, threading.excepthook)
    yield
    root.handlers[:], level, sys.excepthook, threading.excepthook = saved
    root.setLevel(level)
    logging.captureWarnings(False)


def test_warnings_and_uncaught_exceptions_go_through_the_filter(
        configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level=logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(f"retrying https://x/bot{TOKEN}/getMe", UserWarning, stacklevel=1)
    try:
        raise RuntimeError(f"token {TOKEN}")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    thread = threading.Thread(target=lambda: (_ for _ in ()).throw(ValueError(TOKEN)))
    thread.start()
    thread.join()
    err = capsys.readouterr().err
    assert "bot<redacted>/getMe" in err and "RuntimeError: token <redacted>" in err
    assert "ValueError: <redacted>" in err
    assert "secret_token" not in err


def test_each_line_names_the_instance(configured: None,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level=logging.INFO, instance="ewo-2.example:41")
    logging.getLogger("ewobot.test").warning("outbox row 7 retried")
    line = capsys.readouterr().err.strip()
    assert line.endswith(" ewo-2.example:41 WARNING ewobot.test: outbox row 7 retried")


def test_an_unexpected_error_in_a_command_prints_no_secret(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    async def broken(args: object, env: CliEnv) -> int:
        raise RuntimeError(f"bug while holding {TOKEN} and key hunter2-database-key")

    monkeypatch.setattr("bot.cli.records.cmd_audit_verify", broken)
    settings = make_settings(tmp_path, telegram_token=TOKEN,
                             database_key="hunter2-database-key")
    err = io.StringIO()
    env = CliEnv(settings_factory=lambda: settings, out=io.StringIO(), err=err)
    env.settings  # noqa: B018 -- read, as a command would before failing
    assert main(["audit", "verify"], env) == 1
    assert "Traceback" in err.getvalue() and "RuntimeError: bug while holding" in err.getvalue()
    assert "secret_token" not in err.getvalue() and "hunter2" not in err.getvalue()


DATABASE_PASSWORD = "s3cr%40t-db-pw"  # percent-encoded: the driver reports "s3cr@t-db-pw"
DATABASE_URL = f"postgresql://ewo_service:{DATABASE_PASSWORD}@db.example:5432/ewo"


def test_a_database_urls_password_is_redacted_in_lines_and_tracebacks() -> None:
    logger, stream = capture()
    try:
        raise RuntimeError(f"cannot connect to {DATABASE_URL}")
    except RuntimeError:
        logger.exception("opening postgres://u:other-pw@h/db?sslmode=require and "
                         "postgresql://h/db?password=query-pw&sslmode=require")
    output = stream.getvalue()
    assert "s3cr" not in output and "other-pw" not in output and "query-pw" not in output
    assert "postgresql://ewo_service:<redacted>@db.example:5432/ewo" in output
    assert "?password=<redacted>&sslmode=require" in output


def test_an_unexpected_error_in_a_command_prints_no_database_password(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    async def broken(args: object, env: CliEnv) -> int:
        raise RuntimeError("the server said: password s3cr@t-db-pw was wrong")

    monkeypatch.setattr("bot.cli.records.cmd_audit_verify", broken)
    settings = make_settings(tmp_path, database_url=DATABASE_URL, pin_pepper="p" * 43)
    err = io.StringIO()
    env = CliEnv(settings_factory=lambda: settings, out=io.StringIO(), err=err)
    env.settings  # noqa: B018 -- read, as a command would before failing
    assert main(["audit", "verify"], env) == 1
    assert "RuntimeError: the server said: password <redacted> was wrong" in err.getvalue()
    assert "s3cr" not in err.getvalue()


def private_file(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_secrets_read_from_files_are_hidden_as_the_settings_are(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend: str) -> None:
    """The token, the SQLCipher key and the database URL's password given as
    EWO_*_FILE: never in a command's error output nor in the log `run` configures."""
    files = {"telegram_token_file": private_file(tmp_path / "token", TOKEN)}
    if backend == "postgres":
        files["database_url_file"] = private_file(tmp_path / "url", DATABASE_URL)
        files["pin_pepper_file"] = private_file(tmp_path / "pepper", "p" * 43)
        hidden = ("AAH-secret", "s3cr")
    else:
        files["database_key_file"] = private_file(tmp_path / "key", "hunter2-database-key")
        hidden = ("AAH-secret", "hunter2")
    leaked = (f"bug holding {TOKEN}, bot{TOKEN}/getMe, key hunter2-database-key, "
              "password s3cr@t-db-pw")

    async def broken(args: object, env: CliEnv) -> int:
        raise RuntimeError(leaked)

    monkeypatch.setattr("bot.cli.records.cmd_audit_verify", broken)
    settings = make_settings(tmp_path, **files)
    err = io.StringIO()
    env = CliEnv(settings_factory=lambda: settings, out=io.StringIO(), err=err)
    env.settings  # noqa: B018 -- read, as a command would before failing
    assert main(["audit", "verify"], env) == 1
    logger, stream = capture(env.secrets())  # what `run` gives configure_logging
    logger.error(leaked)
    assert "RuntimeError: bug holding" in err.getvalue()
    for output in (err.getvalue(), stream.getvalue()):
        assert "bug holding" in output
        for secret in hidden:
            assert secret not in output, output


PIN = "482913"  # an officer's PIN, typed while locked
SEARCH = "Amelia Hartley"  # a pupil's name, typed as a search


def _message(update_id: int, text: str, date: object = 1700000000) -> dict[str, object]:
    person = {"id": 4242, "is_bot": False, "first_name": "Officer"}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": date, "text": text,
        "chat": {"id": 4242, "type": "private"}, "from": person}}


class _OneBadBatch(BaseRequest):
    """getMe, then a getUpdates batch of two officers' messages and one update this
    library version cannot parse (a field of a shape it does not expect)."""

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: object = None, write_timeout: object = None,
                         connect_timeout: object = None, pool_timeout: object = None,
                         ) -> tuple[int, bytes]:
        if url.endswith("/getMe"):
            result: object = {"id": 1, "is_bot": True, "first_name": "EWO",
                              "username": "ewo_bot"}
        else:
            result = [_message(1, PIN), _message(2, SEARCH), _message(3, "hi", date="soon")]
        return 200, json.dumps({"ok": True, "result": result}).encode()


async def test_a_batch_of_updates_that_does_not_parse_leaves_no_message_text_in_the_log(
        configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level=logging.INFO, secrets=(TOKEN,))  # as `ewobot run` does
    request = _OneBadBatch()
    async with Bot(TOKEN, request=request, get_updates_request=request) as bot:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the library raises
            await bot.get_updates()
    err = capsys.readouterr().err
    assert "CRITICAL telegram.Bot: Error while parsing updates! Received data was <withheld>" \
        in err
    assert PIN not in err and SEARCH not in err and "Officer" not in err


def test_a_library_record_keeps_its_text_and_withholds_its_arguments() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("telegram.ext.Application")
    saved = logger.handlers[:], logger.propagate
    logger.handlers[:], logger.propagate = [handler], False
    try:
        logger.critical("Error while building CallbackContext for update %s. 100%% lost: %(x)r",
                        {"x": SEARCH})
        logger.warning("No error handlers are registered")
    finally:
        logger.handlers[:], logger.propagate = saved
    assert stream.getvalue().splitlines() == [
        "Error while building CallbackContext for update <withheld>. 100% lost: <withheld>",
        "No error handlers are registered"]
