"""/case's rendering, pure: stage, open items, counts per parent, the chronology page and
its paging buttons (bot/chat/case.py)."""

from __future__ import annotations

from datetime import date

from bot.chat import case as case_chat
from bot.domain import penalty_notices as rules
from bot.storage.pathway import CaseFile, Entry, OpenItem, ParentCount, Stage
from bot.storage.pupils import OWN, SUPERVISION, PupilSummary

AMELIA = PupilSummary(7, "C00007", "Amelia", "Hughes", "Hillside Primary", "5", 100, 80, OWN,
                      "EWO1")


def _case(**changes: object) -> CaseFile:
    values: dict[str, object] = {
        "pupil_id": 7, "access": OWN, "stage": None, "open_items": (), "parents": (),
        "entries": (), "offset": 0, "total": 0}
    values.update(changes)
    return CaseFile(**values)  # type: ignore[arg-type]


def _entry(number: int) -> Entry:
    return Entry("visit", number, date(2026, 11, 1 + number % 20), "home", "EWO1",
                 "2026-11-01T10:00:00+00:00")


def test_an_empty_case_says_so_and_has_no_buttons() -> None:
    assert case_chat.case_text(AMELIA, _case(), minutes=0).splitlines() == [
        "Case: Amelia Hughes (C00007)",
        case_chat.NO_STAGE,
        case_chat.NO_OPEN_ITEMS,
        case_chat.NO_PARENTS,
        case_chat.NO_ENTRIES,
    ]
    assert case_chat.case_buttons(_case()) == []


def test_stage_items_counts_and_chronology_with_their_dates() -> None:
    mum = ParentCount(11, "Jo Hughes", rules.eligibility([], 11, date(2026, 11, 25)))
    dad = ParentCount(12, "Sam Hughes", rules.Eligibility(12, 2, None, rules.THIRD_REFUSED_TEXT))
    case = _case(
        stage=Stage("pn_referral", date(2026, 11, 2)),
        open_items=(OpenItem(7, "improvement_ends", date(2026, 11, 23), 1),
                    OpenItem(7, "payment_closes", date(2026, 11, 30), 2, contact_id=11)),
        parents=(mum, dad),
        entries=(Entry("outcome", 3, date(2026, 11, 2), "issued", "EWO1", "x"),
                 Entry("step", 2, date(2026, 11, 2), "pn_referral", "EWO1", "x"),
                 Entry("step", 1, date(2024, 1, 5), "nti", None, "x"),
                 Entry("sharing", 9, date(2024, 1, 4), "not_shared:school", "EWO1", "x"),
                 Entry("letter", 8, date(2024, 1, 3), "sent", "EWO1", "x")),
        total=5)
    assert case_chat.case_text(AMELIA, case, minutes=15).splitlines() == [
        "Case: Amelia Hughes (C00007)",
        "Current stage: Enforcement — Penalty-notice referral, 02/11/2026",
        "Open items:",
        "• Improvement period ends: 23/11/2026",
        "• Payment window closes: 30/11/2026 (Jo Hughes)",
        "Penalty notices per parent (last 3 years):",
        f"• Jo Hughes: 0 — {rules.FIRST_NOTICE_TEXT}",
        f"• Sam Hughes: 2 — {rules.THIRD_REFUSED_TEXT}",
        "Chronology, newest first (1–5 of 5):",
        "• 02/11/2026 — Penalty notice issued (EWO1)",
        "• 02/11/2026 — Penalty-notice referral (EWO1)",
        "• 05/01/2024 — Notice to Improve (imported)",
        "• 04/01/2024 — Not shared with School (EWO1)",
        # A source the view has no label for yet still shows, by its code.
        "• 03/01/2024 — letter: sent (EWO1)",
        "",
        "This message is deleted after 15 minutes.",
    ]


def test_a_referral_awaiting_its_outcome_is_shown_under_its_parent_s_count() -> None:
    today = date(2026, 11, 25)
    mum = ParentCount(11, "Jo Hughes", rules.eligibility([], 11, today), (date(2026, 11, 20),))
    dad = ParentCount(12, "Sam Hughes", rules.eligibility([], 12, today))
    lines = case_chat.count_lines((mum, dad))
    assert lines == [
        "Penalty notices per parent (last 3 years):",
        f"• Jo Hughes: 0 — {rules.FIRST_NOTICE_TEXT}",
        "• Jo Hughes: a referral of 20/11/2026 awaits its outcome",
        f"• Sam Hughes: 0 — {rules.FIRST_NOTICE_TEXT}"]


def test_a_supervisor_sees_whose_pupil_it_is() -> None:
    text = case_chat.case_text(AMELIA, _case(access=SUPERVISION), minutes=0)
    assert text.splitlines()[0] == "Read only: allocated to EWO1"


def test_paging_buttons_on_the_first_middle_and_last_page() -> None:
    entries = tuple(_entry(number) for number in range(10))
    first = _case(entries=entries, total=25)
    middle = _case(entries=entries, total=25, offset=10)
    last = _case(entries=entries[:5], total=25, offset=20)
    assert case_chat.case_buttons(first) == [[(case_chat.NEXT, "case:7:2")]]
    assert case_chat.case_buttons(middle) == [[(case_chat.PREVIOUS, "case:7:1"),
                                               (case_chat.NEXT, "case:7:3")]]
    assert case_chat.case_buttons(last) == [[(case_chat.PREVIOUS, "case:7:2")]]
    assert "(21–25 of 25)" in case_chat.case_text(AMELIA, last, minutes=0)
    assert case_chat.entry_line(_entry(3)) == "• 04/11/2026 — Home visit (EWO1)"
