"""/caseload for supervisors: their team's summary with a chart, and one officer in detail.

Supervisors only; officers and controllers get the polite refusal. Every request,
button presses included, is audited (`caseload`, reason `supervision`). Buttons
(`cl:page:<n>`, `cl:pupils:<officer_ref>:<n>`) are untrusted: each press is answered
from queries scoped to the supervisor pressing, so another team's officer is answered
exactly like an unknown reference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot import charts
from bot.chat.caseload import (
    ENDED,
    figure_counts,
    restricted_line,
    short_name,
    summary_pages,
)
from bot.chat.render import ack, day, edit
from bot.domain.attendance import percent_text
from bot.domain.caseload import band_labels
from bot.domain.text import pupil_name
from bot.handlers.common import STALE_BUTTON, Context, answer, button_data, keyboard, parse_id
from bot.storage import audit
from bot.storage import caseload as caseload_store
from bot.storage.caseload import OfficerCaseload, PupilInNeed, TeamCaseload, Terms
from bot.storage.officers import Officer

TITLE = "Caseload of your team, {date}"
NOTHING = "No officers are in your team and no pupils are allocated to you."
UNKNOWN_OFFICER = "No officer in your team has that reference. Send /caseload to see your team."
CHART_TITLE = "Pupils by attendance band, {date}"
CHART_CAPTION = "Your team's pupils by attendance band this academic year."
CHART_SOME = " The {count} officers most in need of support are shown."
YOU = "{ref} (you)"

DETAIL_TITLE = "{name} ({ref}) — caseload on {date}"
OWN_TITLE = "Your own caseload ({ref}) — {date}"
DETAIL_FIGURES = (
    "Pupils allocated: {pupils}\n"
    "In persistent absence (severe included): {persistent}\n"
    "In severe absence: {severe}\n"
    "Visits in the last 28 days: {visits}\n"
    "Follow-ups overdue: {overdue}\n"
    "Not visited for 28 days: {not_visited}\n"
    "Undelivered alerts: {undelivered}\n"
    "Open notices (improvement periods running, notices awaiting an outcome): "
    "{open_notices}")
IN_NEED = "Pupils in need, most in need first ({first}–{last} of {total}):"
NONE_IN_NEED = "No pupils in need of attention."
SEVERE, PERSISTENT = "severe absence", "persistent absence"
OVERDUE = "follow-up overdue since {date}"
NOT_VISITED = "not visited for 28 days"
LAST_VISIT, NEVER_VISITED = "last visit {date}", "never visited (allocated {date})"
PREVIOUS = "◀ Previous"
NEXT = "Next ▶"

PUPILS_PER_PAGE = 8
ACTION, REASON = "caseload", "supervision"


# --- /caseload ---------------------------------------------------------------------------


async def caseload_command(update: Update, context: Context) -> None:
    """/caseload — the team's summary and chart; /caseload REF — one officer in detail."""
    args = context.args or ()
    if args:
        await _show_officer(update, context, args[0], 0, edit=False)
        return
    supervisor = context.officer
    team = await _team(context, supervisor)
    await _audit(context, supervisor, target=None, detail={"view": "team", "page": 0})
    if not team.officers and not team.own.figures.pupils:
        await answer(update, NOTHING)
        return
    pages = summary_pages(team, title=TITLE.format(date=day(team.today)))
    await answer(update, pages[0], markup=_summary_markup(0, len(pages)))
    await _send_chart(update, context, team)


async def caseload_button(update: Update, context: Context) -> None:
    """`cl:page:<n>` a page of the summary; `cl:pupils:<ref>:<n>` an officer's pupils."""
    parts = button_data(update)
    page = parse_id(parts[-1]) if len(parts) in (3, 4) else None
    if page is not None and len(parts) == 3 and parts[1] == "page":
        await _summary_page(update, context, page)
    elif page is not None and len(parts) == 4 and parts[1] == "pupils":
        await _show_officer(update, context, parts[2], page, edit=True)
    else:
        await answer(update, STALE_BUTTON)


async def _summary_page(update: Update, context: Context, page: int) -> None:
    supervisor = context.officer
    team = await _team(context, supervisor)
    pages = summary_pages(team, title=TITLE.format(date=day(team.today)))
    page = min(page, len(pages) - 1)  # the team shrank since the button was sent
    await _audit(context, supervisor, target=None, detail={"view": "team", "page": page})
    await _edit(update, pages[page], _summary_markup(page, len(pages)))


async def _show_officer(update: Update, context: Context, ref: str, page: int, *,
                        edit: bool) -> None:
    supervisor = context.officer
    svc = context.services
    detail = await svc.db.read(caseload_store.officer_caseload, supervisor, ref,
                               terms=Terms.of(svc.settings, svc.clock.now()))
    if detail is None:
        await _audit(context, supervisor, target=None, detail={"view": "officer",
                                                               "found": False})
        await answer(update, UNKNOWN_OFFICER)
        return
    page = min(page, max(0, _page_count(len(detail.pupils_in_need)) - 1))
    shown = detail.pupils_in_need[page * PUPILS_PER_PAGE:(page + 1) * PUPILS_PER_PAGE]
    # The entry names each pupil listed too, so their subject-access exports show it.
    await _audit(context, supervisor, target=f"officer:{detail.line.ref}",
                 detail={"view": "officer", "page": page},
                 pupil_ids=[pupil.pupil_id for pupil in shown])
    text, markup = officer_page(detail, page)
    if edit:
        await _edit(update, text, markup)
    else:
        await answer(update, text, markup=markup)


# --- text --------------------------------------------------------------------------------


def officer_page(detail: OfficerCaseload, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """One officer's figures and a page of their pupils in need, with card buttons."""
    line = detail.line
    title = (OWN_TITLE.format(ref=line.ref, date=day(detail.today)) if line.own else
             DETAIL_TITLE.format(name=short_name(line.name), ref=line.ref, date=day(detail.today)))
    parts = [title + (ENDED if line.revoked else ""),
             DETAIL_FIGURES.format(**figure_counts(line.figures)), ""]
    total = len(detail.pupils_in_need)
    first = page * PUPILS_PER_PAGE
    shown = list(enumerate(detail.pupils_in_need[first:first + PUPILS_PER_PAGE], first + 1))
    if not shown:
        parts.append(NONE_IN_NEED)
    else:
        parts.append(IN_NEED.format(first=first + 1, last=first + len(shown), total=total))
        parts += [f"{number}. {_pupil_line(pupil)}" for number, pupil in shown]
    buttons = [(f"{number}. {pupil_name(pupil.first_name, pupil.last_name)}",
                f"card:{pupil.pupil_id}") for number, pupil in shown]
    rows = [buttons[index:index + 2] for index in range(0, len(buttons), 2)]
    paging = _paging(page, _page_count(total), f"cl:pupils:{line.ref}:")
    if paging:
        rows.append(paging)
    return "\n".join(parts), keyboard(rows)


def _pupil_line(pupil: PupilInNeed) -> str:
    """"Name (ref) — figures and dates"; a restricted record by name and reference only."""
    if pupil.restricted:
        return restricted_line(pupil_name(pupil.first_name, pupil.last_name), pupil.case_ref)
    standing = pupil.standing
    flags = [percent_text(pupil.attended, pupil.possible)]
    if standing.severe:
        flags.append(SEVERE)
    elif standing.persistent:
        flags.append(PERSISTENT)
    if standing.overdue and pupil.follow_up is not None:
        flags.append(OVERDUE.format(date=day(pupil.follow_up)))
    if standing.not_visited:
        flags.append(NOT_VISITED)
    flags.append(LAST_VISIT.format(date=day(pupil.last_visit)) if pupil.last_visit
                 else NEVER_VISITED.format(date=day(pupil.allocated_on)))
    name = pupil_name(pupil.first_name, pupil.last_name)
    return f"{name} ({pupil.case_ref}) — {'; '.join(flags)}"




def _page_count(items: int) -> int:
    return max(1, -(-items // PUPILS_PER_PAGE))


def _paging(page: int, pages: int, prefix: str) -> list[tuple[str, str]]:
    paging = []
    if page > 0:
        paging.append((PREVIOUS, f"{prefix}{page - 1}"))
    if page < pages - 1:
        paging.append((NEXT, f"{prefix}{page + 1}"))
    # A reference too long for a button's 64 bytes gets no paging rather than an error.
    return [button for button in paging if len(button[1].encode()) <= 64]


def _summary_markup(page: int, pages: int) -> InlineKeyboardMarkup | None:
    paging = _paging(page, pages, "cl:page:")
    return keyboard([paging]) if paging else None


# --- chart, replies, audit -----------------------------------------------------------------


async def _send_chart(update: Update, context: Context, team: TeamCaseload) -> None:
    settings = context.services.settings
    labels = band_labels(pa_threshold=settings.pa_threshold, sa_threshold=settings.sa_threshold)
    bars: list[tuple[str, Sequence[int]]] = []
    room = charts.MAX_BARS - (1 if team.own.figures.pupils else 0)
    bars += [(line.ref, line.figures.bands) for line in team.officers[:room]]
    if team.own.figures.pupils:
        bars.append((YOU.format(ref=team.own.ref), team.own.figures.bands))
    caption = CHART_CAPTION
    if len(team.officers) > room:
        caption += CHART_SOME.format(count=room)
    # Rendering takes a moment of CPU: keep the event loop answering meanwhile.
    png = await asyncio.to_thread(charts.caseload_chart, bars, labels,
                                  title=CHART_TITLE.format(date=day(team.today)))
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(InputFile(png, filename="caseload.png"), caption=caption)


async def _team(context: Context, supervisor: Officer) -> TeamCaseload:
    svc = context.services
    return await svc.db.read(caseload_store.team_caseload, supervisor,
                             terms=Terms.of(svc.settings, svc.clock.now()))


async def _audit(context: Context, supervisor: Officer, *, target: str | None,
                 detail: dict[str, Any], pupil_ids: Sequence[int] = ()) -> None:
    svc = context.services
    await svc.db.write(audit.append, actor=supervisor.actor, action=ACTION, target=target,
                       reason=REASON, detail=detail, at=svc.clock.now(),
                       targets=audit.pupil_refs(pupil_ids))


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show a page in the message whose button was pressed."""
    await edit(update, text, markup)
    await ack(update)
