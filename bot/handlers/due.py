"""/due — the officer's open follow-ups dated today or earlier, oldest first, then the
attendance pathway's items due today or earlier (reviews, improvement periods ended,
notices at day 29, supervision orders ending), each list audited as one entry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from telegram import Update

from bot.chat import render
from bot.chat.render import keyboard
from bot.chat.restriction import RESTRICTED_MARK
from bot.domain.pathway_text import DUE_ITEM_LABELS, STEP_LABELS, label
from bot.handlers.common import Context, answer
from bot.handlers.drafts import today_in
from bot.handlers.visit.texts import (
    DUE_BUTTONS,
    DUE_COMMAND,
    DUE_HEADER,
    DUE_LINES,
    DUE_MORE,
    DUE_TODAY,
    NO_FOLLOW_UPS,
    OVERDUE,
    OVERDUE_ONE,
)
from bot.storage import audit
from bot.storage import pathway as pathway_store
from bot.storage import pupils as pupil_store
from bot.storage import visits as visit_store
from bot.storage.db import Conn
from bot.storage.pathway import OpenItem
from bot.storage.pupils import PupilSummary

PATHWAY_HEADER = "Pathway items due, oldest first:"
CASE_LABEL = "Case {case_ref}"


def _when(due: date, today: date) -> str:
    late = (today - due).days
    if late == 0:
        return DUE_TODAY
    if late == 1:
        return OVERDUE_ONE
    return OVERDUE.format(days=late)


def _due_line(item: visit_store.FollowUp, today: date) -> str:
    """"DD/MM/YYYY (when) — Name, case ref, school"; a restricted record without its school."""
    if item.restricted:
        return (f"{render.day(item.follow_up)} ({_when(item.follow_up, today)}) — {item.name}, "
                f"{item.case_ref} — {RESTRICTED_MARK}")
    return (f"{render.day(item.follow_up)} ({_when(item.follow_up, today)}) — {item.name}, "
            f"{item.case_ref}, {item.school_name}")


def pathway_line(item: OpenItem, pupil: PupilSummary, today: date) -> str:
    """"DD/MM/YYYY (when) — what — Name, case ref, school"; a restricted record by name
    and reference only, with the marker."""
    if pupil.restricted:
        return (f"{render.day(item.due)} ({_when(item.due, today)}) — {pupil.name}, "
                f"{pupil.case_ref} — {RESTRICTED_MARK}")
    what = label(DUE_ITEM_LABELS, item.kind)
    if item.kind == "review":
        what = f"{label(STEP_LABELS, item.step_kind or '')} {what}".strip()
    return (f"{render.day(item.due)} ({_when(item.due, today)}) — {what} — {pupil.name}, "
            f"{pupil.case_ref}, {pupil.school_name}")


async def due_command(update: Update, context: Context) -> None:
    """/due — my follow-ups and pathway items dated today or earlier, oldest first."""
    officer = context.officer
    svc = context.services
    today = today_in(context)
    due = await svc.db.read(visit_store.open_follow_ups, officer, today=today)
    items, pupils = await _pathway_due(context, today)
    if not due and not items:
        await answer(update, NO_FOLLOW_UPS)
        return
    lines: list[str] = []
    buttons: list[list[tuple[str, str]]] = []
    if due:
        # Each pupil named is in the one audit entry of this list, committed before it shows.
        await svc.audit_trail.append(audit.listing(
            actor=officer.actor, reason=DUE_COMMAND,
            pupil_ids=[item.pupil_id for item in due[:DUE_LINES]]))
        lines += [DUE_HEADER, *(_due_line(item, today) for item in due[:DUE_LINES])]
        if len(due) > DUE_LINES:
            lines.append(DUE_MORE.format(count=len(due) - DUE_LINES))
        buttons += [[(item.name, f"card:{item.pupil_id}")] for item in due[:DUE_BUTTONS]]
    if items:
        lines += [""] if lines else []
        lines += [PATHWAY_HEADER, *(pathway_line(item, pupils[item.pupil_id], today)
                                    for item in items[:DUE_LINES])]
        if len(items) > DUE_LINES:
            lines.append(DUE_MORE.format(count=len(items) - DUE_LINES))
        shown = list(dict.fromkeys(item.pupil_id for item in items))[:DUE_BUTTONS]
        buttons += [[(CASE_LABEL.format(case_ref=pupils[pupil_id].case_ref),
                      f"case:{pupil_id}")] for pupil_id in shown]
    await answer(update, "\n".join(lines), markup=keyboard(buttons))


async def _pathway_due(context: Context,
                       today: date) -> tuple[Sequence[OpenItem], dict[int, PupilSummary]]:
    """The pathway items due on my own caseload (audited as one list by the storage
    function) and the pupils they are about."""
    officer = context.officer
    svc = context.services
    now = svc.clock.now()

    async def _audited(conn: Conn):
        items = await pathway_store.items_due(conn, officer, today=today, now=now)
        pupils = await pupil_store.pupils_among(
            conn, officer, sorted({item.pupil_id for item in items}), today=today,
            year_end=svc.settings.academic_year_end, include_team=False)
        return items, pupils
    items, pupils = await svc.db.write(_audited)
    by_id = {pupil.id: pupil for pupil in pupils}
    return [item for item in items if item.pupil_id in by_id], by_id
