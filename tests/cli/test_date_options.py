"""Every date on the command line is read alike (PRODUCT.md: `YYYY-MM-DD` or
`DD/MM/YYYY`); anything else is one line naming the option and the forms, exit 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.cli import build_parser
from tests.cli.test_records import Records
from tests.conftest import make_settings
from tests.e2e.retention_files import upn

# Each date option, as the command line before it and the attribute it fills.
OPTIONS = [
    (["requests", "add", upn(1), "--kind", "access"], "--received", "received"),
    (["officers", "add", "EWO1", "--name", "Ann", "--role", "officer"], "--dbs", "dbs"),
    (["officers", "add", "EWO1", "--name", "Ann", "--role", "officer"], "--training",
     "training"),
    (["officers", "compliance", "EWO1"], "--dbs", "dbs"),
    (["officers", "compliance", "EWO1"], "--training", "training"),
    (["report", "school", "100001", "--out", "r.pdf"], "--from", "start"),
    (["report", "school", "100001", "--out", "r.pdf"], "--to", "end"),
    (["report", "schools", "--out", "reports"], "--from", "start"),
    (["report", "schools", "--out", "reports"], "--to", "end"),
]


@pytest.mark.parametrize(("argv", "option", "name"), OPTIONS)
@pytest.mark.parametrize("text", ["2025-11-03", "03/11/2025", " 03/11/2025 "])
def test_a_date_option_takes_both_forms(argv: list[str], option: str, name: str,
                                        text: str) -> None:
    args = build_parser().parse_args([*argv, option, text])
    assert getattr(args, name) == date(2025, 11, 3)


@pytest.mark.parametrize(("argv", "option", "name"), OPTIONS)
@pytest.mark.parametrize("text", ["20251103", "2025-W45-1", "3/11/2025", "31/02/2025",
                                  "2025-11-03T00:00", "tomorrow", ""])
def test_anything_else_is_one_line_naming_the_option(
        argv: list[str], option: str, name: str, text: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*argv, f"{option}={text}"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"argument {option}: not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def test_a_request_received_on_a_uk_date_is_recorded(tmp_path: Path) -> None:
    records = Records(make_settings(tmp_path))
    added = records("requests", "add", upn(1), "--kind", "access", "--received", "31/10/2026")
    assert (added.code, added.err) == (0, "")
    assert added.out == ("request 1 recorded: access for C00001, received 31/10/2026,"
                         " due by 30/11/2026\n")
