"""The gate's limits on people who may not use the bot (bot/domain/attempts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.attempts import AttemptLimits

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_one_refusal_an_hour_per_account() -> None:
    limits = AttemptLimits()
    assert limits.may_refuse(1, NOON)
    assert not limits.may_refuse(1, NOON + timedelta(minutes=59))
    assert limits.may_refuse(2, NOON + timedelta(minutes=1))  # another account
    assert limits.may_refuse(1, NOON + timedelta(hours=1))


def test_five_wrong_codes_within_the_hour_block_that_account_for_the_hour() -> None:
    limits = AttemptLimits()
    for minute in range(4):
        assert limits.wrong_code(1, NOON + timedelta(minutes=minute)) == minute + 1
        assert not limits.codes_blocked(1, NOON + timedelta(minutes=minute))
    assert limits.wrong_code(1, NOON + timedelta(minutes=10)) == 5
    assert limits.codes_blocked(1, NOON + timedelta(minutes=30))
    assert not limits.codes_blocked(2, NOON + timedelta(minutes=30))
    # The first wrong code leaves the window an hour after it was sent.
    assert not limits.codes_blocked(1, NOON + timedelta(hours=1))


def test_wrong_codes_an_hour_apart_never_add_up_to_five() -> None:
    limits = AttemptLimits()
    for hour in range(10):
        limits.wrong_code(1, NOON + timedelta(hours=hour))
        assert not limits.codes_blocked(1, NOON + timedelta(hours=hour))


def test_accounts_not_seen_for_an_hour_are_forgotten() -> None:
    limits = AttemptLimits()
    for account in range(5000):
        limits.may_refuse(account, NOON)
        limits.wrong_code(account, NOON)
    later = NOON + timedelta(hours=2)
    for account in range(5000, 9000):
        limits.may_refuse(account, later)
        limits.wrong_code(account, later)
    assert 0 not in limits._refused and 0 not in limits._wrong_codes
    assert len(limits._refused) <= 4000 and len(limits._wrong_codes) <= 4000
