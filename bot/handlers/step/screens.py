"""The /step screens, pure: the draft (its pupil, the pupil's record as the flow reads
it, and today) in, text and buttons out. No I/O: tests/handlers/test_step_screens.py
calls them without a bot.

A step's message stays in the chat, so it names the pupil by initials only; a screen
that names parents (the parents, the notice an outcome is for, the summary) is
sensitive and deleted after a while.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from bot.chat import render
from bot.chat.render import keyboard
from bot.domain import penalty_notices as rules
from bot.domain import step_flow as flow
from bot.domain.penalty_notices import Eligibility
from bot.domain.step_flow import Record, Target
from bot.handlers import drafts
from bot.handlers.drafts import MARK, Rows, Screen
from bot.handlers.step.texts import (
    AMOUNT_CLOSED,
    AMOUNT_LINE,
    CORRECTING,
    DATE_HOW,
    DATE_QUESTIONS,
    DETAIL_QUESTIONS,
    ELIGIBILITY_LINE,
    ENDS_LINE,
    FIELD_LABELS,
    HEADER,
    LABEL_BACK,
    LABEL_CANCEL,
    LABEL_CHANGE,
    LABEL_DONE,
    LABEL_IN_6_WEEKS,
    LABEL_KEEP,
    LABEL_SAVE,
    LABEL_TODAY,
    LABEL_YESTERDAY,
    NO_PARENTS,
    OUTCOME_DATE_QUESTIONS,
    PERIOD_ENDS,
    QUESTIONS,
    STEP,
    STEP_NAMES,
    WHAT_LABELS,
)
from bot.storage.conversations import Conversation
from bot.storage.pupils import PupilSummary
from bot.storage.visits import VisitPupil

__all__ = ["Screen", "screen", "target_label"]

_SENSITIVE = frozenset({flow.PARENTS, flow.TARGET, flow.DETAIL, flow.SUMMARY})


def _header(pupil: VisitPupil, draft: Mapping[str, Any]) -> str:
    lines = [HEADER.format(initials=pupil.initials, case_ref=pupil.case_ref)]
    what = draft.get(flow.WHAT)
    if what in WHAT_LABELS:
        lines.append(WHAT_LABELS[what])
    if draft.get(flow.CORRECTS_DATE):
        lines.append(CORRECTING.format(date=render.day(draft[flow.CORRECTS_DATE])))
    return "\n".join(lines)


def target_label(target: Target) -> str:
    """An outcome's button naming the step on record (and the parent a notice is for)."""
    kind = flow.STEP_OF[target.what]
    label = f"{STEP_NAMES[kind]} {render.day(target.step_date)}"
    if target.contact_name:
        label += f" · {target.contact_name}"
    if target.issued:
        label += f" · issued {render.day(target.issued)}"
    return label


def _vocabulary_rows(talk: Conversation, vocabulary: Sequence[tuple[str, str]],
                     per_row: int) -> Rows:
    kept = talk.data.get(talk.step)
    buttons = [(drafts.marked(label, str(kept) == code), STEP.data(talk, talk.step, code))
               for code, label in vocabulary]
    return drafts.rows(buttons, per_row)


def _date_rows(talk: Conversation, today: date) -> Rows:
    """Today and Yesterday (or 6 weeks on, for a review), then a kept date unless one of
    them is that day already (then that one is marked)."""
    draft = talk.data
    if talk.step == flow.DATE:
        offered = [(LABEL_TODAY, flow.TODAY, today),
                   (LABEL_YESTERDAY, flow.YESTERDAY, today - timedelta(days=1))]
    else:
        review = flow.default_review(draft)
        offered = [(LABEL_IN_6_WEEKS.format(date=render.day(review)), flow.DEFAULT, review)]
    kept = draft.get(talk.step)
    kept_day = date.fromisoformat(kept) if kept else None
    buttons = [(drafts.marked(label, day == kept_day), STEP.data(talk, talk.step, choice))
               for label, choice, day in offered]
    rows = drafts.rows(buttons, 2)
    if kept_day is not None and kept_day not in {day for _, _, day in offered}:
        rows.append([(MARK + render.day(kept_day), STEP.data(talk, talk.step, flow.KEEP))])
    return rows


def _parent_rows(talk: Conversation, record: Record, today: date) -> Rows:
    chosen = flow.chosen_parents(talk.data)
    rows = [[(drafts.marked(parent.name, parent.contact_id in chosen),
              STEP.data(talk, flow.PARENTS, str(parent.contact_id)))]
            for parent in record.parents]
    return [*rows, [(LABEL_DONE, STEP.data(talk, flow.PARENTS, flow.DONE))]]


def _keyboard(talk: Conversation, record: Record, today: date) -> Rows:
    step, draft = talk.step, talk.data
    if step == flow.WHAT:
        offered = [(what, WHAT_LABELS[what]) for what in record.offered(today)]
        return _vocabulary_rows(talk, offered, 2)
    if step == flow.TARGET:
        targets = [(t.key, target_label(t)) for t in record.targets
                   if t.what == draft.get(flow.WHAT)]
        return _vocabulary_rows(talk, targets, 1)
    if step == flow.PARENTS:
        return _parent_rows(talk, record, today)
    if step in (flow.DATE, flow.REVIEW):
        return _date_rows(talk, today)
    if step == flow.DETAIL:
        if draft.get(flow.DETAIL):
            return [[(MARK + LABEL_KEEP, STEP.data(talk, step, flow.KEEP))]]
        return []
    if step == flow.SUMMARY:
        return drafts.summary_rows(STEP, talk, (LABEL_SAVE, LABEL_CHANGE, LABEL_CANCEL))
    if step == flow.CHANGE:
        fields = [(field, FIELD_LABELS[field]) for field in flow.changeable(draft)]
        return drafts.change_rows(STEP, talk, fields, LABEL_BACK)
    return _vocabulary_rows(talk, flow.choices(step, draft, record, today), 2)


def _question(talk: Conversation, record: Record, today: date) -> str:
    step, draft = talk.step, talk.data
    what = draft.get(flow.WHAT)
    if step == flow.DATE:
        asked = (OUTCOME_DATE_QUESTIONS.get(str(draft.get(flow.OUTCOME)))
                 or DATE_QUESTIONS.get(str(what)))
        return (asked + DATE_HOW) if asked else QUESTIONS[step]
    if step == flow.DETAIL:
        kept = draft.get(flow.DETAIL)
        asked = DETAIL_QUESTIONS.get(str(what), QUESTIONS[step])
        return f"{asked}\nSo far: {kept}" if kept else asked
    if step == flow.PARENTS:
        if not record.parents:
            return NO_PARENTS
        if what == flow.PN_REFERRAL:
            lines = [line for p in record.parents for line in _eligibility(
                p.name, record.eligibility(p.contact_id, today), draft, record)]
            return "\n".join([QUESTIONS[step], "", *lines])
    return QUESTIONS[step]


def _value(step: str, draft: Mapping[str, Any], record: Record) -> str:
    value = draft.get(step)
    if value is None:  # asked since (a reason found needed at Save)
        return "–"
    if step in (flow.DATE, flow.REVIEW):
        return render.day(value)
    if step == flow.PARENTS:
        return ", ".join(record.name_of(c) for c in flow.chosen_parents(draft))
    if step == flow.TARGET:
        target = record.target(value)
        return target_label(target) if target else "–"
    if step == flow.WEEKS and draft.get(flow.DATE):
        end = rules.improvement_period_end(date.fromisoformat(draft[flow.DATE]), int(value))
        return PERIOD_ENDS.format(weeks=value, date=render.day(end))
    vocabulary = {flow.SECTION: flow.SECTIONS, flow.WEEKS: flow.WEEK_CHOICES,
                  flow.REASON: rules.REFERRAL_REASONS,
                  flow.OUTCOME: flow.NOTICE_OUTCOMES + flow.ESO_OUTCOMES}.get(step)
    if vocabulary:
        return next((label for code, label in vocabulary if code == str(value)), str(value))
    return str(value)


def _consequences(draft: Mapping[str, Any], record: Record, today: date) -> list[str]:
    """What the law makes of it, shown before Save: each parent's notice count for a
    referral, the amount of a notice paid, the end of an order granted."""
    what, outcome = draft.get(flow.WHAT), draft.get(flow.OUTCOME)
    if what == flow.PN_REFERRAL:
        return [line for name, item in flow.eligibility_lines(draft, record, today)
                for line in _eligibility(name, item, draft, record)]
    if what == flow.PN_OUTCOME and outcome == "paid" and draft.get(flow.DATE):
        amount = amount_paid(draft, record)
        return [AMOUNT_CLOSED if amount is None else AMOUNT_LINE.format(amount=amount)]
    if what == flow.ESO_DECISION and outcome == "granted" and draft.get(flow.DATE):
        end = rules.eso_end_date(date.fromisoformat(draft[flow.DATE]))
        return [ENDS_LINE.format(date=render.day(end))]
    return []


def _eligibility(name: str, item: Eligibility, draft: Mapping[str, Any],
                 record: Record) -> list[str]:
    """A parent's count as a referral would make it, and a line for any referral of
    theirs still awaiting its Issued outcome (not counted: not a notice until issued)."""
    lines = [ELIGIBILITY_LINE.format(name=name, text=item.text)]
    awaiting = flow.referrals_awaiting(draft, record, item.contact_id)
    text = rules.awaiting_text([render.day(on) for on in awaiting])
    if text is not None:
        lines.append(ELIGIBILITY_LINE.format(name=name, text=text))
    return lines


def amount_paid(draft: Mapping[str, Any], record: Record) -> int | None:
    """The amount a notice paid on the draft's date came to (None: paid too late)."""
    target = record.target(draft.get(flow.TARGET))
    if target is None or target.issued is None or target.contact_id is None:
        return None
    notice = next((n for n in record.notices if n.kind == "pn"
                   and n.contact_id == target.contact_id and n.issued == target.issued), None)
    ordinal = 1 if notice is None else rules.ordinal_at_issue(record.notices, notice)
    paid = date.fromisoformat(draft[flow.DATE])
    if paid < target.issued:
        return None
    return rules.amount_due(ordinal, target.issued, paid)


def _summary_text(pupil: VisitPupil, draft: Mapping[str, Any], record: Record,
                  today: date) -> str:
    lines = [_header(pupil, draft), ""]
    for step in flow.sequence(draft):
        lines.append(f"{FIELD_LABELS[step]}: {_value(step, draft, record)}")
    extra = _consequences(draft, record, today)
    if extra:
        lines += ["", *extra]
    return "\n".join([*lines, "", QUESTIONS[flow.SUMMARY]])


def screen(talk: Conversation, pupil: VisitPupil | None, record: Record | None, *,
           today: date, hint: str | None = None, choices: Sequence[PupilSummary] = (),
           several: bool = False) -> Screen:
    """The current step of `talk` (the pupil step lists `choices`: `several` matches of
    a search, or the officer's most urgent pupils), as of `today`."""
    prefix = f"{hint}\n\n" if hint else ""
    if talk.step == flow.PUPIL or pupil is None or record is None:
        return drafts.choose_pupil(STEP, talk, flow.PUPIL, choices, hint=hint, several=several)
    rows = _keyboard(talk, record, today)
    if talk.step == flow.SUMMARY:
        text = _summary_text(pupil, talk.data, record, today)
    else:
        text = f"{_header(pupil, talk.data)}\n\n{_question(talk, record, today)}"
    return Screen(prefix + text, keyboard(rows) if rows else None,
                  sensitive=talk.step in _SENSITIVE)
