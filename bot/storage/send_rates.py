"""How many messages each instance sent in its last second: several instances on one
database keep Telegram's limit of about 30 a second between them (bot/jobs/send_budget.py).

One row an instance, rewritten by it a few times a second while it runs and deleted
when it stops cleanly; a row not rewritten within `fresh` (its instance killed or cut
off) counts for nothing, and goes after FORGET_AFTER. Moments are the instances' own
UTC clocks, as for the leases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.storage.db import Conn, one_statement, stamp

FORGET_AFTER = timedelta(hours=1)  # the rows of instances gone (killed, never restarted)


async def report(conn: Conn, instance: str, sent: int, now: datetime,
                 fresh: timedelta) -> list[int]:
    """Record what this instance sent in its last second; what each other instance
    reported within `fresh` of `now` (in one round trip on PostgreSQL)."""
    await conn.executemany_with_next(
        "INSERT INTO send_rates (instance, sent, at) VALUES (?, ?, ?)"
        " ON CONFLICT (instance) DO UPDATE SET sent = excluded.sent, at = excluded.at",
        [(instance, sent, stamp(now))])
    await conn.executemany_with_next("DELETE FROM send_rates WHERE at < ?",
                                     [(stamp(now - FORGET_AFTER),)])
    return await others(conn, instance, now, fresh)


@one_statement
async def others(conn: Conn, instance: str, now: datetime, fresh: timedelta) -> list[int]:
    """What each other instance reported within `fresh` of `now`, reporting nothing."""
    rows = await conn.fetchall(
        "SELECT sent FROM send_rates WHERE instance <> ? AND at >= ?",
        (instance, stamp(now - fresh)))
    return [int(row["sent"]) for row in rows]


async def forget(conn: Conn, instance: str) -> None:
    """A clean stop: this instance's share is the others' at once."""
    await conn.execute("DELETE FROM send_rates WHERE instance = ?", (instance,))


@one_statement
async def recent(conn: Conn, since: datetime) -> dict[str, int]:
    """{instance: messages in its last second} of the instances reporting since `since`."""
    rows = await conn.fetchall(
        "SELECT instance, sent FROM send_rates WHERE at >= ? ORDER BY instance",
        (stamp(since),))
    return {row["instance"]: int(row["sent"]) for row in rows}
