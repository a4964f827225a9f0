"""The lapse rules of officers' DBS checks and training."""

from __future__ import annotations

from datetime import date

from bot.domain.compliance import DUE, LAPSED, UNRECORDED, Rules, assess

TODAY = date(2026, 11, 25)


def test_training_lapses_after_its_months_and_is_due_thirty_days_before() -> None:
    rules = Rules(training_valid_months=12, dbs_recheck_months=36)
    due = assess(dbs=date(2024, 1, 31), training=date(2025, 12, 20), added=date(2020, 1, 1),
                 since=date(2026, 1, 1), today=TODAY, rules=rules)
    assert (due.training.state, due.training.lapses) == (DUE, date(2026, 12, 20))
    assert (due.dbs.state, due.dbs.lapses) == ("current", date(2027, 1, 31))
    assert not due.lapsed and due.training.describe() == "training 20/12/2025 (due 20/12/2026)"
    lapsed = assess(dbs=date(2023, 11, 25), training=date(2026, 1, 1), added=date(2020, 1, 1),
                    since=None, today=TODAY, rules=rules)
    assert lapsed.lapsed and lapsed.dbs.describe() == "DBS check lapsed 25/11/2026"
    assert lapsed.dbs.remind_today(TODAY) and due.training.remind_today(date(2026, 11, 20))
    assert not due.training.remind_today(TODAY)


def test_no_dbs_recheck_when_its_months_are_zero() -> None:
    found = assess(dbs=date(2001, 1, 1), training=TODAY, added=date(2000, 1, 1), since=None,
                   today=TODAY, rules=Rules(dbs_recheck_months=0))
    assert found.dbs.lapses is None and found.dbs.describe() == "DBS check 01/01/2001"
    assert not found.lapsed


def test_an_unrecorded_date_lapses_thirty_days_after_the_later_of_added_and_upgrade() -> None:
    rules = Rules()
    old_hand = assess(dbs=None, training=None, added=date(2019, 5, 1), since=date(2026, 11, 1),
                      today=TODAY, rules=rules)
    assert (old_hand.dbs.state, old_hand.dbs.lapses) == (UNRECORDED, date(2026, 12, 1))
    assert old_hand.dbs.remind_today(TODAY) and not old_hand.lapsed
    newcomer = assess(dbs=None, training=TODAY, added=date(2026, 10, 20), since=date(2026, 1, 1),
                      today=TODAY, rules=rules)
    assert (newcomer.dbs.state, newcomer.dbs.lapses) == (LAPSED, date(2026, 11, 19))
    assert newcomer.lapsed
    assert newcomer.dbs.describe() == "DBS check not recorded (lapsed 19/11/2026)"
    assert old_hand.dbs.describe() == "DBS check not recorded (counts as lapsed from 01/12/2026)"
