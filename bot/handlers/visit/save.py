"""Saving a visit: the draft read into a NewVisit and the escalation's pushed message
(it names no one); the one write transaction that saves is the use case
`bot/usecases/visits.save_visit`, which also says who was told (`Told`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.chat import render
from bot.domain import step_flow
from bot.domain import visit_flow as flow
from bot.domain.visits import ACTIONS, label_of
from bot.handlers.step.texts import PREFIX as STEP_PREFIX
from bot.handlers.step.texts import RECORD_IT_NOW
from bot.handlers.visit.texts import ESCALATION, ESCALATION_FOR_CONTROLLERS
from bot.storage.conversations import Conversation
from bot.storage.officers import Officer
from bot.storage.outbox import CONTROLLERS_FORM, RECORDER
from bot.storage.visits import NewVisit, VisitPupil
from bot.usecases.visits import Told as Told  # re-exported: the screens say who was told


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
    """The pushed message to the supervisor: names no one. Its form for the controllers
    (`CONTROLLERS_FORM`, should it be readdressed to them) carries no initials either;
    `RECORDER` keeps a copy readdressed from a blocked supervisor from its recorder."""
    assert visit.action is not None
    fields = {"action": label_of(ACTIONS, visit.action), "case_ref": pupil.case_ref,
              "school": pupil.school_name, "officer": officer.ref,
              "date": render.day(visit.visit_date)}
    return {"text": ESCALATION.format(initials=pupil.initials, **fields),
            "buttons": [["Open card", f"card:{pupil.id}"]],
            CONTROLLERS_FORM: {"text": ESCALATION_FOR_CONTROLLERS.format(**fields)},
            RECORDER: officer.id}


# A visit's agreed action that is itself a pathway step: after Save, "Record it now"
# opens /step for the pupil at that step.
_HAND_OFF = {"contract": step_flow.CONTRACT, "notice": step_flow.NTI}


def record_it_now(visit: NewVisit) -> list[list[tuple[str, str]]]:
    """The Record it now button under a saved visit whose action is a pathway step."""
    what = _HAND_OFF.get(visit.action or "")
    if what is None:
        return []
    return [[(RECORD_IT_NOW, f"{STEP_PREFIX}:new:{visit.pupil_id}:{what}")]]
