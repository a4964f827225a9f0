"""`ewobot retention check`, `sar`, `audit verify|show` and `backup`, as an administrator
sees them."""

from __future__ import annotations

import asyncio
import getpass
import io
import json
import sqlite3
import stat
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import CliEnv, main
from bot.clock import Clock, FixedClock
from bot.settings import Settings
from bot.storage import audit
from bot.storage.db import Conn, Database
from tests.cli.conftest import Cli, Result
from tests.conftest import make_settings
from tests.e2e.retention_files import upn
from tests.pg import backend_settings
from tests.storage.retention_seed import Seed

MOMENT = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
ACTOR = f"os:{getpass.getuser()}"


@dataclass
class FixedEnv(CliEnv):
    """The command line on a fixed day."""

    @property
    def clock(self) -> Clock:
        return FixedClock(MOMENT)


class Records:
    """Runs `ewobot …` in-process on a database seeded with two past-due pupils."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        asyncio.run(self._seed())

    async def _seed(self) -> None:
        db = await Database.open(self.settings)
        try:
            seed = Seed(db)
            officer = await seed.officer("EWO1")
            first = await seed.pupil(imported=date(2024, 3, 1), first="Zebediah",
                                     last="Quuxworth", upn=upn(1), officer=officer)
            await seed.visit(first, officer, date(2024, 5, 20))
            await seed.pupil(imported=date(2024, 3, 1), upn=upn(2))
        finally:
            await db.close()

    def __call__(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        env = FixedEnv(settings_factory=lambda: self.settings, out=out, err=err)
        code = main(list(argv), env)
        return Result(code, out.getvalue(), err.getvalue())

    def raw(self) -> sqlite3.Connection:
        """A plain sqlite3 connection, as someone with the file (and no scruples) has."""
        return sqlite3.connect(self.settings.database)


@pytest.fixture
def records(tmp_path: Path) -> Records:
    return Records(make_settings(tmp_path))


def untrigger(raw: sqlite3.Connection) -> None:
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("DROP TRIGGER audit_no_delete")


def test_retention_check_reminds_once_and_is_audited(records: Records) -> None:
    first = records("retention", "check")
    assert first.code == 0
    lines = first.out.splitlines()
    assert lines[:2] == ["retention check: 2 past due, 0 coming due, 0 on hold",
                         "a reminder is queued for the controllers"]
    assert lines[2].startswith("audit trail head: ")
    again = records("retention", "check")
    assert again.out.splitlines()[1] == "nothing new to remind the controllers of"
    shown = records("audit", "show").out.splitlines()
    assert [line.split("  ")[2:4] for line in shown] == [[ACTOR, "retention_check"]] * 2


def test_sar_writes_the_export_and_records_the_request(records: Records) -> None:
    result = records("sar", upn(1))
    assert result.code == 0
    path = records.settings.export_dir / "sar-C00001-20261125-100000.json"
    assert result.out.splitlines()[0] == f"export written: {path}"
    assert "contacts 0" in result.out and "visits 1" in result.out
    assert result.out.splitlines()[2] == (
        "request received 25/11/2026; response due by 25/12/2026")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text(encoding="utf-8"))
    assert list(document)[0] == "summary" and document["pupil"]["last_name"] == "Quuxworth"
    shown = records("audit", "show", "--upn", upn(1)).out.splitlines()
    assert shown[-1].split("  ")[2:6] == [ACTOR, "sar_export", "pupil:1", "subject_access"]


def test_sar_never_overwrites_without_force(records: Records, tmp_path: Path) -> None:
    out = tmp_path / "mine.json"
    out.write_text("earlier export")
    refused = records("sar", upn(1), "--out", str(out))
    assert (refused.code, refused.err) == (
        1, f"{out} already exists; add --force to overwrite it\n")
    assert out.read_text() == "earlier export"
    assert records("sar", upn(1), "--out", str(out), "--force").code == 0
    assert json.loads(out.read_text())["pupil"]["upn"] == upn(1)


@pytest.mark.parametrize(("argv", "reason"), [
    (["sar", upn(42)], "no pupil with that UPN is held"),
    (["sar", "X123"], "that is not a valid UPN"),
    (["audit", "show", "--upn", upn(42)], "no pupil with that UPN is held"),
    (["audit", "show", "--officer", "NOBODY"], "no officer NOBODY"),
])
def test_bad_input_is_one_line_and_exit_1(records: Records, argv: list[str],
                                          reason: str) -> None:
    result = records(*argv)
    assert (result.code, result.err, result.out) == (1, reason + "\n", "")


def test_audit_show_filters_by_pupil_and_officer(records: Records) -> None:
    async def activity() -> None:
        db = await Database.open(records.settings)
        try:
            async def _transaction(conn: Conn) -> None:
                await audit.append(conn, actor="officer:EWO1", action="card", target="pupil:1",
                                   reason="pupil_command")
                await audit.append(conn, actor="officer:EWO1", action="card", target="pupil:2",
                                   reason="pupil_command")
                await audit.append(conn, actor="os:admin", action="officer_code",
                                   target="officer:EWO1", reason="admin_command")
            await db.write(_transaction)
        finally:
            await db.close()

    asyncio.run(activity())
    by_pupil = records("audit", "show", "--upn", upn(1)).out.splitlines()
    assert [line.split("  ")[4] for line in by_pupil] == ["pupil:1"]
    by_officer = records("audit", "show", "--officer", "EWO1").out.splitlines()
    assert [line.split("  ")[3] for line in by_officer] == ["card", "card", "officer_code"]
    both = records("audit", "show", "--upn", upn(2), "--officer", "EWO1").out.splitlines()
    assert len(both) == 1 and both[0].endswith("pupil:2  pupil_command")


def test_verify_counts_a_single_entry_in_the_singular(cli: Cli) -> None:
    assert cli("init").code == 0  # the trail's first entry
    result = cli("audit", "verify")
    assert result.code == 0 and result.out.endswith(" (1 entry)\n"), result.out


def test_verify_passes_an_untouched_trail(records: Records) -> None:
    records("retention", "check")
    head = records("retention", "check").out.splitlines()[2].removeprefix("audit trail head: ")
    result = records("audit", "verify", "--head", head)
    assert (result.code, result.out) == (0, f"OK {head} (2 entries)\n")


def test_tampering_with_one_row_is_reported_at_that_row(records: Records) -> None:
    for _ in range(4):
        records("retention", "check")
    raw = records.raw()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE audit SET actor = 'os:nobody' WHERE seq = 2")
    untrigger(raw)
    raw.execute("UPDATE audit SET detail = '{\"past_due\":0}' WHERE seq = 3")
    raw.commit()
    raw.close()
    result = records("audit", "verify")
    assert (result.code, result.out) == (1, "")
    assert result.err == "audit trail broken at entry 3: entry 3 has been altered\n"
    # Nothing is chained onto a trail found broken.
    assert records.raw().execute("SELECT count(*) FROM audit").fetchone()[0] == 4


def test_a_shortened_trail_is_caught_by_the_head(records: Records) -> None:
    for _ in range(4):
        records("retention", "check")
    head = records("audit", "verify").out.split()[1]
    raw = records.raw()
    untrigger(raw)
    raw.execute("DELETE FROM audit WHERE seq > 2")
    raw.commit()
    raw.close()
    # What is left still chains (and that verify is entry 3)...
    assert records("audit", "verify").code == 0
    result = records("audit", "verify", "--head", head)  # ...but the noted head shows the cut
    assert result.code == 1
    assert result.err == ("audit trail broken: "
                          "the trail ends at entry 3 but the recorded head is entry 4\n")


def test_a_trail_cut_back_and_grown_again_is_caught_by_the_head(records: Records) -> None:
    for _ in range(4):
        records("retention", "check")
    head = records("audit", "verify").out.split()[1]  # 4 entries
    raw = records.raw()
    untrigger(raw)
    raw.execute("DELETE FROM audit WHERE seq > 2")
    raw.commit()
    raw.close()
    for _ in range(3):  # normal work: 5 entries now
        records("officers", "add", f"EWO{_ + 5}", "--name", "New", "--role", "officer")
    assert records("audit", "verify").code == 0
    result = records("audit", "verify", "--head", head)
    assert (result.code, result.err) == (
        1, "audit trail broken at entry 4: entry 4 differs from the recorded head\n")


@pytest.mark.parametrize("argv", [["audit", "verify"], ["audit", "show"], ["sar", upn(1)],
                                  ["backup", "--out", "copy.sqlite3"], ["officers", "list"]])
def test_a_command_that_only_reads_never_creates_a_database(
        tmp_path: Path, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "mistyped" / "ewo.sqlite3"
    records = Records.__new__(Records)
    records.settings = make_settings(tmp_path, database=missing, audit_key=None)
    result = records(*argv)
    assert result.code == 1
    assert result.err == (f"no database at {missing}: check EWO_DATABASE "
                          "(`ewobot init` creates one)\n")
    assert not missing.parent.exists()


def test_a_malformed_head_is_bad_usage(records: Records,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        records("audit", "verify", "--head", "twelve")
    assert exited.value.code == 2
    assert "COUNT:HASH" in capsys.readouterr().err.splitlines()[0]


def test_backup_is_private_complete_and_audited(records: Records, tmp_path: Path) -> None:
    out = tmp_path / "backup.sqlite3"
    result = records("backup", "--out", str(out))
    assert result.code == 0 and result.out.splitlines()[0] == f"backup written: {out}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    copy = sqlite3.connect(out)
    assert copy.execute("SELECT count(*) FROM pupils").fetchone()[0] == 2
    copy.close()
    assert records("audit", "show").out.split("  ")[3] == "backup"
    again = records("backup", "--out", str(out))
    assert (again.code, again.err) == (1, f"{out} already exists; choose a new file\n")


def test_backup_names_the_key_files_beside_the_database_it_does_not_hold(
        tmp_path: Path) -> None:
    """The audit key and the PIN pepper generated beside the database are not copied:
    the warning names each file, so neither is kept with the backup nor forgotten."""
    records = Records(make_settings(tmp_path, audit_key=None))
    database = records.settings.database
    result = records("backup", "--out", str(tmp_path / "backup.sqlite3"))
    assert result.code == 0
    assert result.out.splitlines()[-1] == (
        f"the audit key ({database}.audit-key) and the PIN pepper ({database}.pepper) are"
        " not in it: keep them apart from the backup")


def test_backup_names_only_the_key_files_not_given_by_settings(records: Records,
                                                               tmp_path: Path) -> None:
    """The audit key is given by EWO_AUDIT_KEY here: the pepper alone is a file beside
    the database."""
    result = records("backup", "--out", str(tmp_path / "backup.sqlite3"))
    assert result.code == 0
    assert result.out.splitlines()[-1] == (
        f"the PIN pepper ({records.settings.database}.pepper) is not in it: keep that apart"
        " from the backup")


def test_backup_with_both_secrets_given_by_settings_warns_of_no_file(tmp_path: Path) -> None:
    records = Records(make_settings(tmp_path, pin_pepper="p" * 43))
    result = records("backup", "--out", str(tmp_path / "backup.sqlite3"))
    assert result.code == 0
    assert "not in it" not in result.out


def test_backup_on_postgresql_is_one_line_naming_the_servers_own(tmp_path: Path) -> None:
    """No connection is needed to say so: the URL here names no server at all."""
    settings = make_settings(tmp_path, database_url="postgresql://u:pw@127.0.0.1:1/none",
                             pin_pepper="p" * 43)
    out = tmp_path / "backup.sqlite3"
    err = io.StringIO()
    code = main(["backup", "--out", str(out)], FixedEnv(settings_factory=lambda: settings,
                                                        out=io.StringIO(), err=err))
    result = Result(code, "", err.getvalue())
    assert result.code == 1
    assert result.err == ("ewobot backup is for SQLite: on PostgreSQL use the server's own "
                          "backups (pg_dump or base backups), kept no longer than the "
                          "retention window in the README\n")
    assert not out.exists()


def test_backup_is_encrypted_when_a_key_is_set(tmp_path: Path) -> None:
    pytest.importorskip("sqlcipher3")
    records = Records(make_settings(tmp_path, database_key="correct horse battery staple"))
    out = tmp_path / "backup.sqlite3"
    result = records("backup", "--out", str(out))
    assert result.code == 0 and "encrypted with EWO_DATABASE_KEY" in result.out
    assert b"Quuxworth" not in out.read_bytes()
    plain = sqlite3.connect(out)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        plain.execute("SELECT count(*) FROM pupils")
    plain.close()


def test_a_database_key_file_opens_the_encrypted_database(tmp_path: Path) -> None:
    """EWO_DATABASE_KEY_FILE is the SQLCipher key EWO_DATABASE_KEY would be."""
    pytest.importorskip("sqlcipher3")
    Records(make_settings(tmp_path, database_key="correct horse battery staple"))
    key = tmp_path / "database-key"
    key.write_text("correct horse battery staple\n")
    key.chmod(0o600)
    records = Records.__new__(Records)  # the seeded database, not seeded again
    records.settings = make_settings(tmp_path, database_key_file=key)
    result = records("audit", "verify")
    assert result.code == 0, result.err
    backup = records("backup", "--out", str(tmp_path / "backup.sqlite3"))
    assert backup.code == 0 and "encrypted with EWO_DATABASE_KEY" in backup.out
    assert b"Quuxworth" not in records.settings.database.read_bytes()
    key.write_text("another key\n")
    wrong = Records.__new__(Records)
    wrong.settings = make_settings(tmp_path, database_key_file=key)
    refused = wrong("audit", "verify")
    assert refused.code == 1 and "another key" not in refused.err


@pytest.fixture
def on_either(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Records:
    """Records on SQLite, then on PostgreSQL."""
    return Records(backend_settings(request, tmp_path, backend))


def trail(records: Records) -> list[audit.AuditEntry]:
    """Every audit entry, read without a command (which would add its own)."""
    async def read() -> list[audit.AuditEntry]:
        db = await Database.open(records.settings, create=False)
        try:
            return await db.read(audit.entries)
        finally:
            await db.close()
    return asyncio.run(read())


def test_every_command_that_shows_records_is_audited(on_either: Records) -> None:
    """PRODUCT.md "Audit": every administrator command writes an entry, naming the
    pupils and officers it showed by reference, never by name."""
    records = on_either
    records("requests", "add", upn(1), "--kind", "objection")
    records("requests", "add", upn(2), "--kind", "access")
    before = len(trail(records))
    for argv in (["requests", "list"], ["officers", "list"], ["audit", "show", "--upn", upn(1)],
                 ["audit", "show", "--officer", "ewo1"],
                 ["audit", "show", "--upn", upn(2), "--officer", "EWO1"], ["audit", "show"],
                 ["audit", "verify"]):
        assert records(*argv).code == 0, argv
    assert records("audit", "show", "--upn", upn(42)).code == 1  # nothing shown
    added = trail(records)[before:]
    assert [(e.actor, e.action, e.target, e.reason) for e in added] == [
        (ACTOR, "rights_requests_list", None, "admin_command"),
        (ACTOR, "officers_list", None, "admin_command"),
        (ACTOR, "audit_show", "pupil:1", "admin_command"),
        (ACTOR, "audit_show", None, "admin_command"),
        (ACTOR, "audit_show", "pupil:2", "admin_command"),
        (ACTOR, "audit_show", None, "admin_command"),
        (ACTOR, "audit_verify", None, "admin_command")]
    assert added[0].detail == {"open": False, "targets": ["pupil:1", "pupil:2"]}
    assert added[1].detail == {"officers": 1}
    assert [entry.detail and entry.detail.get("targets") for entry in added[2:6]] == [
        None, ["officer:EWO1"], ["officer:EWO1"], None]
    assert "Quuxworth" not in repr(added) and "Officer EWO1" not in repr(added)
    # Who looked at pupil 1 is found by that pupil.
    about = [line.split("  ")[3] for line in
             records("audit", "show", "--upn", upn(1)).out.splitlines()]
    assert about[-2:] == ["rights_requests_list", "audit_show"]


def test_status_is_not_audited(records: Records) -> None:
    """Monitoring runs it every minute; it shows no record of anyone."""
    before = len(trail(records))
    assert records("status").code == 0
    assert len(trail(records)) == before
