"""Saving a sharing decision: the draft read into a NewSharing (only the answers that
apply to it: no basis or condition for a decision not to share, no condition unless SEN
or health was shared, no typed recipient unless Other); the one write transaction is
the use case bot/usecases/sharing.save_sharing."""

from __future__ import annotations

from datetime import date

from bot.domain import sharing as flow
from bot.storage.conversations import Conversation
from bot.storage.sharing import NewSharing


def new_sharing(talk: Conversation) -> NewSharing:
    draft = talk.data
    assert talk.pupil_id is not None

    def answer(step: str) -> str | None:
        return draft.get(step) if flow.applies(step, draft) else None
    return NewSharing(
        pupil_id=talk.pupil_id, recipient=draft[flow.RECIPIENT],
        recipient_other=answer(flow.OTHER), decision=draft[flow.DECISION],
        items=tuple(draft[flow.WHAT_STEP]), lawful_basis=answer(flow.BASIS),
        special_condition=answer(flow.CONDITION), reason=draft[flow.REASON],
        shared_on=date.fromisoformat(draft[flow.DATE]), note=draft.get(flow.NOTE),
        supersedes=draft.get("supersedes"))
