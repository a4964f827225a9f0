"""An alert waiting for its digest when the pupil's record became restricted is not sent
(CASEWORK.md §3): the record is stored and nothing else."""

from __future__ import annotations

from datetime import timedelta

from bot.storage import alerts as alert_store
from bot.storage import outbox as outbox_store
from bot.storage import rights
from bot.storage.db import Conn, Database
from tests.storage.alert_seed import NOW, YEAR_END, AlertSeed
from tests.storage.test_alerts import pupil_with, seed

__all__ = ["seed"]  # the fixture, shared with the alert tests


async def test_a_waiting_alert_of_a_restricted_record_is_not_sent_and_does_not_wait(
        seed: AlertSeed, db: Database) -> None:
    officer = await seed.officer("EWO1")
    restricted = await pupil_with(seed, ["/"] * 72 + ["I"] * 8)
    other = await pupil_with(seed, ["/"] * 72 + ["I"] * 8)
    result = await seed.evaluate([restricted, other])
    assert (result.alerts, result.messages) == (2, 0)  # waiting for an allocation
    async def _restrict(conn: Conn) -> None:
        await rights.record(conn, restricted, "restriction", NOW.date(), actor="os:dpo",
                            now=NOW)
    await db.write(_restrict)
    await seed.allocate(restricted, officer)
    await seed.allocate(other, officer)
    async def _transaction(conn: Conn):
        queued = await alert_store.queue_waiting(conn, NOW + timedelta(minutes=1),
                                                 year_end=YEAR_END)
        return queued, await outbox_store.rows(conn, kind="alert"), \
            await alert_store.has_waiting(conn)
    queued, rows, waiting = await db.write(_transaction)
    assert (queued, waiting) == (1, False)
    assert [row.audience for row in rows] == [f"officer:{officer.id}"]
    text = str(rows[0].payload)
    assert f"al:card:{other}" in text and f"al:card:{restricted}" not in text
