"""Whether the database answers: the webhook server's `/healthz` asks this."""

from __future__ import annotations

from bot.storage.db import Conn, Database


async def database_answers(db: Database) -> bool:
    """One trivial read on the reader connection; an error or a closed database raises."""
    return await db.read(_answers)


async def _answers(conn: Conn) -> bool:
    return bool(await conn.fetchval("SELECT 1") == 1)
