"""Managing officers from the command line: add one, issue a new enrolment code, revoke
access; each one write transaction, audited as the administrator's."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage import audit
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer


@dataclass(frozen=True, slots=True)
class Issued:
    """An officer and the one-time enrolment code just issued to them."""

    officer: Officer
    code: str


async def add_officer(db: Database, *, ref: str, name: str, role: str,
                      supervisor_ref: str | None, actor: str, now: datetime,
                      code_hours: int) -> Issued:
    """Add an officer with a first enrolment code (OfficerProblem: the data does not
    allow it, e.g. the reference is taken)."""
    return await db.write(_add, ref, name, role, supervisor_ref, actor, now, code_hours)


async def _add(conn: Conn, ref: str, name: str, role: str, supervisor_ref: str | None,
               actor: str, now: datetime, code_hours: int) -> Issued:
    officer = await officer_store.add_officer(conn, ref=ref, name=name, role=role,
                                              supervisor_ref=supervisor_ref, now=now)
    code = await _issue(conn, officer, now, code_hours)
    await audit.append(conn, actor=actor, action="officer_add", target=officer.actor,
                       reason="admin_command", detail={"role": role})
    return Issued(officer, code)


async def new_code(db: Database, ref: str, *, actor: str, now: datetime,
                   code_hours: int) -> Issued | None:
    """A new enrolment code for the officer (None: no officer has that reference)."""
    return await db.write(_new_code, ref, actor, now, code_hours)


async def _new_code(conn: Conn, ref: str, actor: str, now: datetime,
                    code_hours: int) -> Issued | None:
    officer = await officer_store.officer_by_ref(conn, ref)
    if officer is None:
        return None
    code = await _issue(conn, officer, now, code_hours)
    await audit.append(conn, actor=actor, action="officer_code", target=officer.actor,
                       reason="admin_command")
    return Issued(officer, code)


class Revoked(enum.Enum):
    REVOKED = "revoked"
    ALREADY = "already revoked"
    NO_SUCH_OFFICER = "no such officer"


@dataclass(frozen=True, slots=True)
class Revocation:
    outcome: Revoked
    officer: Officer | None = None


async def revoke(db: Database, ref: str, *, actor: str, now: datetime) -> Revocation:
    """End the officer's access (at their next update), audited."""
    return await db.write(_revoke, ref, actor, now)


async def _revoke(conn: Conn, ref: str, actor: str, now: datetime) -> Revocation:
    officer = await officer_store.officer_by_ref(conn, ref)
    if officer is None:
        return Revocation(Revoked.NO_SUCH_OFFICER)
    if officer.status == "revoked":
        return Revocation(Revoked.ALREADY, officer)
    await officer_store.revoke(conn, officer, now=now)
    await audit.append(conn, actor=actor, action="officer_revoke", target=officer.actor,
                       reason="admin_command")
    return Revocation(Revoked.REVOKED, officer)


async def _issue(conn: Conn, officer: Officer, now: datetime, code_hours: int) -> str:
    code = secrets.token_urlsafe(32)  # 43 characters of [A-Za-z0-9_-]
    await officer_store.issue_code(conn, officer, code=code, now=now,
                                   expires_at=now + timedelta(hours=code_hours))
    return code
