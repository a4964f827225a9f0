"""Officers, supervisors and controllers: creation, enrolment codes, binding, revocation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.storage.db import Conn, stamp
from bot.storage.outbox import enqueue

ROLES = ("officer", "supervisor", "controller")


@dataclass(frozen=True, slots=True)
class Officer:
    id: int
    ref: str
    name: str
    role: str
    status: str
    supervisor_id: int | None
    telegram_user_id: int | None
    chat_id: int | None
    enrolled: bool
    failed_pins: int

    @property
    def actor(self) -> str:
        """How the audit trail names this person."""
        return f"officer:{self.ref}"

    @property
    def active(self) -> bool:
        return self.status == "active"


class OfficerProblem(ValueError):
    """An administrator asked for something the data does not allow; str() is one line."""


def columns(alias: str) -> str:
    """The columns `from_row` reads, of the table named `alias` (a join's officers)."""
    qualified = f"{alias}." if alias else ""
    return ", ".join([*(f"{qualified}{name}" for name in (
        "id", "ref", "name", "role", "status", "supervisor_id", "telegram_user_id",
        "chat_id")), f"{qualified}pin_hash IS NOT NULL AS enrolled", f"{qualified}failed_pins"])


_COLUMNS = columns("")


def from_row(row: object) -> Officer:
    return Officer(row["id"], row["ref"], row["name"], row["role"], row["status"],  # type: ignore[index]
                   row["supervisor_id"], row["telegram_user_id"], row["chat_id"],  # type: ignore[index]
                   bool(row["enrolled"]), row["failed_pins"])  # type: ignore[index]


def hash_code(code: str) -> str:
    """Enrolment codes carry 256 bits of randomness, so a plain SHA-256 is enough."""
    return hashlib.sha256(code.encode()).hexdigest()


async def officer_by_ref(conn: Conn, ref: str) -> Officer | None:
    """The officer with this reference in any case (`ewo1` finds `EWO1`); the Officer
    carries the reference as stored, which is how the audit trail names them."""
    row = await conn.fetchone(f"SELECT {_COLUMNS} FROM officers WHERE upper(ref) = upper(?)",
                              (ref,))
    return None if row is None else from_row(row)


async def officer_by_id(conn: Conn, officer_id: int) -> Officer | None:
    row = await conn.fetchone(f"SELECT {_COLUMNS} FROM officers WHERE id = ?", (officer_id,))
    return None if row is None else from_row(row)


async def add_officer(conn: Conn, *, ref: str, name: str, role: str,
                      supervisor_ref: str | None, now: datetime) -> Officer:
    if role not in ROLES:
        raise OfficerProblem(f"role must be one of {', '.join(ROLES)}")
    existing = await officer_by_ref(conn, ref)
    if existing is not None:
        raise OfficerProblem(f"officer {existing.ref} already exists")
    supervisor_id = None
    if supervisor_ref is not None:
        if role != "officer":
            raise OfficerProblem("--supervisor goes only with --role officer")
        supervisor = await officer_by_ref(conn, supervisor_ref)
        if supervisor is None or supervisor.role != "supervisor":
            raise OfficerProblem(f"{supervisor_ref} is not an existing supervisor")
        if supervisor.status == "revoked":  # as an allocation to a revoked officer is refused
            raise OfficerProblem(f"{supervisor.ref} is a revoked supervisor")
        supervisor_id = supervisor.id
    officer_id = await conn.insert(
        "INSERT INTO officers (ref, name, role, supervisor_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (ref, name, role, supervisor_id, stamp(now)))
    officer = await officer_by_id(conn, officer_id)
    assert officer is not None
    return officer


class NewOfficer(Protocol):
    """Who `add_officers` adds: what `ewobot officers add` is given."""

    @property
    def ref(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def supervisor_ref(self) -> str | None: ...


async def add_officers(conn: Conn, people: Iterable[NewOfficer], *,
                       now: datetime) -> list[Officer]:
    """`add_officer` for each person in turn (a supervisor before their officers)."""
    return [await add_officer(conn, ref=person.ref, name=person.name, role=person.role,
                              supervisor_ref=person.supervisor_ref, now=now)
            for person in people]


async def issue_code(conn: Conn, officer: Officer, *, code: str, now: datetime,
                     expires_at: datetime) -> None:
    """A new code: ends the current binding and sessions, reinstates a revoked or locked officer.

    Earlier unused codes stop working. Open conversations (visit drafts) are kept: the
    same person usually re-enrols on a new phone.
    """
    await conn.execute("UPDATE enrolment_codes SET used_at = ? WHERE officer_id = ? "
                       "AND used_at IS NULL", (stamp(now), officer.id))
    await conn.execute(
        "INSERT INTO enrolment_codes (code_hash, officer_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?)", (hash_code(code), officer.id, stamp(now),
                                 stamp(expires_at)))
    if officer.chat_id is not None:
        await _queue_menu_removal(conn, officer.chat_id, now)
    await conn.execute(
        "UPDATE officers SET status = 'active', telegram_user_id = NULL, chat_id = NULL,"
        " pin_hash = NULL, failed_pins = 0, enrolled_at = NULL, revoked_at = NULL WHERE id = ?",
        (officer.id,))
    await conn.execute("DELETE FROM sessions WHERE officer_id = ?", (officer.id,))


async def revoke(conn: Conn, officer: Officer, *, now: datetime) -> None:
    """Access ends at the next update; drafts are discarded; the command menu is removed."""
    await conn.execute("UPDATE officers SET status = 'revoked', revoked_at = ? WHERE id = ?",
                       (stamp(now), officer.id))
    await conn.execute("UPDATE enrolment_codes SET used_at = ? WHERE officer_id = ? "
                       "AND used_at IS NULL", (stamp(now), officer.id))
    await conn.execute("DELETE FROM sessions WHERE officer_id = ?", (officer.id,))
    await conn.execute("DELETE FROM conversations WHERE officer_id = ?", (officer.id,))
    if officer.chat_id is not None:
        await _queue_menu_removal(conn, officer.chat_id, now)


async def _queue_menu_removal(conn: Conn, chat_id: int, now: datetime) -> None:
    """The command menu is Telegram state: the running bot removes it via the outbox."""
    await enqueue(conn, kind="commands", audience=f"chat:{chat_id}",
                  payload={"action": "delete"}, now=now)


@dataclass(frozen=True, slots=True)
class OfficerListing:
    officer: Officer
    supervisor_ref: str | None
    pupils: int
    supervisor_revoked: bool = False  # no one hears of this officer's escalations then


async def list_officers(conn: Conn) -> list[OfficerListing]:
    rows = await conn.fetchall(
        f"SELECT {columns('o')}, s.ref AS supervisor_ref, s.status AS supervisor_status,"
        " (SELECT count(*) FROM allocations a WHERE a.officer_id = o.id) AS pupils"
        " FROM officers o LEFT JOIN officers s ON s.id = o.supervisor_id ORDER BY o.ref")
    return [OfficerListing(from_row(row), row["supervisor_ref"], row["pupils"],
                           row["supervisor_status"] == "revoked") for row in rows]
