"""The figures of the record of processing (`ewobot ropa`): counts only, no one named.

One read transaction's work inside the caller's `conn`, so every figure is of the same
moment. Recipients are the sharing log's agency types of the last 12 months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.retention import RetentionPolicy
from bot.storage import retention, sharing
from bot.storage.db import Conn

# Tables counted as "records held", in the order the record lists them.
HELD = (("pupils", "pupils' records"), ("contacts", "contacts (parents, carers and others)"),
        ("marks", "attendance marks"), ("visits", "interventions recorded"),
        ("alerts", "attendance alerts"), ("sharing_log", "sharing decisions"),
        ("rights_requests", "rights requests"))


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
        on_hold=sum(c.held for c in counts),
        recipients=await recipients(conn, policy.today))


async def recipients(conn: Conn, today: date) -> dict[str, int]:
    """Agency types and how many pupils' records each received in the 12 months to
    `today` (from the sharing log: decisions that shared something)."""
    return await sharing.recipient_counts(conn, twelve_months_before(today))


def twelve_months_before(today: date) -> date:
    """The first day of the 12 months ending `today` (29 February goes to 1 March)."""
    try:
        return today.replace(year=today.year - 1) + timedelta(days=1)
    except ValueError:
        return date(today.year - 1, 3, 1)
