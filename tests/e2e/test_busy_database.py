"""A database kept busy by another process (an `ewobot import` or `ewobot backup` holding
SQLite's write lock past the busy timeout): the officer is told the service is busy and
to try again, nothing is half-saved (a draft stays at its step, so the same press or
answer simply works once the database is free), and the log says busy, not error; a
scheduled job meeting it does its work at the next run."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bot import app
from bot.domain import visit_flow as flow
from bot.handlers import access, visit
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage import outbox
from bot.storage import sqlite as sqlite_backend
from bot.storage.db import Database
from tests.e2e.conftest import PIN, People, deliver
from tests.e2e.visit_helpers import caseload, message, newest_with, officer, rows, tap, walk_to

pytestmark = pytest.mark.sqlite_only("another sqlite3 connection holding the file's write lock")

NOTES = "Mum says she is anxious about her new class."


@pytest.fixture
async def db(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    """The test database with a busy timeout of 50 ms instead of 15 s, so a write meets
    the held lock at once (the bot's connections take their pragmas at opening)."""
    monkeypatch.setattr(sqlite_backend, "_PRAGMAS", tuple(
        "PRAGMA busy_timeout = 50" if pragma.startswith("PRAGMA busy_timeout") else pragma
        for pragma in sqlite_backend._PRAGMAS))
    database = await Database.open(settings)
    try:
        yield database
    finally:
        await database.close()


@contextlib.contextmanager
def held(settings: Settings) -> Iterator[None]:
    """Another process's write transaction on the file, open past the bot's busy timeout."""
    holder = sqlite3.connect(settings.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.close()


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


async def draft_step(db: Database) -> list[str]:
    return [row["step"] for row in await rows(db, "SELECT step FROM conversations")]


async def test_a_press_an_answer_and_save_on_a_busy_database_can_simply_be_repeated(
        running: RunningBot, people: People, db: Database, settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    user = (await caseload(people, db)).user
    shown = await walk_to(user, flow.TYPE)
    await running.settled()  # each step's update done before the lock is taken

    with held(settings):
        press = await user.press("Home visit", message_id=shown.message_id)
        assert await user.answer_to(press) == app.BUSY
    assert message(user, shown.message_id).text == shown.text  # still the type question
    assert await draft_step(db) == [flow.TYPE]
    assert (await tap(user, "Home visit")).text.endswith(visit.QUESTIONS[flow.DATE])

    for label in ("Yesterday", "Parent/carer seen", "Anxiety or mental health",
                  "Follow-up visit", "In 1 week"):
        await tap(user, label)
    await running.settled()
    with held(settings):
        typed = await user.send(NOTES)
        assert (await user.next_message()).text == app.BUSY
    # Nothing would delete the typed notes later: they go now, and are typed again.
    assert typed in user.deleted
    assert await draft_step(db) == [flow.NOTES]
    await user.send(NOTES)
    summary = await user.edited(await user.next_message())
    assert f"Notes: {NOTES}" in summary.text
    await running.settled()  # the summary's message remembered: the update is done

    with held(settings):
        press = await user.press("Save", message_id=summary.message_id)
        assert await user.answer_to(press) == app.BUSY
    assert await rows(db, "SELECT id FROM visits") == []
    assert await draft_step(db) == [flow.SUMMARY]
    press = await user.press("Save", message_id=newest_with(user, "Save").message_id)
    assert await user.answer_to(press) == "Saved"
    assert len(await rows(db, "SELECT id FROM visits")) == 1

    assert errors(caplog) == []
    busy = [record.getMessage() for record in caplog.records
            if record.levelno == logging.WARNING and "database busy" in record.getMessage()]
    assert len(busy) == 3 and all("kept it locked" in line for line in busy)


async def test_a_step_shown_as_the_database_turns_busy_is_not_told_as_busy(
        running: RunningBot, people: People, db: Database, settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    """The answer stored and the next step shown, only remembering which message shows
    it meets the lock: the press is answered as usual (not "busy, try again", which would
    have the officer press a button already taken), and the new step's buttons work."""
    user = (await caseload(people, db)).user
    shown = await walk_to(user, flow.TYPE)
    await running.settled()
    running.standin.delay_next("editMessageText", 0.5)  # the lock is taken meanwhile
    since = time.monotonic()
    press = await user.press("Home visit", message_id=shown.message_id)
    await running.standin.wait_for_call("editMessageText", since=since)
    with held(settings):
        assert await user.answer_to(press) is None
    assert message(user, shown.message_id).text.endswith(visit.QUESTIONS[flow.DATE])
    assert (await tap(user, "Yesterday")).text.endswith(visit.QUESTIONS[flow.CONTACT])
    assert errors(caplog) == []
    assert any("shown but not remembered" in line for line in caplog.messages)


async def test_a_pin_sent_while_the_database_is_busy_is_deleted_and_can_be_sent_again(
        running: RunningBot, people: People, settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    user = await people.enrolled("EWO1")
    await user.send("/lock")
    assert (await user.next_message()).text == access.LOCKED_NOW
    await running.settled()
    with held(settings):
        sent = await user.send(PIN)
        assert (await user.next_message()).text == app.BUSY
    assert sent in user.deleted  # a PIN never stays in the chat
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert errors(caplog) == []


async def test_a_job_on_a_busy_database_logs_busy_and_does_its_work_at_the_next_run(
        running: RunningBot, people: People, db: Database, settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    await db.write(outbox.enqueue, kind="retention", audience=f"officer:{ann.id}",
                   payload={"text": "Records are coming due.", "buttons": []},
                   now=running.clock.now())
    with held(settings):
        await deliver(running)
    assert ("deliver_due: the database is busy (the database is busy: another process kept"
            " it locked; try again); tried again at the next run") in caplog.messages
    await deliver(running)
    assert (await user.next_message()).text == "Records are coming due."
    assert errors(caplog) == []
