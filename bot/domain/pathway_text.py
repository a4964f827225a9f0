"""How the attendance pathway's records are named to people: steps, outcomes, stages and
dated items, in one place for the case view, the pushed reminders and /step's buttons
(CASEWORK.md §1). The record names a step in full; /step's buttons name some shorter
(ESO, SAO), each from the same names here."""

from __future__ import annotations

from bot.domain import step_flow as flow

SUPPORT_PLAN = "Support plan"
CONTRACT = "Attendance contract"
NTI = "Notice to Improve"
PN_REFERRAL = "Penalty-notice referral"
PROSECUTION = "Prosecution referral"
ESO_APPLICATION = "ESO application"
SAO_NOTICE = "SAO notice"

STEP_LABELS: dict[str, str] = {
    flow.SUPPORT_PLAN: SUPPORT_PLAN,
    flow.CONTRACT: CONTRACT,
    flow.NTI: NTI,
    flow.PN_REFERRAL: PN_REFERRAL,
    flow.PROSECUTION: PROSECUTION,
    flow.ESO: "Education supervision order applied for",
    flow.SAO: "School attendance order notice",
}

# What /step offers to record: each step, then the outcome of a step on record.
WHAT_LABELS: dict[str, str] = {
    flow.SUPPORT_PLAN: SUPPORT_PLAN,
    flow.CONTRACT: CONTRACT,
    flow.NTI: NTI,
    flow.PN_REFERRAL: PN_REFERRAL,
    flow.PN_OUTCOME: "Penalty-notice outcome",
    flow.PROSECUTION: PROSECUTION,
    flow.HEARING: "Hearing outcome",
    flow.ESO: ESO_APPLICATION,
    flow.ESO_DECISION: "ESO granted or refused",
    flow.SAO: SAO_NOTICE,
    flow.SAO_ORDER: "School attendance order",
}

# A step on record, as the button choosing what an outcome is for names it.
TARGET_NAMES: dict[str, str] = {
    flow.PN_REFERRAL: "Referral", flow.PROSECUTION: PROSECUTION,
    flow.ESO: ESO_APPLICATION, flow.SAO: SAO_NOTICE,
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
