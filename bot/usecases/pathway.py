"""Saving a pathway step or outcome from a /step draft: the entry, the draft's end and
its audit entry in one write transaction, with what happened as a typed outcome."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain import step_flow as flow
from bot.storage import conversations
from bot.storage import pathway as pathway_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.pathway import NewOutcome, NewStep


class Saved(enum.Enum):
    """What a press of Save came to."""

    SAVED = "saved"      # written, the draft ended
    REPEAT = "repeat"    # this draft was saved already (a second press)
    STALE = "stale"      # the draft ended or moved on meanwhile
    GONE = "gone"        # the pupil is no longer the officer's: draft ended
    REFUSED = "refused"  # a pathway rule refused it (`problem`): the draft stays open


@dataclass(frozen=True, slots=True)
class StepSaved:
    outcome: Saved
    problem: str | None = None  # bot/storage/pathway.py's fixed code, when REFUSED
    entry_id: int | None = None


async def save_entry(db: Database, officer: Officer, talk: Conversation,
                     entry: NewStep | NewOutcome, *, today: date,
                     now: datetime) -> StepSaved:
    """Save the draft `talk` as `entry` (a step or an outcome), once per draft token."""
    return await db.write(_save, officer, talk, entry, today, now)


async def _save(conn: Conn, officer: Officer, talk: Conversation, entry: NewStep | NewOutcome,
                today: date, now: datetime) -> StepSaved:
    if await pathway_store.saved_from_draft(conn, talk.token):
        return StepSaved(Saved.REPEAT)
    current = await conversations.current(conn, officer.id, now)
    if current is None or current.token != talk.token or current.step != flow.SUMMARY:
        return StepSaved(Saved.STALE)
    assert talk.pupil_id is not None
    # The same scoped look-up as the card and /visit: another officer's pupil, or one
    # no longer allocated, ends the draft.
    if await visit_store.visit_pupil(conn, officer, talk.pupil_id) is None:
        await conversations.end(conn, officer.id, talk.token)
        return StepSaved(Saved.GONE)
    if isinstance(entry, NewStep):
        saved = await pathway_store.record_step(conn, officer, entry, today=today, now=now,
                                                draft_token=talk.token)
    else:
        saved = await pathway_store.record_outcome(conn, officer, entry, now=now,
                                                   draft_token=talk.token)
    if saved.problem == pathway_store.REPEAT:
        return StepSaved(Saved.REPEAT)
    if saved.problem is not None:
        return StepSaved(Saved.REFUSED, saved.problem)
    await conversations.end(conn, officer.id, talk.token)
    return StepSaved(Saved.SAVED, entry_id=saved.id)
