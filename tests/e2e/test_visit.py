"""/visit, Correct, /cancel and /due through the stand-in and the real bot."""

from __future__ import annotations

import json

import pytest

from bot.domain import visit_flow as flow
from bot.domain.visits import ABSENCE_REASONS, ACTIONS, CONTACT_OUTCOMES, VISIT_TYPES
from bot.handlers import visit
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage.db import Database
from tests.e2e.conftest import People
from tests.e2e.visit_helpers import (
    AMELIA,
    NOAH,
    Caseload,
    caseload,
    message,
    rows,
    start,
    tap,
    token_of,
)

HEADER = "Visit for Amelia Hughes (C00001)"


@pytest.fixture
async def case(running: RunningBot, people: People, db: Database) -> Caseload:
    return await caseload(people, db)


def labels(vocabulary: tuple[tuple[str, str], ...]) -> list[str]:
    return [label for _, label in vocabulary]


async def test_a_visit_recorded_by_pressing_buttons(case: Caseload, db: Database,
                                                    settings: Settings) -> None:
    user = case.user
    first = await start(user)
    assert first.labels() == [NOAH, AMELIA]  # lowest attendance first
    assert first.protect_content

    steps = [
        (AMELIA, visit.QUESTIONS[flow.TYPE], labels(VISIT_TYPES)),
        ("Home visit", visit.QUESTIONS[flow.DATE], ["Today", "Yesterday"]),
        ("Yesterday", visit.QUESTIONS[flow.CONTACT], labels(CONTACT_OUTCOMES)),
        ("Parent/carer seen", visit.QUESTIONS[flow.REASON], labels(ABSENCE_REASONS)),
        ("Anxiety or mental health", visit.QUESTIONS[flow.ACTION], labels(ACTIONS)),
        ("Follow-up visit", visit.QUESTIONS[flow.FOLLOW_UP], ["In 1 week", "In 2 weeks", "None"]),
        ("In 1 week", visit.QUESTIONS[flow.NOTES], ["Skip"]),
    ]
    for label, question, expected in steps:
        shown = await tap(user, label)
        # The same message, edited step by step.
        assert shown.message_id == first.message_id and shown.edited
        assert shown.text == f"{HEADER}\n\n{question}"
        assert shown.labels() == expected

    notes_id = await user.send("Mum says she is anxious about her new class.")
    summary = await user.next_message()
    assert summary.text == "\n".join([
        HEADER, "",
        "Type: Home visit", "Date: 24/11/2026", "Contact: Parent/carer seen",
        "Main reason: Anxiety or mental health", "Action agreed: Follow-up visit",
        "Next follow-up: 02/12/2026", "Notes: Mum says she is anxious about her new class.",
        "", "Save this visit?"])
    assert summary.labels() == ["Save", "Cancel"]
    assert message(user, first.message_id).labels() == []  # the old step's buttons are gone

    press = await user.press("Save")
    assert await user.answer_to(press) == "Saved"
    saved = message(user, summary.message_id)
    assert saved.text == ("Saved: Home visit for Amelia Hughes on 24/11/2026. "
                          "Next follow-up: 02/12/2026.")
    assert saved.labels() == []

    visits = await rows(db, "SELECT * FROM visits")
    assert len(visits) == 1
    row = visits[0]
    assert (row["pupil_id"], row["officer_id"], row["visit_date"], row["type"], row["contact"],
            row["reason"], row["action"], row["follow_up"], row["notes"], row["source"]) == (
        case.amelia, case.ann.id, "2026-11-24", "home", "parent", "anxiety", "followup",
        "2026-12-02", "Mum says she is anxious about her new class.", "chat")
    assert row["draft_token"] == token_of(first)
    assert await rows(db, "SELECT * FROM conversations") == []
    audit = await rows(db, "SELECT actor, action, target, reason, detail FROM audit"
                           " WHERE action = 'visit_saved'")
    assert len(audit) == 1
    assert (audit[0]["actor"], audit[0]["target"], audit[0]["reason"]) == (
        "officer:EWO1", f"pupil:{case.amelia}", "visit_command")
    assert json.loads(audit[0]["detail"]) == {"visit_id": row["id"]}
    # The typed notes and the summary are deleted from the chat later.
    due = {r["message_id"] for r in await rows(db, "SELECT message_id FROM sensitive_messages")}
    assert {notes_id, summary.message_id} <= due
    assert await rows(db, "SELECT * FROM outbox WHERE kind = 'escalation'") == []

    # The card shows it, and the follow-up.
    await user.send("/pupil Amelia Hughes")
    card = await user.next_message()
    assert "24/11/2026 — Home visit — Parent/carer seen (EWO1)" in card.text
    assert "02/12/2026" in card.text
