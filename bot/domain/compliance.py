"""Officers' compliance: when an enhanced DBS check and data-protection training lapse.

Training lapses EWO_TRAINING_VALID_MONTHS after it was completed; a DBS check
EWO_DBS_RECHECK_MONTHS after it was made (0: never). A date never recorded counts as
lapsed GRACE_DAYS after the person was added, or after the upgrade that brought this
feature for people added before it, so an upgrade never locks a working service out
overnight. Reminders go REMIND_DAYS before a lapse and on the day; while a date is
unrecorded, daily. A reminder day on which the daily check did not run (the bot was
down) is reminded at the next check, up to CATCH_UP_DAYS late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from bot.domain.rights import months_after

MODES = ("enforce", "warn", "off")
GRACE_DAYS = 30
REMIND_DAYS = 30
CATCH_UP_DAYS = 7  # a reminder day missed while the daily check did not run goes this late
CURRENT, DUE, LAPSED, UNRECORDED = "current", "due", "lapsed", "unrecorded"


@dataclass(frozen=True, slots=True)
class Rules:
    """The settings the lapse rules follow."""

    training_valid_months: int = 12
    dbs_recheck_months: int = 36  # 0: a DBS check never needs rechecking
    timezone: tzinfo = UTC  # EWO_TIMEZONE: the service's day, for the day a person was added

    def day_of(self, moment: datetime) -> date:
        """The service's date at a moment (a person's `created_at` is stored in UTC:
        someone added at 00:30 in London's summer was added that day, not the one
        before)."""
        return moment.astimezone(self.timezone).date()


@dataclass(frozen=True, slots=True)
class Item:
    """One of the two: its recorded date, when it lapses (None: never), and its state."""

    label: str
    recorded: date | None
    lapses: date | None
    state: str

    def describe(self) -> str:
        """How `officers list` and the reminders show it (no one named)."""
        when = "" if self.lapses is None else f"{self.lapses:%d/%m/%Y}"
        if self.recorded is None and self.state == LAPSED:
            return f"{self.label} not recorded (lapsed {when})"
        if self.recorded is None:
            return f"{self.label} not recorded (counts as lapsed from {when})"
        if self.state == LAPSED:
            return f"{self.label} lapsed {when}"
        seen = f"{self.label} {self.recorded:%d/%m/%Y}"
        if self.lapses is None:
            return seen
        return f"{seen} (due {when})" if self.state == DUE else f"{seen} (until {when})"

    def remind_today(self, today: date) -> bool:
        """Whether today is a reminder day: REMIND_DAYS before, on the day, or any day
        while the date is unrecorded and not yet counted as lapsed."""
        return self.remind_since(today - timedelta(days=1), today)

    def remind_since(self, told: date, today: date) -> bool:
        """Whether a reminder day lies after `told` (the last day reminders went) and up
        to today: a reminder day missed while nothing ran is not lost."""
        if self.lapses is None:
            return False
        if self.state == UNRECORDED:
            return True
        return any(told < day <= today
                   for day in (self.lapses, self.lapses - timedelta(days=REMIND_DAYS)))


@dataclass(frozen=True, slots=True)
class Compliance:
    """A person's two items."""

    dbs: Item
    training: Item

    @property
    def lapsed(self) -> bool:
        """Lapsed now: what `enforce` blocks."""
        return LAPSED in (self.dbs.state, self.training.state)

    @property
    def items(self) -> tuple[Item, Item]:
        return (self.dbs, self.training)


def _item(label: str, recorded: date | None, months: int | None, grace_from: date,
          today: date) -> Item:
    if recorded is None:
        lapses = grace_from + timedelta(days=GRACE_DAYS)
        return Item(label, None, lapses, LAPSED if lapses <= today else UNRECORDED)
    if months is None:
        return Item(label, recorded, None, CURRENT)
    lapses = months_after(recorded, months)
    if lapses <= today:
        state = LAPSED
    elif lapses <= today + timedelta(days=REMIND_DAYS):
        state = DUE
    else:
        state = CURRENT
    return Item(label, recorded, lapses, state)


def assess(*, dbs: date | None, training: date | None, added: date, since: date | None,
           today: date, rules: Rules) -> Compliance:
    """A person's compliance on `today`. `since` is when the feature arrived (None: not
    recorded yet, taken as today); unrecorded dates count from the later of the two."""
    grace_from = max(added, since or today)
    recheck = rules.dbs_recheck_months or None
    return Compliance(_item("DBS check", dbs, recheck, grace_from, today),
                      _item("training", training, rules.training_valid_months, grace_from,
                            today))
