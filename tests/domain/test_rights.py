"""Due dates and reason codes of rights requests."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.retention import one_calendar_month_after
from bot.domain.rights import (
    KINDS,
    REJECT_REASONS,
    STATEMENT_MAX_CHARS,
    UPHOLD_REASONS,
    decision_reasons,
    due_date,
    extended_due_date,
    reason_problem,
    statement_problem,
)


@pytest.mark.parametrize(("received", "due"), [
    (date(2026, 1, 31), date(2026, 2, 28)),
    (date(2028, 1, 31), date(2028, 2, 29)),
    (date(2026, 3, 15), date(2026, 4, 15)),
    (date(2026, 12, 31), date(2027, 1, 31)),
    (date(2026, 5, 31), date(2026, 6, 30)),
])
def test_due_one_calendar_month_on(received: date, due: date) -> None:
    assert due_date(received) == due == one_calendar_month_after(received)


@pytest.mark.parametrize(("received", "extended"), [
    (date(2026, 11, 30), date(2027, 2, 28)),
    (date(2027, 11, 29), date(2028, 2, 29)),
    (date(2026, 10, 15), date(2027, 1, 15)),
    (date(2026, 10, 31), date(2027, 1, 31)),
    (date(2026, 1, 31), date(2026, 4, 30)),
])
def test_extension_is_two_further_calendar_months(received: date, extended: date) -> None:
    assert extended_due_date(received) == extended


def test_reason_codes_are_fixed_lists_by_decision() -> None:
    assert reason_problem("legal_claims", kind="erasure", uphold=False) is None
    assert reason_problem("request_valid", kind="erasure", uphold=True) is None
    assert reason_problem("legal_claims", kind="erasure", uphold=True) == (
        "the reason must be one of: request_valid, data_inaccurate, no_overriding_grounds,"
        " no_longer_needed, unlawful_processing")


@pytest.mark.parametrize("kind", KINDS)
def test_an_objection_alone_is_rejected_on_its_own_grounds(kind: str) -> None:
    """CASEWORK.md §3: an objection rejected, "with the reason code (compelling
    legitimate grounds, legal claims)"; the spec names no other kind's reasons."""
    rejecting = decision_reasons(kind, uphold=False)
    if kind == "objection":
        assert rejecting == ("compelling_grounds", "legal_claims")
        assert reason_problem("data_accurate", kind=kind, uphold=False) == (
            "the reason must be one of: compelling_grounds, legal_claims")
    else:
        assert rejecting == REJECT_REASONS
    assert decision_reasons(kind, uphold=True) == UPHOLD_REASONS


def test_statement_limit() -> None:
    assert statement_problem("x" * STATEMENT_MAX_CHARS) is None
    assert statement_problem("x" * (STATEMENT_MAX_CHARS + 1)) == (
        "the statement is 4,001 characters; at most 4,000")
    assert statement_problem("  \n") == "the statement is empty"
