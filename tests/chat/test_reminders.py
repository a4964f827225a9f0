"""What a pathway reminder says: case reference, initials, school, what is due and when,
a figure; no name; a button per pupil opening the case (bot/chat/reminders.py)."""

from __future__ import annotations

from datetime import date

from bot.chat import reminders as reminder_chat
from bot.domain.attendance import Tally
from bot.domain.pathway_reminders import Reminder


def _reminder(kind: str, due: date, step_kind: str, *, pupil_id: int = 7,
              during: Tally | None = None, before: Tally | None = None) -> Reminder:
    return Reminder(f"{kind}:{pupil_id}", pupil_id, 3, f"C{pupil_id:05d}", "A.H.",
                    "Hillside Primary", kind, due, step_kind, date(2026, 10, 14), during,
                    before)


def test_each_kind_of_reminder_names_the_case_not_the_pupil() -> None:
    lines = [reminder_chat.reminder_line(reminder) for reminder in (
        _reminder("review", date(2026, 11, 25), "support_plan"),
        _reminder("review", date(2026, 11, 25), "contract"),
        _reminder("improvement_reminder", date(2026, 11, 5), "nti",
                  during=Tally(possible=30, attended=27), before=Tally(possible=100, attended=70)),
        _reminder("outcome_reminder", date(2026, 11, 12), "pn_referral"),
        _reminder("eso_reminder", date(2026, 11, 25), "eso"),
    )]
    assert lines == [
        "C00007 A.H., Hillside Primary: support plan review due 25/11/2026",
        "C00007 A.H., Hillside Primary: attendance contract review due 25/11/2026",
        "C00007 A.H., Hillside Primary: improvement period of the Notice to Improve of "
        "14/10/2026 ended 04/11/2026 — attendance 90.0 % in the period, 70.0 % in the "
        "10 school weeks before",
        "C00007 A.H., Hillside Primary: penalty notice issued 14/10/2026 — day 29, neither "
        "Paid nor Withdrawn recorded",
        "C00007 A.H., Hillside Primary: education supervision order ends 23/12/2026 "
        "(in 4 weeks)",
    ]


def test_one_button_per_pupil_opening_the_case() -> None:
    payload = reminder_chat.reminder_payload([
        _reminder("review", date(2026, 11, 25), "support_plan"),
        _reminder("outcome_reminder", date(2026, 11, 25), "pn_referral"),
        _reminder("review", date(2026, 11, 25), "contract", pupil_id=8),
    ])
    assert payload["text"].splitlines()[0] == reminder_chat.TITLE
    assert len(payload["text"].splitlines()) == 4
    assert payload["buttons"] == [["C00007 A.H.", "al:case:7"], ["C00008 A.H.", "al:case:8"]]
