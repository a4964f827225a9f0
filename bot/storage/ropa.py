"""The figures of the record of processing (`ewobot ropa`): counts only, no one named.

One read transaction's work inside the caller's `conn`, so every figure is of the same
moment. Recipients will come from the sharing log; until it exists none are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.retention import RetentionPolicy
from bot.storage import retention
from bot.storage.db import Conn

# Tables counted as "records held", in the order the record lists them.
HELD = (("pupils", "pupils' records"), ("contacts", "contacts (parents, carers and others)"),
        ("marks", "attendance marks"), ("visits", "interventions recorded"),
        ("alerts", "attendance alerts"), ("rights_requests", "rights requests"))


@dataclass(frozen=True, slots=True)
class RopaFigures:
    """What the record reads from the database."""

    held: dict[str, int]
    officers: dict[str, int]  # active people by role
    coming_due: int
    past_due: int
    on_hold: int
    recipients: dict[str, int]  # agency type -> records shared, last 12 months


async def figures(conn: Conn, policy: RetentionPolicy) -> RopaFigures:
    """Every figure of the record, read at once."""
    held = {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
            for table, _label in HELD}
    rows = await conn.fetchall(
        "SELECT role, count(*) AS n FROM officers WHERE status = 'active' GROUP BY role"
        " ORDER BY role")
    counts = await retention.school_counts(conn, policy)
    return RopaFigures(
        held=held, officers={row["role"]: int(row["n"]) for row in rows},
        coming_due=sum(c.coming_due for c in counts), past_due=sum(c.past_due for c in counts),
        on_hold=sum(c.held for c in counts), recipients=await recipients(conn))


async def recipients(conn: Conn) -> dict[str, int]:
    """Agency types and how many records each received in the last 12 months. No
    sharing log exists yet, so none are recorded; the sharing log fills this in."""
    del conn
    return {}
