"""`ewobot import …` as an administrator sees it: one line on success, reasons on stderr."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import NoReturn

import pytest

from bot.domain.attendance import CODES
from bot.importing import csvfile
from tests.cli.conftest import Cli

UPN_1 = "H801200001001"
UPN_2 = "B801200005001"
PUPILS = (
    "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
    f"{UPN_1},Zoë,Hughes,2014-05-02,6,100001,Hill Primary\n"
    f"{UPN_2},Siân,Jones,2013-09-03,6,100001,Hill Primary\n"
)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_good_file_prints_one_summary_line(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS))
    assert (result.code, result.err) == (0, "")
    assert result.out == "pupils: 2 rows; 2 added, 0 updated, 0 unchanged\n"
    again = cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS))
    assert again.out == "pupils: 2 rows; 0 added, 0 updated, 2 unchanged\n"


def test_a_refused_file_gives_the_reason_then_each_bad_row(cli: Cli, tmp_path: Path) -> None:
    cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS))
    path = write(tmp_path, "marks.csv", (
        "upn,date,session,code\n"
        f"{UPN_1},2025-03-10,AM,CANARY\n"
        f"{UPN_2},2099-03-10,AM,/\n"
        f"{UPN_2},2025-03-10,XX,/\n"))  # fmt: skip
    result = cli("import", "attendance", path)
    assert result.code == 1 and result.out == ""
    assert result.err.splitlines() == [
        "3 bad rows in the file; nothing was imported",
        "line 2, column code: is not an attendance code (the codes accepted are listed below)",
        "line 3, column date: is after today",
        "line 4, column session: must be AM or PM",
        "attendance codes: / \\ L K V P W B C C1 C2 M J1 S I R T E G N O U Q Y1 Y2 Y3 Y4 Y5"
        " Y6 Y7 D X Z # (retired, still read: H J F Y); - or blank: no mark"
        " — `ewobot codes` says what each means",
    ]
    assert "CANARY" not in result.err
    with sqlite3.connect(cli.settings.database) as raw:
        assert raw.execute("SELECT count(*) FROM marks").fetchone() == (0,)


def test_more_than_twenty_bad_rows_are_counted(cli: Cli, tmp_path: Path) -> None:
    rows = "".join(f"{UPN_1},2025-01-{day:02},AM,Q9\n" for day in range(1, 26))
    result = cli("import", "attendance", write(tmp_path, "m.csv", "upn,date,session,code\n" + rows))
    lines = result.err.splitlines()
    assert result.code == 1 and len(lines) == 23
    assert lines[0] == "25 bad rows in the file; nothing was imported"
    assert lines[-2] == "… and 5 more bad rows"
    assert lines[-1].startswith("attendance codes: / \\ L K V P W B C C1 C2 M J1")


def test_a_file_in_another_encoding(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pupils.csv"
    path.write_bytes(PUPILS.encode("latin-1"))
    result = cli("import", "pupils", str(path))
    assert result.code == 1
    assert result.err == "the file is not UTF-8 text: save as CSV UTF-8 and import it again\n"


def test_a_missing_file_is_one_line_and_creates_no_database(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", "contacts", str(tmp_path / "nowhere.csv"))
    assert result.code == 1
    assert result.err == f"no such file: {tmp_path / 'nowhere.csv'}\n"
    assert not cli.settings.database.exists()


@pytest.mark.parametrize(
    "argv",
    [("pupils", "FILE", "--baseline"), ("pupils",), ("schools", "FILE"), ()],
)
def test_bad_usage_exits_2(cli: Cli, tmp_path: Path, argv: tuple[str, ...],
                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    pupils = write(tmp_path, "pupils.csv", PUPILS)
    with pytest.raises(SystemExit) as exited:
        cli("import", *(pupils if arg == "FILE" else arg for arg in argv))
    assert exited.value.code == 2
    reason, usage = capsys.readouterr().err.splitlines()[:2]
    assert reason and usage.startswith("usage: ewobot")


def test_baseline_is_for_attendance(cli: Cli, tmp_path: Path) -> None:
    pupils = write(tmp_path, "pupils.csv", PUPILS)
    marks = write(tmp_path, "m.csv", f"upn,date,session,code\n{UPN_1},2025-03-10,AM,/\n")
    cli("import", "pupils", pupils)
    result = cli("import", "attendance", marks, "--baseline")
    assert result.code == 0
    assert result.out.startswith("attendance: 1 row; 1 added") and "(baseline" in result.out


def test_an_import_is_audited_with_the_files_digest(cli: Cli, tmp_path: Path) -> None:
    pupils = write(tmp_path, "pupils.csv", PUPILS)
    cli("import", "pupils", pupils)
    with sqlite3.connect(cli.settings.database) as raw:
        actor, action, detail = raw.execute(
            "SELECT actor, action, detail FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    assert actor.startswith("os:") and action == "import_pupils"
    assert hashlib.sha256(PUPILS.encode()).hexdigest() in detail


def test_every_bad_column_of_a_row_gets_its_reason(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "pupils.csv", (
        "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name,sen\n"
        f"{UPN_1},Zoë,Hughes,2014-05-02,Y6,100001,Hill Primary,X\n"))  # fmt: skip
    result = cli("import", "pupils", path)
    assert result.code == 1
    assert result.err.splitlines()[1:] == [
        "line 2, column year_group: must be N1, N2, R or 1 to 14;"
        " column sen: must be N (none), K (SEN support) or E (EHC plan)"
    ]


def test_a_visits_file_reports_unknown_officers_with_its_other_bad_rows(
    cli: Cli, tmp_path: Path
) -> None:
    cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS))
    cli("officers", "add", "EWO1", "--name", "Ann Lee", "--role", "officer")
    path = write(tmp_path, "visits.csv", (
        "upn,officer_ref,date,type,outcome\n"
        f"{UPN_1},EWO1,2025-13-01,Home visit,Parent/carer seen\n"
        f"{UPN_2},EWO9,2025-01-10,Home visit,Parent/carer seen\n"
        "H801200009001,EWO9,2025-01-10,Home visit,Parent/carer seen\n"
        f"{UPN_2},EWO9,2025-01-11,Visit,Parent/carer seen\n"))  # fmt: skip
    result = cli("import", "visits", path)
    assert result.code == 1
    assert result.err.splitlines() == [
        "4 bad rows in the file; nothing was imported",
        "line 2, column date: is not a date (use YYYY-MM-DD or DD/MM/YYYY)",
        "line 3, column officer_ref: is not an officer (add them with ewobot officers add)",
        "line 4, column upn: is not a valid UPN (13 characters with a matching check letter);"
        " column officer_ref: is not an officer (add them with ewobot officers add)",
        "line 5, column type: is not a visit type (Home visit, School meeting, Phone call,"
        " Letter, Other);"
        " column officer_ref: is not an officer (add them with ewobot officers add)",
    ]


def test_a_repeated_key_is_reported_with_the_bad_values_of_its_row(
    cli: Cli, tmp_path: Path
) -> None:
    path = write(tmp_path, "pupils.csv", PUPILS + f"{UPN_1},Zoë,Hughes,2014-05-02,Y6,1,Hill\n")
    result = cli("import", "pupils", path)
    assert result.err.splitlines()[1:] == [
        "line 4, column year_group: must be N1, N2, R or 1 to 14;"
        " column upn: the same upn as line 2",
    ]


def test_an_allocations_file_reports_pupils_not_held_with_its_other_bad_rows(
    cli: Cli, tmp_path: Path
) -> None:
    cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS))
    cli("officers", "add", "EWO1", "--name", "Ann Lee", "--role", "officer")
    path = write(tmp_path, "allocations.csv", (
        "upn,officer_ref\n"
        f"{UPN_1},EWO1\tx\n"
        "Q801200005002,EWO1\n"))  # fmt: skip
    result = cli("import", "allocations", path)
    assert result.err.splitlines()[1:] == [
        "line 2, column officer_ref: must be on one line, without control characters",
        "line 3, column upn: is not a pupil the service holds (import the pupil first)",
    ]


@pytest.mark.parametrize(("separator", "named"), [(";", "';'"), ("\t", "tabs")])
def test_a_file_separated_otherwise_says_how_to_save_it(
    cli: Cli, tmp_path: Path, separator: str, named: str
) -> None:
    path = write(tmp_path, "pupils.csv", PUPILS.replace(",", separator))
    result = cli("import", "pupils", path)
    assert result.code == 1
    assert result.err == f"the file uses {named} — save as CSV UTF-8 (comma)\n"


def test_a_folder_is_named_as_a_folder(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    result = cli("import", "pupils", str(tmp_path / "csv"))
    assert result.code == 1
    assert result.err == (
        f"{tmp_path / 'csv'} is a folder, not a file: give the path of the CSV file in it\n"
    )
    assert not cli.settings.database.exists()


def test_an_empty_file_and_a_pipe_are_named_for_what_they_are(cli: Cli, tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.csv", "")
    empty_told = cli("import", "pupils", empty).err
    assert empty_told == f"{empty} is empty (0 bytes): export the data again\n"
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    assert cli("import", "pupils", str(pipe)).err == (
        f"{pipe} is not a regular file: give the path of a CSV file\n"
    )
    assert not cli.settings.database.exists()


def test_an_unreadable_file_says_so(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "pupils.csv", PUPILS)

    def refused(*args: object, **kwargs: object) -> NoReturn:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(csvfile, "open", refused, raising=False)  # tests run as root too
    result = cli("import", "pupils", path)
    assert (result.code, result.err) == (1, f"cannot read {path}: permission denied\n")


def test_codes_lists_every_accepted_code_with_its_meaning(cli: Cli) -> None:
    result = cli("codes")
    assert (result.code, result.err) == (0, "")
    lines = result.out.splitlines()
    assert "present (counts as attendance)" in lines
    assert "  C1  leave of absence for a regulated performance or employment abroad" in lines
    assert "  #   planned whole or partial school closure" in lines
    assert "  H   holiday authorised by the school (authorised absence)" in lines
    listed = {line.split()[0] for line in lines if line.startswith("  ")}
    assert listed == set(CODES)
    assert not cli.settings.database.exists()  # nothing is read or written


def test_officer_references_in_files_are_found_in_any_case(cli: Cli, tmp_path: Path) -> None:
    cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS))
    cli("officers", "add", "EWO1", "--name", "Ann Lee", "--role", "officer")
    allocations = write(tmp_path, "a.csv", f"upn,officer_ref\n{UPN_1},ewo1\n{UPN_2},Ewo1\n")
    assert cli("import", "allocations", allocations).out == (
        "allocations: 2 rows; 2 allocated, 0 reallocated, 0 ended, 0 unchanged\n"
    )
    visits = write(tmp_path, "v.csv", (
        "upn,officer_ref,date,type,outcome\n"
        f"{UPN_1},ewo1,2025-01-10,Home visit,Child seen\n"
        f"{UPN_1},EWO1,2025-01-10,Home visit,Child seen\n"))  # fmt: skip
    assert cli("import", "visits", visits).err.splitlines()[1:] == [
        "line 3, column upn: the same upn, officer_ref, date, type and outcome as line 2"
    ]


def test_a_session_given_twice_is_reported_with_a_bad_code_on_either_row(
    cli: Cli, tmp_path: Path
) -> None:
    path = write(tmp_path, "marks.csv", (
        "upn,date,session,code\n"
        f"{UPN_1},2025-03-10,AM,Q9\n"
        f"{UPN_1},2025-03-10,AM,/\n"
        f"{UPN_2},2025-03-10,PM,/\n"
        f"{UPN_2},2025-03-10,PM,Q9\n"))  # fmt: skip
    result = cli("import", "attendance", path)
    assert result.err.splitlines()[:4] == [
        "3 bad rows in the file; nothing was imported",
        "line 2, column code: is not an attendance code (the codes accepted are listed below)",
        "line 3, column session: the same upn, date and session as line 2",
        "line 5, column code: is not an attendance code (the codes accepted are listed below);"
        " column session: the same upn, date and session as line 4",
    ]


def test_a_busy_database_is_one_line_and_nothing_is_imported(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the write lock past the busy timeout is not a bug: one line
    on stderr, no traceback, nothing imported."""
    from bot.storage import sqlite as sqlite_backend

    monkeypatch.setattr(sqlite_backend, "_PRAGMAS", tuple(
        "PRAGMA busy_timeout = 50" if pragma.startswith("PRAGMA busy_timeout") else pragma
        for pragma in sqlite_backend._PRAGMAS))
    assert cli("init").code == 0
    holder = sqlite3.connect(cli.settings.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS))
    finally:
        holder.close()
    assert (result.code, result.out) == (1, "")
    assert "Traceback" not in result.err
    assert result.err == "the database is busy: another process kept it locked; try again\n"
    with sqlite3.connect(cli.settings.database) as raw:
        assert raw.execute("SELECT count(*) FROM pupils").fetchone() == (0,)
