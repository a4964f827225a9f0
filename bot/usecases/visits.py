"""Saving a visit: the visit, the draft's end, the audit entry and any escalation, in
one write transaction, with what happened as a typed outcome."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain import visit_flow as flow
from bot.domain.visits import SUPERVISOR_ACTIONS
from bot.settings import Settings
from bot.storage import audit, compliance, conversations, outbox, sessions
from bot.storage import sharing as sharing_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.visits import NewVisit, VisitPupil


class Saved(enum.Enum):
    """What a press of Save came to."""

    SAVED = "saved"          # written (and escalated when its action asks for it)
    REPEAT = "repeat"        # this draft was saved already (a second press)
    STALE = "stale"          # the draft ended or moved on meanwhile
    GONE = "gone"            # the pupil is no longer the officer's: draft ended
    CORRECTED = "corrected"  # the visit being corrected was corrected meanwhile: ended


@dataclass(frozen=True, slots=True)
class Told:
    """How many people an escalation reaches, whether they are the recorder's own
    supervisor, and, when it goes to others `instead` of the blocked supervisors it was
    addressed to (EWO_COMPLIANCE=enforce), whether those are the controllers."""

    count: int
    own_supervisor: bool
    instead: bool = False
    controllers: bool = False


@dataclass(frozen=True, slots=True)
class VisitSaved:
    outcome: Saved
    told: Told | None = None  # who an escalation went to (None: there was none)
    # The agreed action is new: not a correction's unchanged one, whose escalation and
    # pathway step were already prompted by the visit corrected.
    new_action: bool = True


Escalation = Callable[[VisitPupil], dict[str, Any]]


async def save_visit(db: Database, officer: Officer, talk: Conversation, visit: NewVisit,
                     now: datetime, *, escalation: Escalation,
                     settings: Settings) -> VisitSaved:
    """Save the draft `talk` as `visit`; `escalation(pupil)` is the pushed message's
    payload (rendered by the caller: it names no one) for an action a supervisor must
    hear of; `settings` say whose compliance has lapsed (CASEWORK.md §4)."""
    return await db.write(_save, officer, talk, visit, now, escalation, settings)


async def _save(conn: Conn, officer: Officer, talk: Conversation, visit: NewVisit,
                now: datetime, escalation: Escalation, settings: Settings) -> VisitSaved:
    if await visit_store.saved_from_draft(conn, talk.token):
        return VisitSaved(Saved.REPEAT)
    current = await conversations.current(conn, officer.id, now)
    if current is None or current.token != talk.token or current.step != flow.SUMMARY:
        return VisitSaved(Saved.STALE)
    pupil = await visit_store.visit_pupil(conn, officer, visit.pupil_id)
    if pupil is None:
        await conversations.end(conn, officer.id, talk.token)
        return VisitSaved(Saved.GONE)
    old = None
    if visit.supersedes is not None:
        old = await visit_store.visit_for_correction(conn, officer, visit.supersedes)
        if old is None or old.superseded or old.pupil_id != visit.pupil_id:
            await conversations.end(conn, officer.id, talk.token)
            return VisitSaved(Saved.CORRECTED)
    visit_id = await visit_store.record_visit(conn, officer, visit, draft_token=talk.token,
                                              now=now)
    await conversations.end(conn, officer.id, talk.token)
    if visit_id is None:
        return VisitSaved(Saved.REPEAT)
    detail = {"visit_id": visit_id}
    if visit.supersedes is not None:
        detail["supersedes"] = visit.supersedes
    await audit.append(conn, actor=officer.actor, action="visit_saved",
                       target=f"pupil:{visit.pupil_id}",
                       reason="visit_correction" if old else "visit_command", detail=detail)
    new_action = old is None or old.action != visit.action
    if visit.action in SUPERVISOR_ACTIONS and new_action:
        return VisitSaved(Saved.SAVED, await _escalate(conn, officer, visit, now,
                                                       escalation(pupil), settings))
    return VisitSaved(Saved.SAVED, new_action=new_action)


async def _escalate(conn: Conn, officer: Officer, visit: NewVisit, now: datetime,
                    payload: dict[str, Any], settings: Settings) -> Told:
    """Queue the message naming no one: to the recorder's supervisor, else to every other
    supervisor (those blocked under EWO_COMPLIANCE=enforce left out while any other is
    current: a blocked one's copy would go to the others, who would hear twice); when
    there is nobody, the row is kept as undelivered (counted), not left waiting for no
    one. Who is told is who it reaches when delivered (`compliance.escalation_reach`):
    a blocked supervisor's copy goes to the current ones, else the controllers."""
    blocked = await compliance.blocked_ids(conn, settings, now)
    audiences = await outbox.escalation_audiences(conn, officer.id, lapsed=blocked)
    for audience in audiences or (f"supervisor_of:{officer.id}",):
        # Another team's supervisor may not open the pupil's card: no button for them.
        told = payload if audience.startswith("supervisor_of:") else outbox.without_buttons(
            payload)
        await outbox.enqueue(conn, kind="escalation", audience=audience, payload=told,
                             now=now, pupil_ids=[visit.pupil_id], nobody=not audiences)
    own = bool(audiences) and audiences[0].startswith("supervisor_of:")
    reach = await compliance.escalation_reach(conn, officer, audiences, blocked)
    return Told(reach.count, own, reach.instead, reach.controllers)


async def discard_expired_drafts(db: Database, now: datetime) -> None:
    """Visit and sharing drafts and requests kept while locked whose time is up go (the
    job's)."""
    await db.write(_discard_expired, now)


async def _discard_expired(conn: Conn, now: datetime) -> None:
    await visit_store.discard_expired_drafts(conn, now)
    await sharing_store.discard_expired_drafts(conn, now)
    await sessions.discard_expired_requests(conn, now)


async def cancel_conversation(db: Database, officer: Officer,
                              now: datetime) -> Conversation | None:
    """/cancel: end the officer's open conversation, saving nothing; the one ended
    (None: there was none)."""
    return await db.write(_cancel, officer, now)


async def _cancel(conn: Conn, officer: Officer, now: datetime) -> Conversation | None:
    talk = await conversations.current(conn, officer.id, now)
    if talk is not None:
        await conversations.end(conn, officer.id, talk.token)
    return talk
