"""Subject-access exports: every row about the pupil, none about another, written safely."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.domain.dates import YearEnd
from bot.domain.text import search_tails
from bot.settings import Settings
from bot.storage import audit, rights
from bot.storage.db import Conn, Database
from bot.storage.sar import SubjectAccessProblem, export_subject_access
from tests.e2e.retention_files import upn
from tests.held import held_write
from tests.storage.retention_seed import Seed
from tests.storage.test_retention import pupil_tables

NOW = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


def rows_in_export(document: dict, table: str) -> int:
    """How many rows of `table` the export shows (every table about pupils is here)."""
    sections = {
        "pupils": lambda: 1,
        "contacts": lambda: len(document["contacts"]),
        "marks": lambda: len(document["marks"]["sessions"]),
        "pupil_stats": lambda: len(document["stored_figures"]),
        "rule_states": lambda: len(document["alert_rules"]),
        "visits": lambda: len(document["visits"]),
        "pathway_steps": lambda: len(document["pathway_steps"]),
        "pathway_outcomes": lambda: len(document["pathway_outcomes"]),
        "alerts": lambda: len(document["alerts"]),
        "holds": lambda: len(document["holds"]),
        "outbox_pupils": lambda: len(document["messages"]),
        "conversations": lambda: len(document["drafts"]),
        "kept_request_pupils": lambda: len(document["kept_requests"]),
        "retention_reminders": lambda: len(document["retention_reminders"]),
        "pathway_reminders": lambda: len(document["pathway_reminders"]),
        "rights_requests": lambda: len(document["rights_requests"]),
        "sharing_log": lambda: len(document["recipients"]["sharing_log"]),
        "allocations": lambda: int(document["pupil"]["allocation"] is not None),
        "allocation_history": lambda: len(document["pupil"]["allocation_history"]),
        "school_history": lambda: len(document["pupil"]["school_history"]),
        # Search keys made from the last name shown, as search_last is: not listed apart.
        "pupil_name_tails": lambda: len(search_tails(document["pupil"]["last_name"])),
    }
    return sections[table]()


@pytest.fixture
async def two_pupils(db: Database) -> tuple[int, int]:
    seed = Seed(db)
    officer = await seed.officer("EWO1")
    subject = await seed.pupil(imported=date(2024, 3, 1), first="Zebediah",
                               last="Quuxworth-Vimbleton", upn=upn(1), officer=officer)
    await seed.full_record(subject, officer, "Zebediah Quuxworth")
    colleague = await seed.officer("EWO2")  # one open conversation per officer
    other = await seed.pupil(imported=date(2024, 3, 1), first="Otto", last="Otherperson",
                             upn=upn(2), officer=colleague)
    await seed.full_record(other, colleague, "Otto Otherperson")
    return subject, other


async def test_every_row_about_the_pupil_and_none_about_another(
        db: Database, settings: Settings, two_pupils: tuple[int, int]) -> None:
    subject, other = two_pupils
    export = await export_subject_access(db, settings, upn(1).lower(), actor="os:dpo", now=NOW)
    text = export.path.read_text(encoding="utf-8")
    document = json.loads(text)
    async def _snapshot(conn: Conn) -> None:
        for table in pupil_tables(settings):
            column = "id" if table == "pupils" else "pupil_id"
            held = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = ?",
                                       (subject,))
            assert rows_in_export(document, table) == held, table
    await db.read(_snapshot)
    assert "Otto" not in text and "Otherperson" not in text and upn(2) not in text
    assert f'"pupil:{other}"' not in text
    assert document["pupil"]["first_name"] == "Zebediah"
    assert "Zebediah Quuxworth's mother" in text  # the visit notes are there
    assert export.counts["contacts"] == 2 and export.counts["visits"] == 1


async def test_the_document_reads_summary_first_then_each_part(
        db: Database, settings: Settings, two_pupils: tuple[int, int]) -> None:
    subject, _ = two_pupils
    export = await export_subject_access(db, settings, upn(1), actor="os:dpo", now=NOW)
    document = json.loads(export.path.read_text(encoding="utf-8"))
    keys = list(document)
    assert keys[0] == "summary"
    for earlier, later in [("pupil", "contacts"), ("contacts", "marks"), ("marks", "visits"),
                           ("visits", "alerts"), ("alerts", "holds"), ("holds", "audit"),
                           ("audit", "purposes"), ("purposes", "recipients"),
                           ("recipients", "retention_deadline"), ("retention_deadline", "source")]:
        assert keys.index(earlier) < keys.index(later)
    assert document["summary"].startswith("Subject-access export for case C00001, made ")
    assert "response due by 25/12/2026" in document["summary"]
    assert all(contact["third_party"] is True for contact in document["contacts"])
    assert document["marks"]["figures"] == [{
        "academic_year": "2023/24", "from": "2023-09-01", "to": "2024-08-31", "possible": 4,
        "attended": 2, "authorised": 1, "unauthorised": 1, "lates": 1, "attendance": "50.0 %"}]
    assert document["visits"][0]["type"] == "Home visit"
    assert document["retention_deadline"] == "2025-08-31"
    assert document["purposes"] and document["recipients"] and document["source"]
    exported = [entry for entry in document["audit"] if entry["action"] == "sar_export"]
    assert exported == [{"seq": exported[0]["seq"], "at": "2026-11-25T10:30:00+00:00",
                         "actor": "os:dpo", "action": "sar_export",
                         "target": f"pupil:{subject}", "reason": "subject_access",
                         "detail": {"request": export.request_id}}]


async def test_the_request_is_recorded_and_the_file_kept_private(
        db: Database, settings: Settings, two_pupils: tuple[int, int]) -> None:
    export = await export_subject_access(db, settings, upn(1), actor="os:dpo", now=NOW)
    assert export.path.parent == settings.export_dir
    assert export.path.name == "sar-C00001-20261125-103000.json"
    assert stat.S_IMODE(export.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.export_dir.stat().st_mode) == 0o700
    async def _snapshot(conn: Conn):
        request = await conn.fetchone("SELECT * FROM subject_access_requests"
                                      " ORDER BY id DESC LIMIT 1")  # the seed holds two
        (entry,) = [e for e in await audit.entries(conn) if e.action == "sar_export"]
        return entry, request
    entry, request = await db.read(_snapshot)
    assert (request["received"], request["due"]) == ("2026-11-25", "2026-12-25")
    assert (request["export_file"], request["requested_by"]) == (export.path.name, "os:dpo")
    assert request["pupil_ref"] == entry.target == f"pupil:{two_pupils[0]}"
    assert (export.received, export.due) == (date(2026, 11, 25), date(2026, 12, 25))


async def test_an_existing_file_is_kept_unless_forced(db: Database, settings: Settings,
                                                      two_pupils: tuple[int, int],
                                                      tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    out.write_text("keep me")
    with pytest.raises(SubjectAccessProblem, match="already exists; add --force"):
        await export_subject_access(db, settings, upn(1), actor="os:dpo", now=NOW, out=out)
    assert out.read_text() == "keep me"
    await export_subject_access(db, settings, upn(1), actor="os:dpo", now=NOW, out=out,
                                force=True)
    assert json.loads(out.read_text())["pupil"]["upn"] == upn(1)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.parametrize(("typed", "problem"), [
    (upn(99), "no pupil with that UPN is held"),
    ("not-a-upn", "that is not a valid UPN"),
])
async def test_nothing_is_recorded_for_an_unknown_upn(db: Database, settings: Settings,
                                                      two_pupils: tuple[int, int], typed: str,
                                                      problem: str) -> None:
    with pytest.raises(SubjectAccessProblem) as raised:
        await export_subject_access(db, settings, typed, actor="os:dpo", now=NOW)
    assert str(raised.value) == problem
    async def _snapshot(conn: Conn) -> None:
        assert await conn.fetchval("SELECT count(*) FROM subject_access_requests"
                                   " WHERE requested_by = 'os:dpo'") == 0  # the seed's stay
    await db.read(_snapshot)
    assert not settings.export_dir.exists() or not any(settings.export_dir.iterdir())


async def test_only_a_controller_may_ask_in_the_chat(db: Database, settings: Settings,
                                                     two_pupils: tuple[int, int]) -> None:
    seed = Seed(db)
    officer = await seed.officer("EWO9")
    controller = await seed.officer("DPO1", "controller")
    with pytest.raises(SubjectAccessProblem):
        await export_subject_access(db, settings, upn(1), actor=officer.actor, now=NOW,
                                    requester=officer)
    export = await export_subject_access(db, settings, upn(1), actor=controller.actor, now=NOW,
                                         requester=controller)
    assert export.path.exists()


async def test_the_statement_is_exported_and_the_request_listed_as_access(
        db: Database, settings: Settings, two_pupils: tuple[int, int]) -> None:
    export = await export_subject_access(db, settings, upn(1), actor="os:dpo", now=NOW)
    document = json.loads(export.path.read_text(encoding="utf-8"))
    statements = [r["statement"] for r in document["rights_requests"] if r["statement"]]
    assert statements == ["Zebediah Quuxworth says the address was out of date"]
    async with held_write(db) as conn:
        listed = await rights.listing(conn, open_only=True)
    assert [(r.kind, r.case_ref, r.received, r.due) for r in listed] == [
        ("access", "C00001", date(2026, 11, 25), date(2026, 12, 25))]


async def test_a_listing_that_showed_other_pupils_too_names_only_the_subject(
        db: Database, settings: Settings, two_pupils: tuple[int, int]) -> None:
    subject, other = two_pupils
    async def _transaction(conn: Conn) -> None:  # a search that matched both pupils
        await audit.append_many(conn, [audit.listing(
            actor="officer:EWO1", reason="pupil_command", pupil_ids=[other, subject],
            detail={"page": 0})], at=NOW)
    await db.write(_transaction)
    export = await export_subject_access(db, settings, upn(1), actor="os:dpo", now=NOW)
    text = export.path.read_text(encoding="utf-8")
    (shown,) = [entry for entry in json.loads(text)["audit"]
                if entry["action"] == audit.LISTING]
    assert shown["detail"] == {"page": 0, "targets": [f"pupil:{subject}"]}
    assert f'"pupil:{other}"' not in text


async def test_a_calendar_academic_year_is_labelled_by_its_one_year(
        db: Database, settings: Settings, two_pupils: tuple[int, int]) -> None:
    """EWO_ACADEMIC_YEAR_END=12-31: the year runs 1 January to 31 December."""
    calendar_years = settings.model_copy(update={"academic_year_end": YearEnd(12, 31)})
    export = await export_subject_access(db, calendar_years, upn(1), actor="os:dpo", now=NOW)
    figures = json.loads(export.path.read_text(encoding="utf-8"))["marks"]["figures"]
    assert [(f["academic_year"], f["from"], f["to"]) for f in figures] == [
        ("2024", "2024-01-01", "2024-12-31")]
