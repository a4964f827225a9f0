"""Saving a sharing decision: the entry, the draft's end and the audit entry, in one
write transaction, with what happened as a typed outcome."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from bot.domain import sharing as flow
from bot.domain.corrections import correctable
from bot.storage import audit, conversations
from bot.storage import sharing as sharing_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.sharing import NewSharing

REASON = "share_command"  # the audit reason of a decision recorded with /share
CORRECTION = "sharing_correction"  # and of a correction


class Shared(enum.Enum):
    """What a press of Save came to."""

    SAVED = "saved"    # written
    REPEAT = "repeat"  # this draft was saved already (a second press)
    STALE = "stale"    # the draft ended or moved on meanwhile
    GONE = "gone"      # the pupil is no longer the officer's: draft ended
    CORRECTED = "corrected"  # the entry being corrected was corrected meanwhile: ended


@dataclass(frozen=True, slots=True)
class SharingSaved:
    outcome: Shared
    entry_id: int | None = None  # the new entry (SAVED only)


async def save_sharing(db: Database, officer: Officer, talk: Conversation, entry: NewSharing,
                       now: datetime) -> SharingSaved:
    """Save the draft `talk` as `entry`: once per draft token, only while the draft is at
    its summary and the pupil is still the officer's; a correction only while the entry
    it supersedes is the author's, current and within the correction window."""
    return await db.write(_save, officer, talk, entry, now)


async def _save(conn: Conn, officer: Officer, talk: Conversation, entry: NewSharing,
                now: datetime) -> SharingSaved:
    if await sharing_store.saved_from_draft(conn, talk.token):
        return SharingSaved(Shared.REPEAT)
    current = await conversations.current(conn, officer.id, now)
    if current is None or current.token != talk.token or current.step != flow.SUMMARY:
        return SharingSaved(Shared.STALE)
    if await visit_store.visit_pupil(conn, officer, entry.pupil_id) is None:
        await conversations.end(conn, officer.id, talk.token)
        return SharingSaved(Shared.GONE)
    if entry.supersedes is not None:
        old = await sharing_store.entry_for_correction(conn, officer, entry.supersedes)
        if (old is None or old.superseded or old.entry.pupil_id != entry.pupil_id
                or not correctable(old.saved_at, now)):
            await conversations.end(conn, officer.id, talk.token)
            return SharingSaved(Shared.CORRECTED)
    entry_id = await sharing_store.record(conn, officer, entry, draft_token=talk.token, now=now)
    await conversations.end(conn, officer.id, talk.token)
    if entry_id is None:
        return SharingSaved(Shared.REPEAT)
    detail = {"sharing_id": entry_id, "decision": entry.decision, "recipient": entry.recipient}
    if entry.supersedes is not None:
        detail["supersedes"] = entry.supersedes
    await audit.append(conn, actor=officer.actor, action="sharing_saved",
                       target=f"pupil:{entry.pupil_id}", at=now, detail=detail,
                       reason=CORRECTION if entry.supersedes is not None else REASON)
    return SharingSaved(Shared.SAVED, entry_id)
