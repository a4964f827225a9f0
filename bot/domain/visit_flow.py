"""The /visit conversation's steps, in order, and the checks on each answer (no I/O).

A draft is a dict of answers keyed by step: `type`, `contact`, `reason`, `action`
(vocabulary codes), `date` and `follow_up` (ISO dates; `follow_up` None for none),
`notes` (text or None), and a few flags beside them (see DATE_UNCONFIRMED). A step
answered again (a correction walks every step with the earlier answers kept; the
summary's Change goes back to one) simply replaces its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import Enum
from typing import Any

from bot.domain.dates import parse_chat_date
from bot.domain.visits import (
    ABSENCE_REASONS,
    ACTIONS,
    CONTACT_OUTCOMES,
    NO_CONTACT_TYPES,
    VISIT_TYPES,
    code_for_label,
)

PUPIL, TYPE, DATE, CONTACT, REASON, ACTION, FOLLOW_UP, NOTES, SUMMARY = (
    "pupil", "type", "date", "contact", "reason", "action", "follow_up", "notes", "summary")
STEPS = (PUPIL, TYPE, DATE, CONTACT, REASON, ACTION, FOLLOW_UP, NOTES, SUMMARY)
# Steps within steps, outside the spec's list: the check of a visit date over 28 days
# ago (part of the date step), and the summary's Change (which step to go back to).
DATE_CHECK, CHANGE = "date_check", "change"
# What the summary's Change can go back to (a letter has no contact step).
CHANGEABLE = (TYPE, DATE, CONTACT, REASON, ACTION, FOLLOW_UP, NOTES)

NOTES_MAX = 4096
CONFIRM_OLDER_THAN = timedelta(days=28)  # a visit date further back is asked again
NO_REPLY, NOT_KNOWN = "noreply", "unknown"

# Draft keys beside the answers: the date waits for its check; a step changed from
# the summary goes back to the summary once every step is answered again (`goto` is
# where to).
DATE_UNCONFIRMED, RETURNING, GOTO = "date_unconfirmed", "returning", "goto"
# Only in drafts kept from before the reason was asked after no reply (they were given
# Not known without asking): that Not known stands as answered, and goes when the type
# or the contact is answered again, so that the reason is then asked.
REASON_SKIPPED = "reason_skipped"

# Steps answered from a fixed vocabulary (a typed label counts as pressing its button).
VOCABULARIES: dict[str, tuple[tuple[str, str], ...]] = {
    TYPE: VISIT_TYPES,
    CONTACT: CONTACT_OUTCOMES,
    REASON: ABSENCE_REASONS,
    ACTION: ACTIONS,
}

# Button choices of the date steps; KEEP keeps the value a correction started with.
TODAY, YESTERDAY, KEEP = "today", "yesterday", "keep"
IN_1_WEEK, IN_2_WEEKS, NONE = "1w", "2w", "none"
SKIP = "skip"
YES, CHANGE_DATE = "yes", "change"  # the date check's choices
BACK = "back"  # Change's way back to the summary, changing nothing

_TYPED_WORDS: dict[str, dict[str, str]] = {
    DATE: {"today": TODAY, "yesterday": YESTERDAY},
    FOLLOW_UP: {"in 1 week": IN_1_WEEK, "in 2 weeks": IN_2_WEEKS, "none": NONE},
}


class Problem(Enum):
    """Why an answer was not taken; the handler words the hint."""

    CHOOSE = "choose"  # not one of this step's choices
    NOT_A_DATE = "not_a_date"
    FUTURE_VISIT = "future_visit"
    FUTURE_VISIT_NO_YEAR = "future_visit_no_year"  # DD/MM read as this year, in the future
    PAST_FOLLOW_UP = "past_follow_up"
    PAST_FOLLOW_UP_NO_YEAR = "past_follow_up_no_year"
    NOTES_TOO_LONG = "notes_too_long"


class AnswerProblem(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def step_after(step: str, draft: Mapping[str, Any]) -> str:
    """The step that follows `step`: a letter has no contact step, an old date is
    checked; going back from the summary, the answered steps after the changed one are
    passed over on the way back to it."""
    if step == CHANGE:
        return str(draft.get(GOTO) or SUMMARY)
    following = _next_in_order(step, draft)
    while draft.get(RETURNING) and following != SUMMARY and answered(following, draft):
        following = _next_in_order(following, draft)
    return following


def _next_in_order(step: str, draft: Mapping[str, Any]) -> str:
    if step == DATE and draft.get(DATE_UNCONFIRMED):
        return DATE_CHECK
    if step == DATE_CHECK:
        if DATE not in draft:  # "change the date"
            return DATE
        if draft.get(DATE_UNCONFIRMED):  # another old date typed at the check
            return DATE_CHECK
        step = DATE
    following = STEPS[STEPS.index(step) + 1]
    if following == CONTACT and draft.get(TYPE) in NO_CONTACT_TYPES:
        following = REASON
    return following


def answered(step: str, draft: Mapping[str, Any]) -> bool:
    """Whether `step` holds an answer (follow-up and notes may be answered with None)."""
    if step in (FOLLOW_UP, NOTES):
        return step in draft
    if step == DATE:
        return draft.get(DATE) is not None and not draft.get(DATE_UNCONFIRMED)
    return draft.get(step) is not None


def is_complete(draft: Mapping[str, Any]) -> bool:
    """Whether every step has been answered, so the draft can be saved."""
    required = [TYPE, DATE, REASON, ACTION, FOLLOW_UP, NOTES]
    if draft.get(TYPE) not in NO_CONTACT_TYPES:
        required.append(CONTACT)
    return all(answered(step, draft) for step in required)


def choices(step: str, draft: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """A vocabulary step's (code, label) choices in the order offered: after no reply,
    Not known comes first at the reason step (nobody was there to say why)."""
    vocabulary = VOCABULARIES[step]
    if step == REASON and draft.get(CONTACT) == NO_REPLY:
        return (*[entry for entry in vocabulary if entry[0] == NOT_KNOWN],
                *[entry for entry in vocabulary if entry[0] != NOT_KNOWN])
    return vocabulary


def changeable(draft: Mapping[str, Any]) -> tuple[str, ...]:
    """The steps the summary's Change offers for this draft."""
    return tuple(step for step in CHANGEABLE
                 if not (step == CONTACT and draft.get(TYPE) in NO_CONTACT_TYPES))


def apply_choice(step: str, choice: str, draft: Mapping[str, Any],
                 today: date) -> dict[str, Any]:
    """The draft after a button press at `step`; AnswerProblem when `choice` is not one
    of that step's buttons (button data is untrusted)."""
    updated = dict(draft)
    if step in VOCABULARIES:
        if choice not in {code for code, _ in VOCABULARIES[step]}:
            raise AnswerProblem(Problem.CHOOSE)
        updated[step] = choice
        _follow_vocabulary_answer(step, choice, updated)
        return updated
    if step == DATE_CHECK and choice in (YES, CHANGE_DATE):
        updated.pop(DATE_UNCONFIRMED, None)
        if choice == CHANGE_DATE:
            updated.pop(DATE, None)
        return updated
    if step == CHANGE and (choice == BACK or choice in changeable(draft)):
        return {**updated, RETURNING: True, GOTO: None if choice == BACK else choice}
    if choice == KEEP and step in (DATE, FOLLOW_UP, NOTES) and step in draft:
        return updated
    if step == DATE and choice in (TODAY, YESTERDAY):
        updated[DATE] = (today - timedelta(days=0 if choice == TODAY else 1)).isoformat()
        updated.pop(DATE_UNCONFIRMED, None)
        return updated
    if step == FOLLOW_UP and choice in (IN_1_WEEK, IN_2_WEEKS, NONE):
        weeks = {IN_1_WEEK: 1, IN_2_WEEKS: 2}.get(choice)
        updated[FOLLOW_UP] = None if weeks is None else (today + timedelta(weeks=weeks)).isoformat()
        return updated
    if step == NOTES and choice == SKIP:
        updated[NOTES] = None
        return updated
    raise AnswerProblem(Problem.CHOOSE)


def _follow_vocabulary_answer(step: str, choice: str, updated: dict[str, Any]) -> None:
    """What an answer changes elsewhere in the draft (in place)."""
    if step == TYPE and choice in NO_CONTACT_TYPES:
        updated[CONTACT] = None
    elif step == TYPE and updated.get(CONTACT, "") is None:
        del updated[CONTACT]  # was a letter: the contact step must be answered now
    # An older draft's Not known after no reply was never asked (REASON_SKIPPED): the
    # type or contact answered again, the reason is asked now; answered, it is kept.
    if step in (TYPE, CONTACT) and updated.pop(REASON_SKIPPED, False):
        updated.pop(REASON, None)
    elif step == REASON:
        updated.pop(REASON_SKIPPED, None)


def apply_text(step: str, text: str, draft: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The draft after typed text at `step`; AnswerProblem with the reason otherwise."""
    typed = " ".join(text.split())
    if step in VOCABULARIES:
        code = code_for_label(VOCABULARIES[step], typed)
        if code is None:
            raise AnswerProblem(Problem.CHOOSE)
        return apply_choice(step, code, draft, today)
    if step in _TYPED_WORDS and typed.casefold() in _TYPED_WORDS[step]:
        return apply_choice(step, _TYPED_WORDS[step][typed.casefold()], draft, today)
    if step in (DATE, DATE_CHECK):  # at the check, a typed date replaces the old one
        when = _visit_date(typed, today)
        updated = {**draft, DATE: when.isoformat()}
        updated.pop(DATE_UNCONFIRMED, None)
        if today - when > CONFIRM_OLDER_THAN:
            updated[DATE_UNCONFIRMED] = True
        return updated
    if step == FOLLOW_UP:
        return {**draft, FOLLOW_UP: _follow_up(typed, today).isoformat()}
    if step == NOTES:
        notes = text.strip()
        if len(notes) > NOTES_MAX:
            raise AnswerProblem(Problem.NOTES_TOO_LONG)
        return {**draft, NOTES: notes}
    raise AnswerProblem(Problem.CHOOSE)


def _typed_date(text: str, today: date) -> tuple[date, bool]:
    """The date and whether the year was typed."""
    try:
        when = parse_chat_date(text, today)
    except ValueError:
        raise AnswerProblem(Problem.NOT_A_DATE) from None
    return when, text.count("/") == 2


def _visit_date(text: str, today: date) -> date:
    when, with_year = _typed_date(text, today)
    if when > today:
        raise AnswerProblem(Problem.FUTURE_VISIT if with_year else Problem.FUTURE_VISIT_NO_YEAR)
    return when


def _follow_up(text: str, today: date) -> date:
    when, with_year = _typed_date(text, today)
    if when < today:
        raise AnswerProblem(
            Problem.PAST_FOLLOW_UP if with_year else Problem.PAST_FOLLOW_UP_NO_YEAR)
    return when

