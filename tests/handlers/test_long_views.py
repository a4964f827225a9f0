"""Views that grow with imported data stay within Telegram's 4,096 characters a message."""

from __future__ import annotations

from datetime import date

from bot.domain.message_parts import MESSAGE_LIMIT, text_length
from bot.handlers import retention, retention_texts
from bot.storage.retention import DueRecord, SchoolCount

LONG_SCHOOL = "The " + "Very Long Name " * 13 + "Academy"  # the 200 characters an import takes


def test_the_retention_overview_of_thirty_long_school_names_is_one_message() -> None:
    counts = [SchoolCount(f"{LONG_SCHOOL} {n}", 1, 2, 0) for n in range(40)]
    records = [DueRecord(n, f"C{n:05d}", LONG_SCHOOL, "past", date(2026, 9, 1),
                         date(2025, 1, 1), True, date(2025, 2, 1), "legal", date(2027, 1, 1),
                         True) for n in range(retention.PER_PAGE)]
    text = retention.overview_text(counts, records, total=12, page=0, today=date(2026, 11, 25))
    assert text_length(text) <= MESSAGE_LIMIT
    lines = text.splitlines()
    shown = [line for line in lines if line.endswith("on hold") and "Academy" not in line]
    more = [line for line in lines if line.startswith("…and ")]
    assert more == [retention_texts.MORE_SCHOOLS.format(count=40 - len(shown), schools="schools")]
    assert all(f"C{n:05d}" in text for n in range(retention.PER_PAGE))  # every record shown


def test_a_short_overview_is_unchanged() -> None:
    counts = [SchoolCount("Hillside Primary School", 1, 2, 0)]
    text = retention.overview_text(counts, [], total=0, page=0, today=date(2026, 11, 25))
    assert text.splitlines() == [
        retention_texts.TITLE.format(day="25/11/2026", past=2, coming=1, held=0),
        "Hillside Primary School: 2 past due, 1 coming due, 0 on hold",
        "", retention_texts.NOTHING_DUE]
