"""Retention texts whose nouns follow their counts: one school more is "1 more school"."""

from __future__ import annotations

from datetime import date

from bot.domain.dates import YearEnd
from bot.domain.retention import RetentionPolicy
from bot.handlers import retention
from bot.storage.audit import Head
from bot.storage.retention import SchoolCount
from bot.usecases.retention import MAX_SCHOOL_LINES, reminder_payload

TODAY = date(2026, 11, 25)


def schools(count: int) -> list[SchoolCount]:
    return [SchoolCount(f"School {n:03d}", 1, 1, 0) for n in range(count)]


def test_the_overview_names_one_more_school_in_the_singular() -> None:
    one_more = retention.overview_text(schools(retention.MAX_SCHOOL_LINES + 1), [], total=0,
                                       page=0, today=TODAY)
    assert "…and 1 more school." in one_more.splitlines()
    two_more = retention.overview_text(schools(retention.MAX_SCHOOL_LINES + 2), [], total=0,
                                       page=0, today=TODAY)
    assert "…and 2 more schools." in two_more.splitlines()


def test_the_reminder_names_one_more_school_in_the_singular() -> None:
    policy = RetentionPolicy(TODAY, YearEnd(8, 31), 30)
    head = Head(5, "ab" * 32)
    text = str(reminder_payload(schools(MAX_SCHOOL_LINES + 1), head, policy)["text"])
    assert "…and 1 more school." in text.splitlines()
