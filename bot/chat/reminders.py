"""What a pathway reminder says (bot/usecases/pathway_reminders.py queues it): one message
per officer a day, a line per reminder, a button per pupil that opens the case.

It names no one (PRODUCT.md, pushed messages): case reference, initials, school, what
is due and when, and for an improvement period the attendance figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.chat.render import day
from bot.domain import penalty_notices as rules
from bot.domain.pathway_reminders import Reminder
from bot.domain.pathway_text import STEP_LABELS, label

TITLE = "Pathway reminders"
WHO = "{case_ref} {initials}, {school}"
REVIEW = "{who}: {step} review due {due}"
IMPROVEMENT = ("{who}: improvement period of the Notice to Improve of {issued} ended {end} "
               "— attendance {during} in the period, {before} in the 10 school weeks before")
OUTCOME = "{who}: penalty notice issued {issued} — day 29, neither Paid nor Withdrawn recorded"
ESO = "{who}: education supervision order ends {end} (in 4 weeks)"
BUTTON = "{case_ref} {initials}"
BUTTONS = 20
BUTTON_COLUMNS = 2


def reminder_line(reminder: Reminder) -> str:
    """One line: the case, what is due and its date, and a figure where there is one."""
    who = WHO.format(case_ref=reminder.case_ref, initials=reminder.initials,
                     school=reminder.school)
    if reminder.kind == "improvement_reminder":
        during = reminder.during.attendance_percent_text if reminder.during else "n/a"
        before = reminder.before.attendance_percent_text if reminder.before else "n/a"
        return IMPROVEMENT.format(who=who, issued=day(reminder.step_date),
                                  end=day(reminder.due - timedelta(days=1)),
                                  during=during, before=before)
    if reminder.kind == "outcome_reminder":
        issued = reminder.due - timedelta(days=rules.OUTCOME_REMINDER_DAY)
        return OUTCOME.format(who=who, issued=day(issued))
    if reminder.kind == "eso_reminder":
        end = reminder.due + timedelta(weeks=rules.ESO_REMINDER_WEEKS)
        return ESO.format(who=who, end=day(end))
    return REVIEW.format(who=who, step=label(STEP_LABELS, reminder.step_kind).lower(),
                         due=day(reminder.due))


def reminder_payload(reminders: Sequence[Reminder]) -> dict[str, Any]:
    """The outbox payload of one officer's reminders: the title, a line each, and a
    button per pupil (up to 20) that opens the case."""
    buttons: list[list[str]] = []
    for reminder in reminders:
        data = f"al:case:{reminder.pupil_id}"
        if len(buttons) < BUTTONS and all(button[1] != data for button in buttons):
            buttons.append([BUTTON.format(case_ref=reminder.case_ref,
                                          initials=reminder.initials), data])
    return {"text": "\n".join([TITLE, *(reminder_line(r) for r in reminders)]),
            "buttons": buttons, "columns": BUTTON_COLUMNS}
