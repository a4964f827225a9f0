"""A new step-by-step flow is a row on the shared draft-backed parts, not a copy of
/visit: a throwaway two-step flow, built here from bot/handlers/drafts.py alone, gets
a draft written at every step, stale buttons refused and /cancel saving nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import pytest
from telegram import Update

from bot.chat import render
from bot.clock import FixedClock
from bot.handlers import access, drafts, visit
from bot.handlers.common import Context, button_data
from bot.handlers.registry import REGISTRY
from bot.handlers.share import texts as share_texts
from bot.handlers.step import texts as step_texts
from bot.handlers.table import OFFICER, SUPERVISOR, Button, Command, Registry, Talk
from bot.handlers.visit import texts as visit_texts
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import conversations
from bot.storage.conversations import Conversation
from bot.storage.db import Database
from tests.e2e.conftest import PIN, WEBHOOK, People
from tests.e2e.visit_helpers import caseload

TWO = drafts.Flow(kind="two", prefix="t2", stale="That button is from an earlier step.",
                  ended="No two-step draft is open.")
QUESTIONS = {"first": "First: A or B?", "second": "Second: C or D?"}
CHOICES = {"first": ("A", "B"), "second": ("C", "D")}
FOLLOWING = {"first": "second", "second": "summary"}


def screen(talk: Conversation) -> drafts.Screen:
    if talk.step == "summary":
        rows = drafts.summary_rows(TWO, talk, ("Save", "Change", "Cancel"))
        text = f"You chose {talk.data['first']} then {talk.data['second']}. Save?"
        return drafts.Screen(text, render.keyboard(rows))
    buttons = [(label, TWO.data(talk, talk.step, label)) for label in CHOICES[talk.step]]
    return drafts.Screen(QUESTIONS[talk.step], render.keyboard(drafts.rows(buttons, 2)))


async def two_command(update: Update, context: Context) -> None:
    talk = await drafts.start(context, context.officer.id, TWO, step="first")
    await drafts.show(update, context, TWO, talk, screen(talk), edit=False)


async def two_button(update: Update, context: Context) -> None:
    svc, parts = context.services, button_data(update)
    talk = await svc.db.read(conversations.current, context.officer.id,
                             svc.clock.now())
    refused = TWO.refusal(talk, parts)
    if refused is not None:
        await render.ack(update, refused, alert=True)
        return
    assert talk is not None
    step, choice = parts[2], parts[3]
    if step == "summary":
        await drafts.on_summary(update, context, TWO, talk, choice, save=_saved(update),
                                render=screen, cancelled="Two-step cancelled.",
                                hint="Choose a button.", change_step="first")
        return
    await drafts.move(update, context, TWO, talk, {**talk.data, step: choice},
                      step=FOLLOWING[step], render=screen, edit=True)


def _saved(update: Update) -> Any:
    async def save() -> None:
        await render.edit(update, "Saved.")
    return save


# The flow's rows: a command, its buttons and its conversation, as any flow adds them.
TWO_STEP = Registry(
    commands=(*REGISTRY.commands,
              Command("twostep", two_command, (OFFICER, SUPERVISOR), "A two-step flow")),
    buttons=(*REGISTRY.buttons, Button("t2", two_button, (OFFICER, SUPERVISOR))),
    conversations=(*REGISTRY.conversations,
                   Talk("two", None, visit.CANCELLED_OTHER, (OFFICER, SUPERVISOR), "t2")),
    search=REGISTRY.search, tips=REGISTRY.tips)


@pytest.fixture
async def running(settings: Settings, standin: BotApiStandIn, db: Database,
                  clock: FixedClock) -> AsyncIterator[RunningBot]:
    async with RunningBot(settings, standin, clock=clock, db=db, webhook=WEBHOOK,
                          registry=TWO_STEP) as bot:
        yield bot


async def draft_of(db: Database) -> tuple[str, str, dict[str, Any]] | None:
    row = await db.read(lambda conn: conn.fetchone("SELECT kind, step, data FROM conversations"))
    if row is None:
        return None
    return row["kind"], row["step"], json.loads(row["data"])


async def test_a_two_step_flow_on_the_shared_parts(running: RunningBot, people: People,
                                                   db: Database) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/twostep")
    first = await user.next_message()
    assert first.text == QUESTIONS["first"] and first.labels() == ["A", "B"]
    assert await draft_of(db) == ("two", "first", {})

    press = await user.press("B", message_id=first.message_id)
    await user.answer_to(press)
    await running.settled()
    assert await draft_of(db) == ("two", "second", {"first": "B"})
    stale_first = first.buttons[0][0].data  # the first step's A, now an earlier step's
    assert stale_first is not None
    press = await user.press_data(stale_first, first.message_id)
    assert await user.answer_to(press) == TWO.stale

    press = await user.press("D", message_id=first.message_id)
    await user.answer_to(press)
    await running.settled()
    assert await draft_of(db) == ("two", "summary", {"first": "B", "second": "D"})
    summary = await user.edited(first)
    assert summary.text == "You chose B then D. Save?"
    assert summary.labels() == ["Save", "Change", "Cancel"]

    # A second draft replaces the first: the first's buttons are stale.
    await user.send("/twostep")
    second = await user.next_message()
    assert await draft_of(db) == ("two", "first", {})
    press = await user.press("Save", message_id=first.message_id)
    assert await user.answer_to(press) == TWO.stale

    await user.send("/cancel")
    assert (await user.next_message()).text == visit.CANCELLED_OTHER
    assert await draft_of(db) is None
    press = await user.press("A", message_id=second.message_id)
    assert await user.answer_to(press) == TWO.ended


@pytest.mark.parametrize(("command", "texts"), [
    ("/visit", visit_texts), ("/step", step_texts), ("/share", share_texts)],
    ids=["visit", "step", "share"])
async def test_after_the_pin_an_open_draft_is_mentioned_only_when_there_is_one(
        running: RunningBot, people: People, db: Database, command: str,
        texts: ModuleType) -> None:
    """Whichever flow's: one at its pupil step, no pupil chosen yet, is mentioned too."""
    user = (await caseload(people, db)).user
    await user.send("/lock")
    await user.next_message()
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    await user.send("/help")  # answered next: nothing was said of a draft, none is open
    assert (await user.next_message()).text.startswith(
        REGISTRY.help_text("officer").splitlines()[0])
    await user.send(command)
    assert (await user.next_message()).text == texts.CHOOSE_PUPIL
    await user.send("/lock")
    await user.next_message()
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert (await user.next_message()).text == texts.DRAFT_OPEN_NO_PUPIL
    await user.send(command)
    assert (await user.next_message()).text == texts.CHOOSE_PUPIL  # carries on there
