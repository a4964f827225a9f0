"""The information-sharing log (CASEWORK.md §2): decisions to share and not to share.

Entries are never edited: a correction is a new row whose `supersedes` names the old
one, and only entries no later one supersedes are current. An entry saved from a draft
carries the draft's token, so a double-tapped Save (or two processes racing) records
one. A sharing decision is an intervention for retention (bot/storage/retention.py
reads `shared_on`), is in the subject-access export (`for_export`), names the record's
recipients for Article 19 (`recipients_of`) and the record of processing's recipient
counts (`recipient_counts`), and shows in a pupil's chronology (`sharing_chronology`).
Who may record one is the visit's scope: the officer's own allocated pupils
(bot/storage/visits.visit_pupil), checked by the caller in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain import sharing as words
from bot.domain.conversation_kinds import ConversationKind
from bot.storage.db import Conn, stamp
from bot.storage.officers import Officer

SOURCE = "sharing"  # the chronology's source of a sharing entry
_CURRENT = ("NOT EXISTS (SELECT 1 FROM sharing_log c"
            " WHERE c.pupil_id = sh.pupil_id AND c.supersedes = sh.id)")


@dataclass(frozen=True, slots=True)
class NewSharing:
    """A finished draft, ready to save (basis and condition None unless shared)."""

    pupil_id: int
    recipient: str
    recipient_other: str | None
    decision: str
    items: tuple[str, ...]
    lawful_basis: str | None
    special_condition: str | None
    reason: str
    shared_on: date
    note: str | None
    supersedes: int | None = None


async def record(conn: Conn, officer: Officer, entry: NewSharing, *, draft_token: str,
                 now: datetime) -> int | None:
    """Insert the entry; its id, or None when this draft was saved already. The caller
    checks the pupil is the officer's in the same transaction and ends the draft."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO sharing_log (pupil_id, officer_id, recipient, recipient_other, decision,"
        " items, lawful_basis, special_condition, reason, shared_on, note, supersedes,"
        " saved_at, draft_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (draft_token) DO NOTHING RETURNING id",
        (entry.pupil_id, officer.id, entry.recipient, entry.recipient_other, entry.decision,
         ",".join(entry.items), entry.lawful_basis, entry.special_condition, entry.reason,
         entry.shared_on.isoformat(), entry.note, entry.supersedes, stamp(now), draft_token))


@dataclass(frozen=True, slots=True)
class Sharing:
    """A saved entry, as a correction starts from it."""

    id: int
    entry: NewSharing
    saved_at: datetime
    superseded: bool


async def entry_for_correction(conn: Conn, officer: Officer, entry_id: int) -> Sharing | None:
    """The entry if this officer recorded it and the pupil is still theirs (the visit's
    scope); None otherwise: another's entry is answered like one that does not exist."""
    if not officer.active or officer.role not in ("officer", "supervisor"):
        return None
    row = await conn.fetchone(
        "SELECT sh.*, NOT " + _CURRENT + " AS superseded"
        " FROM sharing_log sh JOIN allocations a ON a.pupil_id = sh.pupil_id"
        " WHERE sh.id = ? AND sh.officer_id = ? AND a.officer_id = ?",
        (entry_id, officer.id, officer.id))
    if row is None:
        return None
    entry = NewSharing(
        pupil_id=row["pupil_id"], recipient=row["recipient"],
        recipient_other=row["recipient_other"], decision=row["decision"],
        items=tuple(row["items"].split(",")), lawful_basis=row["lawful_basis"],
        special_condition=row["special_condition"], reason=row["reason"],
        shared_on=date.fromisoformat(row["shared_on"]), note=row["note"],
        supersedes=row["supersedes"])
    return Sharing(row["id"], entry, datetime.fromisoformat(row["saved_at"]),
                   bool(row["superseded"]))


async def saved_from_draft(conn: Conn, draft_token: str) -> bool:
    """Whether the draft with this token became an entry (a second Save is a repeat)."""
    found = await conn.fetchval("SELECT 1 FROM sharing_log WHERE draft_token = ?",
                                (draft_token,))
    return found is not None


async def recipients_of(conn: Conn, pupil_id: int) -> list[str]:
    """Whom the pupil's record was shared with (current entries that shared something),
    each once with the last date, for Article 19's notice to recipients."""
    rows = await conn.fetchall(
        "SELECT sh.recipient, sh.recipient_other, MAX(sh.shared_on) AS last_on"
        " FROM sharing_log sh WHERE sh.pupil_id = ? AND sh.decision = 'shared'"
        f" AND {_CURRENT} GROUP BY sh.recipient, sh.recipient_other", (pupil_id,))
    named = [(words.recipient_label(row["recipient"], row["recipient_other"]), row["last_on"])
             for row in rows]
    return [f"{label} (last {_day(last_on)})" for label, last_on in sorted(named)]


async def recipient_counts(conn: Conn, since: date) -> dict[str, int]:
    """Agency types and how many pupils' records each received from `since` on (current
    entries that shared something). A typed recipient counts as Other, unnamed."""
    rows = await conn.fetchall(
        "SELECT sh.recipient, count(DISTINCT sh.pupil_id) AS n FROM sharing_log sh"
        f" WHERE sh.decision = 'shared' AND sh.shared_on >= ? AND {_CURRENT}"
        " GROUP BY sh.recipient", (since.isoformat(),))
    return {words.recipient_label(row["recipient"]): int(row["n"]) for row in rows}


async def for_export(conn: Conn, pupil_id: int) -> list[dict[str, Any]]:
    """The pupil's sharing log, oldest first, corrections and superseded entries
    included, in words (the subject-access export's `recipients`)."""
    rows = await conn.fetchall(
        "SELECT sh.id, sh.recipient, sh.recipient_other, sh.decision, sh.items,"
        " sh.lawful_basis, sh.special_condition, sh.reason, sh.shared_on, sh.note,"
        " sh.supersedes, sh.saved_at, o.ref AS officer_ref"
        " FROM sharing_log sh JOIN officers o ON o.id = sh.officer_id"
        " WHERE sh.pupil_id = ? ORDER BY sh.shared_on, sh.saved_at, sh.id", (pupil_id,))
    return [_exported(row) for row in rows]


def _exported(row: Any) -> dict[str, Any]:
    vocab = words  # the labels the officer chose from
    return {
        "id": row["id"], "date": row["shared_on"],
        "recipient": vocab.recipient_label(row["recipient"], row["recipient_other"]),
        "decision": dict(vocab.DECISIONS)[row["decision"]],
        "information": vocab.labels(vocab.WHAT, row["items"].split(",")),
        "lawful_basis": dict(vocab.BASES).get(row["lawful_basis"]),
        "special_category_condition": dict(vocab.CONDITIONS).get(row["special_condition"]),
        "reason": dict(vocab.REASONS)[row["reason"]], "note": row["note"],
        "recorded_by": row["officer_ref"], "supersedes": row["supersedes"],
        "saved_at": row["saved_at"]}


async def discard_expired_drafts(conn: Conn, now: datetime) -> int:
    """Delete sharing drafts whose time is up (they may hold a note); how many."""
    return await conn.execute(
        "DELETE FROM conversations WHERE kind = ? AND expires_at <= ?",
        (ConversationKind.SHARE.value, stamp(now)))


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y")
