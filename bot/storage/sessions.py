"""Chat sessions: enrolment binding, PIN unlock state, failed attempts, the request kept
while locked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.storage.db import Conn, one_statement, stamp
from bot.storage.officers import hash_code

MAX_PIN_FAILURES = 5


@dataclass(frozen=True, slots=True)
class Session:
    officer_id: int
    unlocked_at: datetime | None
    last_seen_at: datetime | None

    def is_unlocked(self, now: datetime, idle: timedelta, maximum: timedelta) -> bool:
        if self.unlocked_at is None or self.last_seen_at is None:
            return False
        return now - self.last_seen_at < idle and now - self.unlocked_at < maximum


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def from_row(officer_id: int, row: Any) -> Session:
    """The session in `row`'s `unlocked_at` and `last_seen_at` (None: none is held, so
    never unlocked)."""
    if row is None:
        return Session(officer_id, None, None)
    return Session(officer_id, _moment(row["unlocked_at"]), _moment(row["last_seen_at"]))


@one_statement
async def session_of(conn: Conn, officer_id: int) -> Session:
    """The officer's session (never unlocked if none is held). The gate reads it with
    the officer (`compliance.account_holder`)."""
    row = await conn.fetchone(
        "SELECT unlocked_at, last_seen_at FROM sessions WHERE officer_id = ?", (officer_id,))
    return from_row(officer_id, row)


async def touch(conn: Conn, officer_id: int, now: datetime) -> None:
    await conn.execute("UPDATE sessions SET last_seen_at = ? WHERE officer_id = ?",
                       (stamp(now), officer_id))


async def unlock(conn: Conn, officer_id: int, now: datetime) -> str | None:
    """Unlock; reset failures; return (and forget) the request kept while locked, unless
    its time is up."""
    pending = await conn.fetchval(
        "SELECT pending_update FROM sessions WHERE officer_id = ? AND pending_until > ?",
        (officer_id, stamp(now)))
    await conn.execute("DELETE FROM kept_request_pupils WHERE officer_id = ?", (officer_id,))
    await conn.execute(
        "INSERT INTO sessions (officer_id, unlocked_at, last_seen_at) VALUES (?, ?, ?)"
        " ON CONFLICT (officer_id) DO UPDATE SET unlocked_at = excluded.unlocked_at,"
        " last_seen_at = excluded.last_seen_at, pending_update = NULL, pending_until = NULL",
        (officer_id, stamp(now), stamp(now)))
    await conn.execute("UPDATE officers SET failed_pins = 0 WHERE id = ?", (officer_id,))
    return pending  # type: ignore[no-any-return]


async def lock(conn: Conn, officer_id: int) -> None:
    await conn.execute("UPDATE sessions SET unlocked_at = NULL WHERE officer_id = ?",
                       (officer_id,))


async def keep_pending(conn: Conn, officer_id: int, request_json: str | None, *,
                       until: datetime, pupil_ids: Sequence[int] = ()) -> None:
    """Keep the latest request made while locked (references only, naming `pupil_ids`):
    it goes on after the right PIN, if that comes before `until`."""
    await conn.execute(
        "INSERT INTO sessions (officer_id, unlocked_at, last_seen_at, pending_update,"
        " pending_until) VALUES (?, NULL, NULL, ?, ?) ON CONFLICT (officer_id) DO UPDATE SET"
        " unlocked_at = NULL, pending_update = excluded.pending_update,"
        " pending_until = excluded.pending_until",
        (officer_id, request_json, stamp(until)))
    await conn.execute("DELETE FROM kept_request_pupils WHERE officer_id = ?", (officer_id,))
    await conn.executemany(
        "INSERT INTO kept_request_pupils (officer_id, pupil_id)"
        " SELECT ?, id FROM pupils WHERE id = ?",  # a pupil disposed of meanwhile is not named
        [(officer_id, pupil_id) for pupil_id in dict.fromkeys(pupil_ids)])


async def discard_expired_requests(conn: Conn, now: datetime) -> int:
    """Forget requests kept while locked whose time is up (they may name a pupil);
    returns how many."""
    await conn.execute(
        "DELETE FROM kept_request_pupils WHERE officer_id IN"
        " (SELECT officer_id FROM sessions WHERE pending_until <= ?)", (stamp(now),))
    return await conn.execute(
        "UPDATE sessions SET pending_update = NULL, pending_until = NULL"
        " WHERE pending_until <= ?", (stamp(now),))


async def forget_requests_naming(conn: Conn, pupil_id: int) -> int:
    """Forget every request kept while locked that names this pupil (disposal); returns
    how many."""
    naming = "SELECT officer_id FROM kept_request_pupils WHERE pupil_id = ?"
    forgotten = await conn.execute(
        "UPDATE sessions SET pending_update = NULL, pending_until = NULL"
        f" WHERE officer_id IN ({naming})", (pupil_id,))
    await conn.execute(f"DELETE FROM kept_request_pupils WHERE officer_id IN ({naming})",
                       (pupil_id,))
    return forgotten


@dataclass(frozen=True, slots=True)
class KeptRequest:
    """A request kept while locked that names a pupil, as a subject-access export lists
    it: whose session, and until when."""

    officer_ref: str
    request: str
    kept_until: datetime


async def requests_naming(conn: Conn, pupil_id: int) -> list[KeptRequest]:
    """The requests kept while locked that name this pupil."""
    rows = await conn.fetchall(
        "SELECT o.ref, s.pending_update, s.pending_until FROM kept_request_pupils k"
        " JOIN sessions s ON s.officer_id = k.officer_id JOIN officers o ON o.id = k.officer_id"
        " WHERE k.pupil_id = ? AND s.pending_update IS NOT NULL ORDER BY o.ref", (pupil_id,))
    return [KeptRequest(row["ref"], row["pending_update"],
                        datetime.fromisoformat(row["pending_until"])) for row in rows]


async def record_pin_failure(conn: Conn, officer_id: int) -> int:
    """Count a wrong PIN; at the fifth in a row the account locks. Returns the count."""
    await conn.execute("UPDATE officers SET failed_pins = failed_pins + 1 WHERE id = ?",
                       (officer_id,))
    failures = int(await conn.fetchval("SELECT failed_pins FROM officers WHERE id = ?",
                                       (officer_id,)))
    if failures >= MAX_PIN_FAILURES:
        await conn.execute("UPDATE officers SET status = 'locked' WHERE id = ?", (officer_id,))
        await conn.execute("DELETE FROM sessions WHERE officer_id = ?", (officer_id,))
    return failures


async def pin_hash_of(conn: Conn, officer_id: int) -> str | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT pin_hash FROM officers WHERE id = ?", (officer_id,))


async def claim_code(conn: Conn, code: str, now: datetime) -> int | None:
    """Use an enrolment code once: the officer id, or None if unknown, used or expired.

    The single UPDATE makes the code single-use even when two /start race.
    """
    code_hash = hash_code(code)
    await conn.lock("enrolment_code")  # the claim, then the read of whose code it was
    changed = await conn.execute(
        "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL"
        " AND expires_at > ?", (stamp(now), code_hash, stamp(now)))
    if changed != 1:
        return None
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT officer_id FROM enrolment_codes WHERE code_hash = ?", (code_hash,))


async def unbind_telegram_user(conn: Conn, officer_id: int) -> None:
    """The officer's Telegram account is no longer theirs (bound to someone else now)."""
    await conn.execute("UPDATE officers SET telegram_user_id = NULL, chat_id = NULL"
                       " WHERE id = ?", (officer_id,))


async def bind_telegram_user(conn: Conn, officer_id: int, user_id: int, chat_id: int,
                             now: datetime) -> None:
    await conn.execute(
        "UPDATE officers SET telegram_user_id = ?, chat_id = ?, pin_hash = NULL,"
        " failed_pins = 0, enrolled_at = ? WHERE id = ?",
        (user_id, chat_id, stamp(now), officer_id))


async def set_pin(conn: Conn, officer_id: int, pin_hash: str, now: datetime) -> None:
    await conn.execute("UPDATE officers SET pin_hash = ?, failed_pins = 0 WHERE id = ?",
                       (pin_hash, officer_id))
    await unlock(conn, officer_id, now)



async def upgrade_pin_hash(conn: Conn, officer_id: int, old_hash: str, new_hash: str) -> None:
    """Store the same PIN's hash at a newer cost, unless the PIN changed meanwhile."""
    await conn.execute("UPDATE officers SET pin_hash = ? WHERE id = ? AND pin_hash = ?",
                       (new_hash, officer_id, old_hash))
