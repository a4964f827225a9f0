"""The gate's limits, through the stand-in and the real polling loop: what reaches the
bot at all (the sender's own private chat, the update types it asks for), one refusal
an hour including `/start` with a wrong code, wrong codes counted like wrong PINs, and
digits never a search."""

from __future__ import annotations

import io
import logging
import re
import secrets
from datetime import timedelta

from bot.clock import FixedClock
from bot.handlers import access, router
from bot.harness import RunningBot
from bot.logs import RedactingFilter
from bot.sandbox import BotApiStandIn
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from tests.e2e.conftest import PIN, People
from tests.storage.pupil_rows import Service


async def _audit_count(db: Database, action: str) -> int:
    async def _snapshot(conn: Conn):
        return int(await conn.fetchval("SELECT count(*) FROM audit WHERE action = ?", (action,)))
    return await db.read(_snapshot)


async def test_one_refusal_an_hour_covers_start_with_a_wrong_code(
        running: RunningBot, people: People, standin: BotApiStandIn,
        clock: FixedClock) -> None:
    stranger = people.user()
    await stranger.send("hello")
    assert (await stranger.next_message()).text == access.STRANGER
    wrong = await stranger.send("/start wrong")
    await running.settled()
    assert wrong in stranger.deleted  # read and deleted, counted, but not answered
    assert [message.text for message in stranger.history] == [access.STRANGER]
    clock.advance(timedelta(hours=1, minutes=1))
    await stranger.send("/start wrong-again")
    assert (await stranger.next_message()).text == access.BAD_CODE


async def test_five_wrong_codes_in_an_hour_and_the_accounts_attempts_are_ignored(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    code = await people.add("EWO1")
    guesser = people.user()
    tries = [await guesser.send(f"/start guess{number}") for number in range(5)]
    assert (await guesser.next_message()).text == access.BAD_CODE
    ignored = await guesser.send(f"/start {code}")  # the right code, within the hour
    await running.settled()
    assert set(tries) <= guesser.deleted and ignored not in guesser.deleted
    assert len(guesser.history) == 1  # one refusal in all
    assert await _audit_count(db, "enrol_refused") == 5  # nothing written once ignored
    assert await _audit_count(db, "enrol") == 0
    clock.advance(timedelta(hours=1))
    await guesser.send(f"/start {code}")
    assert (await guesser.next_message()).text == access.CHOOSE_PIN


async def test_a_stranger_flooding_start_does_not_delay_an_officer(
        running: RunningBot, people: People, db: Database, standin: BotApiStandIn) -> None:
    officer = await people.enrolled("EWO1")
    stranger = people.user()
    for number in range(200):
        await stranger.send(f"/start junk{number}")
    await officer.send("/help")
    assert "/pupils" in (await officer.next_message(timeout=10)).text
    # Before the fix each junk code cost a deletion, an audit entry and a reply, and the
    # /help waited behind all but 64 of them.
    assert len(standin.calls_to("deleteMessage")) <= 5
    await running.settled()
    assert len(standin.calls_to("deleteMessage")) == 5
    assert [message.text for message in stranger.history] == [access.BAD_CODE]
    assert await _audit_count(db, "enrol_refused") == 5


async def test_a_locked_account_sending_start_is_told_it_is_locked(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/lock")
    await user.next_message()
    for left in (4, 3, 2):
        await user.send("9999")
        assert (await user.next_message()).text == access.wrong_pin_text(left)
    await user.send("9999")
    assert (await user.next_message()).text == (
        "That PIN is not right. 1 try left before your account locks.")
    await user.send("9999")
    assert (await user.next_message()).text == access.ACCOUNT_LOCKED
    await user.send("/start")
    assert (await user.next_message()).text == access.ACCOUNT_LOCKED
    assert "locked" in access.ACCOUNT_LOCKED and "administrator" in access.ACCOUNT_LOCKED
    # An administrator's new code is what unlocks it.
    code = secrets.token_urlsafe(32)
    async def _transaction(conn: Conn) -> None:
        found = await officer_store.officer_by_ref(conn, "EWO1")
        assert found is not None
        await officer_store.issue_code(conn, found, code=code, now=clock.now(),
                                       expires_at=clock.now() + timedelta(hours=24))
    await db.write(_transaction)
    await user.send(f"/start {code}")
    assert (await user.next_message()).text == access.CHOOSE_PIN


async def test_a_locked_account_with_a_wrong_code_is_told_it_is_locked(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    async def _transaction(conn: Conn) -> None:
        await conn.execute("UPDATE officers SET status = 'locked' WHERE ref = 'EWO1'")
    await db.write(_transaction)
    await user.send("/start not-the-code")
    assert (await user.next_message()).text == access.ACCOUNT_LOCKED


async def test_four_to_eight_digits_while_unlocked_are_deleted_never_a_search(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")
    async def _transaction(conn: Conn) -> None:
        found = await officer_store.officer_by_ref(conn, "EWO1")
        await Service(conn).pupil("Amelia", "Hughes", officer=found)
    await db.write(_transaction)
    for digits in (PIN, "12345678", " 4829 "):
        sent = await user.send(digits)
        assert (await user.next_message()).text == router.ALREADY_UNLOCKED
        assert sent in user.deleted
    await user.send("123")  # too short for a PIN: a search as before
    assert (await user.next_message()).text != router.ALREADY_UNLOCKED
    assert await _audit_count(db, "pin_failure") == 0


async def test_a_message_in_a_third_partys_chat_is_ignored(
        running: RunningBot, people: People, db: Database, standin: BotApiStandIn) -> None:
    user = await people.enrolled("EWO1")
    async def _transaction(conn: Conn) -> None:
        found = await officer_store.officer_by_ref(conn, "EWO1")
        await Service(conn).pupil("Amelia", "Hughes", officer=found)
    await db.write(_transaction)
    third_party = standin.user(777, "Parent")
    await user.send_in(third_party, "Amelia Hughes")
    await user.send_in(third_party, "/pupils")
    await running.settled()
    assert third_party.history == [] and user.history == []


async def test_the_bot_asks_telegram_only_for_what_it_handles(
        running: RunningBot, people: People, standin: BotApiStandIn) -> None:
    user = await people.enrolled("EWO1")
    if not running.webhook:  # a webhook's update types are set before the bot starts
        await standin.wait_for_long_poll()
    assert standin.allowed_updates == {"message", "callback_query", "my_chat_member"}
    third_party = standin.user(777, "Parent")
    await user.send_in(third_party, "Amelia Hughes", business=True)
    assert standin.pending_updates == 0  # Telegram never makes the business message
    await user.send("/help")
    assert "/pupils" in (await user.next_message()).text
    assert third_party.history == []


async def test_a_revoked_officer_sending_start_is_told_access_ended(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    async def _transaction(conn: Conn) -> None:
        found = await officer_store.officer_by_ref(conn, "EWO1")
        assert found is not None
        await officer_store.revoke(conn, found, now=clock.now())
    await db.write(_transaction)
    for text in ("/start", "/start not-the-code"):  # told each time: a known person
        await user.send(text)
        assert (await user.next_message()).text == access.REVOKED


async def test_an_update_the_library_cannot_read_is_skipped_and_never_logged(
        running: RunningBot, people: People) -> None:
    """One update of a shape this library version does not expect (a newer Bot API's)
    must not stop the bot for everyone, nor put its text in the log."""
    officer = await people.enrolled("EWO1")
    written = io.StringIO()
    handler = logging.StreamHandler(written)  # what `ewobot run` writes to its log
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        await officer.send_unreadable(PIN)
        await officer.send("/help")
        assert "/pupils" in (await officer.next_message()).text
    finally:
        root.removeHandler(handler)
    log = written.getvalue()
    assert PIN not in log, log
    # Polling and the webhook alike (E2E_DELIVERY=webhook) skip it by its id.
    assert re.search(r"^skipped update \d+, which this version cannot read \(\w+\)$", log,
                     re.MULTILINE), log
