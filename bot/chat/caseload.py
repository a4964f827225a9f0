"""The caseload summary as chat text, for /caseload and the weekly digest alike: pages
that each fit in one Telegram message, officers most in need first."""

from __future__ import annotations

from bot.chat.restriction import RESTRICTED_MARK
from bot.domain.caseload import Figures
from bot.domain.text import counted
from bot.storage.caseload import OfficerLine, TeamCaseload

PAGE_OF = " — page {page} of {pages}"
LEGEND = ("Persistent absence counts severe absence too; not visited for 28 days counts "
          "from allocation when never visited; open notices are improvement periods "
          "running and penalty notices awaiting an outcome. Officers most in need of "
          "support first.")
# Each figure with its own plain label, the noun agreeing with the count.
FIGURE_LABELS = (
    ("pupils", "pupil", "pupils"),
    ("persistent", "in persistent absence", "in persistent absence"),
    ("severe", "in severe absence", "in severe absence"),
    ("visits", "visit in the last 28 days", "visits in the last 28 days"),
    ("overdue", "follow-up overdue", "follow-ups overdue"),
    ("not_visited", "not visited for 28 days", "not visited for 28 days"),
    ("undelivered", "undelivered alert", "undelivered alerts"),
    ("open_notices", "open notice", "open notices"),
)
FIGURE_SEPARATOR = " · "
TOTAL = "Team total: {figures}"
OWN = "Your own caseload ({ref}): {figures}"
OFFICER = "{name} ({ref}){ended}: {figures}"
ENDED = " — access ended"
NO_TEAM = "No officers are in your team yet."
FOOTER = "Send /caseload REF for one officer in detail."
PAGE_BUDGET = 3800  # UTF-16 units; Telegram's limit is 4,096
_LONGEST_NAME = 60


def summary_pages(team: TeamCaseload, *, title: str, footer: bool = True) -> list[str]:
    """The summary as messages that each fit in Telegram: the first holds the legend,
    the team total and the supervisor's own line; officers follow, most in need first.
    Without `footer`, no FOOTER (for someone who cannot send /caseload for this team)."""
    head = [LEGEND, "", TOTAL.format(figures=figures_text(team.total)),
            OWN.format(ref=team.own.ref, figures=figures_text(team.own.figures)), ""]
    lines = [_officer_line(line) for line in team.officers] or [NO_TEAM]
    bodies: list[list[str]] = [head]
    for line in [*lines, *(["", FOOTER] if footer else [])]:
        if _length("\n".join([title, *bodies[-1], line])) > PAGE_BUDGET:
            bodies.append([])
        if line or bodies[-1]:  # a page never starts with a blank line
            bodies[-1].append(line)
    if len(bodies) == 1:
        return ["\n".join([title, *bodies[0]])]
    return ["\n".join([title + PAGE_OF.format(page=number, pages=len(bodies)), *body])
            for number, body in enumerate(bodies, 1)]


def _officer_line(line: OfficerLine) -> str:
    return OFFICER.format(name=short_name(line.name), ref=line.ref,
                          ended=ENDED if line.revoked else "", figures=figures_text(line.figures))


def figures_text(figures: Figures) -> str:
    counts = figure_counts(figures)
    return FIGURE_SEPARATOR.join(counted(counts[key], one, many)
                                 for key, one, many in FIGURE_LABELS)


def figure_counts(figures: Figures) -> dict[str, int]:
    return {"pupils": figures.pupils, "persistent": figures.persistent,
            "severe": figures.severe, "visits": figures.visits, "overdue": figures.overdue,
            "not_visited": figures.not_visited, "undelivered": figures.undelivered,
            "open_notices": figures.open_notices}


def restricted_line(name: str, case_ref: str) -> str:
    """A restricted record in a list of pupils: its name and reference with the marker
    and nothing else (CASEWORK.md §3), as /pupils lists it."""
    return f"{name} ({case_ref}) — {RESTRICTED_MARK}"


def short_name(name: str) -> str:
    return name if len(name) <= _LONGEST_NAME else name[:_LONGEST_NAME - 1] + "…"


def _length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
