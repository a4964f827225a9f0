"""The weekly caseload digest (a use case): each supervisor's summary, through the outbox,
once a week.

`EWO_CASELOAD_DIGEST` names a day and time (none: no digest). The job runs at start
and every few minutes; the digest due is that of the latest moment passed, labelled by
its ISO week. Until it is queued it stays due, so one missed while the bot was down is
sent once it is back, even after the week has turned (set to `SUN 23:30`, a bot down
over midnight sends it at 00:30 on Monday), until the next moment replaces it: a digest
a week late is not sent beside the new one. It queues one digest per supervisor and
records the week in `meta` in the same transaction, so a restart, a second process or
a missed run never sends a week's digest twice or not at all. A service that never sent
one starts with this week's moment, not last week's from before it was running.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from bot.chat.caseload import summary_pages
from bot.chat.render import day
from bot.settings import Settings
from bot.storage import audit, outbox
from bot.storage import caseload as caseload_store
from bot.storage.caseload import Terms
from bot.storage.db import Conn, Database

TITLE = "Weekly caseload digest for your team, {date}"
MORE = "More officers in /caseload."
OPEN_BUTTON = "Open caseload"


def due_week(now: datetime, weekly: tuple[int, time]) -> str:
    """The ISO week label (`2026-W48`) of the latest digest moment at or before `now`:
    this week's once it has passed, else last week's.

    `now` is in the service time zone; the moment is the weekday (0 = Monday) and
    wall-clock time of the setting, in that zone.
    """
    weekday, at = weekly
    monday = now.date() - timedelta(days=now.weekday())
    moment = datetime.combine(monday + timedelta(days=weekday), at, tzinfo=now.tzinfo)
    if now < moment:
        moment -= timedelta(weeks=1)
    return week_of(moment)


def week_of(moment: datetime) -> str:
    """A moment's ISO week label (`2026-W48`)."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


async def enqueue_due_digests(db: Database, settings: Settings, now: datetime) -> int:
    """Queue this week's digests if they are due and not yet queued; returns how many."""
    if settings.caseload_digest is None:
        return 0
    local = now.astimezone(settings.timezone)
    week = due_week(local, settings.caseload_digest)
    # Figures are read before the write lock so other writers are not held up.
    digests = await db.read(_digests, week, week_of(local), Terms.of(settings, now))
    if digests is None:
        return 0
    queued = await db.write(_queue_digests, week, week_of(local), digests, now)
    return 0 if queued is None else queued


async def _digests(conn: Conn, week: str, current: str,
                   terms: Terms) -> list[tuple[int, dict[str, Any]]] | None:
    """Each supervisor's digest payload (None: the week's are not owed, see _owed)."""
    if not await _owed(conn, week, current):
        return None
    digests = []
    for supervisor in await caseload_store.digest_supervisors(conn):
        team = await caseload_store.team_caseload(conn, supervisor, terms=terms)
        if team.officers or team.own.figures.pupils:
            digests.append((supervisor.id, digest_payload(team)))
    return digests


async def _queue_digests(conn: Conn, week: str, current: str,
                         digests: list[tuple[int, dict[str, Any]]], now: datetime) -> int | None:
    """Queue the week's digests and record the week (None: another process was quicker)."""
    await conn.lock("caseload_digest")
    if not await _owed(conn, week, current):
        return None
    for supervisor_id, payload in digests:
        await outbox.enqueue(conn, kind="digest", audience=f"supervisor:{supervisor_id}",
                             payload=payload, now=now)
    await caseload_store.record_digest_week(conn, week)
    await audit.append(conn, actor="system", action="caseload_digest",
                       reason="weekly_digest", detail={"week": week,
                                                       "supervisors": len(digests)}, at=now)
    return len(digests)


def digest_payload(team: caseload_store.TeamCaseload) -> dict[str, Any]:
    """The digest as queued: its text and button, and its form for anyone it is
    readdressed to while the supervisor is lapsed (`outbox.READDRESSED_FORM`): their
    /caseload is their own team's, or, for a controller, not theirs at all, so it points
    to no /caseload."""
    return {"text": digest_text(team), "buttons": [[OPEN_BUTTON, "cl:page:0"]],
            outbox.READDRESSED_FORM: {"text": digest_text(team, pointers=False)}}


def digest_text(team: caseload_store.TeamCaseload, *, pointers: bool = True) -> str:
    """The first page of the summary (officers most in need come first); without
    `pointers`, neither FOOTER nor MORE."""
    pages = summary_pages(team, title=TITLE.format(date=day(team.today)), footer=pointers)
    return pages[0] if len(pages) == 1 or not pointers else f"{pages[0]}\n\n{MORE}"


async def _owed(conn: Conn, week: str, current: str) -> bool:
    """Whether `week`'s digests are still to be queued; `current` is this ISO week's label
    (a service that never sent a digest owes none for a week before it)."""
    last = await caseload_store.last_digest_week(conn)
    if last is None:
        return week >= current
    # ISO week labels sort in time order; a clock set back never repeats a week.
    return last < week
