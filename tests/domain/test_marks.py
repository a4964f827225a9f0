"""Marks held compactly: order, merging, and where a window's marks start."""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.marks import CODE_NUMBER, CompactMarks, MarkWindow, slot

MONDAY = date(2025, 3, 3)


def test_marks_in_any_order_are_put_in_slot_order_with_their_codes() -> None:
    marks = [(MONDAY + timedelta(days=1), "PM", "L"), (MONDAY, "AM", "N"),
             (MONDAY + timedelta(days=1), "AM", "/"), (MONDAY, "PM", "#")]
    ordered = CompactMarks.of(marks).in_order()
    assert list(ordered) == sorted(marks)
    assert ordered.codes == bytes(CODE_NUMBER[code] for _, _, code in sorted(marks))
    already = CompactMarks.of(sorted(marks))
    assert already.in_order() is already


def test_marks_by_slot_are_in_slot_order() -> None:
    codes = {slot(MONDAY, 1): CODE_NUMBER["U"], slot(MONDAY, 0): CODE_NUMBER["/"]}
    assert list(CompactMarks.by_slot(codes)) == [(MONDAY, "AM", "/"), (MONDAY, "PM", "U")]


def test_a_window_finds_the_first_mark_on_or_after_a_day() -> None:
    days = [MONDAY + timedelta(days=n) for n in (0, 1, 7, 8)]
    marks = CompactMarks.of((day, session, "/") for day in days for session in ("AM", "PM"))
    window = MarkWindow(days[0], days[-1], marks)
    assert window.index(MONDAY) == 0
    assert window.index(MONDAY + timedelta(days=1)) == 2
    assert window.index(MONDAY + timedelta(days=2)) == 4  # no marks that day: the next
    assert window.index(MONDAY + timedelta(weeks=3)) == len(marks)
