"""The outbox: pushed messages written in the transaction that causes them.

Nothing waits in memory: the running bot (bot/jobs/outbox.py) delivers these rows,
resolving recipients from `audience` at delivery time. An audience that resolves to
nobody who holds an account (no such person, a revoked one, no controller at all) is
never a silent wait: the row is kept as `undelivered` with the error `no_recipient`
and audited, so it is counted where undelivered messages are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain import alerts as alert_text
from bot.storage import audit
from bot.storage.db import Conn, row_lock, stamp

AUDIENCE_FORMS = ("officer:<id>", "supervisor_of:<officer_id>", "supervisor:<id>",
                  "controllers", "chat:<chat_id>")
NO_RECIPIENT = "no_recipient"  # the error of a row whose audience resolves to nobody
# The payload's key of what a controller may read of a message about a pupil, should it
# be readdressed to them: {"text": …} with case references, schools and dates only.
CONTROLLERS_FORM = "controllers"
# The payload's key of what anyone a message is readdressed to reads in place of its
# text (`readdressed`): {"text": …}, e.g. a digest without its pointers to /caseload,
# which would show another supervisor their own team and a controller nothing.
READDRESSED_FORM = "readdressed"
# The payload's key of who recorded an escalation (their officer id, never shown): a copy
# readdressed from a blocked supervisor does not go back to a supervisor who recorded it.
RECORDER = "recorder"


async def enqueue(conn: Conn, *, kind: str, audience: str, payload: dict[str, Any],
                  now: datetime, pupil_ids: Sequence[int] = (),
                  not_before: datetime | None = None, nobody: bool = False) -> int:
    """Queue one pushed message; `payload` is {"text": str, "buttons": [[label, data], …]}.

    `pupil_ids` links the message to the pupils it is about, so disposing of a pupil
    also removes the messages still waiting about them. `nobody` (the caller knows no
    one can receive it) keeps the row as undelivered at once, audited, not waiting.
    """
    outbox_id = await conn.insert(
        "INSERT INTO outbox (kind, audience, payload, not_before, created_at, status,"
        " last_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, audience, json.dumps(payload, ensure_ascii=False),
         stamp(not_before or now), stamp(now), "undelivered" if nobody else "pending",
         NO_RECIPIENT if nobody else None))
    if pupil_ids:
        await conn.executemany(
            "INSERT INTO outbox_pupils (outbox_id, pupil_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            [(outbox_id, pupil_id) for pupil_id in pupil_ids])
    if nobody:
        await _audit_nobody(conn, outbox_id, kind, now)
    return outbox_id


async def escalation_audiences(conn: Conn, officer_id: int, *,
                               lapsed: frozenset[int] = frozenset()) -> tuple[str, ...]:
    """Who hears of an escalation or a safeguarding concern the officer recorded: their
    supervisor (`supervisor_of:`, resolved at delivery); when they have none who holds
    an account, every other supervisor who does (one `supervisor:<id>` each), those in
    `lapsed` (blocked under EWO_COMPLIANCE=enforce) left out while any other is current
    (`current_first`); nobody (empty) when there is no such supervisor at all."""
    own = await conn.fetchval(
        "SELECT s.id FROM officers o JOIN officers s ON s.id = o.supervisor_id"
        " WHERE o.id = ? AND s.status != 'revoked'", (officer_id,))
    if own is not None:
        return (f"supervisor_of:{officer_id}",)
    others = await conn.fetchall(
        "SELECT id FROM officers WHERE role = 'supervisor' AND status != 'revoked'"
        " AND id != ? ORDER BY id", (officer_id,))
    return tuple(f"supervisor:{person_id}"
                 for person_id in current_first([row["id"] for row in others], lapsed))


def current_first(people: Sequence[int], lapsed: frozenset[int]) -> list[int]:
    """Of the people a message is for (every controller, every other supervisor), those
    not in `lapsed`: a lapsed person may use only /help and cannot act on it
    (CASEWORK.md §4). When all of them are lapsed, all of them: the message must still
    reach someone, and their /help tells them to have new dates recorded."""
    current = [person for person in people if person not in lapsed]
    return current or list(people)


def without_buttons(payload: dict[str, Any]) -> dict[str, Any]:
    """A message for someone who may not open what its buttons open (an escalation or
    an alert about another team's pupil: the card would answer "No pupil of yours
    matches"; a digest's caseload would be their own team's), on every page."""
    stripped = {**payload, "buttons": []}
    pages = payload.get("pages")
    if isinstance(pages, list):
        stripped["pages"] = [{**page, "buttons": []} if isinstance(page, dict) else page
                             for page in pages]
    return stripped


def readdressed(payload: dict[str, Any]) -> dict[str, Any]:
    """What someone other than its addressee gets of a message: no buttons
    (`without_buttons`) and, when it has one, its READDRESSED_FORM's text."""
    form = payload.get(READDRESSED_FORM)
    stripped = without_buttons(payload)
    if isinstance(form, dict) and isinstance(form.get("text"), str):
        stripped["text"] = form["text"]
    return stripped


async def _audit_nobody(conn: Conn, outbox_id: int, kind: str, now: datetime) -> None:
    await audit.append(conn, actor="system", action=_actions(kind)[1],
                       target=f"outbox:{outbox_id}", reason=NO_RECIPIENT, at=now,
                       detail={"kind": kind, "recipient": "nobody", "retry": False})


# --- delivery --------------------------------------------------------------------------
#
# A row is `pending` until the running bot claims it (`sending`, with claimed_at and
# claimed_by), then
# `sent` once Telegram accepted it, or `undelivered` when Telegram refused it for good;
# a retryable failure puts it back to `pending` with a later not_before, and a row whose
# audience resolves to nobody at all becomes `undelivered` (`no_recipient`). Recipients are
# resolved at each claim and written to `recipient_id`; an audience of several people
# (`controllers`) is expanded at claim time into one row per person, so a retry never
# sends again to someone who already has the message.

CLAIM_TIMEOUT = timedelta(minutes=1)  # a row `sending` longer than this was left by a crash


@dataclass(frozen=True, slots=True)
class Delivery:
    """One claimed row, ready to send to one chat."""

    id: int
    kind: str
    audience: str
    payload: dict[str, Any]
    attempts: int
    chat_id: int
    recipient_id: int | None  # None for a `chat:<chat_id>` audience
    recipient_ref: str | None
    forwarded_from: str | None  # a revoked officer's ref, when their message goes upwards
    forwarded_lapsed: bool = False  # forwarded because the officer is blocked (compliance)

    @property
    def target(self) -> str:
        return f"outbox:{self.id}"


@dataclass(frozen=True, slots=True)
class _Person:
    id: int
    ref: str
    role: str
    status: str
    supervisor_id: int | None
    chat_id: int | None
    enrolled: bool
    blocked: bool

    @property
    def reachable(self) -> bool:
        """Active, enrolled and not blocking the bot: a message can go to them now."""
        return (self.status == "active" and self.enrolled and self.chat_id is not None
                and not self.blocked)


async def release_claims(conn: Conn, *, claimed_before: datetime | None = None) -> int:
    """Put rows left `sending` back to `pending`: all of them (at start, when no send can
    be in flight) or those claimed before `claimed_before`. Returns how many."""
    if claimed_before is None:
        return await conn.execute("UPDATE outbox SET status = 'pending', claimed_by = NULL"
                                  " WHERE status = 'sending'")
    return await conn.execute(
        "UPDATE outbox SET status = 'pending', claimed_by = NULL WHERE status = 'sending'"
        " AND claimed_at < ?", (stamp(claimed_before),))


async def has_due_work(conn: Conn, now: datetime) -> bool:
    """Whether any row may be due (read-only: the job opens a write only when needed)."""
    row = await conn.fetchone(
        "SELECT 1 FROM outbox WHERE (status = 'pending' AND not_before <= ?)"
        " OR (status = 'sending' AND claimed_at < ?) LIMIT 1",
        (stamp(now), stamp(now - CLAIM_TIMEOUT)))
    return row is not None


CLAIMS_LOCK = "ewo.outbox.claims"
_DUE = ("SELECT id, kind, audience, payload, attempts, recipient_id, created_at FROM outbox"
        " WHERE status = 'pending' AND not_before <= ? ORDER BY id")


async def claim_due(conn: Conn, now: datetime, *, quiet: bool, holder: str | None = None,
                    redirected: frozenset[int] = frozenset()) -> list[Delivery]:
    """Claim the next due row of each reachable recipient (in order per recipient: a
    recipient with a row in flight or waiting to be retried gets nothing new), for
    `holder` (the sending instance, kept in `claimed_by`).

    During quiet time only `commands` rows (menu removal, seen by no one) go. The
    `officer:<id>` rows of the people in `redirected` (blocked for lapsed compliance,
    bot/storage/compliance.py) go to their supervisor, as a revoked officer's do; an
    alert digest forwarded so carries every line, and the supervisor's copy queued with
    it is withdrawn (`withdraw_copies`). What is for every controller, or readdressed to
    every other supervisor, leaves out those in `redirected` while any other can have it
    (`current_first`).

    Claimers take turns (`CLAIMS_LOCK`, across instances on PostgreSQL), so "one row in
    flight per recipient" holds however many senders there are; each row goes from
    `pending` to `sending` only once (a conditional UPDATE), and on PostgreSQL a row
    another transaction holds (being settled, or deleted by a disposal) is skipped
    (`FOR UPDATE SKIP LOCKED`), not waited for.
    """
    await conn.lock(CLAIMS_LOCK)
    people = await _people(conn)
    busy = await _busy_recipients(conn, now)
    rows = await conn.fetchall(row_lock(conn, _DUE, "FOR UPDATE SKIP LOCKED"), (stamp(now),))
    claimed: list[Delivery] = []
    withdrawn: set[int] = set()
    for row in rows:
        if (quiet and row["kind"] != "commands") or row["id"] in withdrawn:
            continue
        delivery = await _resolve(conn, row, people, redirected)
        if delivery is None:
            if _nobody(row, people) and not await _readdress_escalation(conn, row, people, now,
                                                                         redirected):
                await _mark_nobody(conn, row, now)
            continue  # otherwise it waits (or goes readdressed on the next round)
        key = delivery.recipient_id if delivery.recipient_id is not None else delivery.audience
        if key in busy:
            continue
        changed = await conn.execute(
            "UPDATE outbox SET status = 'sending', claimed_at = ?, claimed_by = ?,"
            " recipient_id = ? WHERE id = ? AND status = 'pending'",
            (stamp(now), holder, delivery.recipient_id, delivery.id))
        if changed:
            busy.add(key)
            claimed.append(delivery)
            if delivery.forwarded_from is not None:
                withdrawn |= await withdraw_copies(conn, row, now)
    return claimed


async def withdraw_copies(conn: Conn, row: Any, now: datetime) -> set[int]:
    """The supervisor's copies (`supervisor_of:<id>`) queued with `row`, an officer's
    alert digest (`officer:<id>`) that goes whole to that supervisor (or to whoever
    stands in for them): it carries every line, so a copy would tell them the severe
    and continuous absences twice. The copies still waiting are deleted, each audited;
    returns their ids. A copy already sent, or of another row, is left as it is."""
    form, _, officer_id = str(row["audience"]).partition(":")
    if row["kind"] != "alert" or form != "officer":
        return set()
    copies = {found["id"] for found in await conn.fetchall(
        "SELECT id FROM outbox WHERE kind = 'alert' AND audience = ? AND created_at = ?"
        " AND status = 'pending'", (f"supervisor_of:{officer_id}", row["created_at"]))}
    for copy_id in sorted(copies):
        if not await conn.execute("DELETE FROM outbox WHERE id = ? AND status = 'pending'",
                                  (copy_id,)):
            continue  # claimed or disposed of meanwhile
        await audit.append(conn, actor="system", action="message_withdrawn",
                           target=f"outbox:{copy_id}", reason="forwarded_whole", at=now,
                           detail={"kind": "alert", "forwarded": row["id"]})
    return copies


async def held(conn: Conn, outbox_id: int) -> Any:
    """A row (kind, audience, payload, status, created_at) held until the transaction
    ends (on PostgreSQL `FOR UPDATE`: whoever writes a payload again reads it this way,
    so two such writers never undo each other); None when it is gone."""
    return await conn.fetchone(row_lock(
        conn, "SELECT id, kind, audience, payload, status, created_at FROM outbox WHERE id = ?"),
        (outbox_id,))


async def _people(conn: Conn) -> dict[int, _Person]:
    rows = await conn.fetchall(
        "SELECT o.id, o.ref, o.role, o.status, o.supervisor_id, o.chat_id,"
        " o.pin_hash IS NOT NULL AS enrolled,"
        " EXISTS (SELECT 1 FROM delivery_blocks b LEFT JOIN sessions s"
        "         ON s.officer_id = b.officer_id WHERE b.officer_id = o.id"
        "         AND b.blocked_at >= COALESCE(s.last_seen_at, '')"
        "         AND b.blocked_at >= COALESCE(o.enrolled_at, '')) AS blocked"
        " FROM officers o")
    return {row["id"]: _Person(row["id"], row["ref"], row["role"], row["status"],
                               row["supervisor_id"], row["chat_id"], bool(row["enrolled"]),
                               bool(row["blocked"])) for row in rows}


async def _busy_recipients(conn: Conn, now: datetime) -> set[int | str]:
    """Recipients with a row in flight, or one waiting for a retry after a failure."""
    rows = await conn.fetchall(
        "SELECT recipient_id, audience FROM outbox WHERE status = 'sending'"
        " OR (status = 'pending' AND attempts > 0 AND not_before > ?)", (stamp(now),))
    return {row["recipient_id"] if row["recipient_id"] is not None else row["audience"]
            for row in rows}


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


async def _resolve(conn: Conn, row: Any, people: dict[int, _Person],
                   redirected: frozenset[int] = frozenset()) -> Delivery | None:
    """Who gets this row now, or None while it must wait."""
    audience: str = row["audience"]
    form, _, arg = audience.partition(":")
    number = _number(arg) if arg else None
    forwarded_from, lapsed = None, False
    person: _Person | None = None
    if form == "chat" and number is not None:
        return _delivery(row, number, None, None)
    if row["recipient_id"] is not None and form == "controllers":
        person = people.get(row["recipient_id"])  # an expanded copy keeps its person
    elif form == "controllers":
        person = await _expand_to_controllers(conn, row, people, redirected)
    elif form == "officer" and number in people:
        person = people[number]
        if person.status == "revoked" or person.id in redirected:
            # A revoked (or blocked) officer's messages go to their supervisor instead.
            forwarded_from, lapsed = person.ref, person.status != "revoked"
            person = people.get(person.supervisor_id or 0)
    elif form == "supervisor_of" and number in people:
        person = people.get(people[number].supervisor_id or 0)
    elif form == "supervisor" and number is not None:
        person = people.get(number)
    if person is None or not person.reachable or person.chat_id is None:
        return None
    if person.id in redirected and person.role == "supervisor":
        return None  # blocked: what was not readdressed to others waits for them
    return _delivery(row, person.chat_id, person, forwarded_from, lapsed)


def _nobody(row: Any, people: dict[int, _Person]) -> bool:
    """Whether the row's audience resolves to no one who holds an account (missing or
    revoked): unlike someone not yet enrolled, locked or blocking the bot, that never
    comes right by waiting."""
    form, _, arg = str(row["audience"]).partition(":")
    number = _number(arg) if arg else None

    def gone(person_id: int | None) -> bool:
        person = people.get(person_id or 0)
        return person is None or person.status == "revoked"

    if form == "controllers":
        if row["recipient_id"] is not None:
            return gone(row["recipient_id"])
        return all(gone(p.id) for p in people.values() if p.role == "controller")
    if form == "officer":
        if gone(number):
            return number not in people or gone(people[number or 0].supervisor_id)
        return False
    if form == "supervisor_of":
        return number not in people or gone(people[number or 0].supervisor_id)
    if form == "supervisor":
        return gone(number)
    return False


async def _readdress_escalation(conn: Conn, row: Any, people: dict[int, _Person],
                                now: datetime, redirected: frozenset[int]) -> bool:
    """An escalation for a supervisor who left before it went: it goes to every other
    supervisor instead, as it would have at saving (the row readdressed to the first,
    a copy for each other one), the lapsed ones (`redirected`) left out while any other
    is current. False when there is no one to readdress it to."""
    form, _, arg = str(row["audience"]).partition(":")
    officer_id = _number(arg) if arg else None
    if row["kind"] != "escalation" or form != "supervisor_of" or officer_id is None:
        return False
    others = current_first(sorted(p.id for p in people.values() if p.role == "supervisor"
                                  and p.status != "revoked" and p.id != officer_id),
                           redirected)
    if not others:
        return False
    # Read held, as every rewrite of a payload reads it (`held`); the card the button
    # opens is not theirs to see.
    current = await held(conn, row["id"])
    if current is None:
        return True  # disposed of meanwhile: nothing is left to readdress
    payload = json.dumps(readdressed(json.loads(current["payload"])), ensure_ascii=False)
    await conn.execute("UPDATE outbox SET audience = ?, payload = ? WHERE id = ?",
                       (f"supervisor:{others[0]}", payload, row["id"]))
    for other in others[1:]:
        copy_id = await conn.insert(
            "INSERT INTO outbox (kind, audience, payload, not_before, created_at)"
            " SELECT kind, ?, payload, not_before, created_at FROM outbox WHERE id = ?",
            (f"supervisor:{other}", row["id"]))
        await conn.execute(
            "INSERT INTO outbox_pupils (outbox_id, pupil_id)"
            " SELECT ?, pupil_id FROM outbox_pupils WHERE outbox_id = ?", (copy_id, row["id"]))
    await audit.append(conn, actor="system", action="message_readdressed",
                       target=f"outbox:{row['id']}", reason="supervisor_left", at=now,
                       detail={"kind": row["kind"], "recipients": len(others)})
    return True


async def _mark_nobody(conn: Conn, row: Any, now: datetime) -> None:
    changed = await conn.execute(
        "UPDATE outbox SET status = 'undelivered', last_error = ? WHERE id = ?"
        " AND status = 'pending'", (NO_RECIPIENT, row["id"]))
    if changed:
        await _audit_nobody(conn, row["id"], row["kind"], now)


def _delivery(row: Any, chat_id: int, person: _Person | None,
              forwarded_from: str | None, lapsed: bool = False) -> Delivery:
    return Delivery(row["id"], row["kind"], row["audience"], _payload(row["kind"], row["payload"]),
                    row["attempts"], chat_id, None if person is None else person.id,
                    None if person is None else person.ref, forwarded_from, lapsed)


async def _expand_to_controllers(conn: Conn, row: Any, people: dict[int, _Person],
                                 redirected: frozenset[int]) -> _Person | None:
    """This row goes to the first reachable controller; a copy is written for each other
    one (claimed on a later round), so each person's delivery is tracked on its own. The
    row keeps its person at once: should they have another row in flight, it waits for
    them, not to be expanded (and copied to the others) again. Those whose DBS check or
    training has lapsed (`redirected`, under enforce) are left out while any other is
    reachable (`current_first`)."""
    reachable = sorted(p.id for p in people.values() if p.role == "controller" and p.reachable)
    controllers = [people[person_id] for person_id in current_first(reachable, redirected)]
    if not controllers:
        return None
    await conn.execute("UPDATE outbox SET recipient_id = ? WHERE id = ?",
                       (controllers[0].id, row["id"]))
    for other in controllers[1:]:
        copy_id = await conn.insert(
            "INSERT INTO outbox (kind, audience, payload, not_before, created_at, recipient_id)"
            " SELECT kind, audience, payload, not_before, created_at, ? FROM outbox WHERE id = ?",
            (other.id, row["id"]))
        await conn.execute(
            "INSERT INTO outbox_pupils (outbox_id, pupil_id)"
            " SELECT ?, pupil_id FROM outbox_pupils WHERE outbox_id = ?", (copy_id, row["id"]))
    return controllers[0]


def _actions(kind: str) -> tuple[str, str]:
    return ("alert_sent", "alert_failed") if kind == "alert" else ("message_sent",
                                                                    "message_failed")


async def mark_sent(conn: Conn, delivery: Delivery, now: datetime) -> None:
    """Telegram accepted the message: the row is done. Audited."""
    changed = await conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
        " last_error = NULL WHERE id = ?", (stamp(now), delivery.id))
    if changed:
        await audit.append(conn, actor="system", action=_actions(delivery.kind)[0],
                           target=delivery.target, reason="delivered", at=now,
                           detail=_detail(delivery))


async def mark_failed(conn: Conn, delivery: Delivery, now: datetime, *, error: str,
                      retry_at: datetime | None, blocked: bool = False) -> None:
    """A failed send: retried from `retry_at`, or (None) kept as undelivered for good.

    `blocked` (403) stops all sending to that person until they talk to the bot again.
    `error` is a fixed code such as `http_400`, `http_403`, `http_429`, `timeout`.
    """
    if retry_at is not None:
        changed = await conn.execute(
            "UPDATE outbox SET status = 'pending', not_before = ?, attempts = attempts + 1,"
            " last_error = ? WHERE id = ?", (stamp(retry_at), error, delivery.id))
    else:
        changed = await conn.execute(
            "UPDATE outbox SET status = 'undelivered', attempts = attempts + 1,"
            " last_error = ? WHERE id = ?", (error, delivery.id))
    if blocked and delivery.recipient_id is not None:
        await conn.execute(
            "INSERT INTO delivery_blocks (officer_id, blocked_at) VALUES (?, ?)"
            " ON CONFLICT (officer_id) DO UPDATE SET blocked_at = excluded.blocked_at",
            (delivery.recipient_id, stamp(now)))
    if changed:
        await audit.append(conn, actor="system", action=_actions(delivery.kind)[1],
                           target=delivery.target, reason=error, at=now,
                           detail={**_detail(delivery), "retry": retry_at is not None,
                                   "attempts": delivery.attempts + 1})


def _detail(delivery: Delivery) -> dict[str, Any]:
    recipient = f"officer:{delivery.recipient_ref}" if delivery.recipient_ref else "chat"
    return {"kind": delivery.kind, "recipient": recipient}


# --- what others read --------------------------------------------------------------------


async def undelivered_counts(conn: Conn, officer_ids: Sequence[int]) -> dict[int, int]:
    """Alerts Telegram refused for good (400, or 403 blocked), per recipient officer."""
    if not officer_ids:
        return {}
    rows = await conn.fetchall(
        "SELECT recipient_id, count(*) AS undelivered FROM outbox"
        " WHERE status = 'undelivered' AND kind = 'alert'"
        f" AND recipient_id IN ({','.join('?' * len(officer_ids))}) GROUP BY recipient_id",
        list(officer_ids))
    return {row["recipient_id"]: row["undelivered"] for row in rows}


def _payload(kind: str, stored: str) -> dict[str, Any]:
    """A row's payload as it goes out: an alert digest laid out as this version lays
    digests out (one queued before an upgrade included), anything else as stored."""
    payload: dict[str, Any] = json.loads(stored)
    return alert_text.as_written_now(payload) if kind == "alert" else payload


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A row as stored, for tests and the subject-access export."""

    id: int
    kind: str
    audience: str
    payload: dict[str, Any]
    status: str
    attempts: int
    not_before: str
    last_error: str | None
    recipient_id: int | None


async def rows(conn: Conn, *, kind: str | None = None) -> list[OutboxRow]:
    """Every row (of one kind), oldest first."""
    where, params = ("WHERE kind = ?", (kind,)) if kind else ("", ())
    found = await conn.fetchall(
        "SELECT id, kind, audience, payload, status, attempts, not_before, last_error,"
        f" recipient_id FROM outbox {where} ORDER BY id", params)
    return [OutboxRow(r["id"], r["kind"], r["audience"], json.loads(r["payload"]), r["status"],
                      r["attempts"], r["not_before"], r["last_error"], r["recipient_id"])
            for r in found]


async def status_counts(conn: Conn) -> tuple[int, int]:
    """(waiting to go or being sent, kept as undelivered), for `ewobot status`."""
    row = await conn.fetchone(
        "SELECT COALESCE(SUM(CASE WHEN status IN ('pending', 'sending') THEN 1 ELSE 0 END), 0)"
        " AS pending,"
        " COALESCE(SUM(CASE WHEN status = 'undelivered' THEN 1 ELSE 0 END), 0) AS undelivered"
        " FROM outbox")
    return int(row["pending"]), int(row["undelivered"])
