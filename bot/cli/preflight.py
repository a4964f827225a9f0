"""Before `ewobot run` starts polling: the database and keys open, and Telegram answers.

Each operator mistake (a revoked or mistyped token, a mistyped EWO_TELEGRAM_API_URL
answering 404, an unreachable API, a refused connection) becomes one line naming what
to check, instead of python-telegram-bot's tracebacks, one of which prints the token
("The token `…` was rejected by the server"). A network error is retried a few times
first: a restart during a short outage should not need a person.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.cli import CliError
from bot.logs import redact
from bot.settings import Settings
from bot.storage.db import Database, load_pepper

ATTEMPTS = 3
PAUSE_SECONDS = 1.0  # doubled after each failed attempt
TIMEOUT_SECONDS = 10.0

TOKEN_REFUSED = ("Telegram refused the bot token ({reason}): check EWO_TELEGRAM_TOKEN "
                 "(from BotFather) and EWO_TELEGRAM_API_URL")
UNREACHABLE = ("cannot reach the Telegram Bot API at {host} ({reason}) after {attempts} "
               "attempts: check the network and EWO_TELEGRAM_API_URL")
TELEGRAM_FAILED = "the Telegram Bot API answered an error at start-up ({reason})"


async def check_before_run(settings: Settings, *, attempts: int = ATTEMPTS,
                           pause: float = PAUSE_SECONDS) -> None:
    """The database, the audit key and the pepper open; then Telegram accepts the token.
    CliError (one line) otherwise."""
    db = await Database.open(settings)
    await db.close()
    load_pepper(settings)
    await reach_telegram(settings, attempts=attempts, pause=pause)


async def reach_telegram(settings: Settings, *, attempts: int = ATTEMPTS,
                         pause: float = PAUSE_SECONDS) -> None:
    """`getMe` with the bot's token, retrying network errors `attempts` times in all."""
    assert settings.telegram_token is not None
    token = settings.telegram_token.get_secret_value()
    for attempt in range(1, attempts + 1):
        request = HTTPXRequest(connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS)
        try:
            async with Bot(token, base_url=settings.telegram_api_url, request=request):
                return
        except (InvalidToken, BadRequest) as exc:
            raise CliError(problem_line(exc, settings)) from None
        except NetworkError as exc:  # TimedOut included
            if attempt == attempts:
                raise CliError(problem_line(exc, settings, attempts=attempts)) from None
        except TelegramError as exc:
            raise CliError(problem_line(exc, settings)) from None
        await asyncio.sleep(pause * 2 ** (attempt - 1))


def problem_line(exc: TelegramError, settings: Settings, *, attempts: int = 1) -> str:
    """One line for the operator, with no token in it whatever the error's text holds."""
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    # PTB re-raises the server's InvalidToken with the token in its message: the cause
    # holds the server's own words ("Unauthorized", "Not Found").
    source = exc.__cause__ if isinstance(exc, InvalidToken) and exc.__cause__ else exc
    reason = redact(str(source).strip().splitlines()[0] if str(source).strip()
                    else type(source).__name__, (token,))[:200]
    if isinstance(exc, InvalidToken):
        return TOKEN_REFUSED.format(reason=reason)
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        host = urlsplit(settings.telegram_api_url).netloc or settings.telegram_api_url
        return UNREACHABLE.format(host=redact(host, (token,)), reason=reason, attempts=attempts)
    return TELEGRAM_FAILED.format(reason=reason)
