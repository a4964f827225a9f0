"""Retention: the check that reminds controllers of records coming due and past due,
holds and their release, disposals and the clean-up that makes a disposal final; each
a use case owning its transactions, called by the handlers, the jobs and the CLI.

A reminder is one outbox message to the controllers, sent only when there is something
new; it names no one. The same message tells them of rights requests due within 7 days
or overdue (ids and counts), at most once a day; and the check queues the officers'
compliance reminders (bot.storage.compliance), once a day too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from bot.chat.render import day
from bot.domain.dates import next_delivery_time
from bot.domain.retention import HOLD_REASONS, RetentionPolicy
from bot.domain.text import noun_for
from bot.settings import Settings
from bot.storage import audit, compliance, conversations, outbox, retention, rights, sar
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, Database, DatabaseError
from bot.storage.officers import Officer
from bot.storage.retention import DueRecord, ReminderNews, SchoolCount

log = logging.getLogger(__name__)

CATCH_UP_AFTER = timedelta(days=1)
CHECK_LOCK = "retention_check"
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
    not_before = next_delivery_time(now, settings.quiet_hours, settings.quiet_days)

    async def check(conn: Conn) -> CheckResult:
        # What the controllers were told, and when, is read here and decides what is
        # queued: one check at a time, on any instance (the job, `ewobot retention check`).
        await conn.lock(CHECK_LOCK)
        stock = await retention.take_stock(conn, policy, now)
        counts, news = stock.counts, stock.news
        requests = await rights.due_news_to_remind(conn, policy.today)
        reminding = news.anything or requests.anything
        coming = sum(count.coming_due for count in counts)
        past = sum(count.past_due for count in counts)
        held = sum(count.held for count in counts)
        if actor is not None:
            await audit.append(conn, actor=actor, action="retention_check",
                               reason="admin_command", at=now,
                               detail={"coming_due": coming, "past_due": past, "held": held,
                                       "reminded": reminding})
        head = await audit.head(conn)
        if reminding:
            await outbox.enqueue(
                conn, kind="retention", audience="controllers",
                payload=reminder_payload(counts, head, policy, requests.lines()), now=now,
                not_before=not_before)
        await compliance.queue_reminders(conn, settings, now, not_before=not_before)
        await retention.record_check(conn, now)
        return CheckResult(coming, past, held, news, reminding, head)

    return await db.write(check)


def reminder_payload(counts: list[SchoolCount], head: audit.Head, policy: RetentionPolicy,
                     requests: list[str] | None = None) -> dict[str, object]:
    """The reminder: counts by school, the rights requests due soon or overdue (ids and
    counts), and the audit head; no case references at all."""
    coming = sum(count.coming_due for count in counts)
    past = sum(count.past_due for count in counts)
    held = sum(count.held for count in counts)
    lines = [HEADLINE.format(day=day(policy.today), past=past, coming=coming, held=held,
                             by=day(policy.today + timedelta(days=policy.notice_days)))]
    shown = [count for count in counts if count.coming_due or count.past_due]
    lines += [SCHOOL_LINE.format(school=count.school_name, past=count.past_due,
                                 coming=count.coming_due)
              for count in shown[:MAX_SCHOOL_LINES]]
    if len(shown) > MAX_SCHOOL_LINES:
        more = len(shown) - MAX_SCHOOL_LINES
        lines.append(MORE_SCHOOLS.format(count=more, schools=noun_for(more, SCHOOL)))
    lines += requests or []
    lines.append(HEAD_LINE.format(head=head.short()))
    return {"text": "\n".join(lines), "buttons": [[OPEN_BUTTON, "ret:open"]]}


def check_is_due(now: datetime, last: datetime | None, check_time: time) -> bool:
    """Whether the check should run now: the latest check time (today's once passed, else
    yesterday's) has come since the last check, or the last check is more than a day old.
    A check time missed while the bot was down is caught up when it is back, even after
    midnight (set to 23:30, a bot down from 23:00 to 00:30 checks at 00:30)."""
    if last is None or now - last >= CATCH_UP_AFTER:
        return True
    latest = datetime.combine(now.date(), check_time, tzinfo=now.tzinfo)
    if now < latest:
        latest = datetime.combine(now.date() - timedelta(days=1), check_time,
                                  tzinfo=now.tzinfo)
    return last < latest


async def check_if_due(db: Database, settings: Settings, now: datetime) -> CheckResult | None:
    """Run the check if it is due (see check_is_due); None when it was not."""
    now = now.astimezone(settings.timezone)
    last = await db.read(retention.last_check)
    if not check_is_due(now, last, settings.retention_check_time):
        return None
    return await run_retention_check(db, settings, now)


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


# --- disposals and holds ---------------------------------------------------------------

DISPOSE_CHUNK = 50  # records a transaction: other writers get a turn between chunks


@dataclass(frozen=True, slots=True)
class Disposal:
    """How many records went, and whether the clean-up that makes it final is done
    (False: another process kept the database busy; the retention job retries)."""

    disposed: int
    cleaned: bool


async def dispose_record(db: Database, by: Officer, policy: RetentionPolicy, pupil_id: int,
                         *, now: datetime, export_dir: Path) -> Disposal:
    """Dispose of one record, re-checked inside the transaction that it may be; cleaned
    up after when it went."""
    if not await db.write(retention.dispose, pupil_id, by=by, policy=policy, now=now):
        return Disposal(0, True)
    return Disposal(1, await clean_up_after_disposals(db, export_dir))


async def dispose_records(db: Database, by: Officer, policy: RetentionPolicy,
                          pupil_ids: Sequence[int], *, now: datetime,
                          export_dir: Path) -> Disposal:
    """Dispose of each of `pupil_ids` that may be, a chunk a transaction, then clean up."""
    disposed = 0
    for start in range(0, len(pupil_ids), DISPOSE_CHUNK):
        disposed += await db.write(retention.dispose_many,
                                   pupil_ids[start:start + DISPOSE_CHUNK], by=by,
                                   policy=policy, now=now)
    return Disposal(disposed, await clean_up_after_disposals(db, export_dir))


async def hold(db: Database, officer: Officer, policy: RetentionPolicy, talk: Conversation,
               *, review: date, now: datetime) -> DueRecord | None:
    """Put the hold conversation's record on hold (its chosen reason, until `review`),
    re-authorised as it is written, and end the conversation either way; None when the
    record may not be held (no longer due, or not this person's to hold)."""
    return await db.write(_hold, officer, policy, talk, review, now)


async def _hold(conn: Conn, officer: Officer, policy: RetentionPolicy, talk: Conversation,
                review: date, now: datetime) -> DueRecord | None:
    reason = str(talk.data.get("reason"))
    record = None
    if talk.pupil_id is not None and reason in HOLD_REASONS:
        record = await retention.hold(conn, officer, policy, talk.pupil_id, reason=reason,
                                      review_date=review, now=now)
    await conversations.end(conn, officer.id, talk.token)
    return record


async def release_hold(db: Database, officer: Officer, policy: RetentionPolicy,
                       pupil_id: int, *, now: datetime) -> DueRecord | None:
    """Lift a hold, re-authorised and audited as the hold row is deleted; None when
    there was no hold this person may lift."""
    return await db.write(retention.release_hold, officer, policy, pupil_id, now=now)
