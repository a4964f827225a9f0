"""Every word /retention shows: the overview, the buttons, the hold and disposal
questions and answers (kept apart so the wording reads in one place)."""

from __future__ import annotations

from bot.domain.retention import PAST

TITLE = "Retention on {day}: {past} past due, {coming} coming due, {held} on hold."
SCHOOL_LINE = "{school}: {past} past due, {coming} coming due, {held} on hold"
MORE_SCHOOLS = "…and {count} more {schools}."
SCHOOL = "school"
NOTHING_DUE = "No records are coming due or past due."
PAGE_HEAD = "Records {first}–{last} of {total}, earliest deadline first:"
RECORD = ("{ref} · {school} · deadline {deadline} ({stage}) · last intervention {last} · "
          "{allocated} · latest mark {mark}{hold}")
STAGES = {PAST: "past due", "coming": "coming due"}
NO_INTERVENTION = "none"
NO_MARK = "none"
ALLOCATED, NOT_ALLOCATED = "allocated", "not allocated"
ON_HOLD = " · on hold until {day}"
HOLD_BUTTON = "Hold {ref}"
DISPOSE_BUTTON = "Dispose {ref}"
DISPOSE_ALL = "Dispose all {count} past due"
DISPOSE_THE_ONE = "Dispose the 1 past due"  # never "all 1"
RELEASE_BUTTON = "Release hold {ref}"
PREVIOUS, NEXT = "◀ Previous", "Next ▶"

HOLD_REASON_LABELS = {
    "legal": "Legal proceedings",
    "safeguarding": "Safeguarding enquiry",
    "complaint": "Complaint or appeal",
    "subject_access": "Subject-access request",
    "other": "Other reason on file",
}
ASK_REASON = "Hold {ref}: why is it kept past its deadline?"
ASK_REVIEW = ("Hold {ref} ({reason}): type the review date as DD/MM/YYYY. "
              "No reminders about it until then. /cancel to stop.")
REVIEW_HINT = "Type the review date as DD/MM/YYYY, {problem}."
REVIEW_FORMAT = "a date such as 31/03/2027"
# A DD/MM is read as this calendar year (bot.domain.dates.parse_chat_date), as at /visit.
REVIEW_NEXT_YEAR = ("The review date must be after today. For a date next year, type the "
                    "year too: DD/MM/YYYY.")
CHOOSE_REASON = "Choose a reason with the buttons above, or send /cancel."
HELD = "{ref} is on hold until {day} ({reason}). No reminders about it until then."
HOLD_CANCELLED = "No hold was placed."
CANCEL = "Cancel"

CONFIRM_ONE = ("Dispose of {ref} ({school}, deadline {deadline})? Everything held about this "
               "pupil is removed for good; the audit trail keeps only that it was done.")
CONFIRM_ALL = ("Dispose of all {count} past-due records not on hold? Everything held about "
               "these pupils is removed for good.")
CONFIRM_THE_ONE = ("Dispose of the 1 past-due record not on hold? Everything held about this "
                   "pupil is removed for good.")
YES_ONE = "Yes, dispose"
YES_ALL = "Yes, dispose of {count}"
KEEP = "No, keep"
DISPOSED = "{ref} has been disposed of."
DISPOSED_ALL = "{count} records have been disposed of."
DISPOSED_THE_ONE = "1 record has been disposed of."
KEPT = "Nothing was disposed of."
CHANGED = "The past-due list has changed since you asked. Send /retention to look again."
CANNOT_DISPOSE = ("That record cannot be disposed of now: it is not past due, it is on hold, "
                  "or it is gone.")
CANNOT_HOLD = "That record is not coming due or past due, or it is gone."
RELEASED = ("The hold on {ref} is released: it is {stage} again and reminders resume. "
            "Send /retention to see it.")
CANNOT_RELEASE = "That record is not on hold, or it is gone."
CLEAN_UP_WAITING = (" The database files could not be cleaned straight away; this is retried "
                    "every minute until done.")
