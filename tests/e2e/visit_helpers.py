"""Shared set-up for the /visit end-to-end tests: a small caseload and button walking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain import visit_flow as flow
from bot.handlers import access, visit
from bot.sandbox import BotMessage, FakeUser
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.e2e.conftest import PIN, People
from tests.storage.pupil_rows import Service

AMELIA = "Amelia Hughes · 80.0 %"
NOAH = "Noah Patel · 50.0 %"
# The button pressed at each step on the way through a visit (notes are skipped).
PRESSES = (
    (flow.PUPIL, AMELIA),
    (flow.TYPE, "Home visit"),
    (flow.DATE, "Yesterday"),
    (flow.CONTACT, "Parent/carer seen"),
    (flow.REASON, "Anxiety or mental health"),
    (flow.ACTION, "Follow-up visit"),
    (flow.FOLLOW_UP, "In 1 week"),
    (flow.NOTES, "Skip"),
    (flow.SUMMARY, "Save"),
)
STEPS = tuple(step for step, _ in PRESSES)
LABEL_AT = dict(PRESSES)


@dataclass
class Caseload:
    """EWO1 (enrolled, supervised by SUP1) with two pupils; EWO2 with one."""

    user: FakeUser
    ann: Officer
    amelia: int
    noah: int
    other: int  # Amelia Hurst, EWO2's pupil


async def officer(db: Database, ref: str) -> Officer:
    found = await db.read(officer_store.officer_by_ref, ref)
    assert found is not None
    return found


async def caseload(people: People, db: Database) -> Caseload:
    await people.add("SUP1", "supervisor")
    user = await people.enrolled("EWO1", supervisor="SUP1")
    await people.add("EWO2", supervisor="SUP1")
    ann, bob = await officer(db, "EWO1"), await officer(db, "EWO2")
    async def _transaction(conn: Conn):
        service = Service(conn)
        amelia = await service.pupil("Amelia", "Hughes", officer=ann)
        noah = await service.pupil("Noah", "Patel", officer=ann)
        other = await service.pupil("Amelia", "Hurst", officer=bob)
        await service.figures(amelia, 80, 100)
        await service.figures(noah, 50, 100)
        await service.figures(other, 10, 100)
        return amelia, noah, other
    amelia, noah, other = await db.write(_transaction)
    return Caseload(user, ann, amelia, noah, other)


def message(user: FakeUser, message_id: int) -> BotMessage:
    """The message as the chat shows it now."""
    return next(shown for shown in user.history if shown.message_id == message_id)


def newest_with(user: FakeUser, label: str) -> BotMessage:
    return next(shown for shown in reversed(user.history) if label in shown.labels())


async def tap(user: FakeUser, label: str, *,
              timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
    """Press the newest button with this label; once answered (within `timeout`), the
    message it was on."""
    pressed = newest_with(user, label)
    press = await user.press(label, message_id=pressed.message_id)
    await user.answer_to(press, timeout=timeout)
    return message(user, pressed.message_id)


async def start(user: FakeUser) -> BotMessage:
    await user.send("/visit")
    shown = await user.next_message()
    assert shown.text == visit.CHOOSE_PUPIL
    return shown


async def walk_to(user: FakeUser, step: str) -> BotMessage:
    """From /visit, press the usual buttons until `step` is shown; returns its message."""
    shown = await start(user)
    for done, label in PRESSES[:STEPS.index(step)]:
        shown = await tap(user, label)
        assert done != step
    assert shown.text is not None
    if step == flow.PUPIL:
        assert shown.text == visit.CHOOSE_PUPIL
    elif step == flow.SUMMARY:
        assert shown.text.endswith(visit.QUESTIONS[flow.SUMMARY])
    else:
        assert shown.text.endswith(visit.QUESTIONS[step])
    return shown


def token_of(shown: BotMessage) -> str:
    data = shown.buttons[0][0].data
    assert data is not None and data.startswith("v:")
    return data.split(":")[1]


async def rows(db: Database, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(sql, params)
    return await db.read(_snapshot)


async def marker(user: FakeUser) -> None:
    """Shows the bot sent nothing more: /help is always answered, in order."""
    await user.send("/help")
    assert "/visit" in (await user.next_message()).text


async def lock_with_a_press_kept(user: FakeUser, label: str, message_id: int,
                                 draft_open: str) -> None:
    """/lock, a press of `label` on a draft's message while locked (kept: the PIN is
    asked for), then the PIN: unlocked, told the draft is open (`draft_open`), and the
    kept press handled after that (the marker's answer comes after it)."""
    await user.send("/lock")
    assert (await user.next_message()).text == access.LOCKED_NOW
    press = await user.press(label, message_id=message_id)
    assert await user.answer_to(press) == access.LOCKED_PROMPT
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert (await user.next_message()).text == draft_open
    await marker(user)
