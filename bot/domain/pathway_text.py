"""How the attendance pathway's records are named to people: steps, outcomes, stages and
dated items, in one place for the case view and the pushed reminders (CASEWORK.md §1)."""

from __future__ import annotations

STEP_LABELS: dict[str, str] = {
    "support_plan": "Support plan",
    "contract": "Attendance contract",
    "nti": "Notice to Improve",
    "pn_referral": "Penalty-notice referral",
    "prosecution": "Prosecution referral",
    "eso": "Education supervision order applied for",
    "sao": "School attendance order notice",
}

OUTCOME_LABELS: dict[str, str] = {
    "issued": "Penalty notice issued",
    "paid": "Penalty notice paid",
    "withdrawn": "Penalty notice withdrawn",
    "unpaid": "Penalty notice unpaid",
    "hearing": "Prosecution hearing outcome",
    "granted": "Education supervision order granted",
    "refused": "Education supervision order refused",
    "order": "School attendance order made",
}

# The stage of the pathway each kind of step belongs to (DfE, August 2024).
STAGES: dict[str, str] = {
    "support_plan": "Support",
    "contract": "Formal support",
    "nti": "Notice to Improve",
    "pn_referral": "Enforcement",
    "prosecution": "Enforcement",
    "eso": "Enforcement",
    "sao": "Enforcement",
}

# Open items on the case view: what falls due on the date shown.
OPEN_ITEM_LABELS: dict[str, str] = {
    "review": "Review due",
    "improvement_ends": "Improvement period ends",
    "payment_closes": "Payment window closes",
    "eso_ends": "Education supervision order ends",
}

# Pathway items /due lists: the dates the reminders are pushed on.
DUE_ITEM_LABELS: dict[str, str] = {
    "review": "review due",
    "improvement_reminder": "improvement period ended — compare attendance",
    "outcome_reminder": "penalty notice day 29 — record Paid, Withdrawn or Unpaid",
    "eso_reminder": "education supervision order ends in 4 weeks",
}


def label(labels: dict[str, str], code: str) -> str:
    """The label of a code, or the code itself when it is not (yet) known here."""
    return labels.get(code, code)
