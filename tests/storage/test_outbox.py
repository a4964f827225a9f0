"""The outbox's delivery side: recipients resolved at claim time, order, retries, blocks."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.settings import Settings
from bot.storage import alerts as alert_store
from bot.storage import audit, compliance, sessions
from bot.storage import officers as officer_store
from bot.storage import outbox as outbox_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.storage.alert_seed import NOW, AlertSeed
from tests.storage.alert_seed import sessions as marked

LATER = NOW + timedelta(minutes=5)


class People:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.next_user = 500

    async def add(self, ref: str, role: str = "officer", supervisor: str | None = None,
                  *, enrolled: bool = True) -> Officer:
        officer = await self.db.write(officer_store.add_officer, ref=ref, name=f"Officer {ref}",
                                      role=role, supervisor_ref=supervisor, now=NOW)
        if enrolled:
            await self.enrol(officer)
        return officer

    async def enrol(self, officer: Officer, at: datetime = NOW) -> None:
        self.next_user += 1
        async def _transaction(conn: Conn) -> None:
            await sessions.bind_telegram_user(conn, officer.id, self.next_user,
                                              self.next_user, at)
            await sessions.set_pin(conn, officer.id, "not-a-real-hash", at)
        await self.db.write(_transaction)

    async def chat_of(self, officer: Officer) -> int:
        found = await self.db.read(officer_store.officer_by_id, officer.id)
        assert found is not None and found.chat_id is not None
        return found.chat_id


@pytest.fixture
def people(db: Database) -> People:
    return People(db)


async def queue(db: Database, audience: str, text: str = "hello", kind: str = "alert") -> int:
    return await db.write(outbox_store.enqueue, kind=kind, audience=audience,
                          payload={"text": text}, now=NOW)


async def claim(db: Database, now: datetime = NOW, quiet: bool = False
                ) -> list[outbox_store.Delivery]:
    return await db.write(outbox_store.claim_due, now, quiet=quiet)


async def sent(db: Database, delivery: outbox_store.Delivery) -> None:
    await db.write(outbox_store.mark_sent, delivery, NOW)


async def row_of(db: Database, outbox_id: int) -> outbox_store.OutboxRow:
    async def _snapshot(conn: Conn):
        return next(row for row in await outbox_store.rows(conn) if row.id == outbox_id)
    return await db.read(_snapshot)


async def test_an_officer_not_yet_enrolled_waits_then_gets_it(db: Database,
                                                              people: People) -> None:
    officer = await people.add("EWO1", enrolled=False)
    outbox_id = await queue(db, f"officer:{officer.id}")
    assert await claim(db) == []
    await people.enrol(officer)
    [delivery] = await claim(db)
    assert (delivery.id, delivery.chat_id, delivery.recipient_ref) == (
        outbox_id, await people.chat_of(officer), "EWO1")
    assert (await row_of(db, outbox_id)).status == "sending"
    await sent(db, delivery)
    assert (await row_of(db, outbox_id)).status == "sent"
    entries = await db.read(audit.entries, targets=(f"outbox:{outbox_id}",))
    assert [(e.action, e.reason, e.detail) for e in entries] == [
        ("alert_sent", "delivered", {"kind": "alert", "recipient": "officer:EWO1"})]


async def test_a_revoked_officers_messages_go_to_the_supervisor(db: Database,
                                                                 people: People) -> None:
    supervisor = await people.add("SUP1", "supervisor")
    officer = await people.add("EWO1", supervisor="SUP1")
    await db.write(officer_store.revoke, officer, now=NOW)
    outbox_id = await queue(db, f"officer:{officer.id}")
    deliveries = [d for d in await claim(db) if d.kind == "alert"]
    assert [(d.id, d.recipient_id, d.forwarded_from) for d in deliveries] == [
        (outbox_id, supervisor.id, "EWO1")]


async def test_supervisor_copies_resolve_at_delivery(db: Database, people: People) -> None:
    await people.add("SUP1", "supervisor", enrolled=False)
    officer = await people.add("EWO1", supervisor="SUP1")
    await queue(db, f"supervisor_of:{officer.id}")
    assert await claim(db) == []  # the supervisor has not enrolled yet
    supervisor = await db.read(officer_store.officer_by_ref, "SUP1")
    assert supervisor is not None
    await people.enrol(supervisor)
    [delivery] = await claim(db)
    assert delivery.recipient_id == supervisor.id


async def test_controllers_are_tracked_one_by_one(db: Database, people: People) -> None:
    first = await people.add("DPO1", "controller")
    second = await people.add("DPO2", "controller")
    await people.add("DPO3", "controller", enrolled=False)
    outbox_id = await queue(db, "controllers", kind="reminder")
    [one] = await claim(db)
    await sent(db, one)
    [two] = await claim(db)  # the copy written for the second controller
    assert {one.recipient_id, two.recipient_id} == {first.id, second.id}
    assert one.id == outbox_id and two.id != outbox_id
    await db.write(outbox_store.mark_failed, two, NOW, error="timeout",
                   retry_at=NOW + timedelta(seconds=10))
    [again] = await claim(db, NOW + timedelta(seconds=10))
    assert again.id == two.id  # the first controller is not sent it twice
    assert await claim(db, LATER) == []


async def test_two_messages_for_the_controllers_reach_each_once(db: Database,
                                                                people: People) -> None:
    # The daily check queues the retention and the compliance reminders together: the
    # second, waiting while the first controller had the first in flight, was expanded
    # again on the next round, and the second controller was sent it twice.
    await people.add("DPO1", "controller")
    await people.add("DPO2", "controller")
    await queue(db, "controllers", "retention", kind="retention")
    await queue(db, "controllers", "compliance", kind="compliance")
    received = []
    for _ in range(4):
        for delivery in await claim(db):
            received.append((delivery.recipient_ref, delivery.payload["text"]))
            await sent(db, delivery)
    assert sorted(received) == [("DPO1", "compliance"), ("DPO1", "retention"),
                                ("DPO2", "compliance"), ("DPO2", "retention")]


async def test_one_recipients_messages_go_in_order(db: Database, people: People) -> None:
    officer = await people.add("EWO1")
    first = await queue(db, f"officer:{officer.id}", "first")
    second = await queue(db, f"officer:{officer.id}", "second")
    [delivery] = await claim(db)
    assert delivery.id == first
    assert await claim(db) == []  # the first is in flight
    await db.write(outbox_store.mark_failed, delivery, NOW, error="http_429",
                   retry_at=NOW + timedelta(seconds=30))
    assert await claim(db, NOW + timedelta(seconds=29)) == []  # waits its turn
    [retry] = await claim(db, NOW + timedelta(seconds=30))
    assert retry.id == first and retry.attempts == 1
    await sent(db, retry)
    [then] = await claim(db, NOW + timedelta(seconds=30))
    assert then.id == second


async def test_claims_left_by_a_crash_are_released(db: Database, people: People) -> None:
    officer = await people.add("EWO1")
    outbox_id = await queue(db, f"officer:{officer.id}")
    await claim(db)
    async def _transaction(conn: Conn) -> None:
        assert await outbox_store.release_claims(
            conn, claimed_before=NOW - outbox_store.CLAIM_TIMEOUT) == 0
        assert await outbox_store.release_claims(
            conn, claimed_before=NOW + outbox_store.CLAIM_TIMEOUT) == 1
    await db.write(_transaction)
    async def _snapshot(conn: Conn) -> None:
        assert await outbox_store.has_due_work(conn, NOW)
    await db.read(_snapshot)
    [delivery] = await claim(db)
    assert delivery.id == outbox_id


async def test_a_blocked_person_gets_nothing_until_they_talk_again(db: Database,
                                                                   people: People) -> None:
    officer = await people.add("EWO1")
    refused = await queue(db, f"officer:{officer.id}", "one")
    waiting = await queue(db, f"officer:{officer.id}", "two")
    [delivery] = await claim(db)
    await db.write(outbox_store.mark_failed, delivery, NOW, error="http_403", retry_at=None,
                   blocked=True)
    assert (await row_of(db, refused)).status == "undelivered"
    assert await claim(db, LATER) == []
    await db.write(sessions.touch, officer.id, LATER)
    [delivery] = await claim(db, LATER)
    assert delivery.id == waiting
    async def _snapshot(conn: Conn):
        assert await outbox_store.undelivered_counts(conn, [officer.id]) == {officer.id: 1}
        return await audit.entries(conn, targets=(f"outbox:{refused}",))
    entries = await db.read(_snapshot)
    assert [(e.action, e.reason) for e in entries] == [("alert_failed", "http_403")]


async def test_quiet_time_holds_everything_but_menu_removal(db: Database,
                                                            people: People) -> None:
    officer = await people.add("EWO1")
    await queue(db, f"officer:{officer.id}")
    menu = await queue(db, "chat:777", kind="commands")
    [delivery] = await claim(db, quiet=True)
    assert (delivery.id, delivery.chat_id, delivery.recipient_id) == (menu, 777, None)
    [alert] = await claim(db)
    assert alert.kind == "alert"


async def test_digest_pages_are_shown_only_to_their_recipient(db: Database,
                                                              people: People) -> None:
    officer = await people.add("EWO1")
    other = await people.add("EWO2")
    outbox_id = await db.write(outbox_store.enqueue, kind="alert", audience=f"officer:{officer.id}",
                               payload={"text": "p1", "pages": [{"text": "p1"}, {"text": "p2"}]},
                               now=NOW)
    async def _snapshot2(conn: Conn) -> None:
        assert await alert_store.digest_pages(conn, outbox_id, recipient_id=officer.id) is None
    await db.read(_snapshot2)
    await claim(db)
    async def _snapshot(conn: Conn) -> None:
        pages = await alert_store.digest_pages(conn, outbox_id, recipient_id=officer.id)
        assert pages is not None and pages[1]["text"] == "p2"
        assert await alert_store.digest_pages(conn, outbox_id, recipient_id=other.id) is None
    await db.read(_snapshot)


# --- a supervisor's copy of alerts forwarded whole ----------------------------------------


async def severe_alert(db: Database, settings: Settings, officer: Officer) -> tuple[int, int]:
    """An import's severe-absence alert for `officer`'s pupil, queued: (the officer's
    digest, the supervisor's copy)."""
    seed = AlertSeed(db, settings)
    pupil_id = await seed.pupil(officer=officer)
    await seed.marks(pupil_id, marked(["/"] * 30 + ["I"] * 50))
    await seed.evaluate([pupil_id])
    rows = await db.read(outbox_store.rows, kind="alert")
    assert [row.audience for row in rows] == [f"officer:{officer.id}",
                                              f"supervisor_of:{officer.id}"]
    return rows[0].id, rows[1].id


async def every_delivery(db: Database, redirected: frozenset[int] = frozenset()
                         ) -> list[outbox_store.Delivery]:
    """Claim and send, round after round, until nothing more goes: every alert sent."""
    delivered: list[outbox_store.Delivery] = []
    while batch := await db.write(outbox_store.claim_due, NOW, quiet=False,
                                  redirected=redirected):
        for delivery in batch:
            await sent(db, delivery)
        delivered += [delivery for delivery in batch if delivery.kind == "alert"]
    return delivered


@pytest.mark.parametrize("how", ["lapsed", "revoked"])
async def test_alerts_forwarded_whole_reach_the_supervisor_once(
        db: Database, settings: Settings, people: People, how: str) -> None:
    """Forwarded (the officer blocked for lapsed compliance, or revoked since it was
    queued), the officer's digest carries every line: the copy would say the severe
    ones to the same supervisor again."""
    supervisor = await people.add("SUP1", "supervisor")
    officer = await people.add("EWO1", supervisor="SUP1")
    digest, copy = await severe_alert(db, settings, officer)
    if how == "revoked":
        await db.write(officer_store.revoke, officer, now=NOW)

    delivered = await every_delivery(db, frozenset({officer.id} if how == "lapsed" else ()))

    assert [(d.id, d.recipient_id, d.forwarded_from) for d in delivered] == [
        (digest, supervisor.id, "EWO1")]
    assert [row.id for row in await db.read(outbox_store.rows, kind="alert")] == [digest]
    entries = await db.read(audit.entries, targets=(f"outbox:{copy}",))
    assert [(e.action, e.reason) for e in entries] == [("message_withdrawn", "forwarded_whole")]


async def test_the_copy_goes_when_the_officer_had_their_digest_before_lapsing(
        db: Database, settings: Settings, people: People) -> None:
    supervisor = await people.add("SUP1", "supervisor", enrolled=False)
    officer = await people.add("EWO1", supervisor="SUP1")
    digest, copy = await severe_alert(db, settings, officer)
    assert [d.id for d in await every_delivery(db)] == [digest]  # the copy waits for SUP1
    await people.enrol(supervisor)

    delivered = await every_delivery(db, frozenset({officer.id}))

    assert [(d.id, d.recipient_id, d.forwarded_from) for d in delivered] == [
        (copy, supervisor.id, None)]


async def test_readdressed_for_a_lapsed_supervisor_the_alert_goes_once(
        db: Database, settings: Settings, people: People) -> None:
    """The officer and their supervisor both lapsed: what would reach the supervisor goes
    to another one, the officer's digest (every line) and not the copy besides."""
    await people.add("SUP1", "supervisor")
    other = await people.add("SUP2", "supervisor")
    officer = await people.add("EWO1", supervisor="SUP1")
    digest, _ = await severe_alert(db, settings, officer)
    blocked = frozenset({officer.id, officer.supervisor_id or 0})

    await db.write(compliance.readdress_for_lapsed_supervisors, blocked, NOW)
    delivered = await every_delivery(db, blocked)

    assert [(d.id, d.recipient_id) for d in delivered] == [(digest, other.id)]
