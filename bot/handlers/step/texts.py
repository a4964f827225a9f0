"""The /step texts, button labels and choices: every word the pathway flow shows."""

from __future__ import annotations

from bot.domain import pathway_text
from bot.domain import step_flow as flow
from bot.domain.conversation_kinds import ConversationKind
from bot.domain.step_flow import Problem
from bot.handlers.draft_texts import (
    CHANGE_QUESTION,
    HINT_CHOOSE,
    HINT_FUTURE,
    HINT_FUTURE_NO_YEAR,
    HINT_NOT_A_DATE,
    NO_MATCH,
)
from bot.handlers.draft_texts import DATE_HOW as DATE_HOW
from bot.handlers.draft_texts import LABEL_BACK as LABEL_BACK
from bot.handlers.draft_texts import LABEL_CANCEL as LABEL_CANCEL
from bot.handlers.draft_texts import LABEL_CHANGE as LABEL_CHANGE
from bot.handlers.draft_texts import LABEL_CORRECT as LABEL_CORRECT
from bot.handlers.draft_texts import LABEL_DONE as LABEL_DONE
from bot.handlers.draft_texts import LABEL_KEEP as LABEL_KEEP
from bot.handlers.draft_texts import LABEL_SAVE as LABEL_SAVE
from bot.handlers.draft_texts import LABEL_TODAY as LABEL_TODAY
from bot.handlers.draft_texts import LABEL_YESTERDAY as LABEL_YESTERDAY
from bot.handlers.draft_texts import SEVERAL_MATCH as SEVERAL_MATCH
from bot.handlers.drafts import RESUME_STEP, Flow
from bot.storage import pathway as pathway_store

KIND = ConversationKind.STEP
PREFIX = "st"
CORRECT_PREFIX = "stc"  # stc:<step|outcome>:<entry_id>, under a saved entry: correct it

WHAT_LABELS = pathway_text.WHAT_LABELS  # what to record, as /step's buttons name it
STEP_NAMES = pathway_text.TARGET_NAMES  # a step on record, as an outcome's button names it

CHOOSE_PUPIL = "Record a pathway step: choose a pupil, or type a name."
NO_PUPILS = "You have no pupils allocated to you, so there is no step to record."
HEADER = "Pathway step for {initials} ({case_ref})"
QUESTIONS = {
    flow.WHAT: "What do you want to record?",
    flow.TARGET: "Which one is it for?",
    flow.OUTCOME: "What happened?",
    flow.PARENTS: "Which parents? Choose one or more, then Done.",
    flow.DATE: "Date?" + DATE_HOW,
    flow.REVIEW: "Review date?" + DATE_HOW,
    flow.WEEKS: "Improvement period?",
    flow.SECTION: "Under which section?",
    flow.REASON: ("The usual grounds are not all there (the penalty-notice rule, or a "
                  "Notice to Improve to that parent in the last 12 weeks). Why refer?"),
    flow.DETAIL: "Type it (up to 200 characters).",
    flow.SUMMARY: "Save this?",
    flow.CHANGE: CHANGE_QUESTION,
}
DETAIL_QUESTIONS = {
    flow.PN_OUTCOME: "Why was it withdrawn? Type it (up to 200 characters).",
    flow.HEARING: "What was the hearing's outcome? Type it (up to 200 characters).",
}
DATE_QUESTIONS = {
    flow.SUPPORT_PLAN: "Start date?", flow.CONTRACT: "Start date?",
    flow.NTI: "Date issued?", flow.PN_REFERRAL: "Date referred?",
    flow.PROSECUTION: "Date referred?", flow.ESO: "Application date?",
    flow.SAO: "Notice date?", flow.HEARING: "Hearing date?", flow.SAO_ORDER: "Date of the order?",
}
NO_PARENTS = ("No contact of this pupil has parental responsibility on record, so this "
              "cannot be recorded: send /cancel, or /step to record something else.")
HINTS = {
    Problem.CHOOSE: HINT_CHOOSE,
    Problem.NOT_A_DATE: HINT_NOT_A_DATE,
    Problem.FUTURE: HINT_FUTURE,
    Problem.FUTURE_NO_YEAR: HINT_FUTURE_NO_YEAR,
    Problem.BEFORE_START: "That date is before the start: choose or type a later one.",
    Problem.BEFORE_START_NO_YEAR: ("That date is before the start. For a date next year, "
                                   "type the year too: DD/MM/YYYY."),
    Problem.NO_PARENT: "Choose at least one parent first.",
    Problem.THIRD_NOTICE: "A third notice within 3 years is not possible for that parent.",
    Problem.DETAIL_EMPTY: "Please type a few words.",
    Problem.DETAIL_TOO_LONG: "Up to 200 characters, please: shorten it and send it again.",
}
REFUSALS = {  # a save refused by a pathway rule: the draft stays at the summary
    pathway_store.THIRD_NOTICE: ("A third notice within 3 years is not possible — consider "
                                 "prosecution or an education supervision order. Change the "
                                 "parents, or Cancel."),
    pathway_store.REASON_NEEDED: "A reason must be chosen: press Change.",
    pathway_store.PARENTS_NEEDED: "At least one parent must be chosen: press Change.",
    pathway_store.NO_PARENTAL_RESPONSIBILITY: ("An attendance contract needs a parent with "
                                               "parental responsibility present."),
    pathway_store.UNKNOWN_PARENT: "A parent chosen is no longer on record: press Change.",
    pathway_store.NOT_ISSUED: "The notice must be recorded as issued first, and on an "
                              "earlier date.",
    pathway_store.ALREADY_ISSUED: "That notice is already recorded as issued.",
    pathway_store.BEFORE_REFERRAL: "The date is before the referral: press Change.",
    pathway_store.REFERRAL_CLOSED: "That referral is recorded as withdrawn for this parent.",
    pathway_store.THIRD_ISSUED: ("That parent has 2 notices counted on that date: a third "
                                 "within 3 years is not possible. Record the referral as "
                                 "Withdrawn, or Cancel."),
    pathway_store.TOO_OLD: "An entry can be corrected only within 7 days of saving it.",
    pathway_store.ALREADY_CORRECTED: ("That entry has already been corrected: Cancel, and "
                                      "correct the newer entry instead."),
    pathway_store.HAS_OUTCOMES: ("That step has had an outcome recorded meanwhile, so it "
                                 "cannot be corrected: Cancel."),
    pathway_store.NOT_VISIBLE: "That entry cannot be corrected: Cancel.",
}
REFUSED_OTHER = "That cannot be saved as it is: press Change, or Cancel."

ELIGIBILITY_LINE = "{name}: {text}"
AMOUNT_LINE = "Amount: £{amount}"
AMOUNT_CLOSED = "Amount: the 28-day payment window had closed"
RESUME = "Continue the pathway step for {initials}?"
SAVED = "Saved: {what} for {initials} on {date}."
ALREADY_SAVED = "That step is already saved."
CANCELLED = "Pathway step cancelled. Nothing was saved."
STALE = "That button is from an earlier step. Send /step to carry on."
STALE_ENDED = ("That button is from a step that has ended: none is open. Send /step to "
               "record a new one.")
DRAFT_OPEN = "A pathway step for {initials} is still open. Send /step to carry on."
DRAFT_OPEN_NO_PUPIL = "A pathway step is still open. Send /step to carry on."
DRAFT_RESTRICTED = ("The pathway step you were recording is about a record that is now "
                    "restricted — ask the controller. That draft has been discarded.")
NOT_ALLOCATED = ("This pupil is no longer allocated to you, so the step has ended. "
                 "Nothing was saved.")
RECORD_IT_NOW = "Record it now"
CANNOT_CORRECT = "That entry cannot be corrected."
TOO_OLD = "A pathway step or outcome can be corrected only within 7 days of saving it."
ALREADY_CORRECTED = "That entry has already been corrected: correct the newer entry instead."
HAS_OUTCOMES = ("That step has an outcome recorded, so it cannot be corrected: correct the "
                "outcome, or record a new step.")
CORRECTING = "Correcting the entry of {date}: change what was wrong, then Save."
STEP_COMMAND = "step_command"  # audit reason of the pupil step's list

LABEL_IN_6_WEEKS = "In 6 weeks: {date}"
FIELD_LABELS = {
    flow.TARGET: "For", flow.OUTCOME: "Outcome", flow.PARENTS: "Parents",
    flow.DATE: "Date", flow.REVIEW: "Review", flow.WEEKS: "Improvement period",
    flow.SECTION: "Section", flow.REASON: "Reason", flow.DETAIL: "Detail",
}

STEP = Flow(kind=KIND, prefix=PREFIX, stale=STALE, ended=STALE_ENDED,
            listed_reason=STEP_COMMAND, side_steps=(RESUME_STEP,),
            restricted=DRAFT_RESTRICTED, resume=RESUME, no_match=NO_MATCH,
            choose_pupil=CHOOSE_PUPIL, no_pupils=NO_PUPILS, not_allocated=NOT_ALLOCATED,
            draft_open=DRAFT_OPEN, draft_open_no_pupil=DRAFT_OPEN_NO_PUPIL,
            cannot_correct=CANNOT_CORRECT, too_old=TOO_OLD, already_corrected=ALREADY_CORRECTED)
OUTCOME_DATE_QUESTIONS = {
    "issued": "Date issued?", "paid": "Date paid?", "withdrawn": "Date withdrawn?",
    "unpaid": "Date the payment window closed unpaid?", "granted": "Date granted?",
    "refused": "Date refused?",
}
ENDS_LINE = "Order ends: {date}"
PERIOD_ENDS = "{weeks} weeks (ends {date})"
