"""Alerts from real attendance imports: in this process, and from `python -m bot import`
in another process, picked up by the running bot through the stand-in."""

from __future__ import annotations

import asyncio
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.clock import Clock, FixedClock
from bot.domain.attendance import Rule
from bot.domain.upn import check_letter
from bot.harness import RunningBot
from bot.importing.service import run_import
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import alerts as alert_store
from bot.storage import outbox as outbox_store
from bot.storage import rights
from bot.storage.db import Conn, Database
from tests.e2e.conftest import People, deliver
from tests.e2e.processes import bot_environment
from tests.held import held_write
from tests.pg import backend_settings

FIRST_DAY = date(2026, 9, 7)  # a Monday


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Settings:
    return backend_settings(  # type: ignore[no-any-return]
        request, tmp_path, backend, outbox_poll_seconds=3600)


def upn(serial: int) -> str:
    body = f"8012000{26:02d}{serial:03d}"
    return check_letter("A" + body) + body


def school_days(count: int) -> list[date]:
    days, day = [], FIRST_DAY
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def write_service(folder: Path, officer_ref: str) -> dict[str, Path]:
    """Two pupils allocated to one officer; the attendance file puts the first at 72 of
    80 sessions (90.0 %, persistent absence) and the second at 100 %."""
    files = {name: folder / f"{name}.csv" for name in ("pupils", "allocations", "attendance")}
    files["pupils"].write_text(
        "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
        f"{upn(1)},Amelia,Hart,2014-05-02,7,100001,Hillside Primary\n"
        f"{upn(2)},Ben,Cole,2014-07-09,7,100001,Hillside Primary\n", encoding="utf-8")
    files["allocations"].write_text(
        f"upn,officer_ref\n{upn(1)},{officer_ref}\n{upn(2)},{officer_ref}\n", encoding="utf-8")
    rows = ["upn,date,session,code"]
    for index, day in enumerate(school_days(40)):
        for session in ("AM", "PM"):
            rows.append(f"{upn(1)},{day.isoformat()},{session},{'I' if index < 4 else '/'}")
            rows.append(f"{upn(2)},{day.isoformat()},{session},/")
    files["attendance"].write_text("\n".join(rows) + "\n", encoding="utf-8")
    return files


# `ewobot` (bot.cli.main) with the clock stopped at the moment given first.
ON_THE_DAY = """
import sys
from datetime import datetime

from bot.cli import CliEnv, main
from bot.clock import FixedClock


class OnTheDay(CliEnv):
    @property
    def clock(self):
        return FixedClock(datetime.fromisoformat(sys.argv[1]))


sys.exit(main(sys.argv[2:], OnTheDay()))
"""


async def import_file(db: Database, settings: Settings, kind: str, path: Path,
                      clock: Clock, baseline: bool = False) -> None:
    await run_import(db, kind, path, actor="os:test", today=clock.today(), settings=settings,
                     now=clock.now(), baseline=baseline)


async def test_an_import_alerts_once_and_the_same_file_again_sends_nothing(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    ewo = await people.enrolled("EWO1")
    files = write_service(tmp_path, "EWO1")
    await import_file(db, settings, "pupils", files["pupils"], clock)
    await import_file(db, settings, "allocations", files["allocations"], clock)
    await import_file(db, settings, "attendance", files["attendance"], clock)
    await deliver(running)
    message = await ewo.next_message()
    assert message.text == (
        "New attendance alerts (1)\n"
        "• C00001 A.H., Hillside Primary: persistent absence, 90.0 % this year")
    assert message.labels() == ["C00001 A.H."]

    clock.advance(timedelta(days=1))
    await import_file(db, settings, "attendance", files["attendance"], clock)
    await deliver(running)
    assert len(ewo.history) == 1
    async def _snapshot(conn: Conn) -> None:
        assert len(await outbox_store.rows(conn, kind="alert")) == 1
        assert len(await alert_store.alerts_for(conn, [1, 2])) == 1
    await db.read(_snapshot)


async def test_a_baseline_import_records_bands_without_alerting(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    ewo = await people.enrolled("EWO1")
    files = write_service(tmp_path, "EWO1")
    await import_file(db, settings, "pupils", files["pupils"], clock)
    await import_file(db, settings, "allocations", files["allocations"], clock)
    await import_file(db, settings, "attendance", files["attendance"], clock, baseline=True)
    await deliver(running)
    assert ewo.history == []
    async def _snapshot(conn: Conn) -> None:
        assert await alert_store.rules_held(conn, 1, 2027) == {Rule.PERSISTENT}
    await db.read(_snapshot)


async def test_a_restricted_record_keeps_its_marks_and_alerts_no_one(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    ewo = await people.enrolled("EWO1")
    files = write_service(tmp_path, "EWO1")
    await import_file(db, settings, "pupils", files["pupils"], clock)
    await import_file(db, settings, "allocations", files["allocations"], clock)
    async with held_write(db) as conn:
        request = await rights.add(conn, upn(1), "restriction", clock.today(), actor="os:dpo",
                                   now=clock.now())
    await import_file(db, settings, "attendance", files["attendance"], clock)
    await deliver(running)
    assert ewo.history == []
    async with held_write(db) as conn:
        assert await conn.fetchval("SELECT count(*) FROM marks WHERE pupil_id = 1") == 80
        assert await alert_store.rules_held(conn, 1, 2027) == frozenset()
    # Rejected, the restriction lifts: the next import of the pupil's marks evaluates
    # (72 of 81 sessions).
    async with held_write(db) as conn:
        await rights.decide(conn, request.id, uphold=False, reason="legal_claims",
                            statement=None, actor="os:dpo", now=clock.now())
    next_day = school_days(41)[-1].isoformat()
    later = tmp_path / "later.csv"
    later.write_text(f"upn,date,session,code\n{upn(1)},{next_day},AM,I\n", encoding="utf-8")
    await import_file(db, settings, "attendance", later, clock)
    await deliver(running)
    message = await ewo.next_message()
    assert message.text is not None and "C00001 A.H." in message.text


async def test_an_import_in_another_process_reaches_the_running_bot(
        people: People, db: Database, settings: Settings, standin: BotApiStandIn,
        clock: FixedClock, tmp_path: Path) -> None:
    ewo = await people.enrolled("EWO1")
    files = write_service(tmp_path, "EWO1")
    await import_file(db, settings, "pupils", files["pupils"], clock)
    await import_file(db, settings, "allocations", files["allocations"], clock)
    polling = settings.model_copy(update={"outbox_poll_seconds": 0.1})
    # The other process runs `ewobot import` on this bot's day: the file's marks are of
    # that day's school year, whatever the date the suite runs on.
    async with RunningBot(polling, standin, clock=clock, db=db):
        importer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", ON_THE_DAY, clock.now().isoformat(),
            "import", "attendance", str(files["attendance"]),
            env=bot_environment(settings, standin), cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(importer.communicate(), 60)
        assert importer.returncode == 0, err.decode()
        message = await ewo.next_message(timeout=10)
    assert message.text is not None
    assert "C00001 A.H., Hillside Primary: persistent absence, 90.0 % this year" in message.text
    assert message.protect_content
