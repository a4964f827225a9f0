"""The daily retention check: reminds controllers of records coming due and past due.

It runs at EWO_RETENTION_CHECK_TIME and at start-up when the last check is more than
a day old, so a check missed while the bot was down is not lost: the job looks every
minute (and at start) at the time of the last check, kept in the database, rather
than trusting an in-memory daily job. `ewobot retention
check` runs the same check. A reminder is one outbox message to the controllers,
sent only when there is something new; it names no one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from telegram.ext import ContextTypes

from bot.domain.dates import next_delivery_time
from bot.domain.retention import RetentionPolicy
from bot.domain.text import noun_for
from bot.settings import Settings
from bot.storage import audit, outbox, retention, sar
from bot.storage.db import Conn, Database, DatabaseError
from bot.storage.retention import ReminderNews, SchoolCount

log = logging.getLogger(__name__)

CATCH_UP_AFTER = timedelta(days=1)
INTERVAL_SECONDS = 60
MAX_SCHOOL_LINES = 40  # keeps the reminder well inside one Telegram message

HEADLINE = "Retention check {day}: {past} past due, {coming} coming due by {by}, {held} on hold."
SCHOOL_LINE = "{school}: {past} past due, {coming} coming due"
MORE_SCHOOLS = "…and {count} more {schools}."
SCHOOL = "school"
HEAD_LINE = "Audit trail head: {head}. Keep a note of it outside this system."
OPEN_BUTTON = "Open /retention"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check found and whether it queued a reminder."""

    coming_due: int
    past_due: int
    held: int
    news: ReminderNews
    reminded: bool
    head: audit.Head


async def run_retention_check(db: Database, settings: Settings, now: datetime, *,
                              actor: str | None = None) -> CheckResult:
    """Check every record once; queue one reminder to the controllers if anything is new.

    Run by a person (`actor`, e.g. `os:USER` from the command line), the check is
    audited; the daily job's own runs change no record and are not."""
    now = now.astimezone(settings.timezone)
    policy = retention.policy_for(settings, now)
    async def _transaction(conn: Conn):
        stock = await retention.take_stock(conn, policy, now)
        counts, news = stock.counts, stock.news
        coming = sum(count.coming_due for count in counts)
        past = sum(count.past_due for count in counts)
        held = sum(count.held for count in counts)
        if actor is not None:
            await audit.append(conn, actor=actor, action="retention_check",
                               reason="admin_command", at=now,
                               detail={"coming_due": coming, "past_due": past, "held": held,
                                       "reminded": news.anything})
        head = await audit.head(conn)
        if news.anything:
            await outbox.enqueue(
                conn, kind="retention", audience="controllers",
                payload=reminder_payload(counts, head, policy), now=now,
                not_before=next_delivery_time(now, settings.quiet_hours, settings.quiet_days))
        await retention.record_check(conn, now)
        return coming, head, held, news, past
    coming, head, held, news, past = await db.write(_transaction)
    return CheckResult(coming, past, held, news, news.anything, head)


def reminder_payload(counts: list[SchoolCount], head: audit.Head,
                     policy: RetentionPolicy) -> dict[str, object]:
    """The reminder: counts by school and the audit head, no case references at all."""
    coming = sum(count.coming_due for count in counts)
    past = sum(count.past_due for count in counts)
    held = sum(count.held for count in counts)
    lines = [HEADLINE.format(day=_day(policy.today), past=past, coming=coming, held=held,
                             by=_day(policy.today + timedelta(days=policy.notice_days)))]
    shown = [count for count in counts if count.coming_due or count.past_due]
    lines += [SCHOOL_LINE.format(school=count.school_name, past=count.past_due,
                                 coming=count.coming_due)
              for count in shown[:MAX_SCHOOL_LINES]]
    if len(shown) > MAX_SCHOOL_LINES:
        more = len(shown) - MAX_SCHOOL_LINES
        lines.append(MORE_SCHOOLS.format(count=more, schools=noun_for(more, SCHOOL)))
    lines.append(HEAD_LINE.format(head=head.short()))
    return {"text": "\n".join(lines), "buttons": [[OPEN_BUTTON, "ret:open"]]}


def _day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def check_is_due(now: datetime, last: datetime | None, check_time: time) -> bool:
    """Whether the check should run now: today's check time has passed since the last
    check, or the last check is more than a day old (missed while the bot was down)."""
    if last is None or now - last >= CATCH_UP_AFTER:
        return True
    todays = datetime.combine(now.date(), check_time, tzinfo=now.tzinfo)
    return last < todays <= now


async def check_if_due(db: Database, settings: Settings, now: datetime) -> CheckResult | None:
    """Run the check if it is due (see check_is_due); None when it was not."""
    now = now.astimezone(settings.timezone)
    last = await db.read(retention.last_check)
    if not check_is_due(now, last, settings.retention_check_time):
        return None
    return await run_retention_check(db, settings, now)


async def retention_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every minute and at start. Deciding from the time of the last check kept in the
    database (not from an in-memory daily job, which a restart or a busy moment at the
    check time would lose) makes a missed check run as soon as the bot is back. A
    disposal whose files could not be cleaned (a crash just after it, or another process
    reading at the time) is cleaned up here too."""
    svc = context.application.bot_data["services"]
    await clean_up_after_disposals(svc.db, svc.settings.export_dir)
    await check_if_due(svc.db, svc.settings, svc.clock.now())


async def clean_up_after_disposals(db: Database, export_dir: Path) -> bool:
    """Scrub the database if a disposal still owes it, so nothing disposed of stays
    readable in the files, and delete the subject-access exports of the records
    disposed of from `export_dir`; False while another process keeps the database
    busy (retried)."""
    marker = await db.read(retention.clean_up_owed)
    if marker is None:
        return True
    try:
        removed = await sar.remove_exports_of_disposed(db, export_dir)
    except OSError as exc:  # the database is still cleaned; the files wait for a person
        log.warning("disposal clean-up: an export could not be deleted (%s)",
                    type(exc).__name__)
    else:
        if removed:
            log.info("disposal clean-up: %d subject-access export(s) deleted", removed)
    try:
        await db.scrub()
    except DatabaseError:
        log.warning("disposal clean-up: the write-ahead log is busy; retried in a minute")
        return False
    await db.write(retention.clean_up_done, marker)
    return True
