"""How often the gate answers people who may not use the bot: at most one refusal an
hour to each Telegram account, and five wrong enrolment codes an hour from one account
before its attempts are ignored for the rest of that hour.

Kept in the bot's memory, not in the database: counting there would cost a write per
attempt, the very cost a flood is stopped to save, and would keep strangers' account
ids. A restart forgets the counts; the audit trail keeps every counted attempt.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

WINDOW = timedelta(hours=1)
MAX_WRONG_CODES = 5
# Accounts not seen within the window are forgotten once this many are held, then
# again each time the number held has doubled (so a flood of new accounts costs a
# constant amount of work per attempt, not a scan of all of them each time).
_PRUNE_AT = 1024


@dataclass
class AttemptLimits:
    """Per Telegram account: when it was last refused, and its recent wrong codes."""

    window: timedelta = WINDOW
    max_wrong_codes: int = MAX_WRONG_CODES
    _refused: dict[int, datetime] = field(default_factory=dict)
    _wrong_codes: dict[int, deque[datetime]] = field(default_factory=dict)
    _prune_refused_at: int = _PRUNE_AT
    _prune_codes_at: int = _PRUNE_AT

    def may_refuse(self, account: int, now: datetime) -> bool:
        """True (and counted) if this account has had no refusal within the window."""
        last = self._refused.get(account)
        if last is not None and now - last < self.window:
            return False
        if len(self._refused) >= self._prune_refused_at:
            self._refused = {key: moment for key, moment in self._refused.items()
                             if now - moment < self.window}
            self._prune_refused_at = max(_PRUNE_AT, 2 * len(self._refused))
        self._refused[account] = now
        return True

    def codes_blocked(self, account: int, now: datetime) -> bool:
        """True while this account has had the most wrong codes within the window."""
        return self._recent(account, now) >= self.max_wrong_codes

    def wrong_code(self, account: int, now: datetime) -> int:
        """Count a wrong code; returns how many this account has within the window."""
        if len(self._wrong_codes) >= self._prune_codes_at:
            for key in list(self._wrong_codes):
                self._recent(key, now)
            self._prune_codes_at = max(_PRUNE_AT, 2 * len(self._wrong_codes))
        self._wrong_codes.setdefault(account, deque()).append(now)
        return len(self._wrong_codes[account])

    def _recent(self, account: int, now: datetime) -> int:
        moments = self._wrong_codes.get(account)
        if moments is None:
            return 0
        while moments and now - moments[0] >= self.window:
            moments.popleft()
        if not moments:
            del self._wrong_codes[account]
            return 0
        return len(moments)
