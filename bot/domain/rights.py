"""Rights requests (UK GDPR Articles 15-21): kinds, reason codes and due dates.

A request is due one calendar month after it is received; it may be extended once,
by two further calendar months (Article 12(3)), with a reason code. Reason codes are
fixed lists so the record says why in words every controller reads the same way.
"""

from __future__ import annotations

import calendar
from datetime import date

KINDS = ("access", "rectification", "restriction", "objection", "erasure")
# While open (and, once upheld, until lifted or disposed of) these restrict the record.
RESTRICTING_KINDS = ("restriction", "objection")
# Upheld, these make the record past due at once in the retention rule.
PAST_DUE_KINDS = ("objection", "erasure")

EXTENSION_REASONS = ("complex", "numerous")
UPHOLD_REASONS = ("request_valid", "data_inaccurate", "no_overriding_grounds",
                  "no_longer_needed", "unlawful_processing")
REJECT_REASONS = ("compelling_grounds", "legal_claims", "legal_obligation", "data_accurate",
                  "manifestly_unfounded", "excessive", "identity_not_verified")
# The reasons a decision of a kind may give, where CASEWORK.md §3 names them: an
# objection is rejected only on compelling legitimate grounds or for legal claims
# (Article 21(1)). Every other decision takes the whole list above.
REJECT_REASONS_BY_KIND = {"objection": ("compelling_grounds", "legal_claims")}
STATEMENT_MAX_CHARS = 4000
DUE_SOON_DAYS = 7


def months_after(d: date, months: int) -> date:
    """The same day `months` calendar months later, or that month's last day when it
    has no such day (31 January + 1 month -> 28 or 29 February)."""
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def due_date(received: date) -> date:
    """When a request received on `received` must be answered."""
    return months_after(received, 1)


def extended_due_date(received: date) -> date:
    """The due date after the one extension by two further calendar months, counted
    from the day received so a month's end is kept (31 October: 30 November, then
    31 January, not 30 January)."""
    return months_after(received, 3)


def decision_reasons(kind: str, *, uphold: bool) -> tuple[str, ...]:
    """The reason codes a decision on a request of `kind` may give."""
    if uphold:
        return UPHOLD_REASONS
    return REJECT_REASONS_BY_KIND.get(kind, REJECT_REASONS)


def reason_problem(reason: str, *, kind: str, uphold: bool) -> str | None:
    """Why a decision's reason code is not acceptable for a request of `kind`, or None."""
    allowed = decision_reasons(kind, uphold=uphold)
    if reason in allowed:
        return None
    return f"the reason must be one of: {', '.join(allowed)}"


def statement_problem(text: str) -> str | None:
    """Why a rectification statement is not acceptable, or None."""
    if not text.strip():
        return "the statement is empty"
    if len(text) > STATEMENT_MAX_CHARS:
        return f"the statement is {len(text):,} characters; at most {STATEMENT_MAX_CHARS:,}"
    return None
