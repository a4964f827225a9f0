"""Pupils and marks written straight into the tables, for alert and outbox tests.

`marks` replaces a pupil's marks and recomputes `pupil_stats` the way the attendance
import keeps them, so a test can set up exact figures (72 of 80) without a CSV file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from bot.domain.attendance import Tally
from bot.domain.dates import YearEnd, academic_year_of
from bot.domain.text import search_key
from bot.settings import Settings
from bot.storage import alerts as alert_store
from bot.storage import officers as officer_store
from bot.storage.alerts import Evaluation
from bot.storage.db import Conn, Database, stamp
from bot.storage.officers import Officer

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)  # a Wednesday in the autumn term of 2026/27
YEAR_END = YearEnd(8, 31)
TERM_START = date(2026, 9, 7)  # a Monday
SCHOOLS = {"100001": "Hillside Primary", "100002": "Riverside Academy"}
# Year 7 in 2026/27: of compulsory school age all year.
DATE_OF_BIRTH = date(2015, 1, 10)

Mark = tuple[date, str, str]


def school_days(start: date, count: int) -> list[date]:
    """`count` weekdays from `start` on."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def sessions(codes: Sequence[str], *, start: date = TERM_START) -> list[Mark]:
    """The codes given to consecutive sessions (AM, PM, AM, …) of school days from `start`."""
    days = school_days(start, (len(codes) + 1) // 2)
    return [(days[index // 2], ("AM", "PM")[index % 2], code) for index, code in
            enumerate(codes)]


def ending_on(codes: Sequence[str], last_day: date) -> list[Mark]:
    """The codes given to consecutive sessions ending with the PM of `last_day`."""
    count = (len(codes) + 1) // 2
    day, days = last_day, []
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    days.reverse()
    slots = [(d, s) for d in days for s in ("AM", "PM")][-len(codes):]
    return [(d, s, code) for (d, s), code in zip(slots, codes, strict=True)]


class AlertSeed:
    """A small service written row by row."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.serial = 0

    async def officer(self, ref: str, role: str = "officer",
                      supervisor: str | None = None) -> Officer:
        return await self.db.write(officer_store.add_officer, ref=ref, name=f"Officer {ref}",
                                   role=role, supervisor_ref=supervisor, now=NOW)

    async def pupil(self, *, first: str = "Amy", last: str = "Hill",
                    born: date = DATE_OF_BIRTH, urn: str = "100001",
                    officer: Officer | None = None) -> int:
        self.serial += 1
        async def _transaction(conn: Conn):
            await conn.execute("INSERT INTO schools (urn, name) VALUES (?, ?)"
                               " ON CONFLICT DO NOTHING",
                               (urn, SCHOOLS[urn]))
            return await conn.insert(
                "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
                " search_last, date_of_birth, year_group, school_urn, first_imported,"
                " last_imported) VALUES (?, ?, ?, ?, ?, ?, ?, '7', ?, ?, ?)",
                (f"T{self.serial:012d}", f"C-{self.serial:05d}", first, last, search_key(first),
                 search_key(last), born.isoformat(), urn, TODAY.isoformat(), TODAY.isoformat()))
        pupil_id = await self.db.write(_transaction)
        if officer is not None:
            await self.allocate(pupil_id, officer)
        return pupil_id

    async def allocate(self, pupil_id: int, officer: Officer) -> None:
        async def _transaction(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO allocations (pupil_id, officer_id, allocated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (pupil_id) DO UPDATE SET officer_id = excluded.officer_id",
                (pupil_id, officer.id, stamp(NOW)))
        await self.db.write(_transaction)

    async def marks(self, pupil_id: int, marks: Iterable[Mark]) -> None:
        """Add marks (a later mark replaces one for the same session) and recompute the
        pupil's figures per academic year, as the attendance import keeps them."""
        async def _transaction(conn: Conn) -> None:
            await conn.executemany(
                "INSERT INTO marks (pupil_id, date, session, code) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (pupil_id, date, session) DO UPDATE SET code = excluded.code",
                [(pupil_id, day.isoformat(), session, code) for day, session, code in marks])
            rows = await conn.fetchall("SELECT date, code FROM marks WHERE pupil_id = ?",
                                       (pupil_id,))
            by_year: defaultdict[int, list[tuple[date, str]]] = defaultdict(list)
            for row in rows:
                day = date.fromisoformat(row["date"])
                by_year[academic_year_of(day, YEAR_END)].append((day, row["code"]))
            await conn.execute("DELETE FROM pupil_stats WHERE pupil_id = ?", (pupil_id,))
            for year, year_marks in by_year.items():
                tally = Tally.of(code for _, code in year_marks)
                latest = max(day for day, _ in year_marks)
                await conn.execute(
                    "INSERT INTO pupil_stats (pupil_id, academic_year, possible, attended,"
                    " authorised, unauthorised, lates_l, lates_u, latest_mark)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (pupil_id, year, tally.possible, tally.attended, tally.authorised,
                     tally.unauthorised, tally.lates_l, tally.lates_u, latest.isoformat()))
        await self.db.write(_transaction)

    async def evaluate(self, pupil_ids: Iterable[int], *, today: date = TODAY,
                       now: datetime = NOW, baseline: bool = False) -> Evaluation:
        return await self.db.write(alert_store.evaluate_import, list(pupil_ids),
                                   settings=self.settings, today=today, now=now, baseline=baseline,
                                   actor="os:test")
