"""The caseload summary's text: every officer once, pages that fit in Telegram."""

from __future__ import annotations

from datetime import date

from bot.chat import caseload
from bot.domain.caseload import Figures
from bot.storage.caseload import OfficerLine, TeamCaseload

TELEGRAM_LIMIT = 4096


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def team_of(count: int, name: str) -> TeamCaseload:
    figures = Figures(pupils=12345, persistent=999, severe=99, visits=999, overdue=99,
                      not_visited=999, undelivered=99)
    officers = tuple(OfficerLine(n, f"REF{n:04d}", f"{name} {n}", n % 9 == 0, False, figures)
                     for n in range(count))
    own = OfficerLine(9999, "SUP1", "Supervisor", False, True, Figures())
    return TeamCaseload(date(2026, 11, 25), officers, own, sum(
        (line.figures for line in officers), Figures()))


def test_pages_fit_and_show_every_officer_once() -> None:
    # Names of characters outside the BMP count twice in Telegram's UTF-16 limit.
    team = team_of(200, "𝔄𝔫𝔫𝔢 " * 20)
    pages = caseload.summary_pages(team, title="Caseload of your team, 25/11/2026")
    assert len(pages) > 5
    assert all(utf16(page) <= TELEGRAM_LIMIT for page in pages)
    refs = [line.split("(")[1].split(")")[0] for page in pages for line in page.splitlines()
            if "(REF" in line]
    assert refs == [f"REF{n:04d}" for n in range(200)]
    assert pages[0].splitlines()[0].endswith(f"page 1 of {len(pages)}")
    assert pages[0].splitlines()[3].startswith("Team total: 2469000 pupils · ")
    assert pages[-1].splitlines()[-1] == caseload.FOOTER
    assert not any(page.splitlines()[1] == "" for page in pages[1:])
    assert "access ended" in pages[0]


def test_a_small_team_is_one_page_without_page_numbers() -> None:
    pages = caseload.summary_pages(team_of(3, "Ann"), title="Caseload")
    assert len(pages) == 1 and pages[0].splitlines()[0] == "Caseload"
    assert pages[0].splitlines()[4].startswith("Your own caseload (SUP1): 0 pupils ·")


def test_an_empty_team_says_so() -> None:
    pages = caseload.summary_pages(team_of(0, "Ann"), title="Caseload")
    assert caseload.NO_TEAM in pages[0].splitlines()
