"""Pupils, officers, marks and visits written straight into the tables the imports fill,
for tests of the queries that read them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from bot.domain.attendance import Tally
from bot.domain.dates import YearEnd, academic_year_of
from bot.domain.text import search_key
from bot.storage import officers as officer_store
from bot.storage.db import Conn, placed_as_corrected, stamp
from bot.storage.imports import save_name_tails
from bot.storage.officers import Officer

TODAY = date(2026, 11, 25)
YEAR_END = YearEnd(8, 31)
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class Service:
    """A tiny service written straight into the tables the imports fill."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.serial = 0

    async def officer(self, ref: str, role: str = "officer",
                      supervisor: str | None = None) -> Officer:
        return await officer_store.add_officer(self.conn, ref=ref, name=f"Officer {ref}",
                                               role=role, supervisor_ref=supervisor, now=NOW)

    async def pupil(self, first: str, last: str, *, officer: Officer | None,
                    upn: str | None = None, school: str = "Hillside Primary School",
                    year_group: str = "5", sen: str = "N",
                    health: str | None = None) -> int:
        self.serial += 1
        await self.conn.execute(
            "INSERT INTO schools (urn, name) VALUES (?, ?) ON CONFLICT (urn) DO NOTHING",
            (str(100000 + len(school)), school))
        pupil_id = await self.conn.insert(
            "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
            " search_last, date_of_birth, year_group, school_urn, address, postcode, sen,"
            " health_needs, first_imported, last_imported)"
            " VALUES (?, ?, ?, ?, ?, ?, '2016-05-01', ?, ?, '1 Mill Lane', 'BS1 4AA', ?, ?,"
            " '2026-09-01', '2026-09-01')",
            (upn or f"T{self.serial:012d}", f"C{self.serial:05d}", first, last, search_key(first),
             search_key(last), year_group, str(100000 + len(school)), sen, health))
        await save_name_tails(self.conn, [(pupil_id, last)], fresh=True)
        await self.conn.execute(
            "INSERT INTO school_history (pupil_id, school_urn, started)"
            " VALUES (?, ?, '2026-09-01')", (pupil_id, str(100000 + len(school))))
        if officer is not None:
            await self.conn.execute(
                "INSERT INTO allocations (pupil_id, officer_id, allocated_at) VALUES (?, ?, ?)",
                (pupil_id, officer.id, stamp(NOW)))
        return pupil_id

    async def team(self) -> dict[str, Officer]:
        """Two supervisors with one officer each, a controller, and one pupil each:
        pupil 1 is SUP1's own, 2 is EWO1's (SUP1's team), 3 is EWO2's (SUP2's team)."""
        people = {"SUP1": await self.officer("SUP1", "supervisor"),
                  "SUP2": await self.officer("SUP2", "supervisor"),
                  "CTL1": await self.officer("CTL1", "controller")}
        people["EWO1"] = await self.officer("EWO1", supervisor="SUP1")
        people["EWO2"] = await self.officer("EWO2", supervisor="SUP2")
        await self.pupil("Amy", "Own", officer=people["SUP1"])
        await self.pupil("Amy", "Team", officer=people["EWO1"])
        await self.pupil("Amy", "Other", officer=people["EWO2"])
        return people

    async def marks(self, pupil_id: int, marks: Sequence[tuple[date, str, str]]) -> None:
        """Marks, and the year's figures as the attendance import keeps them."""
        await self.conn.executemany(
            "INSERT INTO marks (pupil_id, date, session, code) VALUES (?, ?, ?, ?)",
            [(pupil_id, day.isoformat(), session, code) for day, session, code in marks])
        by_year: dict[int, list[str]] = {}
        for day, _session, code in marks:
            by_year.setdefault(academic_year_of(day, YEAR_END), []).append(code)
        for year, codes in by_year.items():
            tally = Tally.of(codes)
            await self.conn.execute(
                "INSERT INTO pupil_stats (pupil_id, academic_year, possible, attended,"
                " authorised, unauthorised, lates_l, lates_u) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (pupil_id, year, tally.possible, tally.attended, tally.authorised,
                 tally.unauthorised, tally.lates_l, tally.lates_u))

    async def figures(self, pupil_id: int, attended: int, possible: int, *,
                      today: date = TODAY) -> None:
        """This year's figures, the year being `today`'s."""
        await self.conn.execute(
            "INSERT INTO pupil_stats (pupil_id, academic_year, possible, attended)"
            " VALUES (?, ?, ?, ?)", (pupil_id, academic_year_of(today, YEAR_END), possible,
                                     attended))

    async def visit(self, pupil_id: int, officer: Officer, day: date, *, type_: str = "home",
                    contact: str | None = "parent", follow_up: date | None = None,
                    supersedes: int | None = None, saved: datetime = NOW) -> int:
        return await self.conn.insert(
            "INSERT INTO visits (pupil_id, officer_id, visit_date, type, contact, follow_up,"
            " supersedes, saved_at, placed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
            f" {placed_as_corrected('visits')})",
            (pupil_id, officer.id, day.isoformat(), type_, contact,
             follow_up.isoformat() if follow_up else None, supersedes, stamp(saved),
             supersedes, stamp(saved)))
