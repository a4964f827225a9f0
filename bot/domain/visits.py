"""The fixed vocabulary of a visit record: types, contact outcomes, reasons, actions.

Each entry is (code, label). Codes are what the database stores and what buttons
carry; labels are what people see and what the visits import matches
(case-insensitively).
"""

from __future__ import annotations

VISIT_TYPES: tuple[tuple[str, str], ...] = (
    ("home", "Home visit"),
    ("school", "School meeting"),
    ("phone", "Phone call"),
    ("letter", "Letter"),
    ("other", "Other"),
)

CONTACT_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("child", "Child seen"),
    ("parent", "Parent/carer seen"),
    ("both", "Child and parent/carer seen"),
    ("noreply", "No reply – card left"),
    ("na", "Not applicable"),
)

ABSENCE_REASONS: tuple[tuple[str, str], ...] = (
    ("illness", "Illness"),
    ("medical", "Medical"),
    ("anxiety", "Anxiety or mental health"),
    ("sen", "SEN needs"),
    ("bullying", "Bullying or peer issues"),
    ("family", "Family circumstances"),
    ("carer", "Young carer"),
    ("holiday", "Holiday"),
    ("transport", "Transport"),
    ("unknown", "Not known"),
)

ACTIONS: tuple[tuple[str, str], ...] = (
    ("nfa", "No further action"),
    ("followup", "Follow-up visit"),
    ("meeting", "Attendance meeting"),
    ("contract", "Attendance contract"),
    ("notice", "Notice to improve"),
    ("referral", "Referral to another service"),
    ("safeguarding", "Safeguarding concern – referred to DSL"),
    ("escalate", "Escalate to supervisor"),
)

# Actions that push a message (naming no one) to the officer's supervisor.
SUPERVISOR_ACTIONS = frozenset({"safeguarding", "escalate"})

# A letter has no contact outcome: the contact step is skipped.
NO_CONTACT_TYPES = frozenset({"letter"})


def label_of(vocabulary: tuple[tuple[str, str], ...], code: str) -> str:
    """The label shown for a code; KeyError for an unknown code."""
    for known, label in vocabulary:
        if known == code:
            return label
    raise KeyError(code)


def code_for_label(vocabulary: tuple[tuple[str, str], ...], label: str) -> str | None:
    """The code whose label matches, ignoring case and surrounding space (hyphens
    and dashes are treated alike, since spreadsheets change one into the other)."""
    wanted = _fold_label(label)
    for code, known in vocabulary:
        if _fold_label(known) == wanted:
            return code
    return None


def _fold_label(label: str) -> str:
    return " ".join(label.replace("–", "-").replace("—", "-").casefold().split())
