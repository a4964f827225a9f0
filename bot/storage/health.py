"""Whether the database answers: the webhook server's `/healthz` asks this."""

from __future__ import annotations

from bot.storage.db import Database


async def database_answers(db: Database) -> bool:
    """One trivial read on the reader connection; an error or a closed database raises."""
    async with db.read() as conn:
        return bool(await conn.fetchval("SELECT 1") == 1)
