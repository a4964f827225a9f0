"""Pupil queries over data brought in by the real imports: folded names, kept figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.domain.attendance import Tally
from bot.importing.service import run_import
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage import pupils
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
UPNS = ("H801200001001", "G80120000101A", "B801200005001")


async def _service(db: Database, settings: Settings, folder: Path) -> Officer:
    officer = await db.write(officer_store.add_officer, ref="EWO1", name="Ann Officer",
                             role="officer", supervisor_ref=None, now=NOW)
    files = {
        "pupils": "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
                  f"{UPNS[0]},Zoë,O’Brien,2016-05-01,5,100001,Hillside Primary School\n"
                  f"{UPNS[1]},Łukasz,Nowak,2012-02-03,9,100002,Riverside Academy\n"
                  f"{UPNS[2]},Seán,Smith-Jones,2017-07-07,4,100001,Hillside Primary School\n",
        "allocations": "upn,officer_ref\n" + "".join(f"{upn},EWO1\n" for upn in UPNS),
    }
    for kind, text in files.items():
        path = folder / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        await run_import(db, kind, path, actor="os:test", today=TODAY, settings=settings,
                         now=NOW)
    return officer


async def _import_marks(db: Database, settings: Settings, path: Path,
                        marks: list[tuple[str, date, str, str]]) -> None:
    rows = "".join(f"{upn},{day.isoformat()},{session},{code}\n"
                   for upn, day, session, code in marks)
    path.write_text("upn,date,session,code\n" + rows, encoding="utf-8")
    await run_import(db, "attendance", path, actor="os:test", today=TODAY, settings=settings,
                     now=NOW)


def _weekdays(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if day.weekday() < 5]


async def test_imported_names_are_found_folded(db: Database, settings: Settings,
                                               tmp_path: Path) -> None:
    officer = await _service(db, settings, tmp_path)
    async def _snapshot(conn: Conn) -> None:
        async def names(query: str) -> list[str]:
            found = await pupils.find_pupils(conn, officer, query, today=TODAY,
                                             year_end=settings.academic_year_end)
            return [pupil.name for pupil in found]

        assert await names("zoe o'b") == ["Zoë O’Brien"]
        assert await names("LUKASZ") == ["Łukasz Nowak"]
        assert await names("sean smith-") == ["Seán Smith-Jones"]
        assert await names("g801 2000 0101a") == ["Łukasz Nowak"]
    await db.read(_snapshot)


async def test_a_pupil_renamed_by_an_import_is_found_by_the_new_names_words_only(
        db: Database, settings: Settings, tmp_path: Path) -> None:
    officer = await _service(db, settings, tmp_path)

    async def names(query: str) -> list[str]:
        found = await db.read(lambda conn: pupils.find_pupils(
            conn, officer, query, today=TODAY, year_end=settings.academic_year_end))
        return [pupil.name for pupil in found]

    async def tails() -> list[str]:
        rows = await db.read(lambda conn: conn.fetchall(
            "SELECT search_tail FROM pupil_name_tails ORDER BY search_tail"))
        return [row[0] for row in rows]

    assert await names("Jones") == ["Seán Smith-Jones"]
    assert await names("sean jo") == ["Seán Smith-Jones"]
    assert await tails() == ["jones"]
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(
        "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
        f"{UPNS[2]},Seán,García de la Cruz,2017-07-07,4,100001,Hillside Primary School\n"
        f"{UPNS[1]},Łukasz,Nowak,2012-02-03,10,100002,Riverside Academy\n",
        encoding="utf-8")
    await run_import(db, "pupils", renamed, actor="os:test", today=TODAY, settings=settings,
                     now=NOW)
    assert await names("Jones") == []
    assert await names("sean jo") == []
    assert await names("cruz") == ["Seán García de la Cruz"]
    assert await names("Sean de la") == ["Seán García de la Cruz"]
    assert await tails() == ["cruz", "delacruz", "lacruz"]  # Nowak's new year: none added


async def test_a_pupil_moved_by_an_import_ends_one_school_span_and_starts_the_next(
        db: Database, settings: Settings, tmp_path: Path) -> None:
    await _service(db, settings, tmp_path)

    async def spans() -> list[tuple[str, str, str, str | None]]:
        rows = await db.read(lambda conn: conn.fetchall(
            "SELECT p.upn, h.school_urn, h.started, h.ended FROM school_history h"
            " JOIN pupils p ON p.id = h.pupil_id ORDER BY p.upn, h.id"))
        return [tuple(row) for row in rows]

    first = TODAY.isoformat()
    assert await spans() == [(UPNS[2], "100001", first, None), (UPNS[1], "100002", first, None),
                             (UPNS[0], "100001", first, None)]
    moved, later = tmp_path / "moved.csv", date(2027, 1, 4)
    moved.write_text(
        "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
        f"{UPNS[0]},Zoë,O’Brien,2016-05-01,5,100002,Riverside Academy\n"
        f"{UPNS[1]},Łukasz,Nowak,2012-02-03,10,100002,Riverside Academy\n",  # same school
        encoding="utf-8")
    await run_import(db, "pupils", moved, actor="os:test", today=later, settings=settings,
                     now=NOW)
    assert await spans() == [(UPNS[2], "100001", first, None), (UPNS[1], "100002", first, None),
                             (UPNS[0], "100001", first, later.isoformat()),
                             (UPNS[0], "100002", later.isoformat(), None)]


async def test_card_figures_equal_the_domain_functions_after_imports(
        db: Database, settings: Settings, tmp_path: Path) -> None:
    officer = await _service(db, settings, tmp_path)
    pattern = ["/", "L", "N", "/", "U", "C", "#", "/", "O", "Y1", "/", "/", "N"]
    days = _weekdays(date(2026, 7, 1), TODAY)  # last summer term and this autumn term
    marks = {(day, session): pattern[(index * 2 + offset) % len(pattern)]
             for index, day in enumerate(days) for offset, session in enumerate(("AM", "PM"))}
    await _import_marks(db, settings, tmp_path / "first.csv",
                        [(UPNS[0], day, session, code) for (day, session), code in marks.items()])
    # A later file corrects a few marks: the figures must follow the replacements.
    corrections = {(day, "AM"): "/" for day in days[-15:]}
    await _import_marks(db, settings, tmp_path / "second.csv",
                        [(UPNS[0], day, session, code)
                         for (day, session), code in corrections.items()])
    marks.update(corrections)

    async def _snapshot(conn: Conn):
        [summary] = await pupils.find_pupils(conn, officer, "zoe", today=TODAY,
                                             year_end=settings.academic_year_end)
        return await pupils.pupil_card(conn, officer, summary.id, today=TODAY,
                                       year_end=settings.academic_year_end)
    card = await db.read(_snapshot)
    assert card is not None
    this_year = Tally.of(code for (day, _s), code in marks.items() if day >= date(2026, 9, 1))
    recent = Tally.of(code for (day, _s), code in marks.items()
                      if day >= TODAY - timedelta(days=27))
    assert card.year == this_year
    assert card.recent == recent
    assert (card.summary.possible, card.summary.attended) == (this_year.possible,
                                                              this_year.attended)
