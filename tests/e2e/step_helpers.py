"""Shared set-up for the /step end-to-end tests: parents on record and button walking."""

from __future__ import annotations

from bot.handlers import step
from bot.handlers.common import SENSITIVE_PLACEHOLDER
from bot.sandbox import BotMessage, FakeUser
from bot.storage.db import Conn, Database
from tests.e2e.visit_helpers import newest_with

HEADER = "Pathway step for A.H. (C00001)"
JANE, TOM = "Jane Hughes", "Tom Hughes"
STEP_LABELS = ["Support plan", "Attendance contract", "Notice to Improve",
               "Penalty-notice referral", "ESO application", "SAO notice"]


async def add_parents(db: Database, pupil_id: int) -> dict[str, int]:
    """Two parents with parental responsibility and a grandparent without."""
    async def _transaction(conn: Conn) -> dict[str, int]:
        ids = {}
        for name, relationship, responsible, priority in (
                (JANE, "Mother", 1, 1), (TOM, "Father", 1, 2),
                ("Rose Hughes", "Grandparent", 0, 3)):
            ids[name] = await conn.insert(
                "INSERT INTO contacts (pupil_id, name, relationship, parental_responsibility,"
                " priority) VALUES (?, ?, ?, ?, ?)", (pupil_id, name, relationship, responsible,
                                                      priority))
        return ids
    return await db.write(_transaction)


async def tap_answer(user: FakeUser, label: str) -> str | None:
    """Press the newest button with this label; what the press was answered with."""
    pressed = newest_with(user, label)
    return await user.answer_to(await user.press(label, message_id=pressed.message_id))


async def reply(user: FakeUser) -> BotMessage:
    """The next message, as shown once a sensitive one has been filled in."""
    shown = await user.next_message()
    if shown.text == SENSITIVE_PLACEHOLDER:
        shown = await user.edited(shown)
    return shown


def token_of(shown: BotMessage) -> str:
    data = shown.buttons[0][0].data
    assert data is not None and data.startswith(f"{step.PREFIX}:")
    return data.split(":")[1]


def question(text: str) -> str:
    return f"\n\n{text}"
