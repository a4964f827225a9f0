"""Running imports against a real database: all or nothing, idempotent, exact figures."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.attendance import CODES, Tally
from bot.domain.dates import academic_year_of
from bot.importing import service as import_service
from bot.importing.csvfile import ImportRejected
from bot.importing.service import ImportSummary, run_import
from bot.settings import Settings
from bot.storage import audit, rights
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.synthetic import IMPORT_ORDER, generate
from tests.conftest import make_settings
from tests.importing.conftest import UPN_1, UPN_2, UPN_TEMPORARY, WriteFile, problem_lines

TODAY = date(2025, 3, 14)
NOW = datetime(2025, 3, 14, 16, 30, tzinfo=UTC)
ACTOR = "os:tester"
UPN_3 = "Q801200005002"  # valid, never in a pupils file here

PUPILS = (
    "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name,address,sen\n"
    f"{UPN_1},Zoë,Hughes,2014-05-02,6,100001,Hill Primary,1 Lane,K\n"
    f"{UPN_2},Siân,Jones,2013-09-03,6,100001,Hill Primary,,\n"
    f"{UPN_TEMPORARY},José,Silva,2010-01-31,10,100002,Vale Academy,2 Road,N\n"
)


async def importing(db: Database, settings: Settings, kind: str, path: Path,
                    **options: Any) -> ImportSummary:  # fmt: skip
    return await run_import(db, kind, path, actor=ACTOR, today=TODAY, settings=settings,
                            now=NOW, **options)  # fmt: skip


async def dump(db: Database, *, audit_trail: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    async def _snapshot(conn: Conn):
        tables = [row[0] for row in await conn.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]  # fmt: skip
        contents = {}
        for table in tables:
            if table == "audit" and not audit_trail:
                continue
            rows = await conn.fetchall(f"SELECT * FROM {table}")
            contents[table] = sorted((tuple(row) for row in rows), key=repr)
        return contents
    contents = await db.read(_snapshot)
    return contents


async def rows_of(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    async def _snapshot(conn: Conn):
        return [tuple(row) for row in await conn.fetchall(sql, params)]
    return await db.read(_snapshot)


@pytest.fixture
async def officers(db: Database) -> dict[str, int]:
    """A supervisor, two officers (one revoked) and a controller."""
    async def _transaction(conn: Conn):
        made = {}
        for ref, role, supervisor in [("SUP1", "supervisor", None), ("EWO1", "officer", "SUP1"),
                                      ("EWO2", "officer", "SUP1"), ("DPO1", "controller", None)]:
            officer = await officer_store.add_officer(conn, ref=ref, name=f"Name {ref}",
                                                      role=role, supervisor_ref=supervisor,
                                                      now=NOW)  # fmt: skip
            made[ref] = officer.id
        revoked = await officer_store.officer_by_ref(conn, "EWO2")
        assert revoked is not None
        await officer_store.revoke(conn, revoked, now=NOW)
        return made
    made = await db.write(_transaction)
    return made


@pytest.fixture
async def pupils(db: Database, settings: Settings, write_file: WriteFile) -> dict[str, int]:
    await importing(db, settings, "pupils", write_file(PUPILS, "pupils.csv"))
    return dict(await rows_of(db, "SELECT upn, id FROM pupils"))


# --- pupils ------------------------------------------------------------------------------


async def test_pupils_are_added_with_case_references_and_audited(
    db: Database, settings: Settings, write_file: WriteFile
) -> None:
    path = write_file(PUPILS, "pupils.csv")
    summary = await importing(db, settings, "pupils", path)
    assert summary.line() == "pupils: 3 rows; 3 added, 0 updated, 0 unchanged"
    stored = await rows_of(
        db, "SELECT upn, case_ref, search_first, sen, address, postcode, school_urn,"
        " first_imported, last_imported FROM pupils ORDER BY id")  # fmt: skip
    assert stored == [
        (UPN_1, "C00001", "zoe", "K", "1 Lane", None, "100001", "2025-03-14", "2025-03-14"),
        (UPN_2, "C00002", "sian", "N", None, None, "100001", "2025-03-14", "2025-03-14"),
        (UPN_TEMPORARY, "C00003", "jose", "N", "2 Road", None, "100002", "2025-03-14",
         "2025-03-14"),
    ]  # fmt: skip
    assert await rows_of(db, "SELECT urn, name FROM schools ORDER BY urn") == [
        ("100001", "Hill Primary"), ("100002", "Vale Academy")]  # fmt: skip
    async def _snapshot(conn: Conn):
        entries = await conn.fetchall("SELECT actor, action, reason, detail FROM audit")
        assert (await audit.verify(conn)).ok
        return entries
    entries = await db.read(_snapshot)
    actor, action, reason, detail = entries[-1]
    assert (actor, action, reason) == (ACTOR, "import_pupils", "admin_command")
    assert f'"sha256":"{summary.sha256}"' in detail and '"added":3' in detail
    assert "Hughes" not in detail


async def test_pupils_update_in_place_and_absent_columns_are_kept(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int]
) -> None:
    later = TODAY + timedelta(days=3)
    path = write_file(
        "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
        f"{UPN_1},Zoe,Hughes-Ward,2014-05-02,6,100001,Hill Primary School\n"
        f"{UPN_2},Siân,Jones,2013-09-03,6,100001,Hill Primary School\n", "later.csv")  # fmt: skip
    summary = await run_import(db, "pupils", path, actor=ACTOR, today=later, settings=settings)
    assert summary.counts == {"added": 0, "updated": 1, "unchanged": 1}
    stored = await rows_of(
        db, "SELECT first_name, last_name, search_last, address, sen, case_ref, first_imported,"
        " last_imported FROM pupils WHERE upn = ?", UPN_1)  # fmt: skip
    assert stored == [("Zoe", "Hughes-Ward", "hughesward", "1 Lane", "K", "C00001",
                       "2025-03-14", "2025-03-17")]  # fmt: skip
    assert await rows_of(db, "SELECT name FROM schools WHERE urn = '100001'") == [
        ("Hill Primary School",)]  # fmt: skip
    untouched = await rows_of(db, "SELECT last_imported FROM pupils WHERE upn = ?", UPN_TEMPORARY)
    assert untouched == [("2025-03-14",)]  # absent from the file: nothing deleted or touched


# --- all or nothing, and idempotent -------------------------------------------------------


async def test_a_bad_last_row_leaves_the_database_exactly_as_it_was(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int]
) -> None:
    before = await dump(db)
    path = write_file(
        PUPILS.replace("Zoë", "Zoë-Mai") + f"{UPN_1[:-1]}9,Canary,Bad,2014-05-02,6,1,S,,\n")
    with pytest.raises(ImportRejected) as caught:
        await importing(db, settings, "pupils", path)
    assert problem_lines(caught.value) == [
        "line 5, column upn: is not a valid UPN (13 characters with a matching check letter)"]
    assert await dump(db) == before


async def test_a_failure_while_writing_rolls_everything_back(
    db: Database, settings: Settings, write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await dump(db)

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(RuntimeError):
        await importing(db, settings, "pupils", write_file(PUPILS))
    assert await dump(db) == before


async def test_importing_the_same_files_twice_changes_nothing(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    service = generate(tmp_path / "files", seed=5, pupils=60, today=TODAY)
    await db.write(officer_store.add_officers, service.officers, now=NOW)
    first = [await importing(db, settings, kind, service.files[kind]) for kind in IMPORT_ORDER]
    assert first[3].counts["added"] == service.marks
    before = await dump(db, audit_trail=False)
    again = [await importing(db, settings, kind, service.files[kind]) for kind in IMPORT_ORDER]
    assert await dump(db, audit_trail=False) == before
    for summary in again:
        changed = {k: n for k, n in summary.counts.items()
                   if k not in ("unchanged", "no_mark", "not_held") and n}  # fmt: skip
        assert changed == {}, summary.line()
    assert [summary.sha256 for summary in again] == [summary.sha256 for summary in first]


# --- contacts --------------------------------------------------------------------------


async def test_contacts_for_pupils_not_held_are_skipped_and_counted(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int]
) -> None:
    path = write_file(
        "upn,name,relationship,phone,priority\n"
        f"{UPN_1},Jane Hughes,Mother,07700 900123,1\n"
        f"{UPN_3},Someone Else,Father,,\n"
        f"{UPN_2},Rhys Jones,Father,,2\n")  # fmt: skip
    summary = await importing(db, settings, "contacts", path)
    assert summary.counts == {"added": 2, "updated": 0, "unchanged": 0, "not_held": 1}
    assert summary.line().endswith("; skipped 1 for pupils not held")
    later = write_file(
        "upn,name,relationship,email\n"
        f"{UPN_1},JANE  HUGHES,Mother,jane@example.org\n", "later.csv")  # fmt: skip
    summary = await importing(db, settings, "contacts", later)
    assert summary.counts == {"added": 0, "updated": 1, "unchanged": 0, "not_held": 0}
    stored = await rows_of(db, "SELECT name, phone, email, priority FROM contacts"
                               " WHERE pupil_id = ?", pupils[UPN_1])  # fmt: skip
    assert stored == [("JANE  HUGHES", "07700 900123", "jane@example.org", 1)]


# --- attendance ------------------------------------------------------------------------


def marks_file(rows: list[tuple[str, date, str, str]]) -> str:
    return "upn,date,session,code\n" + "".join(
        f"{upn},{day.isoformat()},{session},{code}\n" for upn, day, session, code in rows)


def figures(tally: Tally) -> tuple[int, ...]:
    return (tally.possible, tally.attended, tally.authorised, tally.unauthorised,
            tally.lates_l, tally.lates_u)  # fmt: skip


async def assert_figures_match_the_marks(db: Database, settings: Settings) -> None:
    """pupil_stats, kept by difference, equals a recount from every mark held."""
    marks = await rows_of(db, "SELECT pupil_id, date, code FROM marks")
    codes: dict[tuple[int, int], list[str]] = defaultdict(list)
    latest: dict[tuple[int, int], str] = {}
    for pupil, day, code in marks:
        key = (pupil, academic_year_of(date.fromisoformat(day), settings.academic_year_end))
        codes[key].append(code)
        latest[key] = max(latest.get(key, ""), day)
    expected = {key: (*figures(Tally.of(found)), latest[key]) for key, found in codes.items()}
    stats = await rows_of(
        db, "SELECT pupil_id, academic_year, possible, attended, authorised, unauthorised,"
        " lates_l, lates_u, latest_mark FROM pupil_stats")  # fmt: skip
    assert {(row[0], row[1]): row[2:] for row in stats} == expected


async def test_a_later_mark_replaces_an_earlier_one_and_figures_stay_exact(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int]
) -> None:
    monday = date(2025, 3, 10)
    first = write_file(marks_file([
        (UPN_1, monday, "AM", "N"), (UPN_1, monday, "PM", "N"),
        (UPN_1, monday + timedelta(days=1), "AM", "/"),
        (UPN_1, date(2024, 7, 1), "AM", "L"),  # the academic year before
    ]), "first.csv")  # fmt: skip
    summary = await importing(db, settings, "attendance", first)
    assert summary.counts == {"added": 4, "replaced": 0, "unchanged": 0, "no_mark": 0,
                              "not_held": 0}  # fmt: skip
    second = write_file(marks_file([
        (UPN_1, monday, "AM", "M"),  # replaces N
        (UPN_1, monday, "PM", "N"),  # as held
        (UPN_1, monday + timedelta(days=1), "PM", "U"),  # new
    ]), "second.csv")  # fmt: skip
    summary = await importing(db, settings, "attendance", second)
    assert (summary.counts["added"], summary.counts["replaced"], summary.counts["unchanged"]) == (
        1, 1, 1)  # fmt: skip
    pupil = pupils[UPN_1]
    stats = await rows_of(
        db, "SELECT academic_year, possible, attended, authorised, unauthorised, lates_l,"
        " lates_u, latest_mark FROM pupil_stats WHERE pupil_id = ? ORDER BY 1", pupil)  # fmt: skip
    assert stats == [(2024, 1, 1, 0, 0, 1, 0, "2024-07-01"),
                     (2025, 4, 1, 1, 2, 0, 1, "2025-03-11")]  # fmt: skip
    await assert_figures_match_the_marks(db, settings)


async def test_figures_stay_exact_over_many_random_imports(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int]
) -> None:
    rng = random.Random(11)
    days = [date(2025, 3, 3) + timedelta(days=n) for n in range(10)]
    days += [date(2024, 8, 28), date(2024, 9, 2)]  # either side of the year's end
    codes = [*CODES, "-"]
    for number in range(12):
        keys = rng.sample([(u, d, s) for u in (UPN_1, UPN_2) for d in days for s in ("AM", "PM")],
                          rng.randint(1, 30))  # fmt: skip
        rows = [(upn, day, session, rng.choice(codes)) for upn, day, session in keys]
        await importing(db, settings, "attendance", write_file(marks_file(rows), f"{number}.csv"))
        await assert_figures_match_the_marks(db, settings)


async def test_marks_import_into_an_encrypted_database(
    tmp_path: Path, write_file: WriteFile
) -> None:
    """A first import's marks are unpacked by SQLite (json_each): SQLCipher's too."""
    settings = make_settings(tmp_path, database_key="k3y")
    db = await Database.open(settings)
    try:
        await importing(db, settings, "pupils", write_file(PUPILS, "pupils.csv"))
        monday = date(2025, 3, 10)
        rows = [(UPN_1, monday + timedelta(days=n), session, code)
                for n, code in enumerate(["/", "\\", "N", "L"]) for session in ("AM", "PM")]
        summary = await importing(db, settings, "attendance", write_file(marks_file(rows)))
        assert summary.counts["added"] == 8
        assert await rows_of(db, "SELECT date, session, code FROM marks ORDER BY 1, 2") == [
            (day.isoformat(), session, code) for _, day, session, code in sorted(rows)]
        await assert_figures_match_the_marks(db, settings)
    finally:
        await db.close()


async def test_marks_for_pupils_not_held_are_skipped_and_counted(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int]
) -> None:
    path = write_file(marks_file([
        (UPN_1, TODAY, "AM", "/"), (UPN_3, TODAY, "AM", "/"), (UPN_3, TODAY, "PM", "N"),
        (UPN_1, TODAY, "PM", "-"), (UPN_1, TODAY + timedelta(days=3), "AM", "-"),
    ]))  # fmt: skip
    summary = await importing(db, settings, "attendance", path)
    assert summary.counts == {"added": 1, "replaced": 0, "unchanged": 0, "no_mark": 2,
                              "not_held": 2}  # fmt: skip
    assert summary.line() == ("attendance: 5 rows; 1 added, 0 replaced, 0 unchanged;"
                              " skipped 2 without a mark, 2 for pupils not held")  # fmt: skip
    assert await rows_of(db, "SELECT count(*) FROM marks") == [(1,)]


async def test_the_alert_hook_gets_the_pupils_whose_marks_changed(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    calls: list[tuple[list[int], bool, bool]] = []

    async def hook(conn: Any, pupil_ids: Any, *, baseline: bool, **context: Any) -> None:
        calls.append((sorted(pupil_ids), baseline, conn.writable))

    monkeypatch.setattr(import_service, "evaluate_alerts", hook)
    path = write_file(marks_file([(UPN_1, TODAY, "AM", "/"), (UPN_2, TODAY, "AM", "N")]))
    await importing(db, settings, "attendance", path, baseline=True)
    await importing(db, settings, "attendance", path)
    assert calls == [(sorted([pupils[UPN_1], pupils[UPN_2]]), True, True), ([], False, True)]


async def test_importing_records_the_date_for_retention(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int]
) -> None:
    later = TODAY + timedelta(days=30)
    path = write_file(marks_file([(UPN_2, TODAY, "AM", "/")]))
    await run_import(db, "attendance", path, actor=ACTOR, today=later, settings=settings)
    stored = dict(await rows_of(db, "SELECT upn, last_imported FROM pupils"))
    assert stored == {UPN_1: "2025-03-14", UPN_2: "2025-04-13", UPN_TEMPORARY: "2025-03-14"}


# --- allocations -----------------------------------------------------------------------


async def test_allocations_allocate_reallocate_and_end(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int],
    officers: dict[str, int],
) -> None:  # fmt: skip
    first = write_file(f"upn,officer_ref\n{UPN_1},EWO1\n{UPN_2},SUP1\n", "first.csv")
    summary = await importing(db, settings, "allocations", first)
    assert summary.counts == {"allocated": 2, "reallocated": 0, "ended": 0, "unchanged": 0}
    second = write_file(f"upn,officer_ref\n{UPN_1},SUP1\n{UPN_2},\n{UPN_TEMPORARY},\n", "2.csv")
    summary = await importing(db, settings, "allocations", second)
    assert summary.counts == {"allocated": 0, "reallocated": 1, "ended": 1, "unchanged": 1}
    assert await rows_of(db, "SELECT pupil_id, officer_id, allocated_at FROM allocations") == [
        (pupils[UPN_1], officers["SUP1"], "2025-03-14T16:30:00.000000+00:00")]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (f"{UPN_3},EWO1", "column upn: is not a pupil the service holds"),
        (f"{UPN_2},DPO1", "column officer_ref: is a controller, who holds no pupils"),
        (f"{UPN_2},EWO2", "column officer_ref: is a revoked officer"),
        (f"{UPN_2},Canary", "column officer_ref: is not an officer"),
        (f"{UPN_3},Canary", "column upn: is not a pupil the service holds (import the pupil"
                            " first); column officer_ref: is not an officer"),
    ],
)  # fmt: skip
async def test_allocation_rows_the_database_refuses(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int],
    officers: dict[str, int], row: str, expected: str,
) -> None:  # fmt: skip
    before = await dump(db)
    path = write_file(f"upn,officer_ref\n{UPN_1},EWO1\n{row}\n")
    with pytest.raises(ImportRejected) as caught:
        await importing(db, settings, "allocations", path)
    (line,) = problem_lines(caught.value)
    assert line.startswith(f"line 3, {expected}")
    assert "canary" not in str(caught.value).casefold()
    assert await dump(db) == before


# --- visits ----------------------------------------------------------------------------

VISITS = "upn,officer_ref,date,type,outcome,reason,action,follow_up,notes\n"


async def test_visits_are_added_once_and_may_name_a_revoked_officer(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int],
    officers: dict[str, int],
) -> None:  # fmt: skip
    path = write_file(
        VISITS + f"{UPN_1},EWO1,2025-03-03,Home visit,Parent/carer seen,Illness,"
        "Follow-up visit,2025-03-17,Spoke to mum\n"
        f"{UPN_1},EWO2,2025-02-03,Letter,,,,,\n")  # fmt: skip
    summary = await importing(db, settings, "visits", path)
    assert summary.counts == {"added": 2, "unchanged": 0}
    assert (await importing(db, settings, "visits", path)).counts == {"added": 0, "unchanged": 2}
    stored = await rows_of(
        db, "SELECT officer_id, visit_date, type, contact, reason, action, follow_up, notes,"
        " source, supersedes FROM visits ORDER BY visit_date")  # fmt: skip
    assert stored == [
        (officers["EWO2"], "2025-02-03", "letter", None, None, None, None, None, "import", None),
        (officers["EWO1"], "2025-03-03", "home", "parent", "illness", "followup", "2025-03-17",
         "Spoke to mum", "import", None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (f"{UPN_3},EWO1,2025-03-03,Letter,,,,,", "column upn: is not a pupil the service holds"),
        (f"{UPN_1},DPO1,2025-03-03,Letter,,,,,", "column officer_ref: is a controller"),
        (f"{UPN_1},NOBODY,2025-03-03,Letter,,,,,", "column officer_ref: is not an officer"),
    ],
)
async def test_visit_rows_the_database_refuses(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int],
    officers: dict[str, int], row: str, expected: str,
) -> None:  # fmt: skip
    before = await dump(db)
    with pytest.raises(ImportRejected) as caught:
        await importing(db, settings, "visits", write_file(VISITS + row + "\n"))
    (line,) = problem_lines(caught.value)
    assert line.startswith(f"line 2, {expected}")
    assert await dump(db) == before


@pytest.mark.parametrize(("kind", "rows"), [
    ("visits", VISITS + f"{UPN_2},EWO1,2025-03-03,Letter,,,,,\n"
                        f"{UPN_1},EWO1,2025-03-03,Letter,,,,,\n"),
    ("notices", "upn,contact_name,kind,issued\n"
                f"{UPN_2},Al Jones,pn,2024-09-02\n{UPN_1},Jo Hughes,nti,2024-09-02\n"),
])
async def test_nothing_is_recorded_about_a_restricted_record(
    db: Database, settings: Settings, write_file: WriteFile, pupils: dict[str, int],
    officers: dict[str, int], kind: str, rows: str,
) -> None:  # fmt: skip
    await importing(db, settings, "contacts", write_file(
        f"upn,name,relationship,parental_responsibility\n{UPN_1},Jo Hughes,Mother,Y\n"
        f"{UPN_2},Al Jones,Father,Y\n", "contacts.csv"))
    await db.write(rights.add, UPN_1, "restriction", TODAY, actor=ACTOR, now=NOW)
    before = await dump(db)
    with pytest.raises(ImportRejected) as caught:
        await importing(db, settings, kind, write_file(rows))
    assert problem_lines(caught.value) == [
        "line 3, column upn: is a pupil whose record is restricted: no visit or step is"
        " recorded (ask the controller)"]
    assert await dump(db) == before


async def test_only_attendance_has_a_baseline(
    db: Database, settings: Settings, write_file: WriteFile
) -> None:
    with pytest.raises(ValueError):
        await importing(db, settings, "pupils", write_file(PUPILS), baseline=True)
    with pytest.raises(ValueError):
        await importing(db, settings, "schools", write_file(PUPILS))
