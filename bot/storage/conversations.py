"""Open multi-step conversations (PIN set-up, visit drafts, holds), one per officer.

Written at every step so a crash or restart resumes at that step. Each conversation
has a token that its buttons carry: a button from an older conversation is stale.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.db import Conn, one_statement, stamp


@dataclass(frozen=True, slots=True)
class Conversation:
    officer_id: int
    kind: str
    step: str
    token: str
    pupil_id: int | None
    data: dict[str, Any]
    message_id: int | None
    started_at: datetime
    expires_at: datetime


_FIELDS = ("kind", "step", "token", "pupil_id", "data", "message_id", "started_at",
           "expires_at")


def columns(alias: str, prefix: str) -> str:
    """The columns `from_row` reads, of the table named `alias`, each named `prefix` and
    the column (for a query that joins conversations to other tables)."""
    return ", ".join(f"{alias}.{field} AS {prefix}{field}" for field in _FIELDS)


def from_row(officer_id: int, row: Any, now: datetime, prefix: str = "") -> Conversation | None:
    """The open conversation in `row`'s columns (named `prefix` and the column), or None
    when it has none or it has expired."""
    if row is None or row[f"{prefix}token"] is None:
        return None
    expires_at = datetime.fromisoformat(row[f"{prefix}expires_at"])
    if expires_at <= now:
        return None
    return Conversation(officer_id, row[f"{prefix}kind"], row[f"{prefix}step"],
                        row[f"{prefix}token"], row[f"{prefix}pupil_id"],
                        json.loads(row[f"{prefix}data"]), row[f"{prefix}message_id"],
                        datetime.fromisoformat(row[f"{prefix}started_at"]), expires_at)


@one_statement
async def current(conn: Conn, officer_id: int, now: datetime) -> Conversation | None:
    """The officer's open conversation, or None (an expired one counts as none); quick.
    The gate reads it with the officer (`compliance.account_holder`), for the router."""
    row = await conn.fetchone(
        f"SELECT {', '.join(_FIELDS)} FROM conversations WHERE officer_id = ?", (officer_id,))
    return from_row(officer_id, row, now)


async def take_from_draft(conn: Conn, officer_id: int, token: object, key: str,
                          now: datetime) -> Any:
    """Take `key` out of the officer's open conversation if its token is `token` (None
    once that conversation has ended or been replaced)."""
    talk = await current(conn, officer_id, now)
    if talk is None or talk.token != token:
        return None
    value = talk.data.get(key)
    await advance(conn, talk, step=talk.step, now=now,
                  data={name: held for name, held in talk.data.items() if name != key})
    return value


async def start(conn: Conn, officer_id: int, *, kind: str, step: str, now: datetime,
                expires_at: datetime, pupil_id: int | None = None,
                data: dict[str, Any] | None = None) -> Conversation:
    """Open a conversation, replacing any other the officer had."""
    token = secrets.token_hex(4)
    await conn.execute(
        "INSERT INTO conversations (officer_id, kind, step, token, pupil_id, data,"
        " started_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (officer_id) DO UPDATE SET kind = excluded.kind, step = excluded.step,"
        " token = excluded.token, pupil_id = excluded.pupil_id, data = excluded.data,"
        " message_id = NULL, started_at = excluded.started_at,"
        " updated_at = excluded.updated_at, expires_at = excluded.expires_at",
        (officer_id, kind, step, token, pupil_id, json.dumps(data or {}), stamp(now),
         stamp(now), stamp(expires_at)))
    return Conversation(officer_id, kind, step, token, pupil_id, dict(data or {}), None, now,
                        expires_at)


async def advance(conn: Conn, conversation: Conversation, *, step: str, now: datetime,
                  data: dict[str, Any] | None = None, pupil_id: int | None = None,
                  message_id: int | None = None) -> Conversation | None:
    """Move to the next step if the conversation is still the one given (same token).

    Returns the new state, or None when it was ended or replaced meanwhile.
    """
    new_data = conversation.data if data is None else data
    new_pupil = conversation.pupil_id if pupil_id is None else pupil_id
    new_message = conversation.message_id if message_id is None else message_id
    changed = await conn.execute(
        "UPDATE conversations SET step = ?, data = ?, pupil_id = ?, message_id = ?,"
        " updated_at = ? WHERE officer_id = ? AND token = ?",
        (step, json.dumps(new_data), new_pupil, new_message, stamp(now),
         conversation.officer_id, conversation.token))
    if changed != 1:
        return None
    return Conversation(conversation.officer_id, conversation.kind, step, conversation.token,
                        new_pupil, new_data, new_message, conversation.started_at,
                        conversation.expires_at)


async def end(conn: Conn, officer_id: int, token: str | None = None) -> bool:
    """Close the officer's conversation (only the one with `token`, when given)."""
    if token is None:
        changed = await conn.execute("DELETE FROM conversations WHERE officer_id = ?",
                                     (officer_id,))
    else:
        changed = await conn.execute(
            "DELETE FROM conversations WHERE officer_id = ? AND token = ?", (officer_id, token))
    return changed == 1
