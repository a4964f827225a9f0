"""Chat messages due for deletion (sensitive details, notes, codes and PINs), swept every minute.

A row is written before the message's text reaches the chat, so whatever happens to
the send, the sweep finds it; a failed deletion is tried again later, a bounded
number of times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Conn, Database, stamp


@dataclass(frozen=True, slots=True)
class DueDeletion:
    chat_id: int
    message_id: int
    attempts: int = 0  # deletions of this message that failed so far


async def schedule_deletion(conn: Conn, chat_id: int, message_id: int,
                            delete_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO sensitive_messages (chat_id, message_id, delete_at) VALUES (?, ?, ?)"
        " ON CONFLICT (chat_id, message_id) DO UPDATE SET delete_at = excluded.delete_at,"
        " attempts = 0",
        (chat_id, message_id, stamp(delete_at)))


async def due_deletions(db: Database, now: datetime, limit: int = 200) -> list[DueDeletion]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT chat_id, message_id, attempts FROM sensitive_messages WHERE delete_at <= ?"
            " ORDER BY delete_at LIMIT ?", (stamp(now), limit))
    rows = await db.read(_snapshot)
    return [DueDeletion(row["chat_id"], row["message_id"], row["attempts"]) for row in rows]


async def forget_deletion(db: Database, item: DueDeletion) -> None:
    async def _transaction(conn: Conn) -> None:
        await conn.execute("DELETE FROM sensitive_messages WHERE chat_id = ? AND message_id = ?",
                           (item.chat_id, item.message_id))
    await db.write(_transaction)


async def retry_deletion(db: Database, item: DueDeletion, at: datetime) -> None:
    """The deletion failed: try again at `at`, one more attempt counted."""
    async def _transaction(conn: Conn) -> None:
        await conn.execute(
            "UPDATE sensitive_messages SET delete_at = ?, attempts = attempts + 1"
            " WHERE chat_id = ? AND message_id = ?",
            (stamp(at), item.chat_id, item.message_id))
    await db.write(_transaction)
