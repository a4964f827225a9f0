"""The /share texts, button labels and choices: every word the sharing flow shows."""

from __future__ import annotations

from bot.domain import sharing as flow
from bot.domain.conversation_kinds import ConversationKind
from bot.domain.sharing import Problem
from bot.handlers.draft_texts import (
    CHANGE_QUESTION,
    HINT_CHOOSE,
    HINT_FUTURE,
    HINT_FUTURE_NO_YEAR,
    HINT_NOT_A_DATE,
    NO_MATCH,
    TYPE_THE_DATE,
)
from bot.handlers.draft_texts import LABEL_BACK as LABEL_BACK
from bot.handlers.draft_texts import LABEL_CANCEL as LABEL_CANCEL
from bot.handlers.draft_texts import LABEL_CHANGE as LABEL_CHANGE
from bot.handlers.draft_texts import LABEL_CORRECT as LABEL_CORRECT
from bot.handlers.draft_texts import LABEL_DONE as LABEL_DONE
from bot.handlers.draft_texts import LABEL_KEEP as LABEL_KEEP
from bot.handlers.draft_texts import LABEL_SAVE as LABEL_SAVE
from bot.handlers.draft_texts import LABEL_SKIP as LABEL_SKIP
from bot.handlers.draft_texts import LABEL_TODAY as LABEL_TODAY
from bot.handlers.draft_texts import LABEL_YESTERDAY as LABEL_YESTERDAY
from bot.handlers.draft_texts import SEVERAL_MATCH as SEVERAL_MATCH
from bot.handlers.drafts import RESUME_STEP, Flow

KIND = ConversationKind.SHARE
PREFIX = "sh"
CORRECT_PREFIX = "shc"  # shc:<entry_id>, under a saved entry: correct it

CHOOSE_PUPIL = "Record a sharing decision: choose a pupil, or type a name."
NO_PUPILS = ("You have no pupils allocated to you, so there is no sharing decision to "
             "record.")
HEADER = "Sharing decision for {initials} ({case_ref})"
QUESTIONS = {
    flow.RECIPIENT: "Who was it with?",
    flow.OTHER: "Who was it with? Type the organisation (up to 100 characters).",
    flow.DECISION: "Was information shared?",
    flow.WHAT_STEP: "What was shared? Tick each that applies, then Done.",
    flow.BASIS: "The lawful basis for sharing?",
    flow.CONDITION: ("SEN or health information is special-category data: which condition "
                     "applies?"),
    flow.REASON: "Why was it shared?",
    flow.DATE: "When was it decided?" + TYPE_THE_DATE,
    flow.NOTE: "A note? Type it (up to 1,000 characters), or Skip.",
    flow.SUMMARY: "Save this sharing decision?",
    flow.CHANGE: CHANGE_QUESTION,
}
# A decision not to share: "what" is what was asked for, and the reason is the request's
# (why it was refused goes in the note).
NOT_SHARED_QUESTIONS = {
    flow.WHAT_STEP: "What was asked for? Tick each that applies, then Done.",
    flow.REASON: "What was it asked for? Say why it was not shared in the note.",
}
OTHER_KEPT = "Recipient so far: {other}\n\nKeep it, or type another (up to 100 characters)."
NOTE_KEPT = ("Note so far:\n{note}\n\nKeep it, remove it, or type a new note (up to 1,000 "
             "characters) to replace it.")
HINTS = {
    Problem.CHOOSE: HINT_CHOOSE,
    Problem.CHOOSE_SOME: "Tick at least one, then Done.",
    Problem.NOT_A_DATE: HINT_NOT_A_DATE,
    Problem.FUTURE: HINT_FUTURE,
    Problem.FUTURE_NO_YEAR: HINT_FUTURE_NO_YEAR,
    Problem.OTHER_TOO_LONG: ("The recipient can be up to 100 characters: please shorten it "
                             "and send it again."),
    Problem.NOTE_TOO_LONG: ("A note can be up to 1,000 characters: please shorten it and "
                            "send it again."),
}
FIELD_LABELS = {
    flow.RECIPIENT: "With", flow.DECISION: "Decision", flow.WHAT_STEP: "What was shared",
    flow.BASIS: "Lawful basis", flow.CONDITION: "Special-category condition",
    flow.REASON: "Reason", flow.DATE: "Date", flow.NOTE: "Note",
}
ASKED_FOR = "What was asked for"  # the "what" line of a decision not to share
SAVED = "Saved: {decision} — {recipient}, for {initials}, on {date}."
ALREADY_SAVED = "That sharing decision is already saved."
CANCELLED = "Sharing decision cancelled. Nothing was saved."
STALE = ("That button is from an earlier step or sharing decision. Send /share to carry "
         "on.")
STALE_ENDED = ("That button is from a sharing decision that has ended: none is open. Send "
               "/share to record a new one.")
NOT_ALLOCATED = ("This pupil is no longer allocated to you, so the sharing decision has "
                 "ended. Nothing was saved.")
CANNOT_CORRECT = "That sharing decision cannot be corrected."
TOO_OLD = "A sharing decision can be corrected only within 7 days of saving it."
ALREADY_CORRECTED = ("That sharing decision has already been corrected: correct the newer "
                     "entry instead.")
CORRECTION_ENDED = f"{ALREADY_CORRECTED} Nothing was saved."
CORRECTING = "Correcting the decision of {date}: change what was wrong, then Save."
RESUME = "Continue the sharing decision for {initials}?"
DRAFT_OPEN = "A sharing decision for {initials} is still open. Send /share to carry on."
DRAFT_OPEN_NO_PUPIL = "A sharing decision is still open. Send /share to carry on."
DRAFT_RESTRICTED = ("The sharing decision you were recording is about a record that is now "
                    "restricted — ask the controller. That draft has been discarded.")
# The audit reason of the pupil step's list of pupils, and of a refused lookup.
SHARE_COMMAND = "share_command"

LABEL_REMOVE_NOTE = "Remove it"

SHARE = Flow(kind=KIND, prefix=PREFIX, stale=STALE, ended=STALE_ENDED,
             listed_reason=SHARE_COMMAND, side_steps=(RESUME_STEP,),
             restricted=DRAFT_RESTRICTED, resume=RESUME, no_match=NO_MATCH,
             choose_pupil=CHOOSE_PUPIL, no_pupils=NO_PUPILS, not_allocated=NOT_ALLOCATED,
             draft_open=DRAFT_OPEN, draft_open_no_pupil=DRAFT_OPEN_NO_PUPIL,
             cannot_correct=CANNOT_CORRECT, too_old=TOO_OLD, already_corrected=ALREADY_CORRECTED)
