"""Caseload figures for a supervisor: their team's officers and their own caseload.

Every query takes the requesting supervisor and reads only officers whose supervisor
they are, and the supervisor themselves; another team's officer is never found. A
whole team's summary is five statements, however many officers and pupils it has.

Definitions (shared/spec/PRODUCT.md, `/caseload`):
- a visit that a correction superseded does not count anywhere;
- a pupil's open follow-up is the follow-up of the visit saved last for them (as /due
  and the card read it, a correction in the place of the visit it corrects): the next
  visit saved closes it; it is overdue when dated before today;
- a pupil is not visited for 28 days when their latest visit date (a visit by anyone),
  or their allocation when never visited, is 28 or more days before today;
- visits in the last 28 days are those an officer recorded, dated today or in the
  27 days before;
- open notices are an officer's pupils' Notices to Improve whose improvement period is
  running and penalty notices issued awaiting an outcome (bot/storage/pathway.py);
- a restricted record (CASEWORK.md §3) counts in every figure, but the one-officer
  pages list it by name and case reference only (`PupilInNeed.restricted`);
- an undelivered message counts for the person it was resolved to (`recipient_id`),
  else for the officer its audience names (`officer:<id>`, `supervisor:<id>`, or
  `supervisor_of:<id>`: a message for nobody's supervisor counts for that officer).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.caseload import (
    Figures,
    PupilStanding,
    band_of,
    follow_up_overdue,
    not_visited,
    recent_visit_window,
)
from bot.domain.dates import YearEnd, academic_year_of
from bot.settings import Settings
from bot.storage import pathway
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.rights import RESTRICTED_SQL
from bot.storage.visits import LATEST_FIRST

_DIGEST_WEEK_KEY = "caseload_digest_week"

# Visits that a correction replaced; SQLite evaluates this once per statement.
_SUPERSEDED = "SELECT supersedes FROM visits WHERE supersedes IS NOT NULL"

_PUPILS_SQL = f"""
    WITH latest AS (
        SELECT v.pupil_id, v.follow_up,
               MAX(v.visit_date) OVER (PARTITION BY v.pupil_id) AS last_visit,
               ROW_NUMBER() OVER (PARTITION BY v.pupil_id
                                  ORDER BY {LATEST_FIRST}) AS n
        FROM visits v
        JOIN allocations a ON a.pupil_id = v.pupil_id
        JOIN officers o ON o.id = a.officer_id
        WHERE (o.supervisor_id = :supervisor OR o.id = :supervisor) {{officer_filter}}
          AND v.id NOT IN ({_SUPERSEDED})
    )
    SELECT a.officer_id, a.pupil_id, a.allocated_at, s.possible, s.attended,
           l.last_visit, l.follow_up {{name_columns}}
    FROM allocations a
    JOIN officers o ON o.id = a.officer_id
    JOIN pupils p ON p.id = a.pupil_id
    LEFT JOIN pupil_stats s ON s.pupil_id = a.pupil_id AND s.academic_year = :year
    LEFT JOIN latest l ON l.pupil_id = a.pupil_id AND l.n = 1
    WHERE (o.supervisor_id = :supervisor OR o.id = :supervisor) {{officer_filter}}
"""

_VISITS_SQL = f"""
    SELECT v.officer_id, count(*) AS visits
    FROM visits v
    JOIN officers o ON o.id = v.officer_id
    WHERE (o.supervisor_id = :supervisor OR o.id = :supervisor) {{officer_filter}}
      AND v.visit_date BETWEEN :first AND :last
      AND v.id NOT IN ({_SUPERSEDED})
    GROUP BY v.officer_id
"""

_UNDELIVERED_SQL = """
    SELECT o.id AS officer_id, count(*) AS undelivered
    FROM outbox x
    JOIN officers o ON o.id = COALESCE(
        x.recipient_id,
        CASE WHEN x.audience LIKE 'officer:%' THEN CAST(substr(x.audience, 9) AS INTEGER)
             WHEN x.audience LIKE 'supervisor:%' THEN CAST(substr(x.audience, 12) AS INTEGER)
             WHEN x.audience LIKE 'supervisor!_of:%' ESCAPE '!'
                  THEN CAST(substr(x.audience, 15) AS INTEGER) END)
    WHERE x.status = 'undelivered'
      AND (o.supervisor_id = :supervisor OR o.id = :supervisor) {officer_filter}
    GROUP BY o.id
"""

_OFFICER_FILTER = "AND o.id = :officer"


@dataclass(frozen=True, slots=True)
class Terms:
    """What the figures depend on: today (service time zone) and the thresholds."""

    now: datetime
    year_end: YearEnd
    pa_threshold: int
    sa_threshold: int

    @classmethod
    def of(cls, settings: Settings, now: datetime) -> Terms:
        return cls(now.astimezone(settings.timezone), settings.academic_year_end,
                   settings.pa_threshold, settings.sa_threshold)

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass(frozen=True, slots=True)
class OfficerLine:
    """One line of the summary: an officer of the team, or the supervisor's own caseload."""

    officer_id: int
    ref: str
    name: str
    revoked: bool
    own: bool
    figures: Figures


@dataclass(frozen=True, slots=True)
class TeamCaseload:
    """A supervisor's summary: officers most in need first, their own line, the total."""

    today: date
    officers: tuple[OfficerLine, ...]
    own: OfficerLine
    total: Figures


@dataclass(frozen=True, slots=True)
class PupilInNeed:
    """A pupil of the officer's caseload who needs attention, for the detail pages."""

    pupil_id: int
    case_ref: str
    first_name: str
    last_name: str
    attended: int
    possible: int
    last_visit: date | None
    follow_up: date | None
    allocated_on: date
    standing: PupilStanding
    restricted: bool = False  # listed by name and case reference only, with the marker


@dataclass(frozen=True, slots=True)
class OfficerCaseload:
    """One officer in detail: their line and their pupils in need, most in need first."""

    today: date
    line: OfficerLine
    pupils_in_need: tuple[PupilInNeed, ...]


@dataclass(frozen=True, slots=True)
class _Officer:
    id: int
    ref: str
    name: str
    status: str


async def team_caseload(conn: Conn, supervisor: Officer, *, terms: Terms) -> TeamCaseload:
    """The supervisor's team, one line per officer, and their own caseload."""
    officers = await _team(conn, supervisor)
    params = _params(supervisor, terms)
    rows = await conn.fetchall(_pupils_sql(), params)
    visits = await _counts(conn, _VISITS_SQL.format(officer_filter=""), params, "visits")
    undelivered = await _counts(conn, _UNDELIVERED_SQL.format(officer_filter=""), params,
                                "undelivered")
    notices = await _open_notices(conn, params, "", terms)
    standings: dict[int, list[PupilStanding]] = defaultdict(list)
    for row in rows:
        standings[row["officer_id"]].append(_standing(row, terms))
    lines = [_line(officer, supervisor, standings[officer.id], visits, undelivered, notices)
             for officer in officers]
    own = next(line for line in lines if line.own)
    team = [line for line in lines
            if not line.own and not (line.revoked and line.figures.pupils == 0)]
    team.sort(key=lambda line: (line.figures.need_key(), line.ref))
    total = sum((line.figures for line in team), own.figures)
    return TeamCaseload(terms.today, tuple(team), own, total)


async def officer_caseload(conn: Conn, supervisor: Officer, officer_ref: str, *,
                           terms: Terms) -> OfficerCaseload | None:
    """One officer of the supervisor's team (or the supervisor), with pupils in need.

    None when no such officer is in the team: another team's officer is answered
    exactly like an unknown reference.
    """
    wanted = officer_ref.strip().casefold()
    officer = next((o for o in await _team(conn, supervisor) if o.ref.casefold() == wanted),
                   None)
    if officer is None:
        return None
    params = {**_params(supervisor, terms), "officer": officer.id}
    rows = await conn.fetchall(_pupils_sql(officer_filter=_OFFICER_FILTER, names=True), params)
    visits = await _counts(conn, _VISITS_SQL.format(officer_filter=_OFFICER_FILTER), params,
                           "visits")
    undelivered = await _counts(conn, _UNDELIVERED_SQL.format(officer_filter=_OFFICER_FILTER),
                                params, "undelivered")
    pupils = [_pupil(row, terms) for row in rows]
    notices = await _open_notices(conn, params, "AND ow.id = :officer", terms)
    line = _line(officer, supervisor, [pupil.standing for pupil in pupils], visits,
                 undelivered, notices)
    in_need = sorted((pupil for pupil in pupils if pupil.standing.in_need), key=_pupil_order)
    return OfficerCaseload(terms.today, line, tuple(in_need))


async def digest_supervisors(conn: Conn) -> list[Officer]:
    """Supervisors who may receive the weekly digest (everyone not revoked)."""
    rows = await conn.fetchall(
        "SELECT id, ref, name, role, status, supervisor_id, telegram_user_id, chat_id,"
        " pin_hash IS NOT NULL AS enrolled, failed_pins FROM officers"
        " WHERE role = 'supervisor' AND status != 'revoked' ORDER BY id")
    return [Officer(row["id"], row["ref"], row["name"], row["role"], row["status"],
                    row["supervisor_id"], row["telegram_user_id"], row["chat_id"],
                    bool(row["enrolled"]), row["failed_pins"]) for row in rows]


async def last_digest_week(conn: Conn) -> str | None:
    """The ISO week (`2026-W48`) of the last weekly digest, or None."""
    value = await conn.fetchval("SELECT value FROM meta WHERE key = ?", (_DIGEST_WEEK_KEY,))
    return None if value is None else str(value)


async def record_digest_week(conn: Conn, week: str) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (_DIGEST_WEEK_KEY, week))


async def _team(conn: Conn, supervisor: Officer) -> list[_Officer]:
    rows = await conn.fetchall(
        "SELECT id, ref, name, status FROM officers WHERE supervisor_id = ? OR id = ?",
        (supervisor.id, supervisor.id))
    return [_Officer(row["id"], row["ref"], row["name"], row["status"]) for row in rows]


def _params(supervisor: Officer, terms: Terms) -> dict[str, object]:
    first, last = recent_visit_window(terms.today)
    return {"supervisor": supervisor.id,
            "year": academic_year_of(terms.today, terms.year_end),
            "first": first.isoformat(), "last": last.isoformat()}


def _pupils_sql(*, officer_filter: str = "", names: bool = False) -> str:
    # Names are read only for the one-officer pages that show them.
    name_columns = (", p.case_ref, p.first_name, p.last_name,"
                    f" {RESTRICTED_SQL.format(pupil='p.id')} AS restricted" if names else "")
    return _PUPILS_SQL.format(officer_filter=officer_filter, name_columns=name_columns)


async def _open_notices(conn: Conn, params: dict[str, object], officer_filter: str,
                        terms: Terms) -> dict[int, int]:
    return await pathway.open_notices(
        conn, officers="JOIN officers ow ON ow.id = a.officer_id",
        where=f"(ow.supervisor_id = :supervisor OR ow.id = :supervisor) {officer_filter}",
        params=dict(params), today=terms.today)


async def _counts(conn: Conn, sql: str, params: dict[str, object], column: str) -> dict[int, int]:
    return {row["officer_id"]: row[column] for row in await conn.fetchall(sql, params)}


def _standing(row: object, terms: Terms) -> PupilStanding:
    last_visit = _date(row["last_visit"])  # type: ignore[index]
    follow_up = _date(row["follow_up"])  # type: ignore[index]
    allocated_on = _allocated_on(row, terms)
    band = band_of(row["attended"] or 0, row["possible"] or 0,  # type: ignore[index]
                   pa_threshold=terms.pa_threshold, sa_threshold=terms.sa_threshold)
    return PupilStanding(band, follow_up_overdue(follow_up, terms.today),
                         not_visited(last_visit, allocated_on, terms.today))


def _allocated_on(row: object, terms: Terms) -> date:
    """The allocation's day in the service's time zone."""
    return datetime.fromisoformat(row["allocated_at"]).astimezone(  # type: ignore[index]
        terms.now.tzinfo).date()


def _pupil(row: object, terms: Terms) -> PupilInNeed:
    return PupilInNeed(
        row["pupil_id"], row["case_ref"], row["first_name"], row["last_name"],  # type: ignore[index]
        row["attended"] or 0, row["possible"] or 0,  # type: ignore[index]
        _date(row["last_visit"]), _date(row["follow_up"]),  # type: ignore[index]
        _allocated_on(row, terms), _standing(row, terms),
        bool(row["restricted"]))  # type: ignore[index]


def _pupil_order(pupil: PupilInNeed) -> tuple[object, ...]:
    # Within the same need, the lowest attendance first; no figure yet comes last.
    figure = (pupil.attended * 1_000_000 // pupil.possible) if pupil.possible else 10**9
    return (pupil.standing.need_key(), figure, pupil.case_ref)


def _line(officer: _Officer, supervisor: Officer, standings: list[PupilStanding],
          visits: dict[int, int], undelivered: dict[int, int],
          notices: dict[int, int]) -> OfficerLine:
    figures = Figures.of(standings, visits=visits.get(officer.id, 0),
                         undelivered=undelivered.get(officer.id, 0),
                         open_notices=notices.get(officer.id, 0))
    return OfficerLine(officer.id, officer.ref, officer.name, officer.status == "revoked",
                       officer.id == supervisor.id, figures)


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
