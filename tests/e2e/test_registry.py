"""The registry through the real bot: /help, the menu, refusals, a new row, the router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from telegram import Update

from bot.clock import FixedClock
from bot.handlers import access, pupils
from bot.handlers.common import NOT_ALLOWED, Context, answer
from bot.handlers.registry import REGISTRY
from bot.handlers.table import CONTROLLER, OFFICER, ROLES, Button, Command, Registry, Talk
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, FakeUser
from bot.settings import Settings
from bot.storage import conversations
from bot.storage import officers as officer_store
from bot.storage.conversations import Conversation
from bot.storage.db import Database
from tests.e2e.conftest import People

SUPERVISOR_OF = {"officer": "SUP1", "supervisor": None, "controller": None}


async def _person(people: People, role: str) -> FakeUser:
    if role == "officer":
        await people.add("SUP1", "supervisor")
    return await people.enrolled("P1", role, SUPERVISOR_OF[role])


async def _refusals(db: Database) -> list[tuple[str, str, str]]:
    found = await db.read(lambda conn: conn.fetchall(
        "SELECT actor, action, reason FROM audit WHERE action LIKE 'refused:%' ORDER BY seq"))
    return [tuple(row) for row in found]


async def _enrol(user: FakeUser, code: str) -> str:
    """Enrol through the chat; returns the welcome text."""
    await user.send(f"/start {code}")
    assert (await user.next_message()).text == access.CHOOSE_PIN
    for _ in range(2):
        await user.send("2580")
        reply = await user.next_message()
    return reply.text


@pytest.mark.parametrize("role", ROLES)
async def test_help_lists_the_rows_of_the_role_in_order(running: RunningBot, people: People,
                                                        role: str) -> None:
    user = await _person(people, role)
    await user.send("/help")
    shown = (await user.next_message()).text
    listed = [line[1:].split(" — ")[0] for line in shown.splitlines() if line.startswith("/")]
    assert listed == [row.name for row in REGISTRY.commands if role in row.menu_roles]
    assert shown == REGISTRY.help_text(role)


@pytest.mark.parametrize("role", ROLES)
async def test_the_menu_set_at_enrolment_is_the_registry_s(running: RunningBot, people: People,
                                                           standin: BotApiStandIn,
                                                           role: str) -> None:
    if role == "officer":
        await people.add("SUP1", "supervisor")
    code = await people.add("P1", role, SUPERVISOR_OF[role])
    user = people.user()
    welcome = await _enrol(user, code)
    assert welcome == f"{access.ENROLLED}\n\n{REGISTRY.help_text(role)}"
    await standin.wait_for_call("setMyCommands")
    assert standin.commands[("chat", user.user_id)] == [
        {"command": row.name, "description": row.help_line(role)}
        for row in REGISTRY.commands if role in row.menu_roles]


@pytest.mark.parametrize("role", ROLES)
async def test_every_command_and_button_outside_the_role_is_refused_once(
        running: RunningBot, people: People, db: Database, role: str) -> None:
    user = await _person(people, role)
    expected = []
    for command in REGISTRY.commands:
        if role not in command.roles:
            await user.send(f"/{command.name} X")
            assert (await user.next_message()).text == NOT_ALLOWED, command.name
            expected.append(("officer:P1", f"refused:{command.name}", "role"))
    for button in REGISTRY.buttons:
        if role not in button.roles:
            press = await user.press_data(f"{button.prefix}:1", message_id=1)
            assert await user.answer_to(press) == NOT_ALLOWED, button.prefix
            expected.append(("officer:P1", "refused:button", "role"))
    assert expected  # every role is outside some row
    assert await _refusals(db) == expected


# --- a registry with throwaway rows -------------------------------------------------------

PONG = "pong"
PRESSED = "zz pressed"
ECHO = "echo"  # a conversation kind of this test alone
ECHO_CANCELLED = "Echo cancelled."


async def _ping(update: Update, context: Context) -> None:
    await answer(update, PONG)


async def _zz(update: Update, context: Context) -> None:
    await answer(update, PRESSED)


async def _echo(update: Update, context: Context, talk: Conversation) -> None:
    message = update.effective_message
    assert message is not None
    await answer(update, f"{talk.kind} {talk.step}: {message.text}")


EXTENDED = Registry(
    commands=(*REGISTRY.commands, Command("ping", _ping, (CONTROLLER,), "Ping the bot")),
    buttons=(*REGISTRY.buttons, Button("zz", _zz, (CONTROLLER,))),
    conversations=(*REGISTRY.conversations, Talk(ECHO, _echo, ECHO_CANCELLED, (OFFICER,))),
    search=REGISTRY.search, tips=REGISTRY.tips)


@pytest.fixture
async def extended(settings: Settings, standin: BotApiStandIn, db: Database,
                   clock: FixedClock) -> AsyncIterator[RunningBot]:
    async with RunningBot(settings, standin, clock=clock, db=db, registry=EXTENDED) as bot:
        yield bot


async def test_a_new_row_is_reachable_listed_and_refused_to_others(
        extended: RunningBot, people: People, standin: BotApiStandIn, db: Database) -> None:
    code = await people.add("DPO1", "controller")
    controller = people.user()
    assert "/ping — Ping the bot" in (await _enrol(controller, code)).splitlines()
    await standin.wait_for_call("setMyCommands")
    assert {"command": "ping", "description": "Ping the bot"} in standin.commands[
        ("chat", controller.user_id)]
    await controller.send("/ping")
    assert (await controller.next_message()).text == PONG
    press = await controller.press_data("zz:1", message_id=1)
    assert await controller.answer_to(press) == PRESSED
    officer = await people.enrolled("EWO1", "officer")
    await officer.send("/help")
    assert "/ping" not in (await officer.next_message()).text
    await officer.send("/ping")
    assert (await officer.next_message()).text == NOT_ALLOWED
    press = await officer.press_data("zz:1", message_id=1)
    assert await officer.answer_to(press) == NOT_ALLOWED
    assert await _refusals(db) == [("officer:EWO1", "refused:ping", "role"),
                                   ("officer:EWO1", "refused:button", "role")]


async def _open(db: Database, ref: str, clock: FixedClock, **fields: Any) -> None:
    now = clock.now()
    officer = await db.read(officer_store.officer_by_ref, ref)
    assert officer is not None
    await db.write(conversations.start, officer.id, kind=ECHO, step="first", now=now,
                   expires_at=now + timedelta(hours=1), **fields)


async def test_the_router_sends_text_to_the_open_conversation_s_row(
        extended: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    officer = await people.enrolled("EWO1", "officer")
    await _open(db, "EWO1", clock)
    await officer.send("Amelia")
    assert (await officer.next_message()).text == "echo first: Amelia"
    await officer.send("/cancel")
    assert (await officer.next_message()).text == ECHO_CANCELLED
    await officer.send("Amelia")  # no conversation now: a search
    assert (await officer.next_message()).text.startswith(pupils.NOT_FOUND)
    # Text from a role outside the conversation's row is no answer to it, nor a search.
    supervisor = await people.enrolled("SUP1", "supervisor")
    await _open(db, "SUP1", clock)
    await supervisor.send("Amelia")
    await supervisor.send("/help")
    assert (await supervisor.next_message()).text == REGISTRY.help_text("supervisor")


@pytest.mark.parametrize("row", REGISTRY.conversations, ids=lambda row: row.kind)
async def test_cancel_says_what_the_open_conversation_s_row_says(
        running: RunningBot, people: People, db: Database, clock: FixedClock,
        row: Talk) -> None:
    role = row.roles[-1]
    user = await _person(people, role)
    now = clock.now()
    officer = await db.read(officer_store.officer_by_ref, "P1")
    assert officer is not None
    await db.write(conversations.start, officer.id, kind=row.kind, step="first", now=now,
                   expires_at=now + timedelta(hours=1))
    await user.send("/cancel")
    assert (await user.next_message()).text == row.cancelled
    assert await db.read(conversations.current, officer.id, now) is None
