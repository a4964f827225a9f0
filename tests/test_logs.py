"""Log redaction: no token in any line, traceback or URL."""

from __future__ import annotations

import io
import logging

from bot.logs import RedactingFilter, pin_library_loggers, redact

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
