"""Rights requests (UK GDPR Articles 15-21): recording, listing, extending, deciding and
lifting them, and what they mean for the rest of the service.

Every request of every kind is a row of `rights_requests`, so one list, one set of due
dates and one reminder cover them all; an access request made with `ewobot sar` or
`/sar` is recorded here too (kind access), beside `subject_access_requests`, which keeps
the export's file name after the record is disposed of so the file can go as well.
Each function is one transaction's work inside the caller's `conn`; every change is
audited, naming the pupil by internal reference only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain import rights as rules
from bot.domain.upn import NOT_HELD, UpnProblem, checked_upn
from bot.storage import audit, sharing
from bot.storage.db import Conn, row_lock

OPEN, UPHELD, REJECTED, LIFTED = "open", "upheld", "rejected", "lifted"

def _kinds(kinds: tuple[str, ...]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)  # fixed names from bot.domain.rights


# Restricted now: a restriction or objection undecided, or upheld and not yet lifted.
RESTRICTED_SQL = (
    "EXISTS (SELECT 1 FROM rights_requests rr WHERE rr.pupil_id = {pupil}"
    f" AND rr.kind IN ({_kinds(rules.RESTRICTING_KINDS)}) AND rr.status IN ('open', 'upheld'))")
# Past due at once: an objection or erasure upheld.
PAST_DUE_SQL = (
    "EXISTS (SELECT 1 FROM rights_requests rr WHERE rr.pupil_id = {pupil}"
    f" AND rr.kind IN ({_kinds(rules.PAST_DUE_KINDS)}) AND rr.status = 'upheld')")


# The audit reason of a view refused because the record is restricted.
RESTRICTED_REASON = "restricted"
MAX_ID = 2**63 - 1  # the largest row id SQLite (INTEGER) and PostgreSQL (bigint) hold
# A rectification upheld with a supplementary statement: the card's flag.
STATEMENT_SQL = (
    "EXISTS (SELECT 1 FROM rights_requests rs WHERE rs.pupil_id = {pupil}"
    " AND rs.kind = 'rectification' AND rs.status = 'upheld' AND rs.statement IS NOT NULL)")


class Restricted(Exception):  # noqa: N818 (an outcome, not a fault)
    """A scoped lookup reached a pupil whose record is restricted: stored and nothing
    else. Raised by the pupil lookups (bot/storage/pupils.py, visits.visit_pupil) once
    the pupil is known to be in the person's scope, so no view or flow built on them can
    go on, inside a read or a write (which then rolls back). The application's error
    handler answers `bot.chat.restriction.RESTRICTED` and audits `refused:<view>`,
    reason RESTRICTED_REASON; the exception carries what that needs, since the error
    handler's context has no officer."""

    def __init__(self, pupil_id: int, view: str, actor: str, access: str | None = None) -> None:
        super().__init__(f"pupil:{pupil_id} is restricted")
        self.pupil_id, self.view, self.actor, self.access = pupil_id, view, actor, access

    @property
    def target(self) -> str:
        return f"pupil:{self.pupil_id}"


async def is_restricted(conn: Conn, pupil_id: int) -> bool:
    """Whether the pupil's record is restricted now. Unscoped: ask it only about a pupil
    a scoped query has already shown the person may see (or a controller's view)."""
    found = await conn.fetchval(
        f"SELECT 1 FROM pupils p WHERE p.id = ? AND {RESTRICTED_SQL.format(pupil='p.id')}",
        (pupil_id,))
    return found is not None


async def refuse_if_restricted(conn: Conn, pupil_id: int, *, view: str, actor: str,
                               access: str | None = None) -> None:
    """Raise Restricted when the pupil's record is restricted: the one line a view with
    its own scoped query adds, in the same snapshot, after its query found the pupil."""
    if await is_restricted(conn, pupil_id):
        raise Restricted(pupil_id, view, actor, access)


class RightsProblem(Exception):
    """The request cannot be recorded or changed; str() is one line for the person."""


@dataclass(frozen=True, slots=True)
class RightsRequest:
    """One request as the controller sees it: the case reference, never a name."""

    id: int
    pupil_id: int
    case_ref: str
    kind: str
    received: date
    due: date
    status: str
    extended: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """A decided request and whom the record was shared with (Article 19)."""

    request: RightsRequest
    recipients: list[str]


_SELECT = ("SELECT r.id, r.pupil_id, p.case_ref, r.kind, r.received, r.due, r.status,"
           " r.extension_reason FROM rights_requests r JOIN pupils p ON p.id = r.pupil_id")


def _request(row: Any) -> RightsRequest:
    return RightsRequest(row["id"], row["pupil_id"], row["case_ref"], row["kind"],
                         date.fromisoformat(row["received"]), date.fromisoformat(row["due"]),
                         row["status"], row["extension_reason"] is not None)


async def _pupil_id(conn: Conn, upn: str) -> int:
    try:
        wanted = checked_upn(upn)
    except UpnProblem as problem:
        raise RightsProblem(str(problem)) from None
    pupil_id = await conn.fetchval("SELECT id FROM pupils WHERE upn = ?", (wanted,))
    if pupil_id is None:
        raise RightsProblem(NOT_HELD)
    return int(pupil_id)


async def _one(conn: Conn, request_id: int, *, held: bool = False) -> RightsRequest:
    """The request; `held`: its row held until the transaction ends (on PostgreSQL
    `FOR UPDATE`), for a change decided from what is read, so two controllers deciding
    or extending it at once take turns and the second reads what the first wrote."""
    if not 1 <= request_id <= MAX_ID:  # no such row, and SQLite and bigint cannot hold it
        raise RightsProblem(f"no request {request_id}")
    sql = f"{_SELECT} WHERE r.id = ?"
    row = await conn.fetchone(row_lock(conn, sql, "FOR UPDATE OF r") if held else sql,
                              (request_id,))
    if row is None:
        raise RightsProblem(f"no request {request_id}")
    return _request(row)


async def one(conn: Conn, request_id: int) -> RightsRequest:
    """One request by id (RightsProblem when there is none): `/requests`' buttons. No
    officer: only controllers may press them (the registry), and it names no one."""
    return await _one(conn, request_id)


async def record(conn: Conn, pupil_id: int, kind: str, received: date, *, actor: str,
                 now: datetime, audited: bool = True) -> int:
    """Record a request about a pupil held; returns its id. Audited unless the caller
    audits it itself (a subject-access export)."""
    request_id = await conn.insert(
        "INSERT INTO rights_requests (pupil_id, kind, received, due, recorded_by)"
        " VALUES (?, ?, ?, ?, ?)",
        (pupil_id, kind, received.isoformat(), rules.due_date(received).isoformat(), actor))
    if audited:
        await audit.append(conn, actor=actor, action="rights_request",
                           target=f"pupil:{pupil_id}", reason="rights_request", at=now,
                           detail={"request": request_id, "kind": kind})
    return request_id


async def add(conn: Conn, upn: str, kind: str, received: date, *, actor: str,
              now: datetime) -> RightsRequest:
    """Record a request of `kind` received on `received` about the pupil with this UPN."""
    if kind not in rules.KINDS:
        raise RightsProblem(f"the kind must be one of: {', '.join(rules.KINDS)}")
    if received > now.date():
        raise RightsProblem("the date received cannot be in the future")
    pupil_id = await _pupil_id(conn, upn)
    return await _one(conn, await record(conn, pupil_id, kind, received, actor=actor, now=now))


async def listing(conn: Conn, *, open_only: bool) -> list[RightsRequest]:
    """Every request (or the open ones), earliest due first. No officer: for the command
    line and a controller's `/requests` (case references and dates, no names)."""
    where = " WHERE r.status = 'open'" if open_only else ""
    rows = await conn.fetchall(f"{_SELECT}{where} ORDER BY r.due, r.id")
    return [_request(row) for row in rows]


async def extend(conn: Conn, request_id: int, reason: str, *, actor: str,
                 now: datetime) -> RightsRequest:
    """Extend an open request's due date once by two calendar months."""
    if reason not in rules.EXTENSION_REASONS:
        raise RightsProblem(f"the reason must be one of: {', '.join(rules.EXTENSION_REASONS)}")
    request = await _one(conn, request_id, held=True)
    if request.status != OPEN:
        raise RightsProblem(f"request {request_id} is already decided")
    if request.extended:
        raise RightsProblem(f"request {request_id} has already been extended once")
    due = rules.extended_due_date(request.received)
    await conn.execute("UPDATE rights_requests SET due = ?, extension_reason = ? WHERE id = ?",
                       (due.isoformat(), reason, request_id))
    await audit.append(conn, actor=actor, action="rights_extend",
                       target=f"pupil:{request.pupil_id}", reason=reason, at=now,
                       detail={"request": request_id, "due": due.isoformat()})
    return await _one(conn, request_id)


async def decide(conn: Conn, request_id: int, *, uphold: bool, reason: str,
                 statement: str | None, actor: str, now: datetime) -> Decision:
    """Uphold or reject an open request; a rectification upheld may carry a statement."""
    request = await _one(conn, request_id, held=True)
    if request.status != OPEN:
        raise RightsProblem(f"request {request_id} is already decided")
    problem = rules.reason_problem(reason, kind=request.kind, uphold=uphold)
    if problem is not None:
        raise RightsProblem(problem)
    if statement is not None:
        if request.kind != "rectification" or not uphold:
            raise RightsProblem("a statement goes only with an upheld rectification")
        problem = rules.statement_problem(statement)
        if problem is not None:
            raise RightsProblem(problem)
    status = UPHELD if uphold else REJECTED
    await conn.execute(
        "UPDATE rights_requests SET status = ?, decided = ?, decision_reason = ?,"
        " statement = ? WHERE id = ?",
        (status, now.date().isoformat(), reason, statement, request_id))
    await audit.append(conn, actor=actor, action=f"rights_{status}",
                       target=f"pupil:{request.pupil_id}", reason=reason, at=now,
                       detail={"request": request_id, "kind": request.kind,
                               "statement": statement is not None})
    return Decision(await _one(conn, request_id), await recipients_of(conn, request.pupil_id))


async def lift(conn: Conn, upn: str, *, actor: str, now: datetime) -> int:
    """End the upheld restrictions of the pupil with this UPN; how many were lifted."""
    pupil_id = await _pupil_id(conn, upn)
    lifted = await conn.execute(
        "UPDATE rights_requests SET status = 'lifted', lifted = ?"
        " WHERE pupil_id = ? AND kind = 'restriction' AND status = 'upheld'",
        (now.date().isoformat(), pupil_id))
    if not lifted:
        raise RightsProblem("that pupil's record has no upheld restriction to lift")
    await audit.append(conn, actor=actor, action="rights_lift", target=f"pupil:{pupil_id}",
                       reason="restriction_lifted", at=now, detail={"lifted": lifted})
    return lifted


async def recipients_of(conn: Conn, pupil_id: int) -> list[str]:
    """Whom the pupil's record was shared with, for Article 19 (from the sharing log)."""
    return await sharing.recipients_of(conn, pupil_id)


@dataclass(frozen=True, slots=True)
class DueNews:
    """Open requests due within DUE_SOON_DAYS and those overdue: ids only."""

    due_soon: list[int]
    overdue: list[int]

    @property
    def anything(self) -> bool:
        return bool(self.due_soon or self.overdue)

    def lines(self) -> list[str]:
        """The reminder's lines (ids and counts, no names)."""
        lines = []
        if self.overdue:
            lines.append(f"Rights requests overdue: {len(self.overdue)} "
                         f"({', '.join(map(str, self.overdue))}).")
        if self.due_soon:
            lines.append(f"Rights requests due within {rules.DUE_SOON_DAYS} days: "
                         f"{len(self.due_soon)} ({', '.join(map(str, self.due_soon))}).")
        return lines


async def due_news(conn: Conn, today: date) -> DueNews:
    """Open requests overdue or due within the next DUE_SOON_DAYS days."""
    soon = date.fromordinal(today.toordinal() + rules.DUE_SOON_DAYS).isoformat()
    rows = await conn.fetchall(
        "SELECT id, due FROM rights_requests WHERE status = 'open' AND due <= ?"
        " ORDER BY due, id", (soon,))
    overdue = [int(r["id"]) for r in rows if r["due"] < today.isoformat()]
    return DueNews([int(r["id"]) for r in rows if r["due"] >= today.isoformat()], overdue)


REMINDED_KEY = "rights_requests_reminded_on"


async def due_news_to_remind(conn: Conn, today: date) -> DueNews:
    """`due_news` for the daily check's reminder, once a day: empty when the controllers
    were already told today; otherwise, if there is anything, today is recorded as told
    (the caller queues the reminder in the same transaction)."""
    told = await conn.fetchval("SELECT value FROM meta WHERE key = ?", (REMINDED_KEY,))
    if told == today.isoformat():
        return DueNews([], [])
    news = await due_news(conn, today)
    if news.anything:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (REMINDED_KEY, today.isoformat()))
    return news
