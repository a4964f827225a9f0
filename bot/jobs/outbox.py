"""Delivers the outbox: pushed messages written by any process, sent by the running bot.

Runs once at start (rows a crash left mid-send go out again: delivery is at least
once) and then every EWO_OUTBOX_POLL_SECONDS. Each round claims the next due row of
each reachable recipient in a write transaction, sends outside it, and marks the row
sent only after Telegram accepted it. Inside quiet hours and on quiet days messages
wait. Failures: 429 waits the time Telegram asks; timeouts and network errors retry
with capped exponential backoff; 400 and 403 are kept as undelivered (403 also stops
sending to that person until they talk to the bot again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot, BotCommandScopeChat, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes

from bot.chat.render import grid
from bot.domain.alerts import more_button
from bot.domain.dates import in_quiet_time
from bot.domain.message_parts import split_message
from bot.jobs.leader import fence_of, leader_only, still_held
from bot.processing import retry_after
from bot.storage import compliance, outbox
from bot.storage.outbox import Delivery
from bot.usecases import outbox as outbox_cases
from bot.usecases.outbox import Failure

log = logging.getLogger(__name__)

FORWARDED = "For {ref}'s pupils: {ref}'s access has ended, so this comes to you."
FORWARDED_LAPSED = ("For {ref}'s pupils: {ref}'s DBS check or training has lapsed, so this "
                    "comes to you until new dates are recorded.")

BACKOFF_FIRST = timedelta(seconds=10)
BACKOFF_CAP = timedelta(minutes=15)
MAX_ROUNDS = 50  # per run; whatever is left goes at the next poll
_LOCK_KEY = "ewo.outbox_lock"
_FENCE_KEY = "ewo.outbox_fence"  # the lease's fence claims were last released under


@leader_only
async def deliver_due(context: ContextTypes.DEFAULT_TYPE, svc: Any) -> None:
    """The repeating poll (and the run at start): deliver whatever is due.

    The first run under a lease (at start, or once this instance has taken the jobs
    over) first puts every row left `sending` back: no send of this process is in
    flight, and the instance that claimed them has stopped or lost the lease (its
    writes are refused from now on), so they go again at once."""
    application = context.application
    async with _lock(application):
        fence = fence_of(svc)
        if application.bot_data.get(_FENCE_KEY) != fence:
            released = await svc.db.write(outbox.release_claims)
            application.bot_data[_FENCE_KEY] = fence
            if released:
                log.info("outbox: %d message(s) interrupted by a stop will be sent again",
                         released)
        await _deliver(context, svc)


deliver_at_start = deliver_due


def _lock(application: Application[Any, Any, Any, Any, Any, Any]) -> asyncio.Lock:
    """One delivery run at a time in this process (the start run and the poll may meet)."""
    lock = application.bot_data.get(_LOCK_KEY)
    if lock is None:
        lock = application.bot_data[_LOCK_KEY] = asyncio.Lock()
    return lock  # type: ignore[no-any-return]


async def _deliver(context: ContextTypes.DEFAULT_TYPE, svc: Any) -> None:
    settings = svc.settings
    if not await outbox_cases.prepare_round(svc.db, svc.clock.now(),
                                            settings.academic_year_end):
        return
    holder = settings.instance_name
    for _ in range(MAX_ROUNDS):
        now = svc.clock.now()
        quiet = in_quiet_time(now, settings.quiet_hours, settings.quiet_days)
        batch = await svc.db.write(compliance.claim_due, now, settings, quiet=quiet,
                                   holder=holder)
        if not batch:
            return
        for delivery in batch:
            if not still_held(context, svc):
                log.info("outbox: the jobs lease may have lapsed; stopping this round")
                return
            await _send_and_mark(context.bot, svc, delivery)


async def _send_and_mark(bot: Bot, svc: Any, delivery: Delivery) -> None:
    error: str | None = None
    retry_in: timedelta | None = None
    try:
        await _send(bot, delivery)
    except RetryAfter as exc:
        error, retry_in = "http_429", retry_after(exc)
    except Forbidden:
        error = "http_403"
    except BadRequest:
        error = "http_400"
    except TimedOut:
        error, retry_in = "timeout", _backoff(delivery.attempts)
    except NetworkError:
        error, retry_in = "network", _backoff(delivery.attempts)
    except TelegramError:
        error, retry_in = "telegram", _backoff(delivery.attempts)
    except Exception as exc:  # noqa: BLE001 - a fault of ours must not lose the message
        log.error("outbox: sending %s failed: %s", delivery.target, type(exc).__name__)
        error, retry_in = "error", _backoff(delivery.attempts)
    await outbox_cases.settle(svc.db, delivery, svc.clock.now(),
                              None if error is None else Failure(error, retry_in))
    if error is not None:
        log.warning("outbox: %s not delivered (%s)%s", delivery.target, error,
                    "; will retry" if retry_in is not None else "")


async def _send(bot: Bot, delivery: Delivery) -> None:
    if delivery.kind == "commands":
        if delivery.payload.get("action") == "delete":
            await bot.delete_my_commands(scope=BotCommandScopeChat(delivery.chat_id))
        return
    text = str(delivery.payload.get("text", ""))
    if delivery.forwarded_from:
        note = FORWARDED_LAPSED if delivery.forwarded_lapsed else FORWARDED
        text = f"{note.format(ref=delivery.forwarded_from)}\n\n{text}"
    # protect_content comes from the Application's Defaults. A text over Telegram's limit
    # goes as several messages, the buttons on the last (a retry sends them all again:
    # delivery is at-least-once).
    parts = split_message(text)
    for part in parts[:-1]:
        await bot.send_message(delivery.chat_id, part)
    await bot.send_message(delivery.chat_id, parts[-1], reply_markup=markup(delivery))


def markup(delivery: Delivery) -> InlineKeyboardMarkup | None:
    """The message's buttons; a digest of several pages gets "More" for the next one."""
    buttons: list[Sequence[str]] = list(delivery.payload.get("buttons") or [])
    more = None
    pages = delivery.payload.get("pages")
    if isinstance(pages, list) and len(pages) > 1:
        more = more_button(delivery.id, 1)
    return grid(buttons, int(delivery.payload.get("columns", 1)), more)


def _backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … at most 15 minutes."""
    return min(BACKOFF_FIRST * (2 ** min(attempts, 16)), BACKOFF_CAP)
