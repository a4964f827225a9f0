"""`ewobot ropa`: the record of processing, its figures read from the seeded service."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest

from bot.cli.ropa import render
from bot.storage.ropa import HELD, RopaFigures
from tests.cli.test_records import ACTOR, Records
from tests.conftest import make_settings
from tests.e2e.retention_files import upn


@pytest.fixture
def records(tmp_path: Path) -> Records:
    settings = make_settings(tmp_path).model_copy(update={
        "controller_name": "Westshire Council", "session_idle_minutes": 20})
    return Records(settings)


def test_the_figures_are_the_services(records: Records) -> None:
    records("requests", "add", upn(2), "--kind", "erasure")
    result = records("ropa")
    assert (result.code, result.err) == (0, "")
    text = result.out
    assert text.splitlines()[0] == (
        "# Record of processing activities (UK GDPR Article 30), 25/11/2026")
    assert "Controller: Westshire Council." in text
    for line in ["- pupils' records: 2", "- contacts (parents, carers and others): 0",
                 "- interventions recorded: 1", "- rights requests: 1", "- active officers: 1",
                 "- Past due: 2", "- Coming due within 30 days: 0", "- On hold: 0",
                 "- Sessions: locked after 20 minutes idle and after 12 hours at most."]:
        assert line in text.splitlines(), line
    recipients = text.split("## Recipients (last 12 months)\n\n")[1].splitlines()[0]
    assert recipients == "None recorded."
    assert "Quuxworth" not in text and "Zebediah" not in text and "C00001" not in text
    assert upn(1) not in text


def test_written_0600_never_over_a_file_without_force(records: Records,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "ropa.md"
    written = records("ropa", "--out", str(out))
    assert written.out == f"record of processing written: {out}\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Controller: Westshire Council." in out.read_text(encoding="utf-8")
    out.write_text("kept")
    refused = records("ropa", "--out", str(out))
    assert (refused.code, refused.err) == (
        1, f"{out} already exists; add --force to overwrite it\n")
    assert out.read_text() == "kept"
    assert records("ropa", "--out", str(out), "--force").code == 0
    assert out.read_text(encoding="utf-8").startswith("# Record of processing")
    shown = records("audit", "show").out.splitlines()
    assert [line.split("  ")[2:4] for line in shown if "ropa" in line] == [[ACTOR, "ropa"]] * 2


@pytest.mark.parametrize(("deployment", "made"), [
    ({}, "`ewobot backup`, not encrypted (no EWO_DATABASE_KEY), written 0600"),
    ({"database_url": "postgresql://ewo:pw@db.internal:5432/ewo", "pin_pepper": "p" * 43},
     "the PostgreSQL server's own (pg_dump or base backups, and its WAL archive)"),
])
def test_the_backup_window_is_stated_for_the_backend_in_use(
        tmp_path: Path, deployment: dict[str, str], made: str) -> None:
    settings = make_settings(tmp_path, **deployment)
    text = render(RopaFigures({table: 0 for table, _ in HELD}, {}, 0, 0, 0, {}), settings,
                  date(2026, 11, 25))
    assert f"- Backups: {made}, kept at most 35 days, so data disposed of leaves every backup" \
           " within 35 days." in text.splitlines()
