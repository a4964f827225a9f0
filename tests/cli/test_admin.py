"""`ewobot init` and `ewobot officers …` as an administrator sees them."""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

import pytest
import segno

from bot.cli import CliEnv, main
from tests.cli.conftest import Cli, Result
from tests.cli.test_imports import PUPILS, UPN_1, write
from tests.cli.test_records import FixedEnv

CODE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def test_init_is_idempotent(cli: Cli) -> None:
    assert cli("init").code == 0
    assert cli("init").code == 0
    assert cli.settings.database.exists()


def test_add_prints_the_code_alone_on_the_last_line(cli: Cli) -> None:
    result = cli("officers", "add", "SUP1", "--name", "Sam Supervisor", "--role", "supervisor")
    assert result.code == 0
    assert CODE.match(result.out.splitlines()[-1])
    result = cli("officers", "add", "EWO1", "--name", "Olu Officer", "--role", "officer",
                 "--supervisor", "SUP1")
    assert result.code == 0 and CODE.match(result.out.splitlines()[-1])


def test_codes_are_stored_only_as_hashes(cli: Cli) -> None:
    code = cli("officers", "add", "EWO1", "--name", "O", "--role", "officer").out.split()[-1]
    raw = sqlite3.connect(cli.settings.database)
    dump = "\n".join(raw.iterdump())
    raw.close()
    assert code not in dump


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["officers", "add", "X", "--name", "N", "--role", "officer", "--supervisor", "NOPE"],
         "NOPE is not an existing supervisor"),
        (["officers", "add", "X", "--name", "N", "--role", "controller", "--supervisor", "S"],
         "--supervisor goes only with --role officer"),
        (["officers", "code", "NOBODY"], "no officer NOBODY"),
        (["officers", "revoke", "NOBODY"], "no officer NOBODY"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(cli: Cli, argv: list[str], reason: str) -> None:
    cli("officers", "add", "S", "--name", "Sup", "--role", "supervisor")
    result = cli(*argv)
    assert result.code == 1
    assert result.err.splitlines()[0] == reason
    assert "Traceback" not in result.err


def test_duplicate_ref_is_refused(cli: Cli) -> None:
    cli("officers", "add", "EWO1", "--name", "A", "--role", "officer")
    result = cli("officers", "add", "EWO1", "--name", "B", "--role", "officer")
    assert (result.code, result.err.strip()) == (1, "officer EWO1 already exists")


def test_bad_usage_exits_2_with_the_reason_first(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("officers", "add", "EWO1", "--role", "wizard")
    assert exited.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert "--role" in first and not first.startswith("usage")


def test_list_flags_officers_without_supervisor_and_not_enrolled(cli: Cli) -> None:
    cli("officers", "add", "SUP1", "--name", "Sam", "--role", "supervisor")
    cli("officers", "add", "EWO1", "--name", "Olu", "--role", "officer", "--supervisor", "SUP1")
    cli("officers", "add", "EWO2", "--name", "Ana", "--role", "officer")
    lines = {line.split()[0]: line for line in cli("officers", "list").out.splitlines()}
    assert "NO SUPERVISOR" in lines["EWO2"]
    assert "NO SUPERVISOR" not in lines["EWO1"]
    assert all("not enrolled" in line for line in lines.values())


def test_revoke_then_code_reinstates(cli: Cli) -> None:
    cli("officers", "add", "EWO1", "--name", "Olu", "--role", "officer")
    assert cli("officers", "revoke", "EWO1").code == 0
    assert "revoked" in cli("officers", "list").out
    assert cli("officers", "revoke", "EWO1").code == 1
    assert cli("officers", "code", "EWO1").code == 0
    assert "revoked" not in cli("officers", "list").out


def test_every_change_is_audited(cli: Cli) -> None:
    cli("officers", "add", "EWO1", "--name", "Olu", "--role", "officer")
    cli("officers", "code", "EWO1")
    cli("officers", "revoke", "EWO1")
    raw = sqlite3.connect(cli.settings.database)
    actions = [row[0] for row in raw.execute("SELECT action FROM audit ORDER BY seq")]
    raw.close()
    assert actions == ["officer_add", "officer_code", "officer_revoke"]


def test_references_differing_only_in_case_are_one_officer(cli: Cli) -> None:
    cli("officers", "add", "SUP1", "--name", "Sam Supervisor", "--role", "supervisor")
    cli("officers", "add", "EWO1", "--name", "Olu Officer", "--role", "officer")
    again = cli("officers", "add", "ewo1", "--name", "Other", "--role", "officer")
    assert (again.code, again.err) == (1, "officer EWO1 already exists\n")
    added = cli("officers", "add", "EWO2", "--name", "Bo", "--role", "officer",
                "--supervisor", "sup1")
    assert added.code == 0
    code = cli("officers", "code", "ewo1")
    assert code.code == 0 and code.out.startswith("new enrolment code for EWO1;")
    revoked = cli("officers", "revoke", "Ewo1")
    assert revoked.out == "EWO1 revoked: access ends at their next message\n"
    assert cli("officers", "revoke", "EWO1").err == "EWO1 is already revoked\n"
    shown = cli("audit", "show", "--officer", "ewo1").out
    assert shown.count("officer:EWO1") == 3  # added, new code, revoked: as stored
    with sqlite3.connect(cli.settings.database) as raw:
        targets = [row[0] for row in raw.execute(
            "SELECT target FROM audit WHERE target LIKE 'officer:%' ORDER BY seq")]
        refs = [row[0] for row in raw.execute("SELECT ref FROM officers ORDER BY id")]
        supervisor = raw.execute(
            "SELECT s.ref FROM officers o JOIN officers s ON s.id = o.supervisor_id"
            " WHERE o.ref = 'EWO2'").fetchone()
    assert refs == ["SUP1", "EWO1", "EWO2"] and supervisor == ("SUP1",)
    assert "officer:ewo1" not in targets and "officer:Ewo1" not in targets


def test_the_database_refuses_a_reference_in_another_case(cli: Cli) -> None:
    cli("officers", "add", "EWO1", "--name", "Olu Officer", "--role", "officer")
    with sqlite3.connect(cli.settings.database) as raw, pytest.raises(sqlite3.IntegrityError):
        raw.execute("INSERT INTO officers (ref, name, role, created_at)"
                    " VALUES ('ewo1', 'X', 'officer', '2025-01-01T00:00:00+00:00')")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _with_bot_name(cli: Cli) -> None:
    cli("init")
    with sqlite3.connect(cli.settings.database) as raw:
        raw.execute("INSERT INTO meta (key, value) VALUES ('bot_username', 'ewo_test_bot')")


def test_the_code_comes_in_groups_of_four_to_read_aloud_before_the_bare_code(
    cli: Cli,
) -> None:
    _with_bot_name(cli)
    lines = cli("officers", "add", "EWO1", "--name", "Olu", "--role", "officer").out.splitlines()
    code = lines[-1]
    assert CODE.match(code) and len(code) == 43
    assert lines[1] == f"https://t.me/ewo_test_bot?start={code}"
    assert lines[-2].startswith("to read aloud (letters are case-sensitive")
    groups = lines[-2].rsplit(": ", 1)[1].split(" ")
    assert [len(group) for group in groups] == [4] * 10 + [3]
    assert "".join(groups) == code
    assert not any("█" in line or "▀" in line for line in lines)  # not a terminal: no QR
    again = cli("officers", "code", "EWO1").out.splitlines()
    assert "".join(again[-2].rsplit(": ", 1)[1].split(" ")) == again[-1] != code


def test_on_a_terminal_a_qr_code_of_the_link_comes_before_the_code(cli: Cli) -> None:
    _with_bot_name(cli)
    out, err = _Terminal(), io.StringIO()
    env = CliEnv(settings_factory=lambda: cli.settings, out=out, err=err)
    assert main(["officers", "add", "EWO1", "--name", "Olu", "--role", "officer"], env) == 0
    lines = out.getvalue().splitlines()
    assert CODE.match(lines[-1])
    picture = [line for line in lines if set(line) <= set("█▀▄ ") and line.strip()]
    assert len(picture) > 10 and lines.index(picture[0]) == 3  # after the link and a hint
    assert "\x1b" not in out.getvalue()  # plain text, no escape sequences
    decoded = segno.make(lines[1], error="l", micro=False)
    rendered = io.StringIO()
    decoded.terminal(out=rendered, compact=True)
    assert rendered.getvalue().splitlines() == picture


def test_compliance_dates_are_recorded_listed_and_audited(cli: Cli) -> None:
    """On Wednesday 25 November 2026: training 340 days back is due in a year, a DBS
    check not recorded counts as lapsed 30 days on, one of 31/01/2020 lapsed in 2023."""
    settings = cli.settings.model_copy(update={"compliance": "enforce"})

    def on_the_day(*argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), FixedEnv(settings_factory=lambda: settings, out=out, err=err))
        return Result(code, out.getvalue(), err.getvalue())

    added = on_the_day("officers", "add", "SUP1", "--name", "Sam", "--role", "supervisor",
                       "--dbs", "2020-01-31")
    assert added.code == 0
    on_the_day("officers", "add", "EWO1", "--name", "Olu", "--role", "officer",
               "--supervisor", "SUP1")
    recorded = on_the_day("officers", "compliance", "EWO1", "--training", "2025-12-20")
    assert recorded.code == 0
    assert recorded.out == (
        "EWO1: DBS check not recorded (counts as lapsed from 25/12/2026); "
        "training 20/12/2025 (due 20/12/2026)\n")
    lines = {line.split()[0]: line
             for line in on_the_day("officers", "list").out.splitlines()}
    assert lines["SUP1"].endswith(
        "DBS check lapsed 31/01/2023; training not recorded (counts as lapsed from "
        "25/12/2026)")
    assert "training 20/12/2025 (due 20/12/2026)" in lines["EWO1"]
    raw = sqlite3.connect(cli.settings.database)
    actions = [row[0] for row in raw.execute(
        "SELECT action FROM audit WHERE action = 'officer_compliance'")]
    raw.close()
    assert actions == ["officer_compliance"] * 2


@pytest.mark.parametrize(("argv", "code", "reason"), [
    (["officers", "compliance", "EWO1"], 2, "give --dbs DATE, --training DATE or both"),
    (["officers", "compliance", "NOBODY", "--dbs", "2026-01-01"], 1, "no officer NOBODY"),
    (["officers", "compliance", "EWO1", "--dbs", "2999-01-01"], 1,
     "--dbs cannot be in the future"),
])
def test_compliance_mistakes_are_one_line(cli: Cli, argv: list[str], code: int,
                                          reason: str) -> None:
    cli("officers", "add", "EWO1", "--name", "Olu", "--role", "officer")
    result = cli(*argv)
    assert (result.code, result.err) == (code, reason + "\n")


NAME_RULE = "--name must be one line of at most 200 characters, without control characters"


@pytest.mark.parametrize("name", [
    "Evil\x1b]0;pwned\x07Name",  # a terminal escape: it would retitle the window
    "Ann\u202eeroM",  # a bidirectional override, which disguises text
    "x" * 201,
])
def test_a_name_not_on_one_line_or_too_long_is_refused(cli: Cli, name: str) -> None:
    result = cli("officers", "add", "EWO3", "--name", name, "--role", "officer")
    assert (result.code, result.out, result.err) == (1, "", NAME_RULE + "\n")
    assert "EWO3" not in cli("officers", "list").out


def test_names_as_the_imports_allow_them_are_kept(cli: Cli) -> None:
    for ref, name in (("EWO1", "x" * 200), ("EWO2", "Zoë\u200cJoiner  Smith")):
        assert cli("officers", "add", ref, "--name", name, "--role", "officer").code == 0
    listed = cli("officers", "list").out
    assert "EWO1  " + "x" * 200 + "  officer" in listed
    assert "EWO2  Zoë\u200cJoiner Smith  officer" in listed


def test_a_name_stored_before_the_check_is_listed_without_its_escapes(cli: Cli) -> None:
    assert cli("officers", "add", "EWO3", "--name", "Ann", "--role", "officer").code == 0
    raw = sqlite3.connect(cli.settings.database)
    raw.execute("UPDATE officers SET name = ? WHERE ref = 'EWO3'", ("Evil\x1b]0;x\x07\u202eN",))
    raw.commit()
    raw.close()
    assert "EWO3  Evil?]0;x??N  officer" in cli("officers", "list").out


def test_a_revoked_supervisor_is_refused_and_flagged(cli: Cli) -> None:
    """A revoked supervisor hears of nothing: no new officer goes under them (as no pupil
    is allocated to a revoked officer), and `officers list` flags those already there."""
    cli("officers", "add", "SUP1", "--name", "Sam", "--role", "supervisor")
    cli("officers", "add", "EWO1", "--name", "Olu", "--role", "officer", "--supervisor", "SUP1")
    assert cli("officers", "revoke", "SUP1").code == 0

    refused = cli("officers", "add", "EWO2", "--name", "Ana", "--role", "officer",
                  "--supervisor", "sup1")

    assert (refused.code, refused.out, refused.err) == (1, "", "SUP1 is a revoked supervisor\n")
    lines = {line.split()[0]: line for line in cli("officers", "list").out.splitlines()}
    assert "EWO2" not in lines
    assert "(supervisor SUP1), 0 pupils  [SUPERVISOR REVOKED; not enrolled]" in lines["EWO1"]


def test_the_list_counts_one_pupil_in_the_singular(cli: Cli, tmp_path: Path) -> None:
    cli("officers", "add", "EWO1", "--name", "Olu", "--role", "officer")
    assert cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS)).code == 0
    allocations = f"upn,officer_ref\n{UPN_1},EWO1\n"
    assert cli("import", "allocations", write(tmp_path, "allocations.csv", allocations)).code == 0
    lines = {line.split()[0]: line for line in cli("officers", "list").out.splitlines()}
    assert "  officer, 1 pupil  [" in lines["EWO1"]


@pytest.mark.parametrize("ref", ["EWÖ1", "ewö1", "EW²", "EW٣"])
def test_a_reference_beyond_ascii_is_refused(cli: Cli, ref: str) -> None:
    """References match in any case, which the databases fold only in ASCII: `EWÖ1` and
    `ewö1` would otherwise be two officers."""
    result = cli("officers", "add", ref, "--name", "Ann", "--role", "officer")
    assert (result.code, result.out) == (1, "")
    assert result.err == ("REF must be 1–32 of the letters A–Z or a–z, digits 0–9, "
                          "'-' or '_'\n")
