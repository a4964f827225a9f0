"""The pathway reminders due and the record of those queued (issue 19; CASEWORK.md §1).

The dates come from bot/storage/pathway.py (the same items /due lists); a reminder is
queued once, ever: its key (the item and its date) is written in the transaction that
queues it, so a restart, a second process or a second run the same day queues nothing
again. Nothing here is shown to anyone: the message it becomes names no one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.domain import pathway_reminders as reminders
from bot.domain.pathway_reminders import Reminder
from bot.domain.text import initials
from bot.storage import pathway, rights
from bot.storage.db import Conn, stamp

# Marks read for an improvement period's comparison: its 10 school weeks before reach
# back across a summer holiday.
_MARKS_DAYS = 366


async def due_reminders(conn: Conn, *, today: date) -> list[Reminder]:
    """Every reminder due today (or missed on a recent day) not yet queued, for the
    officer each pupil is allocated to, oldest first. A restricted record (CASEWORK.md
    §3) is stored and nothing else: it is not reminded (nor recorded as reminded, so a
    lifted restriction's reminders still within the catch-up days go out)."""
    officers = await conn.fetchall("SELECT DISTINCT officer_id FROM allocations ORDER BY 1")
    found: list[Reminder] = []
    for row in officers:
        items = [item for item in await pathway.caseload_items(conn, row["officer_id"],
                                                               today=today)
                 if pathway.reminder_due(item) and reminders.in_window(item.due, today)]
        for item in items:
            key = reminders.reminder_key(item.kind, await _first_saved(conn, item.step_id),
                                         item.contact_id, item.due)
            if await conn.fetchval("SELECT 1 FROM pathway_reminders WHERE reminder_key = ?",
                                   (key,)) is None and not await rights.is_restricted(
                                       conn, item.pupil_id):
                found.append(await _reminder(conn, key, row["officer_id"], item))
    return found


async def _first_saved(conn: Conn, step_id: int) -> int:
    """The step a chain of corrections began with: a correction is the same item, so a
    reminder pushed before it (on a date it keeps) is not pushed again."""
    first = await conn.fetchval(
        "WITH RECURSIVE chain (id, supersedes) AS ("
        " SELECT id, supersedes FROM pathway_steps WHERE id = ?"
        " UNION ALL SELECT s.id, s.supersedes FROM pathway_steps s"
        " JOIN chain c ON s.id = c.supersedes)"
        " SELECT id FROM chain WHERE supersedes IS NULL", (step_id,))
    return step_id if first is None else int(first)


async def _reminder(conn: Conn, key: str, officer_id: int,
                    item: pathway.OpenItem) -> Reminder:
    row = await conn.fetchone(
        "SELECT p.case_ref, p.first_name, p.last_name, sc.name AS school, s.kind,"
        " s.step_date, s.period_weeks FROM pupils p JOIN schools sc ON sc.urn = p.school_urn"
        " JOIN pathway_steps s ON s.pupil_id = p.id WHERE p.id = ? AND s.id = ?",
        (item.pupil_id, item.step_id))
    step_date = date.fromisoformat(row["step_date"])
    during = before = None
    if item.kind == "improvement_reminder" and row["period_weeks"] is not None:
        marks = await conn.fetchall(
            "SELECT date, code FROM marks WHERE pupil_id = ? AND date > ? AND date < ?",
            (item.pupil_id, (step_date - timedelta(days=_MARKS_DAYS)).isoformat(),
             item.due.isoformat()))
        during, before = reminders.improvement_tallies(
            [(date.fromisoformat(mark["date"]), mark["code"]) for mark in marks], step_date,
            row["period_weeks"])
    return Reminder(key, item.pupil_id, officer_id, row["case_ref"],
                    initials(row["first_name"], row["last_name"]), row["school"], item.kind,
                    item.due, row["kind"], step_date, during, before)


async def claim(conn: Conn, due: Sequence[Reminder], *, now: datetime) -> list[Reminder]:
    """Record the reminders about to be queued; only those no one recorded before come
    back (another process, or an earlier run, may have been quicker)."""
    claimed = []
    for reminder in due:
        key = await conn.fetchval(
            "INSERT INTO pathway_reminders (reminder_key, pupil_id, queued_at) VALUES (?, ?, ?)"
            " ON CONFLICT (reminder_key) DO NOTHING RETURNING reminder_key",
            (reminder.key, reminder.pupil_id, stamp(now)))
        if key is not None:
            claimed.append(reminder)
    return claimed


async def due_again(conn: Conn, outbox_id: int, queued_at: str) -> None:
    """The reminders queued (at `queued_at`) into the reminder message `outbox_id`, which
    is withdrawn before it went (a pupil in it moved, or was disposed of): due again, so
    the next run queues each for the officer who holds the pupil then."""
    await conn.execute(
        "DELETE FROM pathway_reminders WHERE queued_at = ? AND pupil_id IN"
        " (SELECT pupil_id FROM outbox_pupils WHERE outbox_id = ?)", (queued_at, outbox_id))
