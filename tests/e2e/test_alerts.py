"""Alerts reach people through the running bot: digests, copies, failures, quiet time.

Delivery is triggered by running the bot's own outbox job (the poll interval is set
long here so the test decides when a poll happens); the clock is the injected one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.domain import alerts as alert_text
from bot.handlers import access
from bot.handlers.common import STALE_BUTTON
from bot.harness import RunningBot, enrol_directly
from bot.jobs import outbox as outbox_jobs
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import audit, rights
from bot.storage import officers as officer_store
from bot.storage import outbox as outbox_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.e2e.conftest import LONDON, PIN, People, deliver
from tests.pg import backend_settings
from tests.storage.alert_seed import AlertSeed, sessions

PERSISTENT = ["/"] * 72 + ["I"] * 8  # 90.0 %
SEVERE = ["/"] * 30 + ["I"] * 50  # 37.5 %


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Settings:
    return backend_settings(  # type: ignore[no-any-return]
        request, tmp_path, backend, outbox_poll_seconds=3600)


@pytest.fixture
def seed(db: Database, settings: Settings) -> AlertSeed:
    return AlertSeed(db, settings)


async def officer(db: Database, ref: str) -> Officer:
    found = await db.read(officer_store.officer_by_ref, ref)
    assert found is not None
    return found


async def alerted(seed: AlertSeed, codes: list[str], owner: Officer | None,
                  clock: FixedClock) -> int:
    """A pupil with these marks whose rules were just evaluated (as an import does)."""
    pupil_id = await seed.pupil(officer=owner)
    await seed.marks(pupil_id, sessions(codes))
    await seed.evaluate([pupil_id], now=clock.now())
    return pupil_id


async def statuses(db: Database) -> list[tuple[str, str, str | None]]:
    async def _snapshot(conn: Conn):
        return [(row.audience, row.status, row.last_error)
                for row in await outbox_store.rows(conn, kind="alert")]
    return await db.read(_snapshot)


async def test_a_digest_per_officer_with_buttons_more_and_a_supervisor_copy(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock) -> None:
    boss = await people.enrolled("SUP1", "supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    owner = await officer(db, "EWO1")
    ids = []
    for codes in [SEVERE] + [PERSISTENT] * 24:
        pupil_id = await seed.pupil(officer=owner)
        await seed.marks(pupil_id, sessions(codes))
        ids.append(pupil_id)
    await seed.evaluate(ids, now=clock.now())  # one import
    await deliver(running)

    digest = await ewo.next_message()
    assert digest.protect_content
    assert digest.text is not None
    assert digest.text.startswith("New attendance alerts (25) — page 1 of 2\n")
    assert "• C-00001 A.H., Hillside Primary: severe absence, 37.5 % this year" in digest.text
    assert "Amy" not in digest.text  # no names, only case references and initials
    assert digest.labels()[:2] == ["C-00001 A.H.", "C-00002 A.H."]
    assert len(digest.labels()) == 21 and digest.labels()[-1] == "More"
    copy = await boss.next_message()
    assert copy.protect_content and copy.text is not None
    assert "C-00001 A.H." in copy.text and "C-00002" not in copy.text

    await ewo.press("More")
    page_two = await ewo.next_message()
    assert page_two.text is not None and page_two.text.startswith(
        "New attendance alerts (25) — page 2 of 2\n")
    assert len(page_two.labels()) == 5 and "More" not in page_two.labels()

    await ewo.press("C-00001 A.H.", message_id=digest.message_id)
    card = await ewo.next_message()
    assert card.text is not None and "(C-00001)" in card.text
    entries = await db.read(audit.entries, targets=(f"pupil:{ids[0]}",))
    assert ("pupil_card", "alert_button") in [(e.action, e.reason) for e in entries]
    # Someone else's digest: the More button is refused like a stale one.
    press = await boss.press_data(digest.button("More").data or "", digest.message_id)
    assert await boss.answer_to(press) == STALE_BUTTON


async def test_the_same_marks_evaluated_again_send_nothing_new(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock) -> None:
    ewo = await people.enrolled("EWO1")
    pupil_id = await alerted(seed, PERSISTENT, await officer(db, "EWO1"), clock)
    await deliver(running)
    assert "persistent absence" in ((await ewo.next_message()).text or "")
    await seed.evaluate([pupil_id], now=clock.now())
    await deliver(running)
    assert len(ewo.history) == 1


async def test_429_waits_as_long_as_telegram_asks(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock, standin: BotApiStandIn) -> None:
    ewo = await people.enrolled("EWO1")
    standin.fail_next("sendMessage", status=429, retry_after=30)
    await alerted(seed, PERSISTENT, await officer(db, "EWO1"), clock)
    await deliver(running)
    assert ewo.history == []
    assert await statuses(db) == [(f"officer:{(await officer(db, 'EWO1')).id}", "pending",
                                   "http_429")]
    clock.advance(timedelta(seconds=29))
    await deliver(running)
    assert ewo.history == []
    clock.advance(timedelta(seconds=1))
    await deliver(running)
    assert "persistent absence" in ((await ewo.next_message()).text or "")
    assert [status for _, status, _ in await statuses(db)] == ["sent"]


async def test_a_timeout_is_retried_with_backoff_and_may_arrive_twice(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock, standin: BotApiStandIn) -> None:
    ewo = await people.enrolled("EWO1")
    # The stand-in takes the message, then answers too late: the bot gives up waiting.
    standin.delay_next("sendMessage", 8)
    await alerted(seed, PERSISTENT, await officer(db, "EWO1"), clock)
    await deliver(running)
    first = await ewo.next_message()
    assert [(status, error) for _, status, error in await statuses(db)] == [
        ("pending", "timeout")]
    clock.advance(outbox_jobs.BACKOFF_FIRST - timedelta(seconds=1))
    await deliver(running)
    assert len(ewo.history) == 1
    clock.advance(timedelta(seconds=1))
    await deliver(running)
    again = await ewo.next_message()
    assert again.text == first.text  # at least once: the same reference again
    assert [status for _, status, _ in await statuses(db)] == ["sent"]


async def test_network_errors_retry_until_the_network_is_back(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock, standin: BotApiStandIn) -> None:
    ewo = await people.enrolled("EWO1")
    await alerted(seed, PERSISTENT, await officer(db, "EWO1"), clock)
    standin.fail_next("sendMessage", status=502, times=2)
    await deliver(running)
    clock.advance(timedelta(seconds=10))
    await deliver(running)
    [row] = await db.read(outbox_store.rows, kind="alert")
    assert (row.status, row.last_error, row.attempts) == ("pending", "network", 2)
    clock.advance(timedelta(seconds=19))  # the second wait is twice as long
    await deliver(running)
    assert ewo.history == []
    clock.advance(timedelta(seconds=1))
    await deliver(running)
    assert "persistent absence" in ((await ewo.next_message()).text or "")


async def test_400_is_kept_undelivered_and_the_next_alert_still_goes(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock, standin: BotApiStandIn) -> None:
    ewo = await people.enrolled("EWO1")
    owner = await officer(db, "EWO1")
    standin.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    await alerted(seed, PERSISTENT, owner, clock)
    await deliver(running)
    await deliver(running)  # not retried
    assert len(standin.calls_to("sendMessage")) == 1
    await alerted(seed, SEVERE, owner, clock)
    await deliver(running)
    assert "severe absence" in ((await ewo.next_message()).text or "")
    assert [(status, error) for _, status, error in await statuses(db)] == [
        ("undelivered", "http_400"), ("sent", None)]
    async def _snapshot(conn: Conn):
        assert await outbox_store.undelivered_counts(conn, [owner.id]) == {owner.id: 1}
        [first, _] = await outbox_store.rows(conn, kind="alert")
        return await audit.entries(conn, targets=(f"outbox:{first.id}",))
    entries = await db.read(_snapshot)
    assert [(e.action, e.reason) for e in entries] == [("alert_failed", "http_400")]


async def test_403_stops_sending_until_the_officer_talks_to_the_bot_again(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock, standin: BotApiStandIn) -> None:
    ewo = await people.enrolled("EWO1")
    owner = await officer(db, "EWO1")
    ewo.block()
    await alerted(seed, PERSISTENT, owner, clock)
    await deliver(running)
    await alerted(seed, SEVERE, owner, clock)
    await deliver(running)
    assert len(standin.calls_to("sendMessage")) == 1  # the second was not even tried
    assert [(status, error) for _, status, error in await statuses(db)] == [
        ("undelivered", "http_403"), ("pending", None)]
    ewo.unblock()
    clock.advance(timedelta(minutes=1))
    await ewo.send("/help")
    assert "/pupils" in ((await ewo.next_message()).text or "")
    await deliver(running)
    assert "severe absence" in ((await ewo.next_message()).text or "")
    assert [status for _, status, _ in await statuses(db)] == ["undelivered", "sent"]


async def test_a_revoked_officers_alerts_go_to_the_supervisor(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock, standin: BotApiStandIn) -> None:
    boss = await people.enrolled("SUP1", "supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    owner = await officer(db, "EWO1")
    await db.write(officer_store.revoke, owner, now=clock.now())
    await alerted(seed, SEVERE, owner, clock)
    await deliver(running)
    message = await boss.next_message()
    assert message.text is not None
    assert message.text.startswith(outbox_jobs.FORWARDED.format(ref="EWO1"))
    assert "severe absence" in message.text
    assert ewo.history == []
    assert len(boss.history) == 1  # no second copy of the same alert
    # Revocation also removed the command menu of the officer's chat.
    call = await standin.wait_for_call("deleteMyCommands")
    assert call.params["scope"] == {"type": "chat", "chat_id": ewo.chat_id}


async def test_alerts_wait_for_enrolment_and_for_an_allocation(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock, settings: Settings) -> None:
    await people.add("EWO1")  # not enrolled yet
    owner = await officer(db, "EWO1")
    await alerted(seed, PERSISTENT, owner, clock)
    unallocated = await alerted(seed, SEVERE, None, clock)
    await deliver(running)
    assert await statuses(db) == [(f"officer:{owner.id}", "pending", None)]

    ewo = people.user()
    await enrol_directly(db, settings, ref="EWO1", user_id=ewo.user_id, pin=PIN,
                         now=clock.now())
    await deliver(running)
    first = await ewo.next_message()
    assert first.text is not None and "C-00001" in first.text and "C-00002" not in first.text

    await seed.allocate(unallocated, owner)
    await deliver(running)
    second = await ewo.next_message()
    assert second.text is not None and "C-00002 A.H." in second.text
    assert "severe absence" in second.text


@pytest.fixture
async def quiet_bot(request: pytest.FixtureRequest, tmp_path: Path, backend: str,
                    standin: BotApiStandIn, db: Database,
                    clock: FixedClock) -> AsyncIterator[RunningBot]:
    quiet = backend_settings(request, tmp_path, backend, outbox_poll_seconds=3600,
                             quiet_hours="20:00-07:30", quiet_days="SAT,SUN")
    async with RunningBot(quiet, standin, clock=clock, db=db) as bot:
        yield bot


async def test_quiet_hours_and_quiet_days_hold_alerts_until_monday_morning(
        quiet_bot: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=LONDON))  # Friday evening
    ewo = await people.enrolled("EWO1")
    await alerted(seed, PERSISTENT, await officer(db, "EWO1"), clock)
    for moment in (datetime(2026, 11, 27, 23, 0), datetime(2026, 11, 28, 12, 0),
                   datetime(2026, 11, 30, 7, 29)):
        clock.set(moment.replace(tzinfo=LONDON))
        await deliver(quiet_bot)
        assert ewo.history == []
    clock.set(datetime(2026, 11, 30, 7, 30, tzinfo=LONDON))
    await deliver(quiet_bot)
    assert "persistent absence" in ((await ewo.next_message()).text or "")



FRIDAY_EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=LONDON)  # quiet until Monday 07:30
MONDAY_MORNING = datetime(2026, 11, 30, 7, 30, tzinfo=LONDON)


async def narrowed(db: Database) -> list[tuple[str, dict[str, object]]]:
    async def _entries(conn: Conn) -> list[tuple[str, dict[str, object]]]:
        rows = await conn.fetchall(
            "SELECT reason, detail FROM audit WHERE action = 'message_narrowed' ORDER BY seq")
        return [(row["reason"], json.loads(row["detail"])) for row in rows]
    return await db.read(_entries)


async def test_an_alert_held_by_quiet_time_goes_to_the_officer_who_holds_the_pupil_then(
        quiet_bot: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock) -> None:
    clock.set(FRIDAY_EVENING)
    first, second = await people.enrolled("EWO1"), await people.enrolled("EWO2")
    moved = await seed.pupil(officer=await officer(db, "EWO1"))
    stays = await seed.pupil(officer=await officer(db, "EWO1"))
    for pupil_id in (moved, stays):
        await seed.marks(pupil_id, sessions(PERSISTENT))
    await seed.evaluate([moved, stays], now=clock.now())  # one import: one digest
    await deliver(quiet_bot)
    await seed.allocate(moved, await officer(db, "EWO2"))  # reallocated over the weekend
    clock.set(MONDAY_MORNING)
    await deliver(quiet_bot)
    kept = await first.next_message()
    assert kept.text is not None and kept.text.startswith("New attendance alerts (1)\n")
    assert "C-00002 A.H." in kept.text and "C-00001" not in kept.text
    assert kept.labels() == ["C-00002 A.H."]
    await deliver(quiet_bot)  # the next poll: the moved pupil's alert, queued again
    told = await second.next_message()
    assert told.text is not None and "C-00001 A.H., Hillside Primary: persistent absence" \
        in told.text and "C-00002" not in told.text
    # The card is theirs now (after the PIN: the session locked over the weekend).
    press = await second.press("C-00001 A.H.", message_id=told.message_id)
    assert await second.answer_to(press) == access.LOCKED_PROMPT
    await second.send(PIN)
    assert (await second.next_message()).text == access.UNLOCKED
    assert "(C-00001)" in ((await second.next_message()).text or "")
    assert len(first.history) == 1  # the one alert left to them
    assert await narrowed(db) == [("pupils_no_longer_theirs", {
        "kind": "alert", "pupils": 1, "withdrawn": False, "targets": [f"pupil:{moved}"]})]


async def test_a_supervisors_copy_follows_the_pupil_to_the_new_officers_supervisor(
        quiet_bot: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock) -> None:
    clock.set(FRIDAY_EVENING)
    old_boss = await people.enrolled("SUP1", "supervisor")
    new_boss = await people.enrolled("SUP2", "supervisor")
    old = await people.enrolled("EWO1", supervisor="SUP1")
    new = await people.enrolled("EWO2", supervisor="SUP2")
    pupil_id = await alerted(seed, SEVERE, await officer(db, "EWO1"), clock)
    await deliver(quiet_bot)  # the officer's digest and the supervisor's copy wait
    await seed.allocate(pupil_id, await officer(db, "EWO2"))
    clock.set(MONDAY_MORNING)
    await deliver(quiet_bot)  # both withdrawn, the alert queued again for EWO2
    await deliver(quiet_bot)
    assert "severe absence" in ((await new.next_message()).text or "")
    copy = await new_boss.next_message()
    assert copy.text is not None and copy.text.startswith(
        alert_text.SUPERVISOR_TITLE.format(ref="EWO2"))
    assert old.history == [] and old_boss.history == []
    assert [detail for _, detail in await narrowed(db)] == [  # the digest, then the copy
        {"kind": "alert", "pupils": 1, "withdrawn": True, "targets": [f"pupil:{pupil_id}"]}] * 2


async def test_an_alert_held_by_quiet_time_is_not_sent_once_the_record_is_restricted(
        quiet_bot: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock) -> None:
    clock.set(FRIDAY_EVENING)
    ewo = await people.enrolled("EWO1")
    pupil_id = await alerted(seed, PERSISTENT, await officer(db, "EWO1"), clock)
    await deliver(quiet_bot)
    now = clock.now()

    async def _restrict(conn: Conn) -> None:  # `ewobot requests add UPN --kind restriction`
        await rights.record(conn, pupil_id, "restriction", now.date(), actor="os:dpo", now=now)
    await db.write(_restrict)
    clock.set(MONDAY_MORNING)
    for _ in range(2):
        await deliver(quiet_bot)
    assert await statuses(db) == []  # withdrawn, and not queued again
    assert ewo.history == []


async def test_an_alert_button_opens_the_card_after_the_pin_when_locked(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock) -> None:
    ewo = await people.enrolled("EWO1")
    await alerted(seed, PERSISTENT, await officer(db, "EWO1"), clock)
    await deliver(running)
    digest = await ewo.next_message()
    clock.advance(timedelta(minutes=31))  # idle: the session locks
    press = await ewo.press("C-00001 A.H.", message_id=digest.message_id)
    assert await ewo.answer_to(press) == access.LOCKED_PROMPT
    await ewo.send(PIN)
    assert (await ewo.next_message()).text == access.UNLOCKED
    card = await ewo.next_message()
    assert card.text is not None and "(C-00001)" in card.text
    # The press was answered once, when it was kept; its replay after the PIN is not
    # answered under the id it goes on with, which Telegram would refuse.
    answered = [call.params["callback_query_id"]
                for call in running.standin.calls_to("answerCallbackQuery")]
    assert answered == [press]


async def test_a_digests_more_page_leaves_out_pupils_no_longer_theirs_or_restricted(
        running: RunningBot, people: People, seed: AlertSeed, db: Database,
        clock: FixedClock) -> None:
    """A press of More is a request like any other: the page is read again in the
    recipient's rights, so a pupil allocated to someone else since the digest was sent,
    or whose record is restricted since, is not shown (nor their figure)."""
    ewo = await people.enrolled("EWO1")
    await people.enrolled("EWO2")
    owner, other = await officer(db, "EWO1"), await officer(db, "EWO2")
    ids = []
    for _ in range(25):
        pupil_id = await seed.pupil(officer=owner)
        await seed.marks(pupil_id, sessions(PERSISTENT))
        ids.append(pupil_id)
    await seed.evaluate(ids, now=clock.now())
    await deliver(running)
    digest = await ewo.next_message()
    assert "C-00021" not in (digest.text or "")  # on page two
    now = clock.now()
    await seed.allocate(ids[-1], other)  # C-00025 is EWO2's now

    async def _restrict(conn: Conn) -> None:  # `ewobot requests add UPN --kind restriction`
        await rights.record(conn, ids[-2], "restriction", now.date(), actor="os:dpo", now=now)
    await db.write(_restrict)

    await ewo.press("More")
    page_two = await ewo.next_message()
    assert page_two.text is not None and "C-00023 A.H." in page_two.text
    assert "C-00025" not in page_two.text and "C-00024" not in page_two.text
    assert page_two.labels() == ["C-00021 A.H.", "C-00022 A.H.", "C-00023 A.H."]
