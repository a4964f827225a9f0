"""Logging that keeps tokens out: library loggers pinned, a redacting filter on handlers.

Application log lines carry codes and internal references only, never personal data;
this module is the safety net for what libraries write (request URLs hold the token).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from types import TracebackType

_TOKEN_IN_URL = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
_BARE_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")
# A database URL's password (`postgresql://user:PASSWORD@host`, `?password=…`), whoever
# wrote the URL into the text: a driver's error, a traceback's locals, a repr.
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*(@)")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&\s'\"]*")
# A %-format placeholder (`%s`, `%r`, `%(name)s`, `%5.1f`) or a literal `%%`.
_PLACEHOLDER = re.compile(
    r"%(?:%|(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa])")
WITHHELD = "<withheld>"
# Loggers whose arguments may be whole updates or API results (message texts: PINs typed
# while locked, enrolment codes, pupils' names typed as searches, notes): python-telegram-
# bot logs a batch of updates it could not parse, or an update it could not build a
# context for, at CRITICAL.
_LIBRARIES_WITH_UPDATES = ("telegram",)

# At DEBUG these write every request and response in full (texts, PINs, codes).
_CHATTY = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "telegram": logging.INFO,
           "apscheduler": logging.WARNING, "aiosqlite": logging.INFO}


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove bot tokens, database URLs' passwords (and any given secret) from a piece
    of text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    text = _TOKEN_IN_URL.sub("bot<redacted>", text)
    text = _URL_PASSWORD.sub(r"\1<redacted>\2", text)
    text = _QUERY_PASSWORD.sub(r"\1<redacted>", text)
    return _BARE_TOKEN.sub("<redacted>", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message and traceback text without secrets; a
    python-telegram-bot record keeps its text with its arguments withheld (they may be
    whole updates, and no pattern can tell a PIN or a pupil's name in them)."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and _logs_updates(record.name):
            message = _without_arguments(str(record.msg))
        else:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string must not take the record's args with it
                message = str(record.msg)
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def _logs_updates(name: str) -> bool:
    return any(name == library or name.startswith(library + ".")
               for library in _LIBRARIES_WITH_UPDATES)


def _without_arguments(template: str) -> str:
    """The message's text with each argument's place marked withheld."""
    return _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else WITHHELD, template)


def pin_library_loggers() -> None:
    """Keep chatty libraries at INFO or above whatever the root level is."""
    for name, level in _CHATTY.items():
        logging.getLogger(name).setLevel(level)


def configure_logging(level: int = logging.INFO, secrets: tuple[str, ...] = (),
                      instance: str | None = None) -> None:
    """One stderr handler with the redacting filter; library loggers pinned. With
    `instance` (EWO_INSTANCE_NAME) every line names it, so the lines of several
    instances gathered in one place tell which wrote what.

    Whatever else would reach stderr goes through that handler too: warnings (which
    Python prints itself otherwise) and exceptions no one caught, in any thread."""
    handler = logging.StreamHandler(sys.stderr)
    # The name's characters (settings.INSTANCE_NAME) hold no `%`: safe in the format.
    prefix = "%(asctime)s " + (f"{instance} " if instance else "")
    handler.setFormatter(logging.Formatter(prefix + "%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    pin_library_loggers()
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], value: BaseException,
                  trace: TracebackType | None) -> None:
    """Python's own printing of an uncaught exception, through the redacting handler."""
    logging.getLogger("ewobot").critical("uncaught exception", exc_info=(kind, value, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)
