"""The sharing log on the command line: every rights decision prints the record's
recipients (Article 19), and `ewobot ropa` counts recipients of the last 12 months."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_records import Records
from tests.conftest import make_settings
from tests.e2e.retention_files import upn

# (pupil, recipient, typed name, decision, date): the day is 25/11/2026.
ENTRIES = (
    (1, "police", None, "shared", "2026-10-01"),
    (1, "police", None, "shared", "2026-11-20"),        # the same agency again: once
    (1, "school", None, "shared", "2025-10-01"),        # over 12 months ago
    (1, "housing", None, "not_shared", "2026-11-01"),   # nothing was disclosed
    (2, "police", None, "shared", "2026-06-01"),
    (2, "other", "Zebediah's Uncle Trust", "shared", "2026-09-30"),
)


@pytest.fixture
def records(tmp_path: Path) -> Records:
    records = Records(make_settings(tmp_path))
    raw = records.raw()
    officer = raw.execute("SELECT id FROM officers WHERE ref = 'EWO1'").fetchone()[0]
    for pupil, recipient, other, decision, day in ENTRIES:
        basis = "public_task" if decision == "shared" else None
        raw.execute(
            "INSERT INTO sharing_log (pupil_id, officer_id, recipient, recipient_other,"
            " decision, items, lawful_basis, reason, shared_on, saved_at)"
            " VALUES (?, ?, ?, ?, ?, 'attendance', ?, 'safeguarding', ?, ?)",
            (pupil, officer, recipient, other, decision, basis, day, f"{day}T10:00:00+00:00"))
    # A correction: the later entry supersedes the earlier one, which no longer counts.
    wrong = raw.execute(
        "INSERT INTO sharing_log (pupil_id, officer_id, recipient, decision, items,"
        " lawful_basis, reason, shared_on, saved_at) VALUES (1, ?, 'camhs', 'shared',"
        " 'attendance', 'consent', 'referral', '2026-11-10', '2026-11-10T10:00:00+00:00')",
        (officer,)).lastrowid
    raw.execute(
        "INSERT INTO sharing_log (pupil_id, officer_id, recipient, decision, items,"
        " lawful_basis, reason, shared_on, saved_at, supersedes) VALUES (1, ?, 'early_help',"
        " 'shared', 'attendance', 'consent', 'referral', '2026-11-10',"
        " '2026-11-11T10:00:00+00:00', ?)", (officer, wrong))
    raw.commit()
    raw.close()
    return records


def test_a_rights_decision_prints_the_recipients(records: Records) -> None:
    assert records("requests", "add", upn(1), "--kind", "erasure").code == 0
    decided = records("requests", "decide", "1", "--uphold", "--reason", "request_valid")
    assert (decided.code, decided.err) == (0, "")
    assert decided.out.splitlines() == [
        "request 1 upheld: erasure for C00001",
        "shared with: Early help (last 10/11/2026), Police (last 20/11/2026), "
        "School (last 01/10/2025)"]
    assert records("requests", "add", upn(2), "--kind", "objection").code == 0
    rejected = records("requests", "decide", "2", "--reject", "--reason", "legal_claims")
    assert rejected.out.splitlines()[1] == (
        "shared with: Other: Zebediah's Uncle Trust (last 30/09/2026), "
        "Police (last 01/06/2026)")


def test_ropa_counts_the_last_12_months_recipients(records: Records) -> None:
    result = records("ropa")
    assert (result.code, result.err) == (0, "")
    section = result.out.split("## Recipients (last 12 months)\n\n")[1].split("\n\n")[0]
    assert section.splitlines() == ["- Early help: 1", "- Other: 1", "- Police: 2"]
    assert "- sharing decisions: 8" in result.out.splitlines()  # every entry held
    assert "Zebediah" not in result.out and "Uncle" not in result.out
