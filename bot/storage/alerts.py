"""Attendance alerts: rule states after an import, alert rows, and their outbox digests.

Called inside the attendance import's write transaction with the pupils it touched,
so the marks, the rule states, the alerts and the messages commit together. Work is
set-based, a few statements per chunk of pupils, never one query per pupil.

An alert for a pupil with no allocation waits: its row keeps `queued_at` NULL until
the pupil is allocated; `queue_waiting` (run after each import and by the delivery
job) puts waiting alerts of allocated pupils into one message per officer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import compress, repeat
from operator import rshift
from typing import Any, cast

from bot.domain import alerts as alert_text
from bot.domain.alerts import AlertLine
from bot.domain.attendance import (
    CODES,
    PENALTY_SESSIONS,
    PENALTY_WEEKS,
    PLANNED_CLOSURE,
    PUNCTUALITY_LATES,
    PUNCTUALITY_WEEKS,
    Rule,
    Tally,
    covers_recent_window,
    is_late,
    is_possible,
    is_unauthorised,
    recent_window_start,
    rules_holding,
)
from bot.domain.dates import (
    YearEnd,
    academic_year_of,
    compulsory_school_age,
    school_week_start,
    year_label,
)
from bot.domain.marks import (
    CODE_NUMBER,
    DAY_SHIFT,
    MarkWindow,
    mark_tuple,
)
from bot.domain.text import initials
from bot.settings import Settings
from bot.storage import audit, outbox, pathway_reminders, rights
from bot.storage.db import Conn, stamp
from bot.storage.outbox import enqueue

_CHUNK = 500  # pupils per statement: well inside SQLite's limit on bound parameters
# How far back marks are read for the window rules: first 10 school weeks and a
# half-term holiday, then the domain's wider first guess, then everything; a pupil
# goes further only when the nearer reach does not settle the answer.
_REACHES: tuple[Callable[[date], date], ...] = (
    lambda latest: school_week_start(latest) - timedelta(weeks=11),
    recent_window_start,
    lambda latest: date.min,
)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one evaluation did: pupils whose rules were evaluated, alerts, messages."""

    evaluated: int
    alerts: int
    messages: int


@dataclass(frozen=True, slots=True)
class _Pupil:
    pupil_id: int
    date_of_birth: date
    tally: Tally
    latest_mark: date | None
    restricted: bool = False


async def evaluate_import(conn: Conn, pupil_ids: Collection[int], *, settings: Settings,
                          today: date, now: datetime, baseline: bool, actor: str = "system",
                          known: Mapping[int, MarkWindow] | None = None) -> Evaluation:
    """Evaluate the five rules for `pupil_ids` after an attendance import, inside `conn`.

    A pupil whose record is restricted (bot.storage.rights) is skipped altogether.
    Rule states are recorded for this academic year (the one holding `today`); a rule
    that goes from not holding to holding gives an alert (one per family, the deepest
    band), unless `baseline`, which records states without alerting. Alerts are audited
    and queued into one message per allocated officer. `known` holds the marks the
    import has just written, by pupil: where they cover what a rule needs, they are
    used instead of reading the marks back.
    """
    year = academic_year_of(today, settings.academic_year_end)
    evaluated = created = 0
    for whole in _chunks(sorted(set(pupil_ids))):
        pupils = await _pupils(conn, whole, year)
        # A restricted record is stored and nothing else: its marks are kept, no rule
        # is evaluated and its rule states stay as they were until the restriction ends.
        # (A pupil without this year's figures is never read here, and holds no rule.)
        restricted = {p.pupil_id for p in pupils if p.restricted}
        chunk = [pupil_id for pupil_id in whole if pupil_id not in restricted]
        eligible = {p.pupil_id: p for p in pupils
                    if not p.restricted and _eligible(p, settings)}
        marks = await _recent_marks(conn, eligible, settings.continuous_absence_sessions,
                                    known or {})
        before = await _holding(conn, chunk, year)
        changes: list[tuple[int, Rule, bool]] = []
        fresh: list[tuple[_Pupil, Rule]] = []
        for pupil_id in chunk:
            pupil = eligible.get(pupil_id)
            now_holding = frozenset() if pupil is None else rules_holding(
                year_tally=pupil.tally, marks_recent=marks.get(pupil_id, []),
                pa_threshold=settings.pa_threshold, sa_threshold=settings.sa_threshold,
                continuous_sessions=settings.continuous_absence_sessions)
            was = before.get(pupil_id, frozenset())
            changes += [(pupil_id, rule, True) for rule in now_holding - was]
            changes += [(pupil_id, rule, False) for rule in was - now_holding]
            if pupil is not None and not baseline:
                fresh += [(pupil, rule) for rule in alert_text.new_alerts(was, now_holding)]
        await _record_states(conn, changes, year, now)
        await _record_alerts(conn, fresh, year, now, actor)
        evaluated += len(eligible)
        created += len(fresh)
    messages = (await queue_waiting(conn, now, year_end=settings.academic_year_end)
                if created else 0)
    return Evaluation(evaluated, created, messages)


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _eligible(pupil: _Pupil, settings: Settings) -> bool:
    """Rules apply only at compulsory school age (on the latest mark's date) and once
    enough sessions were possible this year; other pupils get figures, never alerts."""
    if pupil.latest_mark is None or pupil.tally.possible < settings.alert_min_sessions:
        return False
    return compulsory_school_age(pupil.date_of_birth, pupil.latest_mark)


async def _pupils(conn: Conn, chunk: list[int], year: int) -> list[_Pupil]:
    rows = await conn.fetchall(
        "SELECT p.id, p.date_of_birth, s.possible, s.attended, s.authorised, s.unauthorised,"
        f" s.lates_l, s.lates_u, s.latest_mark, {rights.RESTRICTED_SQL.format(pupil='p.id')}"
        " AS restricted"
        " FROM pupils p JOIN pupil_stats s ON s.pupil_id = p.id AND s.academic_year = ?"
        f" WHERE p.id IN ({_marks(len(chunk))})", (year, *chunk))
    return [_Pupil(row["id"], date.fromisoformat(row["date_of_birth"]),
                   Tally(row["possible"], row["attended"], row["authorised"],
                         row["unauthorised"], row["lates_l"], row["lates_u"]),
                   None if row["latest_mark"] is None else date.fromisoformat(row["latest_mark"]),
                   bool(row["restricted"]))
            for row in rows]


async def _holding(conn: Conn, chunk: list[int], year: int) -> dict[int, frozenset[Rule]]:
    rows = await conn.fetchall(
        "SELECT pupil_id, rule FROM rule_states WHERE academic_year = ? AND holding = 1"
        f" AND pupil_id IN ({_marks(len(chunk))})", (year, *chunk))
    holding: defaultdict[int, set[Rule]] = defaultdict(set)
    for row in rows:
        holding[row["pupil_id"]].add(Rule(row["rule"]))
    return {pupil_id: frozenset(rules) for pupil_id, rules in holding.items()}


Marks = list[tuple[date, str, str]]

_UNAUTHORISED = tuple(code for code in CODES if is_unauthorised(code))
_LATES = tuple(code for code in CODES if is_late(code))
_POSSIBLE = tuple(code for code in CODES if is_possible(code))
_CONTINUOUS = ("N", "O")
# Day number (days since 1 January 1970) of Monday 3 January 2000: weeks counted from it
# start on Mondays.
_MONDAY_DAY = 10959


def _day_number(column: str) -> str:
    """Portable SQL for the day number of an ISO date held as text (days since 1 January
    1970, by the proleptic Gregorian calendar; integer arithmetic only, as both SQLite
    and PostgreSQL do it), in place of SQLite's julianday."""
    year = f"CAST(substr({column}, 1, 4) AS INTEGER)"
    month = f"CAST(substr({column}, 6, 2) AS INTEGER)"
    day = f"CAST(substr({column}, 9, 2) AS INTEGER)"
    y = f"({year} - CASE WHEN {month} <= 2 THEN 1 ELSE 0 END)"  # March-based years
    return (f"(365 * {y} + {y} / 4 - {y} / 100 + {y} / 400"
            f" + (153 * (({month} + 9) % 12) + 2) / 5 + {day} - 719469)")


_DAY_NUMBER = _day_number("date")


async def _recent_marks(conn: Conn, pupils: dict[int, _Pupil], continuous_sessions: int,
                        known: Mapping[int, MarkWindow]) -> dict[int, Marks]:
    """The marks the window rules need, for the pupils for whom one of them might hold.

    A screen settles most pupils without reading their marks: when the pupil's 10 most
    recent school weeks all lie in the screened reach and it holds fewer than 10
    unauthorised and fewer than 10 late sessions, and the latest possible session is
    not N or O, no window rule can hold. The others' marks are read in full. Marks the
    import holds in memory (`known`) are used where they cover what is needed;
    the rest are read from the database.
    """
    possibly = await _screen(conn, pupils, known)
    return await _marks_for(conn, {pupil_id: pupils[pupil_id] for pupil_id in possibly},
                            continuous_sessions, known)


def _window(known: Mapping[int, MarkWindow], pupil: _Pupil, since: date,
            first: date | None = None) -> MarkWindow | None:
    """The import's marks of `pupil`, if they hold every mark from `since` on: the
    window reaches back to `since` (or to the pupil's first mark) and on to the
    latest mark (no mark is dated after today, so none lies beyond it)."""
    window = known.get(pupil.pupil_id)
    if window is None or pupil.latest_mark is None or pupil.latest_mark > window.last:
        return None
    if since >= window.first or (first is not None and first >= window.first):
        return window
    return None


async def _screen(conn: Conn, pupils: dict[int, _Pupil],
                  known: Mapping[int, MarkWindow]) -> set[int]:
    """The pupils for whom a window rule might hold (a superset, never missing one)."""
    possibly: set[int] = set()
    unread: dict[int, _Pupil] = {}
    for pupil_id, pupil in pupils.items():
        if pupil.latest_mark is None:
            continue
        since = _REACHES[0](pupil.latest_mark)
        window = _window(known, pupil, since)
        if window is None:
            unread[pupil_id] = pupil
        elif _might_hold(window, since):
            possibly.add(pupil_id)
    return possibly | await _screen_stored(conn, unread)


_UNAUTHORISED_NUMBERS = tuple(CODE_NUMBER[code] for code in _UNAUTHORISED)
_LATE_NUMBERS = tuple(CODE_NUMBER[code] for code in _LATES)
_POSSIBLE_NUMBERS = frozenset(CODE_NUMBER[code] for code in _POSSIBLE)
_CONTINUOUS_NUMBERS = frozenset(CODE_NUMBER[code] for code in _CONTINUOUS)
# A code's position → 0 for a planned closure, 1 for any other (bytes.translate).
_OPEN = bytes(int(number != CODE_NUMBER[PLANNED_CLOSURE]) for number in range(256))


def _might_hold(window: MarkWindow, since: date) -> bool:
    """The screen of `_screen_stored`, on the marks of `window` from `since` on."""
    start = window.index(since)
    codes = window.marks.codes[start:]
    latest_possible = next((code for code in reversed(codes) if code in _POSSIBLE_NUMBERS),
                           None)
    if latest_possible is None or latest_possible in _CONTINUOUS_NUMBERS:
        return True
    if sum(map(codes.count, _UNAUTHORISED_NUMBERS)) >= PENALTY_SESSIONS or \
            sum(map(codes.count, _LATE_NUMBERS)) >= PUNCTUALITY_LATES:
        return True
    open_marks = compress(window.marks.marks[start:], codes.translate(_OPEN))
    days = set(map(rshift, open_marks, repeat(DAY_SHIFT)))
    # Day ordinals count from a Monday (1 January of year 1): (day - 1) // 7 is a week
    # from Monday to Sunday. Too few weeks: the recent school weeks reach further back.
    return len({(day - 1) // 7 for day in days}) < max(PENALTY_WEEKS, PUNCTUALITY_WEEKS)


async def _screen_stored(conn: Conn, pupils: dict[int, _Pupil]) -> set[int]:
    """`_screen` in SQL, for pupils whose marks are read from the database."""
    if not pupils:
        return set()
    ids = list(pupils)
    latest_possible = await conn.fetchall(
        "SELECT p.id, (SELECT m.code FROM marks m WHERE m.pupil_id = p.id"
        f" AND m.code IN ({_marks(len(_POSSIBLE))}) ORDER BY m.date DESC, m.session DESC"
        f" LIMIT 1) AS code FROM pupils p WHERE p.id IN ({_marks(len(ids))})",
        (*_POSSIBLE, *ids))
    possibly = {row["id"] for row in latest_possible if row["code"] in _CONTINUOUS}
    unsure = {p.pupil_id: p.latest_mark for p in pupils.values()
              if p.latest_mark is not None and p.pupil_id not in possibly}
    for reach in _REACHES[:-1]:  # a narrow reach settles most pupils, and reads less
        by_start: defaultdict[date, list[int]] = defaultdict(list)
        for pupil_id, latest in unsure.items():
            by_start[reach(latest)].append(pupil_id)
        for since, group in by_start.items():
            for row in await _recent_counts(conn, group, since):
                if row["weeks"] < max(PENALTY_WEEKS, PUNCTUALITY_WEEKS):
                    continue  # the recent school weeks reach further back
                del unsure[row["pupil_id"]]
                if row["u"] >= PENALTY_SESSIONS or row["l"] >= PUNCTUALITY_LATES:
                    possibly.add(row["pupil_id"])
    return possibly | set(unsure)


async def _recent_counts(conn: Conn, pupil_ids: list[int], since: date) -> list[Any]:
    """Per pupil from `since` on: unauthorised sessions, late marks, school weeks."""
    # The week number only needs to be the same within a week (Monday to Sunday).
    return await conn.fetchall(
        "SELECT pupil_id,"
        f" SUM(CASE WHEN code IN ({_marks(len(_UNAUTHORISED))}) THEN 1 ELSE 0 END) AS u,"
        f" SUM(CASE WHEN code IN ({_marks(len(_LATES))}) THEN 1 ELSE 0 END) AS l,"
        " COUNT(DISTINCT CASE WHEN code <> '#'"
        f"   THEN ({_DAY_NUMBER} - ?) / 7 END) AS weeks"
        f" FROM marks WHERE pupil_id IN ({_marks(len(pupil_ids))}) AND date >= ?"
        " GROUP BY pupil_id",
        (*_UNAUTHORISED, *_LATES, _MONDAY_DAY, *pupil_ids, since.isoformat()))


async def _marks_for(conn: Conn, pupils: dict[int, _Pupil], continuous_sessions: int,
                     known: Mapping[int, MarkWindow]) -> dict[int, Marks]:
    """Each pupil's marks, enough of them for the window rules: first from a tight
    window, then a wider one, then all marks, for the pupils the narrower one did not
    settle (covers_recent_window, or no earlier marks at all)."""
    first_marks = await _first_mark_dates(conn, list(pupils))
    found: dict[int, Marks] = {}
    waiting = {p.pupil_id: p for p in pupils.values() if p.latest_mark is not None}
    for reach in _REACHES:
        if not waiting:
            break
        fetched: dict[int, Marks] = {}
        by_start: defaultdict[date, list[int]] = defaultdict(list)
        starts: dict[int, date] = {}
        for pupil_id, pupil in waiting.items():
            since = starts[pupil_id] = reach(cast(date, pupil.latest_mark))
            window = _window(known, pupil, since, first_marks.get(pupil_id))
            if window is None:
                by_start[since].append(pupil_id)
            else:
                tail = window.marks.marks[window.index(since):]
                fetched[pupil_id] = list(map(mark_tuple, tail))
        for since, ids in by_start.items():
            fetched.update(await _marks_since(conn, ids, since))
        for pupil_id, since in starts.items():
            marks = fetched.get(pupil_id, [])
            first = first_marks.get(pupil_id)
            settled = since == date.min or first is None or first >= since or \
                covers_recent_window(marks, since=since, continuous_sessions=continuous_sessions)
            if settled:
                found[pupil_id] = marks
                del waiting[pupil_id]
    return found


async def _first_mark_dates(conn: Conn, pupil_ids: list[int]) -> dict[int, date]:
    if not pupil_ids:
        return {}
    rows = await conn.fetchall(
        "SELECT p.id, (SELECT m.date FROM marks m WHERE m.pupil_id = p.id"
        " ORDER BY m.date LIMIT 1) AS first"
        f" FROM pupils p WHERE p.id IN ({_marks(len(pupil_ids))})", pupil_ids)
    return {row["id"]: date.fromisoformat(row["first"]) for row in rows
            if row["first"] is not None}


async def _marks_since(conn: Conn, pupil_ids: list[int], since: date) -> dict[int, Marks]:
    """Marks from `since` (a Monday, or date.min for all) on, chronological per pupil."""
    rows = await conn.fetchall(
        "SELECT pupil_id, date, session, code FROM marks"
        f" WHERE pupil_id IN ({_marks(len(pupil_ids))}) AND date >= ?"
        " ORDER BY pupil_id, date, session", (*pupil_ids, since.isoformat()))
    marks: defaultdict[int, Marks] = defaultdict(list)
    days: dict[str, date] = {}  # a few dozen distinct dates repeat for every pupil
    for pupil_id, day, session, code in rows:
        when = days.get(day)
        if when is None:
            when = days[day] = date.fromisoformat(day)
        marks[pupil_id].append((when, session, code))
    return marks


async def _record_states(conn: Conn, changes: list[tuple[int, Rule, bool]], year: int,
                         now: datetime) -> None:
    if not changes:
        return
    moment = stamp(now)
    await conn.executemany(
        "INSERT INTO rule_states (pupil_id, academic_year, rule, holding, changed_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (pupil_id, academic_year, rule) DO UPDATE SET"
        " holding = excluded.holding, changed_at = excluded.changed_at",
        [(pupil_id, year, rule.value, int(holds), moment) for pupil_id, rule, holds in changes])


async def _record_alerts(conn: Conn, fresh: list[tuple[_Pupil, Rule]], year: int,
                         now: datetime, actor: str) -> None:
    if not fresh:
        return
    await conn.executemany(
        "INSERT INTO alerts (pupil_id, rule, academic_year, attended, possible, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(pupil.pupil_id, rule.value, year, pupil.tally.attended, pupil.tally.possible,
          stamp(now)) for pupil, rule in fresh])
    await audit.append_many(conn, [
        audit.NewEntry(actor, "alert_created", rule.value, f"pupil:{pupil.pupil_id}")
        for pupil, rule in fresh], at=now)


# --- queuing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Waiting:
    alert_id: int
    officer_id: int
    officer_ref: str
    officer_status: str
    has_supervisor: bool
    line: AlertLine
    restricted: bool = False


QUEUE_LOCK = "alerts.queue"


async def queue_waiting(conn: Conn, now: datetime, *, year_end: YearEnd) -> int:
    """Put every waiting alert of an allocated pupil into outbox messages: one per
    officer (all their alerts) and, for severe and continuous absence, one copy for
    that officer's supervisor. Returns the number of messages queued. An alert whose
    pupil's record became restricted before it was queued is not sent (CASEWORK.md §3:
    stored and nothing else), and does not wait either.

    What waits is read, then queued and marked: an import and the delivery round (on
    any instance) take turns (`QUEUE_LOCK`), so an alert is never queued by both.

    An alert of an academic year before this one (the one holding `now`, a time in the
    service's time zone), its pupil allocated only since, says which year its figure is
    of."""
    await conn.lock(QUEUE_LOCK)
    waiting = await _waiting_alerts(conn, now, year_end)
    by_officer: defaultdict[int, list[_Waiting]] = defaultdict(list)
    for alert in waiting:
        if not alert.restricted:
            by_officer[alert.officer_id].append(alert)
    messages = 0
    for officer_id, alerts in by_officer.items():
        lines = [alert.line for alert in alerts]
        pupil_ids = sorted({line.pupil_id for line in lines})
        await enqueue(conn, kind="alert", audience=f"officer:{officer_id}",
                      payload=alert_text.digest_payload(alert_text.DIGEST_TITLE, lines),
                      now=now, pupil_ids=pupil_ids)
        messages += 1
        copies = [line for line in lines if line.rule in alert_text.SUPERVISOR_RULES]
        first = alerts[0]
        # Only an officer with a supervisor has someone to copy to; a revoked officer's
        # messages already go to the supervisor whole.
        if copies and first.has_supervisor and first.officer_status != "revoked":
            title = alert_text.SUPERVISOR_TITLE.format(ref=first.officer_ref)
            await enqueue(conn, kind="alert", audience=f"supervisor_of:{officer_id}",
                          payload=alert_text.digest_payload(title, copies), now=now,
                          pupil_ids=sorted({line.pupil_id for line in copies}))
            messages += 1
    if waiting:
        await conn.executemany("UPDATE alerts SET queued_at = ? WHERE id = ?",
                               [(stamp(now), alert.alert_id) for alert in waiting])
    return messages


# Messages about an officer's pupils, addressed to that officer (or copied to their
# supervisor) when queued. Their pupils no longer the officer's, or restricted: the
# row's (id, pupil) pairs. A message readdressed for a lapsed supervisor (`supervisor:`,
# `controllers`) went to whoever stood in when it was readdressed: only a restriction
# takes a pupil out of it.
_ABOUT_THEIR_PUPILS = frozenset({"alert", "reminder"})
_NO_LONGER_THEIRS = (
    "SELECT o.id, op.pupil_id FROM outbox o JOIN outbox_pupils op ON op.outbox_id = o.id"
    " LEFT JOIN allocations al ON al.pupil_id = op.pupil_id"
    " WHERE {rows} AND ({restricted}"
    "   OR ((o.audience LIKE 'officer:%' OR o.audience LIKE 'supervisor_of:%')"
    "      AND (al.officer_id IS NULL OR o.audience NOT IN"
    "           ('officer:' || al.officer_id, 'supervisor_of:' || al.officer_id))))"
    " ORDER BY o.id, op.pupil_id").format(
        rows="{rows}", restricted=rights.RESTRICTED_SQL.format(pupil="op.pupil_id"))
_WAITING = f"o.status = 'pending' AND o.kind IN ({', '.join('?' * len(_ABOUT_THEIR_PUPILS))})"


async def narrow_to_holders(conn: Conn, now: datetime) -> int:
    """Take out of the waiting alerts and pathway reminders the pupils no longer theirs
    to tell; returns how many rows changed. Recipients are resolved at delivery
    (PRODUCT.md), and such a message, waiting out quiet time, may have been queued
    before its pupil was allocated to another officer (or to no one) or before the
    record was restricted (CASEWORK.md §3: stored and nothing else).

    An alert digest is written again without those pupils (withdrawn when none is
    left), and their alerts wait to be queued again, for the officer the pupil is
    allocated to now (a supervisor's copy only loses them: the officer's own row queues
    them again, copy included). A reminder is withdrawn whole and its reminders become
    due again, each queued on the reminders' next run for its pupil's officer (a
    restricted record's are not). Each change is audited."""
    gone: dict[int, list[int]] = {}
    sql = _NO_LONGER_THEIRS.format(rows=_WAITING)
    for row in await conn.fetchall(sql, sorted(_ABOUT_THEIR_PUPILS)):
        gone.setdefault(row["id"], []).append(row["pupil_id"])
    for outbox_id, pupil_ids in gone.items():
        await _narrow(conn, outbox_id, pupil_ids, now)
    return len(gone)


async def digest_pages(conn: Conn, outbox_id: int, *, recipient_id: int) -> list[Any] | None:
    """The pages of an alert digest sent to this person (else None), as they may be shown
    now: a "More" press is a request like any other, so a pupil no longer theirs to be
    told about (allocated to someone else since, or restricted) is left out, as from a
    waiting digest; None when no one is left."""
    payload = await conn.fetchval(
        "SELECT payload FROM outbox WHERE id = ? AND recipient_id = ? AND kind = 'alert'",
        (outbox_id, recipient_id))
    if payload is None:
        return None
    digest: dict[str, Any] | None = alert_text.as_written_now(json.loads(payload))
    for row in await conn.fetchall(_NO_LONGER_THEIRS.format(rows="o.id = ?"), (outbox_id,)):
        digest = alert_text.without_pupil(digest, row["pupil_id"]) if digest else None
    pages = None if digest is None else digest.get("pages")
    return pages if isinstance(pages, list) else None


async def _narrow(conn: Conn, outbox_id: int, pupil_ids: list[int], now: datetime) -> None:
    row = await outbox.held(conn, outbox_id)
    if row is None or row["status"] != "pending":
        return  # disposed of, or claimed, meanwhile
    marks = ", ".join("?" * len(pupil_ids))
    payload: dict[str, Any] | None = None
    if row["kind"] == "alert":
        payload = json.loads(row["payload"])
        for pupil_id in pupil_ids:
            payload = alert_text.without_pupil(payload, pupil_id) if payload else None
        if str(row["audience"]).startswith("officer:"):
            await conn.execute(f"UPDATE alerts SET queued_at = NULL WHERE queued_at = ?"
                               f" AND pupil_id IN ({marks})", (row["created_at"], *pupil_ids))
    else:
        await pathway_reminders.due_again(conn, outbox_id, row["created_at"])
    if payload is None:
        await conn.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,))
    else:
        await conn.execute(f"DELETE FROM outbox_pupils WHERE outbox_id = ?"
                           f" AND pupil_id IN ({marks})", (outbox_id, *pupil_ids))
        await conn.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                           (json.dumps(payload, ensure_ascii=False), outbox_id))
    await audit.append(conn, actor="system", action="message_narrowed",
                       target=f"outbox:{outbox_id}", reason="pupils_no_longer_theirs", at=now,
                       targets=audit.pupil_refs(pupil_ids),
                       detail={"kind": row["kind"], "pupils": len(pupil_ids),
                               "withdrawn": payload is None})


async def _waiting_alerts(conn: Conn, now: datetime, year_end: YearEnd) -> list[_Waiting]:
    """The alerts waiting to be queued whose pupil is allocated; one of an academic year
    before the one holding `now` is labelled with its own."""
    year = academic_year_of(now.date(), year_end)
    rows = await conn.fetchall(
        "SELECT a.id, a.pupil_id, a.rule, a.attended, a.possible, a.academic_year,"
        " p.case_ref, p.first_name,"
        " p.last_name, s.name AS school, o.id AS officer_id, o.ref, o.status,"
        " o.supervisor_id IS NOT NULL AS has_supervisor,"
        f" {rights.RESTRICTED_SQL.format(pupil='a.pupil_id')} AS restricted"
        " FROM alerts a"
        " JOIN pupils p ON p.id = a.pupil_id"
        " JOIN schools s ON s.urn = p.school_urn"
        " JOIN allocations al ON al.pupil_id = a.pupil_id"
        " JOIN officers o ON o.id = al.officer_id"
        " WHERE a.queued_at IS NULL ORDER BY o.id, a.id")
    return [_Waiting(row["id"], row["officer_id"], row["ref"], row["status"],
                     bool(row["has_supervisor"]),
                     AlertLine(row["pupil_id"], row["case_ref"],
                               initials(row["first_name"], row["last_name"]), row["school"],
                               Rule(row["rule"]), row["attended"] or 0, row["possible"] or 0,
                               None if row["academic_year"] >= year
                               else year_label(row["academic_year"], year_end)),
                     bool(row["restricted"]))
            for row in rows]


async def has_waiting(conn: Conn) -> bool:
    """Whether an alert waits for its pupil's allocation and the pupil is now allocated."""
    row = await conn.fetchone(
        "SELECT 1 FROM alerts a JOIN allocations al ON al.pupil_id = a.pupil_id"
        " WHERE a.queued_at IS NULL LIMIT 1")
    return row is not None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as stored, for tests and the subject-access export."""

    pupil_id: int
    rule: Rule
    academic_year: int
    attended: int | None
    possible: int | None
    created_at: str
    queued: bool


async def alerts_for(conn: Conn, pupil_ids: Sequence[int]) -> list[AlertRecord]:
    """The alerts held about these pupils, oldest first."""
    if not pupil_ids:
        return []
    rows = await conn.fetchall(
        "SELECT pupil_id, rule, academic_year, attended, possible, created_at, queued_at"
        f" FROM alerts WHERE pupil_id IN ({_marks(len(pupil_ids))}) ORDER BY id",
        list(pupil_ids))
    return [AlertRecord(row["pupil_id"], Rule(row["rule"]), row["academic_year"],
                        row["attended"], row["possible"], row["created_at"],
                        row["queued_at"] is not None) for row in rows]


async def rules_held(conn: Conn, pupil_id: int, academic_year: int) -> frozenset[Rule]:
    """The rules recorded as holding for a pupil in an academic year."""
    rows = await conn.fetchall(
        "SELECT rule FROM rule_states WHERE pupil_id = ? AND academic_year = ? AND holding = 1",
        (pupil_id, academic_year))
    return frozenset(Rule(row["rule"]) for row in rows)
