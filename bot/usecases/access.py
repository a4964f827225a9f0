"""Access: enrolment with a one-time code, unlocking with a PIN, and the audit entries
of refusals; each one write transaction with a typed outcome."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.conversation_kinds import ConversationKind
from bot.domain.pinhash import PinCheck
from bot.storage import audit, conversations, sessions
from bot.storage import officers as officer_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer

PIN_SETUP = ConversationKind.PIN_SETUP


class Enrolment(enum.Enum):
    BOUND = "bound"        # the code was good: the account is bound, a PIN is next
    REFUSED = "refused"    # no such code (or spent, or expired): audited


async def enrol(db: Database, officer: Officer | None, code: str, *, user_id: int,
                chat_id: int, now: datetime, wrong_code: Callable[[], int]) -> Enrolment:
    """`/start CODE` from `user_id` (bound to `officer`, if to anyone): claim the code
    and bind the account to its officer, or audit the refusal with the account's
    wrong-code count (`wrong_code()`, counted only when the code is wrong)."""
    return await db.write(_enrol, officer, code, user_id, chat_id, now, wrong_code)


async def _enrol(conn: Conn, officer: Officer | None, code: str, user_id: int, chat_id: int,
                 now: datetime, wrong_code: Callable[[], int]) -> Enrolment:
    officer_id = await sessions.claim_code(conn, code, now) if code else None
    if officer_id is None:
        await audit.append(conn, actor=officer.actor if officer else "telegram:unknown",
                           action="enrol_refused", reason="bad_code",
                           detail={"failures": wrong_code()})
        return Enrolment.REFUSED
    if officer is not None and officer.id != officer_id:
        # This account was bound to someone else: that binding ends here.
        await sessions.unbind_telegram_user(conn, officer.id)
    await sessions.bind_telegram_user(conn, officer_id, user_id, chat_id, now)
    await conversations.start(conn, officer_id, kind=PIN_SETUP, step="first", now=now,
                              expires_at=now + timedelta(hours=1))
    enrolled = await officer_store.officer_by_id(conn, officer_id)
    assert enrolled is not None
    await audit.append(conn, actor=enrolled.actor, action="enrol",
                       target=f"officer:{enrolled.ref}", reason="enrolment_code")
    return Enrolment.BOUND


@dataclass(frozen=True, slots=True)
class PinTried:
    """A PIN tried on a locked session: right (with the request kept while locked, if
    its time is not up), or wrong (with the failures counted so far)."""

    right: bool
    failures: int = 0
    pending: str | None = None


async def try_pin(db: Database, officer: Officer, check: PinCheck, stored: str | None,
                  now: datetime) -> PinTried:
    """Unlock on a right PIN (its hash upgraded when made at an older cost), count a
    wrong one; audited either way."""
    return await db.write(_try_pin, officer, check, stored, now)


async def _try_pin(conn: Conn, officer: Officer, check: PinCheck, stored: str | None,
                   now: datetime) -> PinTried:
    if not check.right:
        failures = await sessions.record_pin_failure(conn, officer.id)
        await audit.append(conn, actor=officer.actor, action="pin_failure",
                           target=f"officer:{officer.ref}", reason="pin",
                           detail={"failures": failures})
        return PinTried(False, failures=failures)
    if stored is not None and check.rehashed is not None:  # made at an older cost
        await sessions.upgrade_pin_hash(conn, officer.id, stored, check.rehashed)
    pending = await sessions.unlock(conn, officer.id, now)
    await audit.append(conn, actor=officer.actor, action="unlock",
                       target=f"officer:{officer.ref}", reason="pin")
    return PinTried(True, pending=pending)


async def choose_first_pin(db: Database, officer: Officer, talk: Conversation | None,
                           first_hash: str, now: datetime) -> None:
    """The first PIN of the two is kept (as its hash) in the PIN set-up conversation,
    opened here if there is none."""
    await db.write(_choose_first_pin, officer, talk, first_hash, now)


async def _choose_first_pin(conn: Conn, officer: Officer, talk: Conversation | None,
                            first_hash: str, now: datetime) -> None:
    if talk is None or talk.kind != PIN_SETUP:
        talk = await conversations.start(conn, officer.id, kind=PIN_SETUP, step="first",
                                         now=now, expires_at=now + timedelta(hours=1))
    await conversations.advance(conn, talk, step="second", now=now, data={"first": first_hash})


async def set_pin(db: Database, officer: Officer, talk: Conversation, now: datetime) -> None:
    """Both PINs matched: the first's hash becomes the officer's PIN, the session is
    unlocked and the set-up conversation ends, audited."""
    await db.write(_set_pin, officer, talk, now)


async def _set_pin(conn: Conn, officer: Officer, talk: Conversation, now: datetime) -> None:
    await sessions.set_pin(conn, officer.id, talk.data["first"], now)
    await conversations.end(conn, officer.id, talk.token)
    await audit.append(conn, actor=officer.actor, action="pin_set",
                       target=f"officer:{officer.ref}", reason="enrolment")


async def lock(db: Database, officer: Officer) -> None:
    """/lock: the session is locked now, audited."""
    await db.write(_lock, officer)


async def _lock(conn: Conn, officer: Officer) -> None:
    await sessions.lock(conn, officer.id)
    await audit.append(conn, actor=officer.actor, action="lock",
                       target=f"officer:{officer.ref}", reason="lock_command")
