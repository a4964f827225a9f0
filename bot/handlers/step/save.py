"""Saving a pathway step: the draft read as a NewStep or NewOutcome; the one write
transaction that saves is the use case `bot/usecases/pathway.save_entry`."""

from __future__ import annotations

from datetime import date

from bot.domain import step_flow as flow
from bot.domain.step_flow import Record
from bot.storage.conversations import Conversation
from bot.storage.pathway import NewOutcome, NewStep

_FIXED_OUTCOME = {flow.HEARING: "hearing", flow.SAO_ORDER: "order"}


def _day(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _superseded(draft: dict[str, object], source: str) -> int | None:
    """The entry a correction's draft supersedes, when it is of this source."""
    old = draft.get(flow.SUPERSEDES)
    return old if isinstance(old, int) and draft.get(flow.CORRECTS) == source else None


def new_entry(talk: Conversation, record: Record) -> NewStep | NewOutcome | None:
    """The draft as the entry to save (None: the step an outcome was for has had one
    meanwhile)."""
    draft = talk.data
    assert talk.pupil_id is not None
    what = draft[flow.WHAT]
    on = date.fromisoformat(draft[flow.DATE])
    if what in flow.STEP_WHATS:
        return NewStep(pupil_id=talk.pupil_id, kind=what, step_date=on,
                       parents=flow.chosen_parents(draft), review_date=_day(draft.get(flow.REVIEW)),
                       period_weeks=draft.get(flow.WEEKS), section=draft.get(flow.SECTION),
                       reason=draft.get(flow.REASON) if draft.get(flow.NEEDS_REASON) else None,
                       supersedes=_superseded(draft, flow.STEP_SOURCE))
    target = record.target(draft.get(flow.TARGET))
    outcome = _FIXED_OUTCOME.get(what) or draft.get(flow.OUTCOME)
    if target is None or outcome not in target.outcomes:
        return None
    return NewOutcome(step_id=target.step_id, outcome=str(outcome), outcome_date=on,
                      contact_id=target.contact_id,
                      detail=draft.get(flow.DETAIL) if flow.DETAIL in flow.sequence(draft)
                      else None, supersedes=_superseded(draft, flow.OUTCOME_SOURCE))
