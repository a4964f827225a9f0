"""Enrolment, PIN sessions and the gate, through the stand-in and the real polling loop."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from bot.clock import FixedClock
from bot.handlers import access
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, FakeUser
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from tests.e2e.conftest import PIN, People
from tests.pg import database_dump


async def enrol(user: FakeUser, code: str, pin: str = "2580") -> None:
    await user.send(f"/start {code}")
    assert (await user.next_message()).text == access.CHOOSE_PIN
    await user.send(pin)
    assert (await user.next_message()).text == access.REPEAT_PIN
    await user.send(pin)
    assert (await user.next_message()).text.startswith(access.ENROLLED)


async def test_enrolment_happy_path(running: RunningBot, people: People,
                                    standin: BotApiStandIn, settings: Settings) -> None:
    code = await people.add("EWO1")
    user = people.user()
    start_id = await user.send(f"/start {code}")
    assert (await user.next_message()).text == access.CHOOSE_PIN
    first_pin = await user.send("2580")
    assert (await user.next_message()).text == access.REPEAT_PIN
    second_pin = await user.send("2580")
    welcome = await user.next_message()
    assert welcome.text.startswith(access.ENROLLED)
    assert "/visit" in welcome.text and "/retention" not in welcome.text
    assert welcome.protect_content
    # The code and both PINs were deleted from the chat once read.
    assert {start_id, first_pin, second_pin} <= user.deleted
    # The command menu is set for this chat only.
    await standin.wait_for_call("setMyCommands")
    menu = [command["command"] for command in standin.commands[("chat", user.user_id)]]
    assert "visit" in menu and "retention" not in menu
    assert ("default",) not in standin.commands
    # Neither the code nor the PIN is stored in clear.
    dump = database_dump(settings)
    assert code not in dump
    # Hex digests may contain "2580" by chance; the PIN in clear would stand alone.
    assert not re.search(r"(?<![0-9a-f])2580(?![0-9a-f])", dump)
    await user.send("/help")
    assert "/pupils" in (await user.next_message()).text


async def test_bad_expired_and_reused_codes(running: RunningBot, people: People,
                                            clock: FixedClock) -> None:
    code = await people.add("EWO1")
    stranger = people.user()
    await stranger.send("/start not-a-real-code")
    assert (await stranger.next_message()).text == access.BAD_CODE
    await enrol(people.user(), code)
    reuser = people.user()
    await reuser.send(f"/start {code}")
    assert (await reuser.next_message()).text == access.BAD_CODE
    late_code = await people.add("EWO2")
    clock.advance(timedelta(hours=24, minutes=1))
    late = people.user()
    await late.send(f"/start {late_code}")
    assert (await late.next_message()).text == access.BAD_CODE


async def test_two_racing_starts_with_one_code_enrol_one(running: RunningBot,
                                                         people: People) -> None:
    code = await people.add("EWO1")
    first, second = people.user(), people.user()
    await asyncio.gather(first.send(f"/start {code}"), second.send(f"/start {code}"))
    replies = sorted([(await first.next_message()).text, (await second.next_message()).text])
    assert replies == sorted([access.CHOOSE_PIN, access.BAD_CODE])


async def test_pin_rules_and_mismatch(running: RunningBot, people: People) -> None:
    code = await people.add("EWO1")
    user = people.user()
    await user.send(f"/start {code}")
    await user.next_message()
    await user.send("1234")
    assert "consecutive" in (await user.next_message()).text
    await user.send("7777")
    assert "repeated" in (await user.next_message()).text
    await user.send("12a4")
    assert "4 to 8 digits" in (await user.next_message()).text
    await user.send("2580")
    assert (await user.next_message()).text == access.REPEAT_PIN
    await user.send("2581")
    assert (await user.next_message()).text == access.PIN_MISMATCH
    await user.send("4829")
    await user.next_message()
    await user.send("4829")
    assert (await user.next_message()).text.startswith(access.ENROLLED)


async def test_idle_lock_keeps_the_request_and_replays_it(running: RunningBot, people: People,
                                                          clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    clock.advance(timedelta(minutes=31))
    await user.send("/help")
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    await user.send("not a pin")  # any other text: the prompt again, not a failure
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    await user.send("/help")
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    pin_message = await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert "/pupils" in (await user.next_message()).text  # the kept /help, answered
    assert pin_message in user.deleted


async def test_a_request_kept_longer_than_a_session_is_dropped(running: RunningBot,
                                                               people: People,
                                                               clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/lock")
    assert (await user.next_message()).text == access.LOCKED_NOW
    await user.send("/help")
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    clock.advance(timedelta(hours=12))  # EWO_SESSION_MAX_HOURS
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    await user.send("/lock")  # answered next: the kept /help was not replayed
    assert (await user.next_message()).text == access.LOCKED_NOW


async def test_session_ends_after_the_maximum_even_when_active(running: RunningBot,
                                                               people: People,
                                                               clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    for _ in range(13):
        clock.advance(timedelta(minutes=59))
        await user.send("/help")
        reply = (await user.next_message()).text
        if reply == access.LOCKED_PROMPT:
            break
        clock.advance(timedelta(minutes=-30))  # stay within the idle limit
    assert reply == access.LOCKED_PROMPT


async def test_lock_command_and_button_while_locked(running: RunningBot, people: People,
                                                    standin: BotApiStandIn) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/lock")
    assert (await user.next_message()).text == access.LOCKED_NOW
    await user.send("/help")
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    press = await user.press_data("card:1", message_id=1)
    assert await user.answer_to(press) == access.LOCKED_PROMPT


async def test_five_wrong_pins_lock_the_account_across_a_restart(
        running: RunningBot, people: People, settings: Settings, standin: BotApiStandIn,
        db: Database, clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/lock")
    await user.next_message()
    for attempt in range(1, 5):
        await user.send("9999")
        assert (await user.next_message()).text == access.wrong_pin_text(5 - attempt)
    await user.send("9999")
    assert (await user.next_message()).text == access.ACCOUNT_LOCKED
    await running.stop()
    async with RunningBot(settings, standin, clock=clock, db=db):
        await user.send(PIN)
        assert (await user.next_message()).text == access.ACCOUNT_LOCKED
    officer = await db.read(officer_store.officer_by_ref, "EWO1")
    assert officer is not None and officer.status == "locked"


async def test_revoked_officer_is_refused_on_the_next_update(running: RunningBot,
                                                             people: People, db: Database,
                                                             clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/help")
    await user.next_message()
    async def _transaction(conn: Conn) -> None:
        officer = await officer_store.officer_by_ref(conn, "EWO1")
        assert officer is not None
        await officer_store.revoke(conn, officer, now=clock.now())
    await db.write(_transaction)
    await user.send("/help")
    assert (await user.next_message()).text == access.REVOKED


async def test_stranger_gets_one_refusal_an_hour(running: RunningBot, people: People,
                                                 clock: FixedClock) -> None:
    stranger = people.user()
    await stranger.send("hello")
    assert (await stranger.next_message()).text == access.STRANGER
    await stranger.send("/pupils")
    press = await stranger.press_data("card:1", message_id=1)
    assert await stranger.answer_to(press) is None  # answered, silently
    await running.settled()
    assert len(stranger.history) == 1
    clock.advance(timedelta(hours=1, minutes=1))
    await stranger.send("anyone?")
    assert (await stranger.next_message()).text == access.STRANGER


async def test_group_chats_get_nothing_and_are_left(running: RunningBot, people: People,
                                                    standin: BotApiStandIn) -> None:
    user = await people.enrolled("EWO1")
    group = standin.group(-100123, "Staff room")
    await group.send(user, "/pupils")
    await standin.wait_for_call("leaveChat")
    assert -100123 in standin.left_chats
    assert not standin.calls_to("sendMessage")


async def test_unknown_command_gets_a_hint(running: RunningBot, people: People) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/frobnicate")
    assert (await user.next_message()).text == "I don't know that command. Send /help to see " \
        "what you can do."


async def test_activity_keeps_the_session_open(running: RunningBot, people: People,
                                               clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    for _ in range(3):  # 60 minutes in all, never 30 without a message
        clock.advance(timedelta(minutes=20))
        await user.send("/help")
        assert "/pupils" in (await user.next_message()).text


async def test_a_code_typed_in_its_read_aloud_groups_enrols(running: RunningBot,
                                                            people: People) -> None:
    from bot.cli.admin import read_aloud_groups

    code = await people.add("EWO1")
    user = people.user()
    await enrol(user, read_aloud_groups(code))
    await user.send("/help")
    assert "/pupils" in (await user.next_message()).text
