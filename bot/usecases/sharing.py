"""Saving a sharing decision: the entry, the draft's end and the audit entry, in one
write transaction, with what happened as a typed outcome."""

from __future__ import annotations

import enum
from datetime import datetime

from bot.domain import sharing as flow
from bot.storage import audit, conversations
from bot.storage import sharing as sharing_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.sharing import NewSharing

REASON = "share_command"  # the audit reason of a decision recorded with /share


class Shared(enum.Enum):
    """What a press of Save came to."""

    SAVED = "saved"    # written
    REPEAT = "repeat"  # this draft was saved already (a second press)
    STALE = "stale"    # the draft ended or moved on meanwhile
    GONE = "gone"      # the pupil is no longer the officer's: draft ended


async def save_sharing(db: Database, officer: Officer, talk: Conversation, entry: NewSharing,
                       now: datetime) -> Shared:
    """Save the draft `talk` as `entry`: once per draft token, only while the draft is at
    its summary and the pupil is still the officer's."""
    return await db.write(_save, officer, talk, entry, now)


async def _save(conn: Conn, officer: Officer, talk: Conversation, entry: NewSharing,
                now: datetime) -> Shared:
    if await sharing_store.saved_from_draft(conn, talk.token):
        return Shared.REPEAT
    current = await conversations.current(conn, officer.id, now)
    if current is None or current.token != talk.token or current.step != flow.SUMMARY:
        return Shared.STALE
    if await visit_store.visit_pupil(conn, officer, entry.pupil_id) is None:
        await conversations.end(conn, officer.id, talk.token)
        return Shared.GONE
    entry_id = await sharing_store.record(conn, officer, entry, draft_token=talk.token, now=now)
    await conversations.end(conn, officer.id, talk.token)
    if entry_id is None:
        return Shared.REPEAT
    await audit.append(conn, actor=officer.actor, action="sharing_saved",
                       target=f"pupil:{entry.pupil_id}", reason=REASON, at=now,
                       detail={"sharing_id": entry_id, "decision": entry.decision,
                               "recipient": entry.recipient})
    return Shared.SAVED
