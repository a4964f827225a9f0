"""`ewobot requests add|list|extend|decide|lift`, as a controller on the server sees them."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from bot.storage.db import Database
from tests.cli.conftest import Result
from tests.cli.test_records import ACTOR, Records
from tests.conftest import make_settings
from tests.e2e.retention_files import upn
from tests.storage.retention_seed import Seed


@pytest.fixture
def records(tmp_path: Path) -> Records:
    return Records(make_settings(tmp_path))


def test_add_list_extend_and_decide(records: Records, tmp_path: Path) -> None:
    added = records("requests", "add", upn(1), "--kind", "rectification",
                    "--received", "2026-10-31")
    assert (added.code, added.err) == (0, "")
    assert added.out == ("request 1 recorded: rectification for C00001, received 31/10/2026,"
                         " due by 30/11/2026\n")
    assert records("requests", "add", upn(2), "--kind", "access").code == 0
    listed = records("requests", "list").out.splitlines()
    assert listed == ["1  rectification  C00001  31/10/2026  30/11/2026  open",
                      "2  access  C00002  25/11/2026  25/12/2026  open"]
    assert "Quuxworth" not in "".join(listed)
    extended = records("requests", "extend", "1", "--reason", "complex")
    assert extended.out == "request 1 extended: due by 31/01/2027\n"
    again = records("requests", "extend", "1", "--reason", "complex")
    assert (again.code, again.err) == (1, "request 1 has already been extended once\n")
    statement = tmp_path / "statement.txt"
    statement.write_text("The address recorded in 2024 was the family's previous one.")
    decided = records("requests", "decide", "1", "--uphold", "--reason", "data_inaccurate",
                      "--statement", str(statement))
    assert decided.out.splitlines() == ["request 1 upheld: rectification for C00001",
                                        "shared with: no sharing recorded"]
    assert records("requests", "list", "--open").out.splitlines() == [
        "2  access  C00002  25/11/2026  25/12/2026  open"]
    shown = records("audit", "show", "--upn", upn(1)).out.splitlines()
    assert [line.split("  ")[2:6] for line in shown[-4:]] == [
        [ACTOR, "rights_request", "pupil:1", "rights_request"],
        [ACTOR, "rights_requests_list", "-", "admin_command"],  # the list named pupil 1
        [ACTOR, "rights_extend", "pupil:1", "complex"],
        [ACTOR, "rights_upheld", "pupil:1", "data_inaccurate"]]


def test_restriction_upheld_stays_until_lifted(records: Records) -> None:
    records("requests", "add", upn(1), "--kind", "restriction")
    assert records("requests", "decide", "1", "--uphold", "--reason", "request_valid").code == 0
    assert records("requests", "list").out.endswith("  upheld\n")
    assert records("requests", "lift", upn(1)).out == "restriction lifted (1 request)\n"
    assert records("requests", "list").out.endswith("  lifted\n")
    again = records("requests", "lift", upn(1))
    assert (again.code, again.err) == (
        1, "that pupil's record has no upheld restriction to lift\n")


@pytest.mark.parametrize(("argv", "reason"), [
    (["requests", "add", upn(42), "--kind", "erasure"], "no pupil with that UPN is held"),
    (["requests", "add", "X1", "--kind", "erasure"], "that is not a valid UPN"),
    (["requests", "add", upn(1), "--kind", "erasure", "--received", "2026-11-26"],
     "the date received cannot be in the future"),
    (["requests", "extend", "9", "--reason", "complex"], "no request 9"),
    (["requests", "extend", "1", "--reason", "busy"],
     "the reason must be one of: complex, numerous"),
    # Request 1 is an objection: rejected on compelling grounds or for legal claims alone.
    (["requests", "decide", "1", "--reject", "--reason", "request_valid"],
     "the reason must be one of: compelling_grounds, legal_claims"),
    (["requests", "decide", "1", "--reject", "--reason", "data_accurate"],
     "the reason must be one of: compelling_grounds, legal_claims"),
    (["requests", "decide", "1", "--uphold", "--reason", "request_valid", "--statement", "/nope"],
     "no file /nope"),
    # IDs no database can hold: no such request, not SQLite's OverflowError.
    (["requests", "extend", "9" * 23, "--reason", "complex"], f"no request {'9' * 23}"),
    (["requests", "extend", str(2**63), "--reason", "complex"], f"no request {2**63}"),
    (["requests", "decide", "9" * 23, "--reject", "--reason", "excessive"],
     f"no request {'9' * 23}"),
    (["requests", "extend", "0", "--reason", "complex"], "no request 0"),
    (["requests", "extend", str(2**63 - 1), "--reason", "complex"], f"no request {2**63 - 1}"),
])
def test_bad_input_is_one_line_and_exit_1(records: Records, argv: list[str],
                                          reason: str) -> None:
    records("requests", "add", upn(2), "--kind", "objection")
    result = records(*argv)
    assert (result.code, result.err, result.out) == (1, reason + "\n", "")


def test_the_reasons_for_rejecting_depend_on_the_kind(records: Records) -> None:
    """CASEWORK.md §3: an objection is rejected with compelling grounds or legal claims."""
    records("requests", "add", upn(1), "--kind", "objection")
    records("requests", "add", upn(2), "--kind", "rectification")
    refused = records("requests", "decide", "1", "--reject", "--reason", "data_accurate")
    assert (refused.code, refused.err) == (
        1, "the reason must be one of: compelling_grounds, legal_claims\n")
    assert records("requests", "list", "--open").out.count("open") == 2
    for request, reason in (("1", "compelling_grounds"), ("2", "data_accurate")):
        decided = records("requests", "decide", request, "--reject", "--reason", reason)
        assert (decided.code, decided.err) == (0, "")
    rejected = [line.split("  ")[3:6] for line in records("audit", "show").out.splitlines()
                if "rights_rejected" in line]
    assert rejected == [["rights_rejected", "pupil:1", "compelling_grounds"],
                        ["rights_rejected", "pupil:2", "data_accurate"]]


def test_statement_only_for_an_upheld_rectification_within_the_limit(
        records: Records, tmp_path: Path) -> None:
    records("requests", "add", upn(1), "--kind", "erasure")
    records("requests", "add", upn(2), "--kind", "rectification")
    statement = tmp_path / "s.txt"
    statement.write_text("x" * 4001)
    wrong = records("requests", "decide", "1", "--uphold", "--reason", "request_valid",
                    "--statement", str(statement))
    assert wrong.err == "a statement goes only with an upheld rectification\n"
    long = records("requests", "decide", "2", "--uphold", "--reason", "data_inaccurate",
                   "--statement", str(statement))
    assert long.err == "the statement is 4,001 characters; at most 4,000\n"
    assert records("requests", "list", "--open").out.count("open") == 2


def test_usage_mistakes_exit_2(records: Records, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        records("requests", "decide", "1", "--reason", "request_valid")
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "one of the arguments --uphold --reject is required")


def _recent_pupil(records: Records) -> None:
    """A third pupil, imported this term: nowhere near its retention deadline."""
    async def seed() -> None:
        db = await Database.open(records.settings)
        try:
            seed = Seed(db)
            seed.serial = 2  # after the two pupils Records holds
            await seed.pupil(imported=date(2026, 9, 1), upn=upn(3))
        finally:
            await db.close()
    asyncio.run(seed())


@pytest.mark.parametrize(("kind", "decision", "past_due"), [
    ("erasure", "--uphold", 3), ("objection", "--uphold", 3), ("erasure", "--reject", 2),
    ("objection", "--reject", 2), ("restriction", "--uphold", 2)])
def test_objection_or_erasure_upheld_is_past_due_at_once(
        records: Records, kind: str, decision: str, past_due: int) -> None:
    _recent_pupil(records)
    records("requests", "add", upn(3), "--kind", kind)
    reason = "request_valid" if decision == "--uphold" else "legal_claims"
    assert records("requests", "decide", "1", decision, "--reason", reason).code == 0
    checked = records("retention", "check").out.splitlines()[0]
    assert checked == f"retention check: {past_due} past due, 0 coming due, 0 on hold"


def _decide_with(records: Records, path: Path) -> Result:
    records("requests", "add", upn(1), "--kind", "rectification")
    return records("requests", "decide", "1", "--uphold", "--reason", "data_inaccurate",
                   "--statement", str(path))


def test_a_statement_not_in_utf8_is_one_line(records: Records, tmp_path: Path) -> None:
    statement = tmp_path / "s.txt"
    statement.write_bytes("The caf\u00e9 address was the family's previous one.".encode("cp1252"))
    result = _decide_with(records, statement)
    assert (result.code, result.err, result.out) == (
        1, f"cannot read {statement}: not UTF-8 text\n", "")
    assert records("requests", "list", "--open").out.endswith("  open\n")


def test_a_statement_folder_is_one_line_in_the_systems_words(
        records: Records, tmp_path: Path) -> None:
    result = _decide_with(records, tmp_path)
    assert (result.code, result.err) == (1, f"cannot read {tmp_path}: Is a directory\n")


def test_a_statements_byte_order_mark_is_not_kept(records: Records, tmp_path: Path) -> None:
    statement = tmp_path / "s.txt"
    statement.write_bytes(b"\xef\xbb\xbf" + b"x" * 4000)  # 4,000 characters after it
    assert _decide_with(records, statement).code == 0
    raw = records.raw()
    [(kept,)] = raw.execute("SELECT statement FROM rights_requests").fetchall()
    raw.close()
    assert kept == "x" * 4000


def test_a_long_statement_is_refused_without_reading_it_all(
        records: Records, tmp_path: Path) -> None:
    """What comes after the first 4,000 characters' worth is never read: a byte there
    that is not UTF-8 does not change the reason."""
    statement = tmp_path / "s.txt"
    statement.write_bytes(b"x" * 20_000 + b"\xff")
    result = _decide_with(records, statement)
    assert (result.code, result.err) == (
        1, "the statement is more than 4,000 characters; at most 4,000\n")


UPN_COMMANDS = [["requests", "add", "{upn}", "--kind", "access"], ["requests", "lift", "{upn}"],
                ["sar", "{upn}"], ["audit", "show", "--upn", "{upn}"]]


@pytest.mark.parametrize("argv", UPN_COMMANDS)
@pytest.mark.parametrize(("typed", "reason"), [
    ("X1", "that is not a valid UPN"),
    (upn(1)[:-1] + ("1" if upn(1)[-1] != "1" else "2"), "that is not a valid UPN"),
    (upn(42), "no pupil with that UPN is held")])
def test_every_command_taking_a_upn_says_alike_why_it_is_refused(
        records: Records, argv: list[str], typed: str, reason: str) -> None:
    result = records(*(typed if word == "{upn}" else word for word in argv))
    assert (result.code, result.err, result.out) == (1, reason + "\n", "")


@pytest.mark.parametrize(("argv", "code", "answered"), [
    (UPN_COMMANDS[0], 0, "request 1 recorded: access for C00001"),
    (UPN_COMMANDS[1], 1, "that pupil's record has no upheld restriction to lift"),
    (UPN_COMMANDS[2], 0, "export written: "),
    (UPN_COMMANDS[3], 0, "")])
def test_every_command_taking_a_upn_takes_it_typed_in_groups_or_lower_case(
        records: Records, argv: list[str], code: int, answered: str) -> None:
    # Import files remove the spaces from UPNs (PRODUCT.md, Import files); a UPN typed
    # as on a form, unquoted, was refused ("unrecognized arguments").
    typed = [upn(1)[:4].lower(), upn(1)[4:8], upn(1)[8:]]
    words = [part for word in argv for part in (typed if word == "{upn}" else [word])]
    result = records(*words)
    assert result.code == code, result.err
    assert answered in (result.out if code == 0 else result.err)
    assert "unrecognized" not in result.err and "not a valid UPN" not in result.err
