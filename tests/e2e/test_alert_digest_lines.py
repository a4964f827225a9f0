"""A pushed alert digest through the stand-in: a line per alert (a pupil's together, most
urgent first) and one button per pupil (PRODUCT.md § Alert rules), also for a digest
queued by an earlier version, which wrote one line per pupil."""

from __future__ import annotations

import json
from pathlib import Path

from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage.db import Conn, Database
from tests.e2e.conftest import People, deliver
from tests.e2e.test_alert_imports import (
    import_file,
    school_days,
    settings,
    upn,
    write_service,
)

__all__ = ["settings"]  # the fixture, shared with the other import tests


def absent_for_the_second_half(path: Path) -> None:
    """Add a third pupil, present for 20 days then absent without reason for 20."""
    rows = path.read_text(encoding="utf-8").splitlines()
    for index, day in enumerate(school_days(40)):
        for session in ("AM", "PM"):
            rows.append(f"{upn(3)},{day.isoformat()},{session},{'/' if index < 20 else 'O'}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


async def import_three_pupils(db: Database, settings: Settings, clock: FixedClock,
                              tmp_path: Path) -> None:
    """C00001 in persistent absence; C00003 newly in severe, continuous absence and
    penalty-notice consideration; all three EWO1's."""
    files = write_service(tmp_path, "EWO1")
    with files["pupils"].open("a", encoding="utf-8") as pupils:
        pupils.write(f"{upn(3)},Dylan,Moss,2014-03-01,7,100001,Hillside Primary\n")
    with files["allocations"].open("a", encoding="utf-8") as allocations:
        allocations.write(f"{upn(3)},EWO1\n")
    absent_for_the_second_half(files["attendance"])
    for kind in ("pupils", "allocations", "attendance"):
        await import_file(db, settings, kind, files[kind], clock)


A_LINE_PER_ALERT = (
    "New attendance alerts (4)\n"
    "• C00003 D.M., Hillside Primary: severe absence, 50.0 % this year\n"
    "• C00003 D.M., Hillside Primary: continuous absence (possible CME — check), "
    "50.0 % this year\n"
    "• C00003 D.M., Hillside Primary: penalty-notice consideration, 50.0 % this year\n"
    "• C00001 A.H., Hillside Primary: persistent absence, 90.0 % this year")


async def test_a_pupil_in_several_new_rules_gets_a_line_per_alert_and_one_button(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    boss = await people.enrolled("SUP1", "supervisor")
    ewo = await people.enrolled("EWO1", supervisor="SUP1")
    await import_three_pupils(db, settings, clock, tmp_path)
    await deliver(running)
    message = await ewo.next_message()
    assert message.text == A_LINE_PER_ALERT
    assert message.labels() == ["C00003 D.M.", "C00001 A.H."]
    copy = await boss.next_message()
    assert copy.text == (
        "Copy for supervisor: severe or continuous absence among EWO1's pupils (2)\n"
        "• C00003 D.M., Hillside Primary: severe absence, 50.0 % this year\n"
        "• C00003 D.M., Hillside Primary: continuous absence (possible CME — check), "
        "50.0 % this year")
    assert copy.labels() == ["C00003 D.M."]


async def test_a_digest_queued_one_line_per_pupil_goes_out_a_line_per_alert(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    ewo = await people.enrolled("EWO1")
    await import_three_pupils(db, settings, clock, tmp_path)
    old_text = (  # as the version before this one wrote it, waiting in the outbox
        "New attendance alerts (2)\n"
        "• C00003 D.M., Hillside Primary: severe absence, continuous absence (possible CME "
        "— check) and penalty-notice consideration, 50.0 % this year\n"
        "• C00001 A.H., Hillside Primary: persistent absence, 90.0 % this year")

    async def _as_queued_before(conn: Conn) -> None:
        row = await conn.fetchone("SELECT id, payload FROM outbox WHERE kind = 'alert'")
        assert row is not None
        payload = json.loads(row["payload"])
        payload["text"] = old_text
        payload["pages"] = [{"text": old_text, "buttons": payload["buttons"]}]
        await conn.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                           (json.dumps(payload, ensure_ascii=False), row["id"]))
    await db.write(_as_queued_before)
    await deliver(running)
    message = await ewo.next_message()
    assert message.text == A_LINE_PER_ALERT
    assert message.labels() == ["C00003 D.M.", "C00001 A.H."]
