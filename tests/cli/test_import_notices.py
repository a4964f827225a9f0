"""`ewobot import notices`: an issued history brought in all or nothing, once, audited,
and counted per parent per child from day one (issue 19)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date
from pathlib import Path

from bot.domain import penalty_notices as rules
from bot.domain.penalty_notices import Notice
from tests.cli.conftest import Cli
from tests.cli.test_imports import PUPILS, UPN_1, UPN_2, write

CONTACTS = (
    "upn,name,relationship,parental_responsibility\n"
    f"{UPN_1},Jo Hughes,Mother,Y\n"
    f"{UPN_1},Al Hughes,Father,Y\n"
    f"{UPN_2},Pat Jones,Mother,Y\n"
)
HEADER = "upn,contact_name,kind,issued,outcome,outcome_date\n"
HISTORY = (
    HEADER
    + f"{UPN_1},Jo Hughes,nti,2024-09-02,,\n"
    + f"{UPN_1},jo  hughes,pn,2024-10-07,paid,2024-10-20\n"
    + f"{UPN_1},Jo Hughes,pn,2025-06-02,,\n"
    + f"{UPN_1},Al Hughes,pn,2025-06-02,withdrawn,2025-06-10\n"
)


def _service(cli: Cli, tmp_path: Path) -> None:
    assert cli("import", "pupils", write(tmp_path, "pupils.csv", PUPILS)).code == 0
    assert cli("import", "contacts", write(tmp_path, "contacts.csv", CONTACTS)).code == 0


def _notices(cli: Cli) -> dict[str, list[Notice]]:
    """What the database holds, as the eligibility function reads it, by contact name."""
    with sqlite3.connect(cli.settings.database) as raw:
        rows = raw.execute(
            "SELECT c.name, s.kind, s.step_date,"
            " (SELECT group_concat(o.outcome) FROM pathway_outcomes o"
            "   WHERE o.step_id = s.id AND o.outcome <> 'issued')"
            " FROM pathway_steps s JOIN pathway_parents pp ON pp.step_id = s.id"
            " JOIN contacts c ON c.id = pp.contact_id ORDER BY s.step_date, c.name").fetchall()
    found: dict[str, list[Notice]] = {}
    for name, kind, issued, outcomes in rows:
        last = outcomes.split(",")[-1] if outcomes else None
        found.setdefault(name, []).append(Notice(
            0, "nti" if kind == "nti" else "pn", date.fromisoformat(issued), last))
    return found


def test_a_history_is_imported_once_and_counted_per_parent(cli: Cli, tmp_path: Path) -> None:
    _service(cli, tmp_path)
    path = write(tmp_path, "notices.csv", HISTORY)
    result = cli("import", "notices", path)
    assert (result.code, result.err) == (0, "")
    assert result.out == "notices: 4 rows; 4 added, 0 updated, 0 unchanged\n"
    assert cli("import", "notices", path).out == (
        "notices: 4 rows; 0 added, 0 updated, 4 unchanged\n")
    later = write(tmp_path, "later.csv", HEADER + f"{UPN_1},Jo Hughes,pn,2025-06-02,unpaid,"
                                                  "2025-07-01\n")
    assert cli("import", "notices", later).out == (
        "notices: 1 row; 0 added, 1 updated, 0 unchanged\n")
    held = _notices(cli)
    mum, dad = held["Jo Hughes"], held["Al Hughes"]
    assert [(n.kind, n.outcome) for n in mum] == [("nti", None), ("pn", "paid"),
                                                   ("pn", "unpaid")]
    today = date(2026, 3, 10)
    assert not rules.eligibility(mum, 0, today).allowed  # a third is refused
    assert rules.eligibility(dad, 0, today).ordinal == 1  # the withdrawn one is not counted
    with sqlite3.connect(cli.settings.database) as raw:
        details = [json.loads(d) for (d,) in raw.execute(
            "SELECT detail FROM audit WHERE action = 'import_notices' ORDER BY seq")]
    assert details[0] == {"kind": "notices", "rows": 4, "added": 4, "updated": 0,
                          "unchanged": 0, "sha256": hashlib.sha256(HISTORY.encode()).hexdigest()}
    assert len(details) == 3


def test_an_unknown_contact_or_pupil_is_a_bad_row_and_nothing_is_imported(
        cli: Cli, tmp_path: Path) -> None:
    _service(cli, tmp_path)
    path = write(tmp_path, "notices.csv", (
        HEADER
        + f"{UPN_1},Jo Hughes,pn,2025-01-06,,\n"
        + f"{UPN_2},Jo Hughes,pn,2025-01-06,,\n"  # Jo is a contact of the other pupil
        + "H801200009001,Jo Hughes,pn,2025-01-06,,\n"
        + f"{UPN_1},Canary Person,pn,2025-13-06,,\n"))
    result = cli("import", "notices", path)
    assert result.code == 1
    assert result.err.splitlines() == [
        "3 bad rows in the file; nothing was imported",
        "line 3, column contact_name: is not a contact of this pupil (import contacts first)",
        "line 4, column upn: is not a valid UPN (13 characters with a matching check letter)",
        "line 5, column issued: is not a date (use YYYY-MM-DD or DD/MM/YYYY);"
        " column contact_name: is not a contact of this pupil (import contacts first)",
    ]
    assert "Canary" not in result.err
    with sqlite3.connect(cli.settings.database) as raw:
        assert raw.execute("SELECT count(*) FROM pathway_steps").fetchone() == (0,)
