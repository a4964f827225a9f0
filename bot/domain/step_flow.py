"""The /step conversation's steps and the checks on each answer (no I/O).

/step records one attendance-pathway step or outcome (CASEWORK.md §1). The first
answer, `what`, is one of WHATS: a step (support plan … school attendance order
notice) or an outcome of a step on record. It decides which steps follow (SEQUENCES).
The draft is a dict of answers keyed by step: `what`, `parents` (contact ids),
`date`, `review` (ISO dates), `weeks` (3 to 6), `section`, `reason`, `target` (the
step on record an outcome belongs to, `<step id>` or `<step id>.<contact id>`),
`outcome`, `detail` (typed, for a withdrawal or a hearing), and beside them the
target's date (`since`) and a flag that a parent's referral needs a reason.

What the officer may choose among depends on the pupil's record: `Record` is that
record as read for the flow (contacts with parental responsibility, steps awaiting an
outcome, notices on record, whether the penalty-notice rule holds today).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from typing import Any

from bot.domain import penalty_notices as rules
from bot.domain.dates import parse_chat_date
from bot.domain.penalty_notices import Eligibility, Notice

PUPIL, WHAT, TARGET, OUTCOME, PARENTS, DATE, REVIEW, WEEKS, SECTION, REASON, DETAIL = (
    "pupil", "what", "target", "outcome", "parents", "date", "review", "weeks", "section",
    "reason", "detail")
SUMMARY, CHANGE = "summary", "change"
SINCE, NEEDS_REASON, RETURNING, PARENTS_DONE = (
    "since", "needs_reason", "returning", "parents_done")
# A correction's draft: the entry it supersedes and its source (STEP_SOURCE or
# OUTCOME_SOURCE, as the chronology names them), and the old entry's date.
SUPERSEDES, CORRECTS, CORRECTS_DATE = "supersedes", "corrects", "corrects_date"
STEP_SOURCE, OUTCOME_SOURCE = "step", "outcome"

# What can be recorded: the steps, then the outcomes of a step on record.
SUPPORT_PLAN, CONTRACT, NTI, PN_REFERRAL = "support_plan", "contract", "nti", "pn_referral"
PROSECUTION, ESO, SAO = "prosecution", "eso", "sao"
PN_OUTCOME, HEARING, ESO_DECISION, SAO_ORDER = "pn_outcome", "hearing", "eso_decision", "order"
STEP_WHATS = (SUPPORT_PLAN, CONTRACT, NTI, PN_REFERRAL, PROSECUTION, ESO, SAO)
OUTCOME_WHATS = (PN_OUTCOME, HEARING, ESO_DECISION, SAO_ORDER)
WHATS = STEP_WHATS + OUTCOME_WHATS
# The kind of step each outcome belongs to, and the outcome each kind of step takes.
STEP_OF = {PN_OUTCOME: PN_REFERRAL, HEARING: PROSECUTION, ESO_DECISION: ESO, SAO_ORDER: SAO}
OUTCOME_OF = {kind: what for what, kind in STEP_OF.items()}

SEQUENCES: dict[str, tuple[str, ...]] = {
    SUPPORT_PLAN: (DATE, REVIEW),
    CONTRACT: (PARENTS, DATE, REVIEW),
    NTI: (PARENTS, DATE, WEEKS),
    PN_REFERRAL: (PARENTS, DATE, REASON),
    PROSECUTION: (SECTION, DATE),
    ESO: (DATE,),
    SAO: (DATE,),
    PN_OUTCOME: (TARGET, OUTCOME, DETAIL, DATE),
    HEARING: (TARGET, DETAIL, DATE),
    ESO_DECISION: (TARGET, OUTCOME, DATE),
    SAO_ORDER: (TARGET, DATE),
}

SECTIONS = (("444(1)", "Section 444(1)"), ("444(1A)", "Section 444(1A)"))
WEEK_CHOICES = tuple((str(weeks), f"{weeks} weeks") for weeks in rules.IMPROVEMENT_WEEKS)
NOTICE_OUTCOMES = (("issued", "Issued"), ("paid", "Paid"), ("withdrawn", "Withdrawn"),
                   ("unpaid", "Unpaid"))
ESO_OUTCOMES = (("granted", "Granted"), ("refused", "Refused"))
DETAIL_MAX = 200

# Button choices beside the vocabularies.
TODAY, YESTERDAY, KEEP, DEFAULT, DONE = "today", "yesterday", "keep", "default", "done"
BACK = "back"


class Problem(Enum):
    """Why an answer was not taken; the handler words the hint."""

    CHOOSE = "choose"
    NOT_A_DATE = "not_a_date"
    FUTURE = "future"
    FUTURE_NO_YEAR = "future_no_year"  # DD/MM read as this year, in the future
    BEFORE_START = "before_start"
    BEFORE_START_NO_YEAR = "before_start_no_year"  # DD/MM read as this year, too early
    NO_PARENT = "no_parent"
    THIRD_NOTICE = "third_notice"
    DETAIL_EMPTY = "detail_empty"
    DETAIL_TOO_LONG = "detail_too_long"


class AnswerProblem(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Parent:
    contact_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Target:
    """A step on record an outcome can be recorded for (for a penalty-notice referral,
    one per parent: `contact_id`), with the outcomes it can take now."""

    key: str  # "<step id>" or "<step id>.<contact id>"
    what: str  # the outcome's WHATS member
    step_id: int
    step_date: date
    contact_id: int | None
    contact_name: str | None
    issued: date | None  # a penalty notice's issue date
    outcomes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """The pupil's record as the flow reads it (bot/storage/pathway.step_record)."""

    parents: tuple[Parent, ...] = ()
    targets: tuple[Target, ...] = ()
    notices: tuple[Notice, ...] = field(default=())
    rule_holds: bool = False

    def eligibility(self, contact_id: int, today: date) -> Eligibility:
        return rules.eligibility(self.notices, contact_id, today)

    def referrals_awaiting(self, contact_id: int, *, besides: int | None = None
                           ) -> tuple[date, ...]:
        """The dates of this parent's penalty-notice referrals awaiting their Issued
        outcome (current, neither Issued nor Withdrawn recorded), but the step `besides`."""
        return tuple(t.step_date for t in self.targets
                     if t.what == PN_OUTCOME and t.issued is None
                     and t.contact_id == contact_id and t.step_id != besides)

    def reason_required(self, contact_id: int, today: date) -> bool:
        return rules.reason_required(self.notices, contact_id, today, rule_holds=self.rule_holds)

    def target(self, key: object) -> Target | None:
        return next((t for t in self.targets if t.key == key), None)

    def name_of(self, contact_id: int) -> str:
        return next((p.name for p in self.parents if p.contact_id == contact_id), "")

    def prosecution_offered(self, today: date) -> bool:
        """A prosecution referral is offered when a notice is unpaid or a third would be
        needed (CASEWORK.md §1)."""
        unpaid = any(n.kind == "pn" and n.outcome == "unpaid" for n in self.notices)
        return unpaid or any(not self.eligibility(n.contact_id, today).allowed
                             for n in self.notices)

    def offered(self, today: date) -> tuple[str, ...]:
        """What can be recorded now: every step (a prosecution referral only when
        offered), and the outcomes some step on record awaits."""
        awaiting = {t.what for t in self.targets}
        return tuple(what for what in WHATS
                     if (what in STEP_WHATS and (what != PROSECUTION
                                                 or self.prosecution_offered(today)))
                     or what in awaiting)


def sequence(draft: Mapping[str, Any]) -> tuple[str, ...]:
    """The steps this draft asks, in order (a reason only when a parent needs one, a
    detail only for a withdrawal or a hearing)."""
    steps = SEQUENCES.get(str(draft.get(WHAT)), ())
    return tuple(step for step in steps
                 if not (step == REASON and not draft.get(NEEDS_REASON))
                 and not (step == DETAIL and draft.get(WHAT) == PN_OUTCOME
                          and draft.get(OUTCOME) != "withdrawn"))


def answered(step: str, draft: Mapping[str, Any]) -> bool:
    if step == PARENTS:
        return parents_answered(draft)
    return draft.get(step) is not None


def step_after(step: str, draft: Mapping[str, Any]) -> str:
    """The next step: in order, or, coming back from the summary's Change, the first
    unanswered one (then the summary)."""
    steps = sequence(draft)
    if step == WHAT:
        return steps[0] if steps else SUMMARY
    if draft.get(RETURNING) or step not in steps:
        return next((s for s in steps if not answered(s, draft)), SUMMARY)
    following = steps[steps.index(step) + 1:]
    return following[0] if following else SUMMARY


def is_complete(draft: Mapping[str, Any]) -> bool:
    return draft.get(WHAT) in WHATS and all(answered(s, draft) for s in sequence(draft))


def changeable(draft: Mapping[str, Any]) -> tuple[str, ...]:
    """The steps the summary's Change offers (the choice of what is recorded is not:
    Cancel and start again for something else; nor, correcting an outcome, the step it
    is for or the outcome itself, which a correction keeps)."""
    if draft.get(SUPERSEDES):
        return tuple(s for s in sequence(draft) if s not in (TARGET, OUTCOME))
    return sequence(draft)


def is_correction(draft: Mapping[str, Any]) -> bool:
    return bool(draft.get(SUPERSEDES))


def step_draft(entry_id: int, kind: str, on: date, *, parents: Sequence[int] = (),
               review: date | None = None, weeks: int | None = None,
               section: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """A correction's draft holding a saved step's answers (CASEWORK.md §1: a
    correction is a new entry superseding the old one)."""
    draft: dict[str, Any] = {WHAT: kind, DATE: on.isoformat(), SUPERSEDES: entry_id,
                             CORRECTS: STEP_SOURCE, CORRECTS_DATE: on.isoformat()}
    if PARENTS in SEQUENCES[kind]:
        draft.update({PARENTS: list(parents), PARENTS_DONE: True})
    if review is not None and REVIEW in SEQUENCES[kind]:
        draft[REVIEW] = review.isoformat()
    if weeks is not None:
        draft[WEEKS] = weeks
    if section is not None:
        draft[SECTION] = section
    if kind == PN_REFERRAL:
        draft[NEEDS_REASON] = reason is not None
        if reason is not None:
            draft[REASON] = reason
    return draft


def outcome_draft(entry_id: int, target: Target, outcome: str, on: date,
                  detail: str | None) -> dict[str, Any]:
    """A correction's draft holding a saved outcome's answers, for `target` (the step
    it was recorded for, offering only that outcome)."""
    draft: dict[str, Any] = {WHAT: target.what, TARGET: target.key, DATE: on.isoformat(),
                             SINCE: (target.issued or target.step_date).isoformat(),
                             SUPERSEDES: entry_id, CORRECTS: OUTCOME_SOURCE,
                             CORRECTS_DATE: on.isoformat()}
    if OUTCOME in SEQUENCES[target.what]:
        draft[OUTCOME] = outcome
    if detail is not None and DETAIL in sequence(draft):
        draft[DETAIL] = detail
    return draft


def choices(step: str, draft: Mapping[str, Any], record: Record,
            today: date) -> tuple[tuple[str, str], ...]:
    """The (code, label) buttons of a vocabulary step for this draft."""
    if step == SECTION:
        return SECTIONS
    if step == WEEKS:
        return WEEK_CHOICES
    if step == REASON:
        return rules.REFERRAL_REASONS
    if step == OUTCOME:
        target = record.target(draft.get(TARGET))
        vocabulary = ESO_OUTCOMES if draft.get(WHAT) == ESO_DECISION else NOTICE_OUTCOMES
        allowed = target.outcomes if target else ()
        return tuple((code, label) for code, label in vocabulary if code in allowed)
    return ()


def apply_choice(step: str, choice: str, draft: Mapping[str, Any], record: Record,
                 today: date) -> dict[str, Any]:
    """The draft after a button press at `step`; AnswerProblem when `choice` is not one
    of that step's buttons now (button data is untrusted)."""
    updated = dict(draft)
    if step == WHAT:
        if choice not in record.offered(today):
            raise AnswerProblem(Problem.CHOOSE)
        return {WHAT: choice}
    if step == TARGET:
        target = record.target(choice)
        if target is None or target.what != draft.get(WHAT):
            raise AnswerProblem(Problem.CHOOSE)
        updated.update({TARGET: choice, SINCE: (target.issued or target.step_date).isoformat()})
        updated.pop(OUTCOME, None)
        return updated
    if step == PARENTS:
        return _apply_parent(choice, updated, record, today)
    if step == DETAIL and choice == KEEP and draft.get(DETAIL):
        return updated
    if step in (DATE, REVIEW):
        return _apply_date_choice(step, choice, updated, today)
    if choice not in {code for code, _ in choices(step, draft, record, today)}:
        raise AnswerProblem(Problem.CHOOSE)
    updated[step] = int(choice) if step == WEEKS else choice
    if step == OUTCOME:
        if choice != "withdrawn" and draft.get(WHAT) == PN_OUTCOME:
            updated.pop(DETAIL, None)
        target = record.target(draft.get(TARGET))
        if target is not None:  # Paid, Withdrawn, Unpaid follow the issue date
            updated[SINCE] = (target.step_date if choice == "issued"
                              else target.issued or target.step_date).isoformat()
    return updated


def _apply_parent(choice: str, draft: dict[str, Any], record: Record,
                  today: date) -> dict[str, Any]:
    """A parent's button toggles them; Done goes on once at least one is chosen."""
    chosen = [int(c) for c in draft.get(PARENTS) or []]
    if choice == DONE:
        if not chosen:
            raise AnswerProblem(Problem.NO_PARENT)
        if draft.get(WHAT) == PN_REFERRAL:
            draft[NEEDS_REASON] = any(record.reason_required(c, today) for c in chosen)
            if not draft[NEEDS_REASON]:
                draft.pop(REASON, None)
        draft[PARENTS_DONE] = True
        return draft
    if not choice.isdigit() or int(choice) not in {p.contact_id for p in record.parents}:
        raise AnswerProblem(Problem.CHOOSE)
    contact = int(choice)
    if contact in chosen:
        chosen.remove(contact)
    elif draft.get(WHAT) == PN_REFERRAL and not record.eligibility(contact, today).allowed:
        raise AnswerProblem(Problem.THIRD_NOTICE)
    else:
        chosen.append(contact)
    draft[PARENTS] = chosen
    draft.pop(PARENTS_DONE, None)
    return draft


def _apply_date_choice(step: str, choice: str, draft: dict[str, Any],
                       today: date) -> dict[str, Any]:
    if step == DATE and choice in (TODAY, YESTERDAY):
        day = today if choice == TODAY else today - timedelta(days=1)
        return _set_date(step, day, draft, today)
    if step == REVIEW and choice == DEFAULT and draft.get(DATE):
        return _set_date(step, default_review(draft), draft, today)
    if choice == KEEP and draft.get(step):
        return draft
    raise AnswerProblem(Problem.CHOOSE)


def default_review(draft: Mapping[str, Any]) -> date:
    """The review date offered: 6 weeks after the start."""
    return rules.support_review_date(date.fromisoformat(draft[DATE]))


def _set_date(step: str, day: date, draft: dict[str, Any], today: date) -> dict[str, Any]:
    if step == DATE:
        if day > today:
            raise AnswerProblem(Problem.FUTURE)
        since = draft.get(SINCE)
        if since and day < date.fromisoformat(since):
            raise AnswerProblem(Problem.BEFORE_START)
        draft[DATE] = day.isoformat()
        review = draft.get(REVIEW)
        if review and review < draft[DATE]:
            draft.pop(REVIEW)
        return draft
    if day < date.fromisoformat(draft[DATE]):
        raise AnswerProblem(Problem.BEFORE_START)
    draft[REVIEW] = day.isoformat()
    return draft


# The date step's buttons, typed (a button's label typed counts as pressing it).
_TYPED_DAYS = {"today": TODAY, "yesterday": YESTERDAY}


def apply_text(step: str, text: str, draft: Mapping[str, Any], record: Record,
               today: date) -> dict[str, Any]:
    """The draft after a typed answer: a date at a date step, the detail, or a button's
    label typed (as pressing it)."""
    updated = dict(draft)
    if step == DATE and (word := _TYPED_DAYS.get(text.strip().casefold())) is not None:
        return _apply_date_choice(step, word, updated, today)
    if step in (DATE, REVIEW):
        try:
            day = parse_chat_date(text, today)
        except ValueError:
            raise AnswerProblem(Problem.NOT_A_DATE) from None
        try:
            return _set_date(step, day, updated, today)
        except AnswerProblem as problem:
            if text.count("/") == 2 or (step, problem.problem) not in _NO_YEAR:
                raise
            raise AnswerProblem(_NO_YEAR[step, problem.problem]) from None
    if step == DETAIL:
        typed = text.strip()
        if not typed:
            raise AnswerProblem(Problem.DETAIL_EMPTY)
        if len(typed) > DETAIL_MAX:
            raise AnswerProblem(Problem.DETAIL_TOO_LONG)
        updated[DETAIL] = typed
        return updated
    for code, label in choices(step, draft, record, today):
        if label.casefold() == text.strip().casefold():
            return apply_choice(step, code, draft, record, today)
    raise AnswerProblem(Problem.CHOOSE)


# A typed DD/MM is read as this calendar year: a date refused as in the future, or a
# review refused as before the start, gets the hint to type the year (last year's date,
# next year's review).
_NO_YEAR = {(DATE, Problem.FUTURE): Problem.FUTURE_NO_YEAR,
            (REVIEW, Problem.BEFORE_START): Problem.BEFORE_START_NO_YEAR}


def chosen_parents(draft: Mapping[str, Any]) -> tuple[int, ...]:
    return tuple(int(c) for c in draft.get(PARENTS) or [])


def parents_answered(draft: Mapping[str, Any]) -> bool:
    return bool(draft.get(PARENTS_DONE)) and bool(draft.get(PARENTS))


def eligibility_lines(draft: Mapping[str, Any], record: Record,
                      today: date) -> Sequence[tuple[str, Eligibility]]:
    """Each chosen parent's name and what a notice to them would be."""
    return [(record.name_of(c), record.eligibility(c, today)) for c in chosen_parents(draft)]


def referrals_awaiting(draft: Mapping[str, Any], record: Record,
                       contact_id: int) -> tuple[date, ...]:
    """The dates of this parent's referrals awaiting their Issued outcome, shown beside
    the count before another referral; correcting a referral, it is not among them (the
    correction takes its place)."""
    corrected = (int(draft[SUPERSEDES]) if is_correction(draft)
                 and draft.get(CORRECTS) == STEP_SOURCE else None)
    return record.referrals_awaiting(contact_id, besides=corrected)
