"""A correction's /step draft (CASEWORK.md §1): the saved entry's answers, complete, so
the draft opens at its summary; an outcome's correction keeps its step and outcome."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain import step_flow as flow
from bot.domain.step_flow import Target

ON = date(2026, 11, 20)


@pytest.mark.parametrize(("kind", "fields"), [
    (flow.SUPPORT_PLAN, {"review": date(2027, 1, 1)}),
    (flow.CONTRACT, {"parents": (3,), "review": date(2027, 1, 1)}),
    (flow.NTI, {"parents": (3, 4), "weeks": 4}),
    (flow.PN_REFERRAL, {"parents": (3,), "reason": "holiday"}),
    (flow.PN_REFERRAL, {"parents": (3,)}),
    (flow.PROSECUTION, {"section": "444(1A)"}),
    (flow.ESO, {}),
    (flow.SAO, {}),
])
def test_a_saved_step_s_answers_make_a_complete_draft(kind: str, fields: dict) -> None:
    draft = flow.step_draft(12, kind, ON, **fields)
    assert flow.is_complete(draft)
    assert flow.is_correction(draft)
    assert (draft[flow.SUPERSEDES], draft[flow.CORRECTS]) == (12, flow.STEP_SOURCE)
    assert flow.changeable(draft) == flow.sequence(draft)
    assert (flow.REASON in flow.sequence(draft)) == ("reason" in fields)


def test_an_outcome_s_correction_keeps_its_step_and_outcome() -> None:
    target = Target("5.3", flow.PN_OUTCOME, 5, date(2026, 11, 1), 3, "Jane", date(2026, 11, 2),
                    ("withdrawn",))
    draft = flow.outcome_draft(9, target, "withdrawn", ON, "Sent in error")
    assert flow.is_complete(draft)
    assert (draft[flow.TARGET], draft[flow.OUTCOME], draft[flow.DETAIL]) == (
        "5.3", "withdrawn", "Sent in error")
    assert draft[flow.SINCE] == "2026-11-02"  # not before the notice was issued
    assert flow.changeable(draft) == (flow.DETAIL, flow.DATE)
    hearing = Target("6", flow.HEARING, 6, date(2026, 11, 1), None, None, None, ("hearing",))
    draft = flow.outcome_draft(10, hearing, "hearing", ON, "Fined")
    assert flow.OUTCOME not in draft and flow.is_complete(draft)
    assert flow.changeable(draft) == (flow.DETAIL, flow.DATE)


def test_a_new_draft_is_no_correction() -> None:
    draft = {flow.WHAT: flow.ESO, flow.DATE: ON.isoformat()}
    assert not flow.is_correction(draft)
    assert flow.changeable(draft) == (flow.DATE,)
