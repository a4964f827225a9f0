"""The weekly caseload digest: due once its moment has passed, queued once per ISO week
whatever the restarts, never for a supervisor with nothing to report."""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path

from pydantic import SecretStr

from bot.app import build_application
from bot.chat.caseload import FOOTER
from bot.settings import Settings
from bot.storage import caseload as caseload_store
from bot.storage import outbox
from bot.storage.db import Conn, Database
from bot.storage.officers import officer_by_id
from bot.usecases import digests as digest
from tests.conftest import make_settings
from tests.storage import caseload_seed as seed
from tests.storage.test_caseload import small_team

LONDON = seed.LONDON


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, London time (Monday 23 November is in ISO week 48)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=LONDON)


async def digests(db: Database) -> list[tuple[str, dict]]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT audience, payload FROM outbox WHERE kind = 'digest' ORDER BY id")
    rows = await db.read(_snapshot)
    return [(row["audience"], json.loads(row["payload"])) for row in rows]


def test_the_digest_due_is_the_week_of_its_latest_moment() -> None:
    monday_8 = (0, time(8, 0))
    assert digest.due_week(at(23, 7, 59), monday_8) == "2026-W47"  # Monday 23 November
    assert digest.due_week(at(23, 8, 0), monday_8) == "2026-W48"
    assert digest.due_week(at(29, 23, 59), monday_8) == "2026-W48"  # Sunday
    assert digest.due_week(at(30, 7, 0), monday_8) == "2026-W48"
    assert digest.due_week(at(25, 10), (4, time(16, 30))) == "2026-W47"  # Friday 16:30
    assert digest.due_week(at(27, 16, 30), (4, time(16, 30))) == "2026-W48"
    # Sunday 23:30's digest is still the one due after midnight, in the next ISO week.
    assert digest.due_week(at(30, 0, 30), (6, time(23, 30))) == "2026-W48"
    # 4 January 2027 is in ISO week 1 of 2027; 31 December 2026 in week 53 of 2026.
    assert digest.due_week(datetime(2026, 12, 31, 9, tzinfo=LONDON), monday_8) == "2026-W53"
    assert digest.due_week(datetime(2027, 1, 4, 7, tzinfo=LONDON), monday_8) == "2026-W53"
    assert digest.due_week(datetime(2027, 1, 4, 8, tzinfo=LONDON), monday_8) == "2027-W01"


async def test_sent_once_per_week_across_restarts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, caseload_digest="MON 08:00")
    db = await Database.open(settings)
    try:
        ids = await small_team(db)
        async def _transaction(conn: Conn) -> None:
            await seed.officer(conn, "SUP3", role="supervisor")
            await seed.officer(conn, "SUP4", role="supervisor", status="revoked")
        await db.write(_transaction)
        assert await digest.enqueue_due_digests(db, settings, at(23, 7, 59)) == 0
        assert await digest.enqueue_due_digests(db, settings, at(23, 8, 0)) == 2
        assert await digest.enqueue_due_digests(db, settings, at(23, 8, 5)) == 0
    finally:
        await db.close()
    db = await Database.open(settings)  # a restart later in the week
    try:
        assert await digest.enqueue_due_digests(db, settings, at(27, 12)) == 0
        queued = await digests(db)
        assert [audience for audience, _ in queued] == [
            f"supervisor:{ids['SUP1']}", f"supervisor:{ids['SUP2']}"]
        async def _snapshot2(conn: Conn):
            sup1 = await officer_by_id(conn, ids["SUP1"])
            assert sup1 is not None
            return await caseload_store.team_caseload(
                conn, sup1, terms=caseload_store.Terms.of(settings, at(23, 8)))
        team = await db.read(_snapshot2)
        payload = queued[0][1]
        assert payload["text"] == digest.digest_text(team)
        assert payload["text"].endswith(f"\n\n{FOOTER}")
        assert payload["buttons"] == [[digest.OPEN_BUTTON, "cl:page:0"]]
        # Readdressed while SUP1 is lapsed, it points to no /caseload: another
        # supervisor's is their own team's, and a controller has none.
        assert payload[outbox.READDRESSED_FORM] == {
            "text": payload["text"].removesuffix(f"\n\n{FOOTER}")}
        assert payload["text"].startswith("Weekly caseload digest for your team, 23/11/2026\n")
        assert ("Officer EWO1 (EWO1): 7 pupils · 3 in persistent absence · "
                "2 in severe absence") in payload["text"]
        assert "EWO9" not in payload["text"]
        # The next week brings the next digest, once.
        assert await digest.enqueue_due_digests(db, settings, at(30, 8)) == 2
        assert await digest.enqueue_due_digests(db, settings, at(30, 9)) == 0
        assert len(await digests(db)) == 4
        async def _snapshot(conn: Conn):
            return await conn.fetchall(
                "SELECT actor, reason, detail FROM audit WHERE action = 'caseload_digest'")
        rows = await db.read(_snapshot)
        assert [json.loads(row["detail"]) for row in rows] == [
            {"week": "2026-W48", "supervisors": 2}, {"week": "2026-W49", "supervisors": 2}]
    finally:
        await db.close()


async def weeks_audited(db: Database) -> list[str]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT detail FROM audit WHERE action = 'caseload_digest' ORDER BY seq")
    return [json.loads(row["detail"])["week"] for row in await db.read(_snapshot)]


async def test_a_digest_missed_over_the_turn_of_the_week_is_sent_once_on_return(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, caseload_digest="SUN 23:30")
    db = await Database.open(settings)
    try:
        ids = await small_team(db)
        assert await digest.enqueue_due_digests(db, settings, at(22, 23, 30)) == 2  # week 47
        assert await digest.enqueue_due_digests(db, settings, at(29, 22, 55)) == 0
    finally:
        await db.close()
    # Down from 23:00 on Sunday 29 November to 00:30 on Monday: week 48's moment passed.
    db = await Database.open(settings)
    try:
        assert await digest.enqueue_due_digests(db, settings, at(30, 0, 30)) == 2
        assert await digest.enqueue_due_digests(db, settings, at(30, 0, 35)) == 0
        queued = await digests(db)
        assert [audience for audience, _ in queued[2:]] == [
            f"supervisor:{ids['SUP1']}", f"supervisor:{ids['SUP2']}"]
        assert queued[2][1]["text"].startswith(
            "Weekly caseload digest for your team, 30/11/2026\n")
    finally:
        await db.close()
    db = await Database.open(settings)  # another restart that week queues nothing again
    try:
        assert await digest.enqueue_due_digests(db, settings, at(30, 9)) == 0
        assert await digest.enqueue_due_digests(db, settings, datetime(
            2026, 12, 6, 23, 29, tzinfo=LONDON)) == 0
        assert await digest.enqueue_due_digests(db, settings, datetime(
            2026, 12, 6, 23, 30, tzinfo=LONDON)) == 2
        assert len(await digests(db)) == 6
        assert await weeks_audited(db) == ["2026-W47", "2026-W48", "2026-W49"]
    finally:
        await db.close()


async def test_a_digest_missed_for_more_than_a_week_is_replaced_by_the_latest(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, caseload_digest="MON 08:00")
    db = await Database.open(settings)
    try:
        await small_team(db)
        assert await digest.enqueue_due_digests(db, settings, at(9, 8)) == 2  # week 46
        # Down from Sunday 15 November to Tuesday 24th: weeks 47 and 48 were missed.
        assert await digest.enqueue_due_digests(db, settings, at(24, 12)) == 2
        assert await digest.enqueue_due_digests(db, settings, at(30, 7, 59)) == 0
        assert len(await digests(db)) == 4
        assert await weeks_audited(db) == ["2026-W46", "2026-W48"]
    finally:
        await db.close()


async def test_a_new_service_starts_with_this_weeks_digest(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, caseload_digest="SUN 23:30")
    db = await Database.open(settings)
    try:
        await small_team(db)
        # First started on Monday morning: last week's moment was before the service.
        assert await digest.enqueue_due_digests(db, settings, at(23, 0, 30)) == 0
        assert await digest.enqueue_due_digests(db, settings, at(29, 23, 30)) == 2
        assert await weeks_audited(db) == ["2026-W48"]
    finally:
        await db.close()


async def test_no_digest_when_the_setting_is_empty(db: Database, settings: Settings) -> None:
    assert settings.caseload_digest is None
    await small_team(db)
    assert await digest.enqueue_due_digests(db, settings, at(23, 9)) == 0
    assert await digests(db) == []
    async def _snapshot(conn: Conn) -> None:
        assert await caseload_store.last_digest_week(conn) is None
    await db.read(_snapshot)


async def test_a_long_summary_is_cut_to_one_message(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, caseload_digest="MON 08:00")
    db = await Database.open(settings)
    try:
        async def _transaction(conn: Conn) -> None:
            sup = await seed.officer(conn, "SUP1", role="supervisor")
            await seed.volume(conn, sup, officers=200, pupils=2000, today=at(23, 8).date())
        await db.write(_transaction)
        assert await digest.enqueue_due_digests(db, settings, at(23, 8)) == 1
        text = (await digests(db))[0][1]["text"]
        assert len(text.encode("utf-16-le")) // 2 <= 4096
        assert text.endswith(digest.MORE)
        readdressed = (await digests(db))[0][1][outbox.READDRESSED_FORM]["text"]
        assert readdressed == text.removesuffix(f"\n\n{digest.MORE}")
    finally:
        await db.close()


def test_the_digest_job_is_scheduled(settings: Settings) -> None:
    application = build_application(settings.model_copy(
        update={"telegram_token": SecretStr("123:abc"), "caseload_digest": (0, time(8))}))
    assert application.job_queue is not None
    assert "caseload-digest" in [job.name for job in application.job_queue.jobs()]
