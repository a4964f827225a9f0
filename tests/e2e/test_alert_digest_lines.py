"""A pushed alert digest through the stand-in: one line per pupil, naming every rule that
newly holds for them, and one button per pupil."""

from __future__ import annotations

from pathlib import Path

from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage.db import Database
from tests.e2e.conftest import People
from tests.e2e.test_alert_imports import (
    deliver,
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


async def test_a_pupil_in_several_new_rules_gets_one_line(
        running: RunningBot, people: People, db: Database, settings: Settings,
        clock: FixedClock, tmp_path: Path) -> None:
    ewo = await people.enrolled("EWO1")
    files = write_service(tmp_path, "EWO1")
    with files["pupils"].open("a", encoding="utf-8") as pupils:
        pupils.write(f"{upn(3)},Dylan,Moss,2014-03-01,7,100001,Hillside Primary\n")
    with files["allocations"].open("a", encoding="utf-8") as allocations:
        allocations.write(f"{upn(3)},EWO1\n")
    absent_for_the_second_half(files["attendance"])
    for kind in ("pupils", "allocations", "attendance"):
        await import_file(db, settings, kind, files[kind], clock)
    await deliver(running)
    message = await ewo.next_message()
    assert message.text == (
        "New attendance alerts (2)\n"
        "• C00003 D.M., Hillside Primary: severe absence, continuous absence (possible CME — "
        "check) and penalty-notice consideration, 50.0 % this year\n"
        "• C00001 A.H., Hillside Primary: persistent absence, 90.0 % this year")
    assert message.labels() == ["C00003 D.M.", "C00001 A.H."]
