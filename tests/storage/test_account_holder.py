"""The gate's one read: the person behind a Telegram account, their session, their
compliance today and their open conversation, in one statement on both backends."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.compliance import CURRENT, LAPSED, Rules
from bot.storage import compliance, conversations, officers, sessions
from bot.storage.compliance import AccountHolder
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.storage.pupil_rows import NOW, Service

USER = 7_000_000_001  # beyond 32 bits, as Telegram's ids may be
TODAY = NOW.date()
POLICY = Rules()


async def _bound(db: Database, ref: str = "EWO1", *, user: int = USER) -> Officer:
    async def add(conn: Conn) -> Officer:
        officer = await Service(conn).officer(ref)
        await sessions.bind_telegram_user(conn, officer.id, user, user, NOW)
        await sessions.set_pin(conn, officer.id, "pin-hash", NOW)
        return officer
    return await db.write(add)


async def test_a_stranger_is_nobody_in_one_statement(db: Database) -> None:
    await _bound(db)
    before = db.counter.count
    assert await db.read(compliance.account_holder, USER + 1, NOW, TODAY, POLICY) == \
        AccountHolder(None, None, None, None)
    assert db.counter.count == before + 1


async def test_an_officer_comes_with_session_compliance_and_open_conversation(
        db: Database) -> None:
    officer = await _bound(db)
    await _bound(db, "EWO2", user=USER + 1)  # another person's rows are not theirs
    await db.write(compliance.record_since, TODAY)
    await db.write(compliance.set_dates, officer, dbs=date(2026, 1, 5), training=None,
                   actor="admin", now=NOW)
    talk = await db.write(conversations.start, officer.id, kind="visit", step="outcome",
                          now=NOW, expires_at=NOW + timedelta(hours=1), data={"type": "home"})
    before = db.counter.count
    holder = await db.read(compliance.account_holder, USER, NOW, TODAY, POLICY)
    assert db.counter.count == before + 1
    assert holder.officer is not None and holder.officer.ref == "EWO1"
    assert holder.officer.enrolled and holder.officer.telegram_user_id == USER
    assert holder.session == sessions.Session(officer.id, NOW, NOW)
    assert holder.session.is_unlocked(NOW, timedelta(minutes=30), timedelta(hours=12))
    assert holder.talk == talk
    assert holder.standing is not None
    assert holder.standing.dbs.state == CURRENT and holder.standing.dbs.recorded == \
        date(2026, 1, 5)
    # Training was never recorded: it counts from the day the feature arrived.
    later = TODAY + timedelta(days=31)
    lapsed = await db.read(compliance.account_holder, USER, NOW, later, POLICY)
    assert lapsed.standing is not None and lapsed.standing.training.state == LAPSED
    # The same as each part read on its own.
    assert holder.standing == await db.read(compliance.compliance_of, officer, TODAY,
                                            policy=POLICY)
    assert holder.talk == await db.read(conversations.current, officer.id, NOW)


async def test_what_the_gate_does_not_ask_for_or_has_ended_is_none(db: Database) -> None:
    officer = await _bound(db)
    await db.write(conversations.start, officer.id, kind="visit", step="outcome", now=NOW,
                   expires_at=NOW + timedelta(minutes=5))
    await db.write(sessions.lock, officer.id)
    holder = await db.read(compliance.account_holder, USER, NOW + timedelta(minutes=5),
                           TODAY, None)
    assert holder.officer == replace(officer, telegram_user_id=USER, chat_id=USER,
                                     enrolled=True)
    assert holder.standing is None  # EWO_COMPLIANCE=off: not assessed
    assert holder.talk is None  # expired
    assert holder.session is not None and holder.session.unlocked_at is None



async def test_the_grace_counts_from_the_day_the_person_was_added_in_the_services_time(
        db: Database) -> None:
    """Added at 00:30 on 2 June in London's summer (23:30 on 1 June in UTC, as stored):
    an undated training lapses 30 days after 2 June, not a day early."""
    london = ZoneInfo("Europe/London")
    added_at = datetime(2025, 6, 2, 0, 30, tzinfo=london)

    async def add(conn: Conn) -> Officer:
        await compliance.record_since(conn, date(2025, 1, 1))  # long before
        officer = await officers.add_officer(conn, ref="EWO9", name="Olive Officer",
                                             role="officer", supervisor_ref=None, now=added_at)
        await sessions.bind_telegram_user(conn, officer.id, USER, USER, added_at)
        return officer
    officer = await db.write(add)
    policy = Rules(timezone=london)
    on_day_30 = await db.read(compliance.account_holder, USER, added_at, date(2025, 7, 1),
                              policy)
    assert on_day_30.standing is not None and not on_day_30.standing.lapsed
    assert on_day_30.standing.training.lapses == date(2025, 7, 2)
    assert await db.read(compliance.lapsed_ids, date(2025, 7, 1), policy) == frozenset()
    assert await db.read(compliance.lapsed_ids, date(2025, 7, 2), policy) == {officer.id}
