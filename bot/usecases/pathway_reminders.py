"""The daily pathway reminders (a use case): plan and contract reviews on the day, the
day after an improvement period ends, day 29 after a penalty notice with neither Paid
nor Withdrawn, 4 weeks before an education supervision order ends (CASEWORK.md §1).

The job runs at start and every few minutes; each reminder is queued once, ever (its
key is recorded in the transaction that queues it), so a restart, a second process or
a second run the same day never queues it twice. One message per officer a run, to
the officer the pupil is allocated to (a revoked officer's go to their supervisor, as
every pushed message does); quiet hours apply at delivery.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from bot.chat.reminders import reminder_payload
from bot.domain.pathway_reminders import Reminder
from bot.settings import Settings
from bot.storage import audit, outbox
from bot.storage import pathway_reminders as reminder_store
from bot.storage.db import Conn, Database


async def enqueue_due_reminders(db: Database, settings: Settings, now: datetime) -> int:
    """Queue the reminders due today and not yet queued; returns how many messages."""
    today = now.astimezone(settings.timezone).date()
    # Read before the write lock, so other writers are not held up.
    due = await db.read(reminder_store.due_reminders, today=today)
    if not due:
        return 0
    return await db.write(_queue, due, now)  # type: ignore[no-any-return]


async def _queue(conn: Conn, due: list[Reminder], now: datetime) -> int:
    await conn.lock("pathway_reminders")
    claimed = await reminder_store.claim(conn, due, now=now)
    by_officer: defaultdict[int, list[Reminder]] = defaultdict(list)
    for reminder in claimed:
        by_officer[reminder.officer_id].append(reminder)
    for officer_id, mine in by_officer.items():
        await outbox.enqueue(conn, kind="reminder", audience=f"officer:{officer_id}",
                             payload=reminder_payload(mine), now=now,
                             pupil_ids=sorted({reminder.pupil_id for reminder in mine}))
    if claimed:
        await audit.append(conn, actor="system", action="pathway_reminders",
                           reason="daily_reminders", at=now,
                           detail={"reminders": len(claimed), "messages": len(by_officer)})
    return len(by_officer)
