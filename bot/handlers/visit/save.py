"""Saving a visit: the visit, the draft's end, the audit entry and any escalation, in
one write transaction (`_record`), and who was told (`Told`).

`_record` and what it calls are kept together here, apart from the chat, so the save
can become a use case of its own without touching the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.chat import render
from bot.domain import visit_flow as flow
from bot.domain.visits import ACTIONS, SUPERVISOR_ACTIONS, label_of
from bot.handlers.visit.texts import (
    ESCALATION,
)
from bot.storage import audit, conversations, outbox
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.visits import NewVisit, VisitPupil


def _new_visit(talk: Conversation) -> NewVisit:
    draft = talk.data
    assert talk.pupil_id is not None
    follow_up = draft.get(flow.FOLLOW_UP)
    return NewVisit(
        pupil_id=talk.pupil_id, visit_date=date.fromisoformat(draft[flow.DATE]),
        type=draft[flow.TYPE], contact=draft.get(flow.CONTACT), reason=draft[flow.REASON],
        action=draft[flow.ACTION],
        follow_up=date.fromisoformat(follow_up) if follow_up else None,
        notes=draft.get(flow.NOTES), supersedes=draft.get("supersedes"))


def _escalation(officer: Officer, pupil: VisitPupil, visit: NewVisit) -> dict[str, Any]:
    """The pushed message to the supervisor: names no one."""
    assert visit.action is not None
    text = ESCALATION.format(action=label_of(ACTIONS, visit.action), case_ref=pupil.case_ref,
                             initials=pupil.initials, school=pupil.school_name,
                             officer=officer.ref, date=render.day(visit.visit_date))
    return {"text": text, "buttons": [["Open card", f"card:{pupil.id}"]]}


@dataclass(frozen=True, slots=True)
class Told:
    """How many people an escalation was addressed to, and whether it was the
    recorder's own supervisor."""

    count: int
    own_supervisor: bool


async def _escalate(conn: Conn, officer: Officer, pupil: VisitPupil, visit: NewVisit,
                    now: datetime) -> Told:
    """Queue the message naming no one: to the recorder's supervisor, else to every other
    supervisor; when there is nobody, the row is kept as undelivered (counted), not
    left waiting for no one."""
    audiences = await outbox.escalation_audiences(conn, officer.id)
    payload = _escalation(officer, pupil, visit)
    for audience in audiences or (f"supervisor_of:{officer.id}",):
        await outbox.enqueue(conn, kind="escalation", audience=audience, payload=payload,
                             now=now, pupil_ids=[visit.pupil_id], nobody=not audiences)
    own = bool(audiences) and audiences[0].startswith("supervisor_of:")
    return Told(len(audiences), own)


async def _record(db: Database, officer: Officer, talk: Conversation, visit: NewVisit,
                  now: datetime) -> tuple[str, Told | None]:
    """One write transaction; returns saved, repeat, gone, corrected or stale, and who
    was told of an escalation (None when there was none)."""
    async with db.write() as conn:
        if await visit_store.saved_from_draft(conn, talk.token):
            return "repeat", None
        current = await conversations.current(conn, officer.id, now)
        if current is None or current.token != talk.token or current.step != flow.SUMMARY:
            return "stale", None
        pupil = await visit_store.visit_pupil(conn, officer, visit.pupil_id)
        if pupil is None:
            await conversations.end(conn, officer.id, talk.token)
            return "gone", None
        old = None
        if visit.supersedes is not None:
            old = await visit_store.visit_for_correction(conn, officer, visit.supersedes)
            if old is None or old.superseded or old.pupil_id != visit.pupil_id:
                await conversations.end(conn, officer.id, talk.token)
                return "corrected", None
        visit_id = await visit_store.record_visit(conn, officer, visit, draft_token=talk.token,
                                                  now=now)
        await conversations.end(conn, officer.id, talk.token)
        if visit_id is None:
            return "repeat", None
        detail = {"visit_id": visit_id}
        if visit.supersedes is not None:
            detail["supersedes"] = visit.supersedes
        await audit.append(conn, actor=officer.actor, action="visit_saved",
                           target=f"pupil:{visit.pupil_id}",
                           reason="visit_correction" if old else "visit_command", detail=detail)
        if visit.action in SUPERVISOR_ACTIONS and (old is None or old.action != visit.action):
            return "saved", await _escalate(conn, officer, pupil, visit, now)
    return "saved", None
