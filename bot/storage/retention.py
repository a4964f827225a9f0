"""Retention: which records are coming due or past due, holds, reminders and disposal.

A record's deadline follows from its last intervention (the latest current visit,
pathway step or outcome, or sharing decision) or, with none, the latest date data about
the pupil was imported. Deadlines are year ends and grow with that date, so "past due" and "coming
due" are two date ranges over it (bot.domain.retention): every question here is one
set-based query, whatever the number of pupils. Only an active controller may list,
hold or dispose of records; the check that sends reminders reads counts only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.domain import alerts as alert_text
from bot.domain.retention import COMING, PAST, REMINDER_INTERVAL_DAYS, RetentionPolicy
from bot.settings import Settings
from bot.storage import audit, outbox, pathway_reminders, sessions
from bot.storage.db import Conn, row_lock, stamp
from bot.storage.officers import Officer
from bot.storage.rights import PAST_DUE_SQL

LAST_CHECK_KEY = "retention_last_check"
CLEAN_UP_KEY = "disposal_clean_up_owed"  # set by a disposal until the files are cleaned
# The exports in EWO_EXPORT_DIR of records disposed of, one file name a line, until deleted.
EXPORTS_OWED_KEY = "disposal_exports_owed"
# The name `ewobot sar` gives an export in EWO_EXPORT_DIR (any other was typed with --out).
SAR_EXPORT_NAME = re.compile(r"sar-[^/\\\n]+-\d{8}-\d{6}\.json")

# One row per pupil: its base date (what the deadline follows from) and its hold. The
# last intervention is the latest visit, pathway step or outcome or sharing decision not
# superseded by a correction (`last_visit` keeps its name); every lookup is an index search
# (visits_pupil_date, pathway_steps_pupil, pathway_outcomes_pupil, sharing_log_pupil,
# the *_supersedes).
_DUE = """
    WITH due AS MATERIALIZED (
        SELECT p.id AS pupil_id, p.school_urn,
               (SELECT MAX(i.day) FROM (
                    SELECT v.visit_date AS day FROM visits v WHERE v.pupil_id = p.id
                    AND NOT EXISTS (SELECT 1 FROM visits c WHERE c.supersedes = v.id)
                    UNION ALL SELECT s.step_date FROM pathway_steps s WHERE s.pupil_id = p.id
                    AND NOT EXISTS (SELECT 1 FROM pathway_steps c WHERE c.supersedes = s.id)
                    UNION ALL SELECT o.outcome_date FROM pathway_outcomes o
                    WHERE o.pupil_id = p.id AND NOT EXISTS
                    (SELECT 1 FROM pathway_outcomes c WHERE c.supersedes = o.id)
                    UNION ALL SELECT sh.shared_on FROM sharing_log sh WHERE sh.pupil_id = p.id
                    AND NOT EXISTS (SELECT 1 FROM sharing_log c WHERE c.supersedes = sh.id)
                    ) i) AS last_visit,
               substr(p.last_imported, 1, 10) AS last_imported,
               h.reason AS hold_reason, h.review_date AS hold_review,
               CASE WHEN h.review_date > :today THEN 1 ELSE 0 END AS held
        FROM pupils p LEFT JOIN holds h ON h.pupil_id = p.id {where}
    ), d AS (
        SELECT due.*,
               CASE WHEN COALESCE(last_visit, last_imported) > :past AND {past_due_at_once}
                    THEN :past ELSE COALESCE(last_visit, last_imported) END AS base_date
        FROM due
    )
"""
# An objection or erasure upheld makes a record past due at once: its base date is
# taken as the latest one already past due (never later than it was).
_PAST_DUE_AT_ONCE = PAST_DUE_SQL.format(pupil="due.pupil_id")
_BASE = _DUE.format(where="", past_due_at_once=_PAST_DUE_AT_ONCE)
_ONE = _DUE.format(where="WHERE p.id = :pupil", past_due_at_once=_PAST_DUE_AT_ONCE)

_CONTROLLER = ("EXISTS (SELECT 1 FROM officers viewer WHERE viewer.id = :viewer"
               " AND viewer.role = 'controller' AND viewer.status = 'active')")


def policy_for(settings: Settings, now: datetime) -> RetentionPolicy:
    """The retention rule on the service's local date of `now`."""
    return RetentionPolicy(now.astimezone(settings.timezone).date(),
                           settings.academic_year_end, settings.retention_notice_days)


def _params(policy: RetentionPolicy, **more: Any) -> dict[str, Any]:
    return {"today": policy.today.isoformat(), "past": policy.past_due_through.isoformat(),
            "coming": policy.coming_due_through.isoformat(), **more}


@dataclass(frozen=True, slots=True)
class SchoolCount:
    """Records coming due and past due at one school (held ones counted apart)."""

    school_name: str
    coming_due: int
    past_due: int
    held: int


@dataclass(frozen=True, slots=True)
class DueRecord:
    """One record as /retention lists it: no names, only references, school and dates."""

    pupil_id: int
    case_ref: str
    school_name: str
    stage: str  # PAST or COMING
    deadline: date
    last_intervention: date | None
    allocated: bool
    latest_mark: date | None
    hold_reason: str | None
    hold_review: date | None
    held: bool

    @property
    def disposable(self) -> bool:
        return self.stage == PAST and not self.held


async def school_counts(conn: Conn, policy: RetentionPolicy) -> list[SchoolCount]:
    """Per school, records coming due and past due not on hold, and those on hold."""
    rows = await conn.fetchall(
        f"{_BASE} SELECT s.name AS school_name,"
        " SUM(CASE WHEN d.held = 0 AND d.base_date > :past THEN 1 ELSE 0 END) AS coming_due,"
        " SUM(CASE WHEN d.held = 0 AND d.base_date <= :past THEN 1 ELSE 0 END) AS past_due,"
        " SUM(d.held) AS held"
        " FROM d JOIN schools s ON s.urn = d.school_urn"
        " WHERE d.base_date <= :coming GROUP BY s.urn, s.name ORDER BY s.name, s.urn",
        _params(policy))
    return [SchoolCount(r["school_name"], r["coming_due"], r["past_due"], r["held"])
            for r in rows]


_RECORD_COLUMNS = """
    d.pupil_id, p.case_ref, s.name AS school_name, d.base_date, d.last_visit,
    d.hold_reason, d.hold_review, d.held,
    EXISTS (SELECT 1 FROM allocations a WHERE a.pupil_id = d.pupil_id) AS allocated,
    (SELECT MAX(m.date) FROM marks m WHERE m.pupil_id = d.pupil_id) AS latest_mark
"""


def _record(row: Any, policy: RetentionPolicy) -> DueRecord:
    base = date.fromisoformat(row["base_date"])
    return DueRecord(
        pupil_id=row["pupil_id"], case_ref=row["case_ref"], school_name=row["school_name"],
        stage=PAST if row["base_date"] <= policy.past_due_through.isoformat() else COMING,
        deadline=policy.deadline(base),
        last_intervention=date.fromisoformat(row["last_visit"]) if row["last_visit"] else None,
        allocated=bool(row["allocated"]),
        latest_mark=date.fromisoformat(row["latest_mark"]) if row["latest_mark"] else None,
        hold_reason=row["hold_reason"],
        hold_review=date.fromisoformat(row["hold_review"]) if row["hold_review"] else None,
        held=bool(row["held"]))


async def due_records(conn: Conn, viewer: Officer, policy: RetentionPolicy, *, offset: int = 0,
                      limit: int = 10) -> tuple[list[DueRecord], int]:
    """A page of records coming due or past due (past due first, earliest deadline first)
    and how many there are; nothing for anyone but an active controller."""
    params = _params(policy, viewer=viewer.id, offset=max(offset, 0), limit=max(limit, 0))
    # The page is chosen (and counted) first; its few rows then get their details.
    rows = await conn.fetchall(
        f"{_BASE}, page AS ("
        "   SELECT d.*, p.case_ref, count(*) OVER () AS total"
        "   FROM d JOIN pupils p ON p.id = d.pupil_id"
        f"  WHERE d.base_date <= :coming AND {_CONTROLLER}"
        "   ORDER BY d.base_date, p.case_ref LIMIT :limit OFFSET :offset)"
        f" SELECT {_RECORD_COLUMNS}, d.total FROM page d"
        " JOIN pupils p ON p.id = d.pupil_id JOIN schools s ON s.urn = d.school_urn"
        " ORDER BY d.base_date, p.case_ref", params)
    if rows:
        return [_record(row, policy) for row in rows], int(rows[0]["total"])
    total = await conn.fetchval(
        f"{_BASE} SELECT count(*) FROM d WHERE d.base_date <= :coming AND {_CONTROLLER}",
        params)
    return [], int(total or 0)


async def due_record(conn: Conn, viewer: Officer, policy: RetentionPolicy,
                     pupil_id: int) -> DueRecord | None:
    """One record if it is coming due or past due and the viewer is an active controller."""
    row = await conn.fetchone(
        f"{_ONE} SELECT {_RECORD_COLUMNS}"
        " FROM d JOIN pupils p ON p.id = d.pupil_id JOIN schools s ON s.urn = d.school_urn"
        f" WHERE d.pupil_id = :pupil AND d.base_date <= :coming AND {_CONTROLLER}",
        _params(policy, viewer=viewer.id, pupil=pupil_id))
    return None if row is None else _record(row, policy)


async def deadline_of(conn: Conn, pupil_id: int, policy: RetentionPolicy) -> date | None:
    """A pupil's retention deadline, due or not (for a subject-access export); None when
    no such pupil is held."""
    base = await conn.fetchval(f"{_ONE} SELECT d.base_date FROM d",
                               _params(policy, pupil=pupil_id))
    return None if base is None else policy.deadline(date.fromisoformat(base))


async def disposable_ids(conn: Conn, viewer: Officer, policy: RetentionPolicy) -> list[int]:
    """Every past-due record not on hold, for "Dispose all" (empty for a non-controller)."""
    rows = await conn.fetchall(
        f"{_BASE} SELECT d.pupil_id FROM d"
        f" WHERE d.base_date <= :past AND d.held = 0 AND {_CONTROLLER} ORDER BY d.pupil_id",
        _params(policy, viewer=viewer.id))
    return [row["pupil_id"] for row in rows]


# --- holds ---------------------------------------------------------------------------


async def hold(conn: Conn, viewer: Officer, policy: RetentionPolicy, pupil_id: int, *,
               reason: str, review_date: date, now: datetime) -> DueRecord | None:
    """Put a due record on hold until `review_date` (audited); None when not allowed."""
    record = await due_record(conn, viewer, policy, pupil_id)
    if record is None:
        return None
    await conn.execute(
        "INSERT INTO holds (pupil_id, reason, review_date, officer_id, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (pupil_id) DO UPDATE SET reason = excluded.reason,"
        " review_date = excluded.review_date, officer_id = excluded.officer_id,"
        " created_at = excluded.created_at",
        (pupil_id, reason, review_date.isoformat(), viewer.id, stamp(now)))
    await audit.append(conn, actor=viewer.actor, action="hold", target=f"pupil:{pupil_id}",
                       reason="retention_hold", at=now,
                       detail={"hold_reason": reason, "review_date": review_date.isoformat()})
    return await due_record(conn, viewer, policy, pupil_id)


async def release_hold(conn: Conn, viewer: Officer, policy: RetentionPolicy, pupil_id: int, *,
                       now: datetime) -> DueRecord | None:
    """Lift a due record's hold before its review date (audited, reason
    `retention_release`); None when the viewer may not, or the record is not on hold."""
    record = await due_record(conn, viewer, policy, pupil_id)
    if record is None or not record.held:
        return None
    await conn.execute("DELETE FROM holds WHERE pupil_id = ?", (pupil_id,))
    await audit.append(conn, actor=viewer.actor, action="release_hold",
                       target=f"pupil:{pupil_id}", reason="retention_release", at=now,
                       detail={"hold_reason": record.hold_reason})
    return await due_record(conn, viewer, policy, pupil_id)


# --- disposal ----------------------------------------------------------------------------

# Everything held about a pupil, children first. Foreign keys cascade from pupils too;
# naming each table keeps disposal complete even where cascades are not declared.
_PUPIL_TABLES = ("outbox_pupils", "retention_reminders", "pathway_reminders", "holds",
                 "alerts", "rule_states", "pupil_stats", "marks", "conversations", "visits",
                 "pathway_outcomes", "pathway_steps", "allocation_history", "allocations",
                 "school_history", "contacts", "rights_requests", "sharing_log",
                 "pupil_name_tails")


async def dispose_many(conn: Conn, pupil_ids: Sequence[int], *, by: Officer,
                       policy: RetentionPolicy, now: datetime) -> int:
    """`dispose` each of `pupil_ids` in the caller's transaction; how many went."""
    disposed = 0
    for pupil_id in pupil_ids:
        disposed += await dispose(conn, pupil_id, by=by, policy=policy, now=now)
    return disposed


async def dispose(conn: Conn, pupil_id: int, *, by: Officer, policy: RetentionPolicy,
                  now: datetime) -> bool:
    """Remove a past-due record not on hold and everything about it, inside the caller's
    write transaction, leaving an audit entry that names no one.

    False (and nothing removed) unless `by` is an active controller and the record is
    still past due and not on hold. The caller checkpoints the database afterwards
    (`Database.checkpoint`) so nothing is recoverable from the files.

    On PostgreSQL the pupil's row is held first (`FOR UPDATE`): whatever another
    transaction is writing about the pupil (a hold, a visit, a step: each row naming it
    takes a key lock on it) is committed before the record is read, and moves its
    deadline or holds it; nothing written meanwhile is removed with the record unread.
    """
    await conn.fetchval(row_lock(conn, "SELECT id FROM pupils WHERE id = ?"), (pupil_id,))
    record = await due_record(conn, by, policy, pupil_id)
    if record is None or not record.disposable:
        return False
    await _forget_in_messages(conn, pupil_id)
    # A request kept while locked that names the pupil goes whole (it may name others
    # too; replaying a part of it would answer something nobody asked).
    await sessions.forget_requests_naming(conn, pupil_id)
    await _forget_subject_access_requests(conn, pupil_id)
    # The parents a pathway step names are found through the step (no pupil_id of their own).
    await conn.execute("DELETE FROM pathway_parents WHERE step_id IN"
                       " (SELECT id FROM pathway_steps WHERE pupil_id = ?)", (pupil_id,))
    for table in _PUPIL_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE pupil_id = ?", (pupil_id,))
    await conn.execute("DELETE FROM pupils WHERE id = ?", (pupil_id,))
    await audit.append(conn, actor=by.actor, action="disposal", target=f"pupil:{pupil_id}",
                       reason="retention_due", at=now,
                       detail={"deadline": record.deadline.isoformat()})
    # Committed with the disposal: a crash or a busy checkpoint before the files are
    # cleaned leaves the clean-up owed, and the retention job finishes it.
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (CLEAN_UP_KEY, f"{stamp(now)} pupil:{pupil_id}"))
    return True


async def _forget_subject_access_requests(conn: Conn, pupil_id: int) -> None:
    """The pupil's subject-access requests go; the names of their exports in the export
    folder are kept until the clean-up deletes those files (`exports_owed`). A name
    typed with --out (it may be the child's) is not kept: that file is the
    administrator's to remove."""
    target = f"pupil:{pupil_id}"
    rows = await conn.fetchall(
        "SELECT export_file FROM subject_access_requests WHERE pupil_ref = ?", (target,))
    owed = "".join(f"{row['export_file']}\n" for row in rows
                   if row["export_file"] and SAR_EXPORT_NAME.fullmatch(row["export_file"]))
    if owed:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = meta.value || excluded.value",
            (EXPORTS_OWED_KEY, owed))
    await conn.execute("DELETE FROM subject_access_requests WHERE pupil_ref = ?", (target,))


# A subject-access request (alias `r`) about a pupil no longer held.
_NO_LONGER_HELD = ("NOT EXISTS (SELECT 1 FROM pupils p"
                   " WHERE p.id = CAST(substr(r.pupil_ref, length('pupil:') + 1) AS INTEGER))")


async def exports_owed(conn: Conn) -> list[str]:
    """The file names of disposed records' exports still to delete from the export folder:
    those a disposal noted, and those of requests about pupils no longer held (kept by
    disposals before requests went with the record)."""
    value = await conn.fetchval("SELECT value FROM meta WHERE key = ?", (EXPORTS_OWED_KEY,))
    names = [] if value is None else str(value).splitlines()
    rows = await conn.fetchall("SELECT export_file FROM subject_access_requests r"
                               f" WHERE export_file IS NOT NULL AND {_NO_LONGER_HELD}")
    names += [row["export_file"] for row in rows if SAR_EXPORT_NAME.fullmatch(row["export_file"])]
    return list(dict.fromkeys(names))


async def exports_deleted(conn: Conn, done: Sequence[str], failed: Sequence[str]) -> None:
    """The exports named in `done` are gone from the export folder: their names are
    forgotten (names a disposal noted meanwhile stay, as do those that `failed`), and
    so are the requests about pupils no longer held."""
    value = await conn.fetchval(row_lock(conn, "SELECT value FROM meta WHERE key = ?"),
                                (EXPORTS_OWED_KEY,))
    finished = set(done)
    noted = [] if value is None else str(value).splitlines()
    left = list(dict.fromkeys([*(name for name in noted if name not in finished), *failed]))
    if left:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (EXPORTS_OWED_KEY, "".join(f"{name}\n" for name in left)))
    elif value is not None:
        await conn.execute("DELETE FROM meta WHERE key = ?", (EXPORTS_OWED_KEY,))
    await conn.execute(f"DELETE FROM subject_access_requests AS r WHERE {_NO_LONGER_HELD}")


async def _forget_in_messages(conn: Conn, pupil_id: int) -> None:
    """Messages about the pupil (waiting, or kept as sent or undelivered) carry its case
    reference and initials: an alert digest that names other pupils too is written
    again without this one (their alerts must still reach the officer); any other
    message about the pupil is deleted."""
    rows = await conn.fetchall(
        "SELECT o.id, o.kind FROM outbox o JOIN outbox_pupils op"
        " ON op.outbox_id = o.id WHERE op.pupil_id = ? ORDER BY o.id", (pupil_id,))
    for row in rows:
        if row["kind"] == "reminder":
            await _withdraw_reminder(conn, row["id"])
        if row["kind"] != "alert":
            await conn.execute("DELETE FROM outbox WHERE id = ?", (row["id"],))
            continue
        # Read held (on PostgreSQL), as the delivery's narrowing reads it: two rewrites
        # of one digest never undo each other (a pupil taken out written back in).
        held = await outbox.held(conn, row["id"])
        if held is None:
            continue  # deleted meanwhile
        kept = alert_text.without_pupil(json.loads(held["payload"]), pupil_id)
        if kept is None:
            await conn.execute("DELETE FROM outbox WHERE id = ?", (row["id"],))
        else:
            await conn.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                               (json.dumps(kept, ensure_ascii=False), row["id"]))


async def _withdraw_reminder(conn: Conn, outbox_id: int) -> None:
    """A pathway reminder still waiting goes whole (it is one text for all its pupils):
    the other pupils' reminders in it become due again (the disposed pupil's rows go with
    the pupil), as when a reminder is withdrawn because its pupil moved
    (bot/storage/alerts.narrow_to_holders)."""
    row = await outbox.held(conn, outbox_id)
    if row is None or row["status"] != "pending":
        return  # sent, undelivered or being sent: its reminders were told or are kept
    await pathway_reminders.due_again(conn, outbox_id, row["created_at"])


async def clean_up_owed(conn: Conn) -> str | None:
    """A marker while a disposal's data may still be readable from the database files
    (until `Database.checkpoint` succeeds after it); None when nothing is owed."""
    value = await conn.fetchval("SELECT value FROM meta WHERE key = ?", (CLEAN_UP_KEY,))
    return None if value is None else str(value)


async def clean_up_done(conn: Conn, marker: str) -> None:
    """The files were cleaned after the disposal that left `marker` (a later disposal
    leaves its own marker, which stays)."""
    await conn.execute("DELETE FROM meta WHERE key = ? AND value = ?", (CLEAN_UP_KEY, marker))


# --- the daily check ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReminderNews:
    """What a check finds that the controllers have not been told yet."""

    newly_coming: int
    newly_past: int
    reminded_again: int

    @property
    def anything(self) -> bool:
        return bool(self.newly_coming or self.newly_past or self.reminded_again)


@dataclass(frozen=True, slots=True)
class Stock:
    """One check's reading: counts by school, and what is new since the last reminder."""

    counts: list[SchoolCount]
    news: ReminderNews


_STOCK_TABLE = ("CREATE TEMP TABLE IF NOT EXISTS retention_stock ("
                " pupil_id INTEGER PRIMARY KEY, school_urn TEXT NOT NULL,"
                " stage TEXT NOT NULL, held INTEGER NOT NULL)")


async def take_stock(conn: Conn, policy: RetentionPolicy, now: datetime) -> Stock:
    """The daily check, inside the caller's write transaction.

    When anything is new (records newly coming due or past due, or past due and last
    reminded REMINDER_INTERVAL_DAYS ago), every record counted, not on hold, is marked
    reminded now: the caller queues the reminder in the same transaction. `now` is in
    the service's time zone. Every pupil is read once, into a temporary table the
    other statements work from.
    """
    await conn.execute(_STOCK_TABLE)
    await conn.execute("DELETE FROM retention_stock")
    await conn.execute(
        f"{_BASE} INSERT INTO retention_stock (pupil_id, school_urn, stage, held)"
        " SELECT d.pupil_id, d.school_urn,"
        "   CASE WHEN d.base_date <= :past THEN 'past' ELSE 'coming' END, d.held"
        " FROM d WHERE d.base_date <= :coming", _params(policy))
    try:
        await _forget_stale_reminders(conn)
        counts = await _stock_counts(conn)
        news = await _news(conn, now)
        if news.anything:
            await _record_reminders(conn, now)
    finally:
        await conn.execute("DELETE FROM retention_stock")
    return Stock(counts, news)


async def _forget_stale_reminders(conn: Conn) -> None:
    """A new intervention moves the deadline: a record no longer at a stage is reminded
    of it afresh when it comes round again."""
    await conn.execute(
        "DELETE FROM retention_reminders WHERE NOT EXISTS (SELECT 1 FROM retention_stock s"
        " WHERE s.pupil_id = retention_reminders.pupil_id"
        " AND (retention_reminders.stage = 'coming' OR s.stage = 'past'))")


async def _stock_counts(conn: Conn) -> list[SchoolCount]:
    rows = await conn.fetchall(
        "SELECT sc.name AS school_name,"
        " SUM(CASE WHEN s.held = 0 AND s.stage = 'coming' THEN 1 ELSE 0 END) AS coming_due,"
        " SUM(CASE WHEN s.held = 0 AND s.stage = 'past' THEN 1 ELSE 0 END) AS past_due,"
        " SUM(s.held) AS held"
        " FROM retention_stock s JOIN schools sc ON sc.urn = s.school_urn"
        " GROUP BY sc.urn, sc.name ORDER BY sc.name, sc.urn")
    return [SchoolCount(r["school_name"], r["coming_due"], r["past_due"], r["held"])
            for r in rows]


async def _news(conn: Conn, now: datetime) -> ReminderNews:
    row = await conn.fetchone(
        "SELECT"
        " SUM(CASE WHEN s.stage = 'coming' AND r.pupil_id IS NULL THEN 1 ELSE 0 END) AS coming,"
        " SUM(CASE WHEN s.stage = 'past' AND r.pupil_id IS NULL THEN 1 ELSE 0 END) AS past,"
        " SUM(CASE WHEN s.stage = 'past' AND r.reminded_at <= :again THEN 1 ELSE 0 END) AS again"
        " FROM retention_stock s"
        " LEFT JOIN retention_reminders r ON r.pupil_id = s.pupil_id AND r.stage = s.stage"
        " WHERE s.held = 0",
        {"again": stamp(_remind_again_before(now))})
    return ReminderNews(int(row["coming"] or 0), int(row["past"] or 0), int(row["again"] or 0))


def _remind_again_before(now: datetime) -> datetime:
    """Reminders sent before this are a week old: counted in days on the local calendar,
    so a check that runs a little earlier than last week's still reminds."""
    first_day = now.date() - timedelta(days=REMINDER_INTERVAL_DAYS - 1)
    return datetime.combine(first_day, time(0), tzinfo=now.tzinfo)


async def _record_reminders(conn: Conn, now: datetime) -> None:
    """Coming due is told once; past due again with every reminder that counts it."""
    await conn.execute(
        "INSERT INTO retention_reminders (pupil_id, stage, reminded_at)"
        " SELECT s.pupil_id, s.stage, :now FROM retention_stock s WHERE s.held = 0"
        " ON CONFLICT (pupil_id, stage) DO UPDATE SET reminded_at = CASE"
        "   WHEN excluded.stage = 'past' THEN excluded.reminded_at"
        "   ELSE retention_reminders.reminded_at END", {"now": stamp(now)})


async def last_check(conn: Conn) -> datetime | None:
    """When the retention check last ran, or None if never."""
    value = await conn.fetchval("SELECT value FROM meta WHERE key = ?", (LAST_CHECK_KEY,))
    return None if value is None else datetime.fromisoformat(value)


async def record_check(conn: Conn, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (LAST_CHECK_KEY, stamp(now)))
