"""`ewobot report school|schools`: the one-line errors, the file rules, the audit entry."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

PUPILS = ("upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
          "H801200001001,Amelia,Hughes,2015-05-01,5,100001,Hillside Primary\n"
          "B801200005001,Oscar,Pemberton,2015-05-01,5,100002,Riverside Academy\n")


@pytest.fixture
def service(cli: Cli, tmp_path: Path) -> Cli:
    pupils = tmp_path / "pupils.csv"
    pupils.write_text(PUPILS, encoding="utf-8")
    allocations = tmp_path / "allocations.csv"
    allocations.write_text("upn,officer_ref\nH801200001001,EWO1\n", encoding="utf-8")
    assert cli("officers", "add", "EWO1", "--name", "Officer One", "--role", "officer").code == 0
    assert cli("import", "pupils", str(pupils)).code == 0
    assert cli("import", "allocations", str(allocations)).code == 0
    return cli


def test_one_school_is_written_0600_and_audited_without_names(service: Cli,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "hillside.pdf"

    result = service("report", "school", "100001", "--out", str(out))

    assert result.code == 0, result.err
    assert result.out == f"report written: {out} (1 pupil referred, 0 visits)\n"
    assert out.read_bytes().startswith(b"%PDF")
    assert out.stat().st_mode & 0o777 == 0o600
    shown = service("audit", "show").out.splitlines()
    entry = [line for line in shown if "school_report" in line]
    assert len(entry) == 1 and "school:100001" in entry[0]
    detail = json.loads(entry[0].split("  ")[-1])
    assert detail["referred"] == 1 and "from" in detail and "to" in detail
    assert "Amelia" not in entry[0] and "Hughes" not in entry[0]


def test_every_count_agrees_with_its_noun(service: Cli, tmp_path: Path) -> None:
    visits = tmp_path / "visits.csv"
    visits.write_text("upn,officer_ref,date,type,outcome\n"
                      "H801200001001,EWO1,2026-10-01,Home visit,Parent/carer seen\n",
                      encoding="utf-8")
    assert service("import", "visits", str(visits)).code == 0, "visits"
    one = tmp_path / "one.pdf"
    assert service("report", "school", "100001", "--from", "2026-09-01", "--out",
                   str(one)).out == f"report written: {one} (1 pupil referred, 1 visit)\n"
    folder = tmp_path / "reports"
    shown = service("report", "schools", "--from", "2026-09-01", "--out", str(folder))
    assert shown.out.splitlines()[-1] == "2 reports written"


def test_the_entry_names_the_pupils_listed_so_their_own_trail_shows_it(
        service: Cli, tmp_path: Path) -> None:
    assert service("report", "school", "100001", "--out", str(tmp_path / "r.pdf")).code == 0

    listed = service("audit", "show", "--upn", "H801200001001").out.splitlines()
    other = service("audit", "show", "--upn", "B801200005001").out.splitlines()

    assert len([line for line in listed if "school_report" in line]) == 1
    assert not [line for line in other if "school_report" in line]  # not referred, not listed


def test_an_existing_file_is_kept_unless_forced(service: Cli, tmp_path: Path) -> None:
    out = tmp_path / "hillside.pdf"
    out.write_bytes(b"mine")

    refused = service("report", "school", "100001", "--out", str(out))
    forced = service("report", "school", "100001", "--out", str(out), "--force")

    assert refused.code == 1
    assert refused.err == f"{out} already exists; add --force to overwrite it\n"
    assert forced.code == 0
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(("argv", "message"), [
    (("report", "school", "999999"), "no school with URN 999999 is held"),
    (("report", "school", "100001", "--from", "2026-11-10", "--to", "2026-11-01"),
     "empty period: the period ends before it starts"),
    (("report", "school", "100001", "--from", "2099-01-01"),
     "empty period: the period starts after today"),
])
def test_a_mistake_is_one_line_and_exit_1(service: Cli, tmp_path: Path,
                                          argv: tuple[str, ...], message: str) -> None:
    result = service(*argv, "--out", str(tmp_path / "r.pdf"))

    assert (result.code, result.err) == (1, message + "\n")
    assert not (tmp_path / "r.pdf").exists()


def test_an_unwritable_path_is_one_line(service: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "r.pdf"

    result = service("report", "school", "100001", "--out", str(missing))

    assert result.code == 1
    assert result.err.startswith(f"cannot write {missing}: ")
    assert result.err.count("\n") == 1
    assert "school_report" not in service("audit", "show").out


def test_every_school_gets_a_report_in_the_folder(service: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "reports"

    result = service("report", "schools", "--out", str(folder))

    assert result.code == 0, result.err
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == 2 and names[0].startswith("school-100001-")
    assert result.out.splitlines()[-1] == "2 reports written"
    assert folder.stat().st_mode & 0o777 == 0o700


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_report_schools_shows_progress_on_a_terminal(service: Cli, tmp_path: Path) -> None:
    from bot.cli import CliEnv, main

    err = Terminal()
    env = CliEnv(settings_factory=lambda: service.settings, out=io.StringIO(), err=err)

    assert main(["report", "schools", "--out", str(tmp_path / "r")], env) == 0
    assert "\rschool reports 50 %" in err.getvalue()
    assert "\rschool reports 100 %" in err.getvalue()


def test_report_schools_refused_for_one_file_writes_none(service: Cli, tmp_path: Path) -> None:
    """A report already there refuses the run before any other is written: the one
    error line would not mention new reports left behind, written and audited."""
    folder = tmp_path / "reports"
    assert service("report", "schools", "--out", str(folder)).code == 0
    first, second = sorted(folder.iterdir())
    first.unlink()

    refused = service("report", "schools", "--out", str(folder))

    assert (refused.code, refused.out) == (1, "")
    assert refused.err == f"{second} already exists; add --force to overwrite it\n"
    assert sorted(folder.iterdir()) == [second]
    shown = service("audit", "show").out.splitlines()
    assert len([line for line in shown if "school_report" in line]) == 2  # the first run's
    forced = service("report", "schools", "--out", str(folder), "--force")
    assert forced.code == 0 and sorted(folder.iterdir()) == [first, second]


def test_report_schools_with_no_schools_held_creates_no_folder(cli: Cli,
                                                                tmp_path: Path) -> None:
    folder = tmp_path / "reports" / "november"
    assert cli("init").code == 0  # a service, but no pupils imported yet

    result = cli("report", "schools", "--out", str(folder))

    assert result.code == 1
    assert result.err == "the service holds no schools yet (import pupils first)\n"
    assert not (tmp_path / "reports").exists()
