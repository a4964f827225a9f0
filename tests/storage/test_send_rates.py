"""What each instance sent in its last second (bot/storage/send_rates.py), on both
backends: the others' fresh reports, never this instance's own or a stale one."""

from __future__ import annotations

from datetime import timedelta

from bot.storage import send_rates
from bot.storage.db import Database
from tests.storage.alert_seed import NOW

FRESH = timedelta(seconds=2)


async def test_a_report_returns_the_other_instances_fresh_reports(db: Database) -> None:
    assert await db.write(send_rates.report, "web-1", 4, NOW, FRESH) == []
    assert await db.write(send_rates.report, "web-2", 9, NOW, FRESH) == [4]
    later = NOW + timedelta(seconds=1)
    assert await db.write(send_rates.report, "web-1", 6, later, FRESH) == [9]  # rewritten
    assert sorted(await db.write(send_rates.report, "web-3", 0, later, FRESH)) == [6, 9]
    # web-2 has not reported for 3 s (killed): it counts for nothing.
    assert await db.write(send_rates.report, "web-1", 6, NOW + timedelta(seconds=3),
                          FRESH) == [0]
    assert await db.read(send_rates.recent, later) == {"web-1": 6, "web-3": 0}


async def test_a_clean_stop_forgets_the_instance_at_once(db: Database) -> None:
    await db.write(send_rates.report, "web-1", 30, NOW, FRESH)
    await db.write(send_rates.forget, "web-1")
    assert await db.write(send_rates.report, "web-2", 1, NOW, FRESH) == []


async def test_the_rows_of_instances_gone_an_hour_are_deleted(db: Database) -> None:
    await db.write(send_rates.report, "killed", 30, NOW, FRESH)
    await db.write(send_rates.report, "web-1", 1, NOW + timedelta(minutes=59), FRESH)
    assert set(await db.read(send_rates.recent, NOW)) == {"killed", "web-1"}
    await db.write(send_rates.report, "web-1", 1, NOW + timedelta(minutes=61), FRESH)
    assert set(await db.read(send_rates.recent, NOW)) == {"web-1"}
