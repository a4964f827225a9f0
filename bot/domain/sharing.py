"""The information-sharing log's words and the /share conversation's steps (no I/O).

CASEWORK.md §2: a sharing decision says whom it was with, whether information was
shared, what, on which lawful basis (and, for SEN or health information, which
special-category condition), why, when, and an optional note. A decision not to
share is recorded too: its "what" is what was asked for, and it has no lawful basis
or condition (nothing was disclosed), so those steps are not asked.

A draft is a dict of answers keyed by step: vocabulary codes, `what` a list of codes,
`other` the typed recipient (only with recipient Other), `date` an ISO date, `note`
text or None. The summary's Change goes back to one step; the answered steps after
it are passed over on the way back to the summary (RETURNING), so a changed decision
or "what" asks exactly the steps that now apply and are not answered yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from enum import Enum
from typing import Any

from bot.domain.dates import parse_chat_date
from bot.domain.visits import code_for_label

Vocabulary = tuple[tuple[str, str], ...]

RECIPIENTS: Vocabulary = (
    ("school", "School"), ("social_care", "Children's social care"),
    ("early_help", "Early help"), ("health", "School nurse or health"), ("camhs", "CAMHS"),
    ("police", "Police"), ("housing", "Housing"), ("youth_justice", "Youth justice"),
    ("other_la", "Another local authority"), ("other", "Other"))
DECISIONS: Vocabulary = (("shared", "Shared"), ("not_shared", "Not shared"))
WHAT: Vocabulary = (
    ("attendance", "Attendance"), ("contact", "Contact details"),
    ("sen_health", "SEN or health"), ("visits", "Visit records"),
    ("pathway", "Pathway records"))
BASES: Vocabulary = (
    ("legitimate_interests", "Legitimate interests"), ("public_task", "Public task"),
    ("legal_obligation", "Legal obligation"), ("vital_interests", "Vital interests"),
    ("consent", "Consent"))
CONDITIONS: Vocabulary = (
    ("safeguarding", "Safeguarding of children"), ("statutory", "Statutory purpose"),
    ("explicit_consent", "Explicit consent"), ("vital_interests", "Vital interests"))
REASONS: Vocabulary = (
    ("safeguarding", "Safeguarding"), ("barrier", "Remove a barrier to attendance"),
    ("statutory_request", "Statutory request"), ("referral", "Referral for support"),
    ("other", "Other"))

OTHER_RECIPIENT, SHARED, NOT_SHARED, SPECIAL = "other", "shared", "not_shared", "sen_health"
OTHER_MAX, NOTE_MAX = 100, 1000

PUPIL, RECIPIENT, OTHER, DECISION, WHAT_STEP, BASIS, CONDITION, REASON, DATE, NOTE, SUMMARY = (
    "pupil", "to", "other", "decision", "what", "basis", "condition", "reason", "date", "note",
    "summary")
STEPS = (PUPIL, RECIPIENT, OTHER, DECISION, WHAT_STEP, BASIS, CONDITION, REASON, DATE, NOTE,
         SUMMARY)
CHANGE = "change"  # the summary's Change: which step to go back to
CHANGEABLE = (RECIPIENT, DECISION, WHAT_STEP, BASIS, CONDITION, REASON, DATE, NOTE)
RETURNING = "returning"

VOCABULARIES: dict[str, Vocabulary] = {
    RECIPIENT: RECIPIENTS, DECISION: DECISIONS, BASIS: BASES, CONDITION: CONDITIONS,
    REASON: REASONS}

# Button choices beside the vocabularies' codes.
TODAY, YESTERDAY, KEEP, SKIP, DONE, BACK = "today", "yesterday", "keep", "skip", "done", "back"


class Problem(Enum):
    """Why an answer was not taken; the handler words the hint."""

    CHOOSE = "choose"
    CHOOSE_SOME = "choose_some"  # Done with nothing ticked
    NOT_A_DATE = "not_a_date"
    FUTURE = "future"
    FUTURE_NO_YEAR = "future_no_year"
    OTHER_TOO_LONG = "other_too_long"
    NOTE_TOO_LONG = "note_too_long"


class AnswerProblem(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def applies(step: str, draft: Mapping[str, Any]) -> bool:
    """Whether `step` is asked for this draft: the typed recipient only for Other; the
    basis only when shared; the condition only when SEN or health was shared."""
    if step == OTHER:
        return draft.get(RECIPIENT) == OTHER_RECIPIENT
    if step == BASIS:
        return draft.get(DECISION) == SHARED
    if step == CONDITION:
        return draft.get(DECISION) == SHARED and SPECIAL in (draft.get(WHAT_STEP) or ())
    return True


def answered(step: str, draft: Mapping[str, Any]) -> bool:
    if step == NOTE:
        return NOTE in draft  # None: skipped
    if step == WHAT_STEP:
        return bool(draft.get(WHAT_STEP))
    return draft.get(step) is not None


def step_after(step: str, draft: Mapping[str, Any]) -> str:
    """The step that follows `step` (from Change: back to the summary once every step
    that applies is answered)."""
    following = _next_in_order(step, draft)
    while (draft.get(RETURNING) and following != SUMMARY
           and answered(following, draft)):
        following = _next_in_order(following, draft)
    return following


def _next_in_order(step: str, draft: Mapping[str, Any]) -> str:
    following = STEPS[STEPS.index(step) + 1]
    while not applies(following, draft):
        following = STEPS[STEPS.index(following) + 1]
    return following


def is_complete(draft: Mapping[str, Any]) -> bool:
    """Whether every step that applies is answered, so the draft can be saved."""
    return all(answered(step, draft) for step in STEPS[1:-1] if applies(step, draft))


def changeable(draft: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(step for step in CHANGEABLE if applies(step, draft))


def apply_choice(step: str, choice: str, draft: Mapping[str, Any],
                 today: date) -> dict[str, Any]:
    """The draft after a press at `step`; AnswerProblem when `choice` is not one of the
    step's buttons (button data is untrusted)."""
    updated = dict(draft)
    if step in VOCABULARIES and choice in {code for code, _ in VOCABULARIES[step]}:
        updated[step] = choice
    elif step == WHAT_STEP and choice in {code for code, _ in WHAT}:
        ticked = set(updated.get(WHAT_STEP) or ())
        ticked ^= {choice}
        updated[WHAT_STEP] = [code for code, _ in WHAT if code in ticked]
    elif step == WHAT_STEP and choice == DONE:
        if not updated.get(WHAT_STEP):
            raise AnswerProblem(Problem.CHOOSE_SOME)
    elif step == DATE and choice in (TODAY, YESTERDAY):
        day = today if choice == TODAY else today - timedelta(days=1)
        updated[DATE] = day.isoformat()
    elif step == NOTE and choice == SKIP:
        updated[NOTE] = None
    elif not (choice == KEEP and step in (OTHER, DATE, NOTE) and updated.get(step)):
        raise AnswerProblem(Problem.CHOOSE)
    return updated


def stays(step: str, choice: str) -> bool:
    """Whether the press keeps the draft at its step (ticking what was shared)."""
    return step == WHAT_STEP and choice != DONE


def apply_text(step: str, text: str, draft: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The draft after a typed answer at `step` (a typed button label counts as its
    press, except on the "what" step, whose buttons tick)."""
    updated = dict(draft)
    typed = text.strip()
    if step == OTHER:
        if not typed:
            raise AnswerProblem(Problem.CHOOSE)
        if len(typed) > OTHER_MAX:
            raise AnswerProblem(Problem.OTHER_TOO_LONG)
        updated[OTHER] = typed
    elif step == NOTE:
        if len(typed) > NOTE_MAX:
            raise AnswerProblem(Problem.NOTE_TOO_LONG)
        updated[NOTE] = typed or None
    elif step == DATE:
        updated[DATE] = _typed_date(typed, today).isoformat()
    elif step in VOCABULARIES and (code := code_for_label(VOCABULARIES[step], typed)):
        updated[step] = code
    else:
        raise AnswerProblem(Problem.CHOOSE)
    return updated


def _typed_date(typed: str, today: date) -> date:
    words = {"today": today, "yesterday": today - timedelta(days=1)}
    if typed.lower() in words:
        return words[typed.lower()]
    try:
        day = parse_chat_date(typed, today)
    except ValueError:
        raise AnswerProblem(Problem.NOT_A_DATE) from None
    if day > today:
        no_year = typed.count("/") == 1
        raise AnswerProblem(Problem.FUTURE_NO_YEAR if no_year else Problem.FUTURE)
    return day



def from_entry(recipient: str, recipient_other: str | None, decision: str,
               items: Sequence[str], lawful_basis: str | None, special_condition: str | None,
               reason: str, shared_on: date, note: str | None) -> dict[str, Any]:
    """A draft holding a saved entry's answers (a correction starts at its summary);
    codes no longer in a vocabulary are dropped, so their step must be answered again."""
    draft: dict[str, Any] = {
        RECIPIENT: recipient, DECISION: decision, BASIS: lawful_basis,
        CONDITION: special_condition, REASON: reason, DATE: shared_on.isoformat(),
        NOTE: note, WHAT_STEP: [code for code, _ in WHAT if code in items]}
    if recipient_other:
        draft[OTHER] = recipient_other
    for step, vocabulary in VOCABULARIES.items():
        if draft.get(step) not in {code for code, _ in vocabulary}:
            draft.pop(step, None)
    return draft


def labels(vocabulary: Vocabulary, codes: Sequence[str]) -> list[str]:
    """The labels of `codes` in the vocabulary's order (unknown codes left out)."""
    return [label for code, label in vocabulary if code in codes]


def recipient_label(recipient: str, other: str | None = None) -> str:
    """How a recipient is named: its type, or the typed name for Other."""
    if recipient == OTHER_RECIPIENT and other:
        return f"Other: {other}"
    return dict(RECIPIENTS).get(recipient, recipient)


def describe(what: str) -> str:
    """A chronology line's words for `<decision>:<recipient>` (no typed name: the line
    shows in the chat)."""
    decision, _, recipient = what.partition(":")
    agency = recipient_label(recipient)
    return f"Shared with {agency}" if decision == SHARED else f"Not shared with {agency}"
