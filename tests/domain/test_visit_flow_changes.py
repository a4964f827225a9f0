"""The /visit steps added within the spec's list: an old date's check, no reply's
reason (asked, Not known first; an older draft's unasked Not known), and the summary's
Change back to any step."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.domain import visit_flow as flow
from bot.domain.visit_flow import AnswerProblem

TODAY = date(2026, 11, 25)
FULL: dict[str, Any] = {"type": "home", "date": "2026-11-24", "contact": "parent",
                        "reason": "illness", "action": "nfa", "follow_up": None,
                        "notes": None}


def walk(draft: dict[str, Any], start: str = flow.TYPE) -> list[str]:
    order, step = [], start
    while step != flow.SUMMARY:
        order.append(step)
        step = flow.step_after(step, draft)
    return order


def test_a_date_over_28_days_ago_is_checked_and_may_be_changed() -> None:
    recent = flow.apply_text(flow.DATE, "28/10/2026", {"type": "home"}, TODAY)  # 28 days
    assert flow.DATE_UNCONFIRMED not in recent
    assert flow.step_after(flow.DATE, recent) == flow.CONTACT
    old = flow.apply_text(flow.DATE, "01/01/2020", {"type": "home"}, TODAY)
    assert old[flow.DATE] == "2020-01-01" and old[flow.DATE_UNCONFIRMED]
    assert flow.step_after(flow.DATE, old) == flow.DATE_CHECK
    assert not flow.is_complete({**FULL, **old})
    kept = flow.apply_choice(flow.DATE_CHECK, flow.YES, old, TODAY)
    assert kept == {"type": "home", "date": "2020-01-01"}
    assert flow.step_after(flow.DATE_CHECK, kept) == flow.CONTACT
    redo = flow.apply_choice(flow.DATE_CHECK, flow.CHANGE_DATE, old, TODAY)
    assert redo == {"type": "home"}
    assert flow.step_after(flow.DATE_CHECK, redo) == flow.DATE
    # Answering the date again with a recent one clears the check.
    assert flow.DATE_UNCONFIRMED not in flow.apply_choice(flow.DATE, flow.TODAY, old, TODAY)
    with pytest.raises(AnswerProblem):
        flow.apply_choice(flow.DATE_CHECK, "maybe", old, TODAY)
    # A date typed at the check replaces the old one, and is checked in its turn.
    typed = flow.apply_text(flow.DATE_CHECK, "20/11", old, TODAY)
    assert typed == {"type": "home", "date": "2026-11-20"}
    assert flow.step_after(flow.DATE_CHECK, typed) == flow.CONTACT
    older = flow.apply_text(flow.DATE_CHECK, "1/1/2021", old, TODAY)
    assert flow.step_after(flow.DATE_CHECK, older) == flow.DATE_CHECK
    with pytest.raises(AnswerProblem):
        flow.apply_text(flow.DATE_CHECK, "yes please", old, TODAY)


@pytest.mark.parametrize("contact", [code for code, _ in flow.VOCABULARIES[flow.CONTACT]])
def test_the_reason_is_asked_after_every_contact_answer(contact: str) -> None:
    draft = flow.apply_choice(flow.CONTACT, contact, {"type": "home", "date": "2026-11-24"},
                              TODAY)
    assert draft == {"type": "home", "date": "2026-11-24", "contact": contact}
    assert flow.step_after(flow.CONTACT, draft) == flow.REASON
    assert walk(draft) == [flow.TYPE, flow.DATE, flow.CONTACT, flow.REASON, flow.ACTION,
                           flow.FOLLOW_UP, flow.NOTES]


def test_after_no_reply_not_known_is_offered_first() -> None:
    reasons = flow.VOCABULARIES[flow.REASON]
    no_reply = flow.choices(flow.REASON, {"contact": flow.NO_REPLY})
    assert no_reply[0] == (flow.NOT_KNOWN, "Not known")
    assert sorted(no_reply) == sorted(reasons)
    assert [code for code, _ in no_reply[1:]] == [code for code, _ in reasons[:-1]]
    assert flow.choices(flow.REASON, {"contact": "child"}) == reasons
    # A reason chosen stays when the contact changes.
    chosen = flow.apply_choice(flow.REASON, "illness", {"contact": flow.NO_REPLY}, TODAY)
    assert flow.apply_choice(flow.CONTACT, "parent", chosen, TODAY)["reason"] == "illness"


# A draft kept from before the reason was asked after no reply: Not known, never asked.
OLDER: dict[str, Any] = {"type": "home", "date": "2026-11-24", "contact": "noreply",
                         "reason": "unknown", "reason_skipped": True}


def test_an_older_drafts_unasked_not_known_stands_until_the_contact_changes() -> None:
    assert flow.step_after(flow.ACTION, OLDER) == flow.FOLLOW_UP
    later = flow.apply_choice(flow.ACTION, "nfa", OLDER, TODAY)
    done = {**later, "follow_up": None, "notes": None}
    assert flow.is_complete(done) and done["reason"] == flow.NOT_KNOWN
    # From the summary, the contact answered again: the reason is asked, then the summary.
    back = flow.apply_choice(flow.CHANGE, flow.CONTACT, done, TODAY)
    seen = flow.apply_choice(flow.CONTACT, "child", back, TODAY)
    assert "reason" not in seen and flow.REASON_SKIPPED not in seen
    assert flow.step_after(flow.CONTACT, seen) == flow.REASON
    again = flow.apply_choice(flow.CONTACT, flow.NO_REPLY, back, TODAY)
    assert flow.step_after(flow.CONTACT, again) == flow.REASON
    letter = flow.apply_choice(flow.TYPE, "letter", OLDER, TODAY)
    assert "reason" not in letter
    assert flow.step_after(flow.DATE, letter) == flow.REASON
    # The reason step answered: an answer like any other, kept when the contact changes.
    chosen = flow.apply_choice(flow.REASON, flow.NOT_KNOWN, OLDER, TODAY)
    assert flow.REASON_SKIPPED not in chosen
    assert flow.apply_choice(flow.CONTACT, "parent", chosen, TODAY)["reason"] == "unknown"


def test_change_goes_back_to_one_step_then_to_the_summary() -> None:
    back = flow.apply_choice(flow.CHANGE, flow.REASON, FULL, TODAY)
    assert flow.step_after(flow.CHANGE, back) == flow.REASON
    again = flow.apply_choice(flow.REASON, "medical", back, TODAY)
    assert flow.step_after(flow.REASON, again) == flow.SUMMARY
    assert flow.is_complete(again)
    # A letter changed into a home visit must have its contact answered on the way.
    letter = {**FULL, "type": "letter", "contact": None}
    home = flow.apply_choice(flow.TYPE, "home",
                             flow.apply_choice(flow.CHANGE, flow.TYPE, letter, TODAY), TODAY)
    assert walk(home, flow.step_after(flow.TYPE, home)) == [flow.CONTACT]
    # An old date changed from the summary is checked, then back to the summary.
    dated = flow.apply_text(flow.DATE, "01/01/2020",
                            flow.apply_choice(flow.CHANGE, flow.DATE, FULL, TODAY), TODAY)
    assert flow.step_after(flow.DATE, dated) == flow.DATE_CHECK
    confirmed = flow.apply_choice(flow.DATE_CHECK, flow.YES, dated, TODAY)
    assert flow.step_after(flow.DATE_CHECK, confirmed) == flow.SUMMARY
    assert flow.step_after(flow.CHANGE, flow.apply_choice(flow.CHANGE, flow.BACK, FULL,
                                                          TODAY)) == flow.SUMMARY
    assert flow.changeable(letter) == (flow.TYPE, flow.DATE, flow.REASON, flow.ACTION,
                                       flow.FOLLOW_UP, flow.NOTES)
    with pytest.raises(AnswerProblem):
        flow.apply_choice(flow.CHANGE, flow.CONTACT, letter, TODAY)
    with pytest.raises(AnswerProblem):
        flow.apply_choice(flow.CHANGE, flow.SUMMARY, FULL, TODAY)
