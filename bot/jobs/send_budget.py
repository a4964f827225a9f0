"""Telegram's limit of about 30 messages a second is the bot's, not each instance's. With
several instances on one database, each one reports every REFRESH_SECONDS how many
messages it sent in its last second (bot/storage/send_rates.py) and keeps for itself
what the others leave, never less than an even share among the instances sending:

- one instance busy and the others idle (or a balancer sending it everything, or the
  job leader delivering a burst of pushed messages): it keeps the whole 30;
- two busy: each settles on 15 within a second or two; three: 10 each;
- one busy at 25 and another sending 2: 28 and 15, neither held below what it needs.

A quiet instance keeps only its even part of the limit among the instances running
(30 alone, 10 of three), both as its rate and as what it may send at once (its
limiter's burst), until its next refresh has told the others it is sending: instances
that all become busy at the same moment (a balancer spreading a burst of updates) start
with 30 between them, not 30 each.

Nothing is asked of the database on the way to Telegram: a message waits only for its
turn in this instance's limiter (RateLimiter), whose rate this loop sets. The price is
a lag of a refresh (a quarter of a second): an instance starting alone waits that long
before it has the whole 30, and instances becoming busy together may pass the limit
by their even parts meanwhile; Telegram then answers some with a short wait, which the
limiter honours (as one instance's burst always could). A report older than FRESH
counts for nothing, so a killed instance's share is the others' within seconds; a
clean stop hands it over at once.

SQLite serves one process: there is no budget to share and this loop does not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.processing import RateLimiter
from bot.storage import send_rates
from bot.storage.db import Database, DatabaseError

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.25
FRESH = timedelta(seconds=2)
QUIET_REPORT = timedelta(seconds=1)  # a quiet instance's "0" rewritten this often, no more


def allowance(limit: float, others: Sequence[int]) -> float:
    """What one instance may send a second while the others sent `others` (each in its
    last second): what they leave of `limit`, but at least an even share among the
    instances sending (this one included), so that busy instances settle on equal
    shares instead of starving one another."""
    senders = 1 + sum(1 for sent in others if sent > 0)
    return max(limit / senders, limit - sum(others))


class SendBudget:
    """This instance's share of the bot's sending rate, kept up to date by `run`."""

    def __init__(self, db: Database, instance: str, limiter: RateLimiter, *,
                 refresh_seconds: float = REFRESH_SECONDS,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.instance = instance
        self.limiter = limiter
        self.refresh_seconds = refresh_seconds
        self._wall = wall
        self._failing = False
        self._reported: tuple[int, datetime] | None = None  # (sent, when) last written

    async def refresh(self) -> float:
        """Report once and take the share that leaves; the share (kept as it was when
        the database does not answer). A quiet instance that has said so rewrites its
        report only every QUIET_REPORT (inside FRESH, so it still counts as running)
        and otherwise only reads the others'."""
        sent, now = self.limiter.sent_in_last_second(), self._wall()
        quiet = (sent == 0 and self._reported is not None and self._reported[0] == 0
                 and now - self._reported[1] < QUIET_REPORT)
        try:
            if quiet:
                others = await self.db.read(send_rates.others, self.instance, now, FRESH)
            else:
                others = await self.db.write(send_rates.report, self.instance, sent, now,
                                             FRESH)
                self._reported = (sent, now)
        except DatabaseError as exc:
            if not self._failing:
                log.warning("send rate not shared: %s", exc)
            self._failing = True
            return self.limiter.per_second
        if self._failing:
            log.info("send rate shared again")
        self._failing = False
        even = self.limiter.limit / (1 + len(others))  # this one's part among those running
        share = allowance(self.limiter.limit, others)
        if sent == 0:
            # Quiet now: whatever comes next starts at the even part, until the next
            # refresh has told the others; the others may be starting at this moment too.
            share = min(share, even)
        self.limiter.per_second = share
        self.limiter.burst = even
        return share

    async def run(self) -> None:
        """Refresh until cancelled."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.refresh_seconds)

    async def forget(self) -> None:
        """A clean stop: this instance's share goes to the others at once."""
        with contextlib.suppress(DatabaseError):
            await self.db.write(send_rates.forget, self.instance)
