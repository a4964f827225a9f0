"""Managing officers from the command line: set up the service, add an officer, issue a
new enrolment code, revoke access, record compliance dates, list them; each one
transaction, the changes audited as the administrator's."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain import compliance as compliance_rules
from bot.domain.compliance import Compliance
from bot.storage import audit, compliance
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer


@dataclass(frozen=True, slots=True)
class Issued:
    """An officer and the one-time enrolment code just issued to them."""

    officer: Officer
    code: str


async def initialise(db: Database, *, actor: str, today: date) -> None:
    """`ewobot init`: audited, and the day compliance dates began to be kept noted (an
    officer without dates counts as lapsed 30 days after it)."""
    await db.write(_initialise, actor, today)


async def _initialise(conn: Conn, actor: str, today: date) -> None:
    await audit.append(conn, actor=actor, action="init", reason="admin_command")
    await compliance.record_since(conn, today)


async def add_officer(db: Database, *, ref: str, name: str, role: str,
                      supervisor_ref: str | None, actor: str, now: datetime,
                      code_hours: int, dbs: date | None = None,
                      training: date | None = None) -> Issued:
    """Add an officer with a first enrolment code and any compliance dates given
    (OfficerProblem: the data does not allow it, e.g. the reference is taken)."""
    return await db.write(_add, ref, name, role, supervisor_ref, actor, now, code_hours,
                          dbs, training)


async def _add(conn: Conn, ref: str, name: str, role: str, supervisor_ref: str | None,
               actor: str, now: datetime, code_hours: int, dbs: date | None,
               training: date | None) -> Issued:
    officer = await officer_store.add_officer(conn, ref=ref, name=name, role=role,
                                              supervisor_ref=supervisor_ref, now=now)
    code = await _issue(conn, officer, now, code_hours)
    await audit.append(conn, actor=actor, action="officer_add", target=officer.actor,
                       reason="admin_command", detail={"role": role})
    if dbs or training:
        await compliance.set_dates(conn, officer, dbs=dbs, training=training, actor=actor,
                                   now=now)
    return Issued(officer, code)


async def record_compliance(db: Database, ref: str, *, dbs: date | None,
                            training: date | None, actor: str, now: datetime,
                            policy: compliance_rules.Rules) -> tuple[Officer, Compliance] | None:
    """Record an officer's DBS and/or training dates; the officer and where they stand
    now, or None when no officer has that reference."""
    return await db.write(_record_compliance, ref, dbs, training, actor, now, policy)


async def _record_compliance(conn: Conn, ref: str, dbs: date | None, training: date | None,
                             actor: str, now: datetime, policy: compliance_rules.Rules
                             ) -> tuple[Officer, Compliance] | None:
    officer = await officer_store.officer_by_ref(conn, ref)
    if officer is None:
        return None
    await compliance.set_dates(conn, officer, dbs=dbs, training=training, actor=actor, now=now)
    return officer, await compliance.compliance_of(conn, officer, now.date(), policy=policy)


async def officer_listing(db: Database, today: date, policy: compliance_rules.Rules
                          ) -> tuple[list[officer_store.OfficerListing], dict[int, Compliance]]:
    """Every officer for `officers list`, with where each stands on compliance."""
    return await db.read(_listing, today, policy)


async def _listing(conn: Conn, today: date, policy: compliance_rules.Rules
                   ) -> tuple[list[officer_store.OfficerListing], dict[int, Compliance]]:
    return (await officer_store.list_officers(conn),
            await compliance.compliance_by_officer(conn, today, policy))


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
