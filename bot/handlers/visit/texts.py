"""The /visit texts, button labels and choices: every word the visit flow shows.

Kept apart from the screens so the flow's wording can be read (and reviewed) in one
place, and so /due and /cancel can say theirs without importing the conversation.
"""

from __future__ import annotations

from bot.domain import visit_flow as flow
from bot.domain.conversation_kinds import ConversationKind
from bot.domain.visit_flow import Problem
from bot.handlers.draft_texts import (
    CHANGE_QUESTION,
    HINT_CHOOSE,
    HINT_NOT_A_DATE,
    NO_MATCH,
    TYPE_THE_DATE,
)
from bot.handlers.draft_texts import LABEL_BACK as LABEL_BACK
from bot.handlers.draft_texts import LABEL_CANCEL as LABEL_CANCEL
from bot.handlers.draft_texts import LABEL_CHANGE as LABEL_CHANGE
from bot.handlers.draft_texts import LABEL_SAVE as LABEL_SAVE
from bot.handlers.draft_texts import LABEL_SKIP as LABEL_SKIP
from bot.handlers.draft_texts import LABEL_TODAY as LABEL_TODAY
from bot.handlers.draft_texts import LABEL_YESTERDAY as LABEL_YESTERDAY
from bot.handlers.draft_texts import SEVERAL_MATCH as SEVERAL_MATCH
from bot.handlers.drafts import RESUME_STEP, Flow

KIND = ConversationKind.VISIT
PREFIX = "v"
CORRECT_PREFIX = "vc"
DUE_LINES = 40
DUE_BUTTONS = 10

CHOOSE_PUPIL = "Record a visit: choose a pupil, or type a name."
NO_PUPILS = "You have no pupils allocated to you, so there is no visit to record."
QUESTIONS = {
    flow.TYPE: "What kind of contact was it?",
    flow.DATE: "When was it?" + TYPE_THE_DATE,
    flow.CONTACT: "Who was seen?",
    flow.REASON: "Main reason for absence?",
    flow.ACTION: "Action agreed?",
    flow.FOLLOW_UP: "Next follow-up?" + TYPE_THE_DATE,
    flow.NOTES: "Notes? Type them (up to 4,096 characters), or Skip.",
    flow.SUMMARY: "Save this visit?",
    flow.CHANGE: CHANGE_QUESTION,
}
DATE_CHECK_QUESTION = ("{date} is more than 28 days ago. Is that the right date? Or type "
                       "another as DD/MM/YYYY or DD/MM.")
NOTES_KEPT = ("Notes so far:\n{notes}\n\nKeep them, remove them, or type new notes "
              "(up to 4,096 characters) to replace them.")
HINTS = {
    Problem.CHOOSE: HINT_CHOOSE,
    Problem.NOT_A_DATE: HINT_NOT_A_DATE,
    Problem.FUTURE_VISIT: "The visit date cannot be in the future.",
    Problem.FUTURE_VISIT_NO_YEAR: ("The visit date cannot be in the future. For a date last "
                                   "year, type the year too: DD/MM/YYYY."),
    Problem.PAST_FOLLOW_UP: "The follow-up cannot be in the past.",
    Problem.PAST_FOLLOW_UP_NO_YEAR: ("The follow-up cannot be in the past. For a date next "
                                     "year, type the year too: DD/MM/YYYY."),
    Problem.NOTES_TOO_LONG: ("Notes can be up to 4,096 characters: please shorten them and "
                             "send them again."),
}
HEADER = "Visit for {initials} ({case_ref})"
RESUME = "Continue visit for {initials}?"
SAVED = "Saved: {type} for {initials} on {date}. Next follow-up: {follow_up}."
TOLD_SUPERVISOR = "{action}: 1 person was told, your supervisor."
TOLD_OTHERS = "{action}: you have no supervisor, so {people} told."
TOLD_ONE = "1 other supervisor was"
TOLD_MANY = "{count} other supervisors were"
TOLD_NOBODY = ("{action}: nobody could be told, as you have no supervisor and there is no "
               "other supervisor. Contact the DSL directly.")
# When the supervisors it was for are blocked (EWO_COMPLIANCE=enforce) it goes to the
# current ones, else to the controllers; nobody's reason for it is named.
TOLD_INSTEAD_OF_SUPERVISOR = "{action}: your supervisor's access is paused, so {people} told."
TOLD_INSTEAD_OF_OTHERS = ("{action}: you have no supervisor and the other supervisors' "
                          "access is paused, so {people} told.")
TOLD_CONTROLLER = "1 controller was"
TOLD_CONTROLLERS = "{count} controllers were"
TOLD_NOBODY_INSTEAD = ("{action}: nobody could be told, as no supervisor's access is current "
                       "and there is no controller. Contact the DSL directly.")
ALREADY_SAVED = "That visit is already saved."
CANCELLED = "Visit cancelled. Nothing was saved."
CANCELLED_OTHER = "Cancelled. Nothing was saved."
NOTHING_TO_CANCEL = "There is nothing to cancel."
STALE = "That button is from an earlier step or visit. Send /visit to carry on."
STALE_ENDED = ("That button is from a visit that has ended: no visit is open. Send /visit to "
               "record a new one.")
DRAFT_OPEN = "A visit for {initials} is still open. Send /visit to carry on."
DRAFT_OPEN_NO_PUPIL = "A visit is still open. Send /visit to carry on."
DRAFT_RESTRICTED = ("The visit you were recording is about a record that is now restricted "
                    "— ask the controller. That draft has been discarded.")
NOT_ALLOCATED = ("This pupil is no longer allocated to you, so the visit has ended. "
                 "Nothing was saved.")
CANNOT_CORRECT = "That visit cannot be corrected."
TOO_OLD = "A visit can be corrected only within 7 days of saving it."
ALREADY_CORRECTED = "That visit has already been corrected: correct the newer entry instead."
CORRECTION_ENDED = f"{ALREADY_CORRECTED} Nothing was saved."
CORRECTING = "Correcting the visit of {date}; your earlier answers are marked ✓."
ESCALATION = "{action}: case {case_ref}, {initials}, {school}. Recorded by {officer} on {date}."
# The same for the controllers, should it be readdressed to them (a lapsed supervisor and
# no other): a controller sees case references, schools and dates only.
ESCALATION_FOR_CONTROLLERS = "{action}: case {case_ref}, {school}. Recorded by {officer} on {date}."
NO_FOLLOW_UPS = "No follow-ups are due."
DUE_HEADER = "Follow-ups due, oldest first:"
DUE_MORE = "…and {count} more."
# Audit reasons of the lists of pupils shown: /due, and the visit's pupil step.
DUE_COMMAND, VISIT_COMMAND = "due_command", "visit_command"
DUE_TODAY, OVERDUE_ONE, OVERDUE = "today", "1 day overdue", "{days} days overdue"

LABEL_1_WEEK, LABEL_2_WEEKS, LABEL_NONE = "In 1 week", "In 2 weeks", "None"
LABEL_KEEP_NOTES, LABEL_REMOVE_NOTES = "Keep notes", "Remove notes"
LABEL_DATE_YES, LABEL_DATE_CHANGE = "Yes, keep it", "Change the date"

# The visit as a draft-backed flow (bot/handlers/drafts.py): its kind, its buttons'
# prefix, what a refused press is told, and what its start says; the resume prompt's
# buttons are valid beside the current step's.
VISIT = Flow(kind=KIND, prefix=PREFIX, stale=STALE, ended=STALE_ENDED,
             listed_reason=VISIT_COMMAND, side_steps=(RESUME_STEP,),
             restricted=DRAFT_RESTRICTED, resume=RESUME, no_match=NO_MATCH,
             choose_pupil=CHOOSE_PUPIL, no_pupils=NO_PUPILS, not_allocated=NOT_ALLOCATED,
             draft_open=DRAFT_OPEN, draft_open_no_pupil=DRAFT_OPEN_NO_PUPIL,
             cannot_correct=CANNOT_CORRECT, too_old=TOO_OLD, already_corrected=ALREADY_CORRECTED)
