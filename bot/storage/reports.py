"""What a commissioning school's report reads: its referred pupils, their marks, their
pathway stage and what was delivered to them (visits, pathway steps and outcomes,
sharing decisions), in one snapshot; and the audit entry for each report made.

Only the pupil's time at the school counts (school_history, read as `stays`): a pupil
who moved is in each school's report with what is dated while they were there, and
nothing of the other school's. Each query reads the school's stays with its rows, in
one statement for the whole school.

Only current entries count: a correction replaces the entry it supersedes, by the same
rules the case view reads them with (bot/storage/pathway.py, bot/storage/sharing.py).
A typed recipient's name is never read: the school sees "Other". A restricted record
(CASEWORK.md §3: stored and nothing else) is not referred: it is left out of every figure."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache

from bot.domain import sharing as sharing_words
from bot.domain.pathway_text import OUTCOME_LABELS, STAGES, STEP_LABELS, label
from bot.domain.school_report import (
    Allocation,
    Decisions,
    Interventions,
    Period,
    Stay,
    referral,
)
from bot.domain.text import pupil_name
from bot.domain.visits import CONTACT_OUTCOMES, VISIT_TYPES, label_of
from bot.storage import audit, rights
from bot.storage.db import Conn
from bot.storage.pathway import _CURRENT_OUTCOME, _CURRENT_STEP, STEPS_LATEST_FIRST, Stage
from bot.storage.sharing import _CURRENT as _CURRENT_SHARING


@dataclass(frozen=True)
class School:
    urn: str
    name: str


@dataclass(frozen=True)
class ReferredRow:
    """A referred pupil as held, before the attendance figures are worked out."""

    pupil_id: int
    name: str
    year_group: str
    case_ref: str
    officer_ref: str
    referred_on: date
    last_day: date  # "now": the period's end, or the pupil's last day at the school
    left_on: date | None = None  # the day they moved to another school, in the period
    stage: str | None = None  # the pathway stage's label on `last_day`


@dataclass(frozen=True)
class SchoolData:
    """One school's referred pupils, their marks from `marks_from`, and the visits."""

    school: School
    pupils: tuple[ReferredRow, ...]
    marks: dict[int, list[tuple[date, str]]]
    interventions: Interventions


async def schools(conn: Conn) -> list[School]:
    """Every school the service holds pupils of, by URN."""
    rows = await conn.fetchall("SELECT urn, name FROM schools ORDER BY urn")
    return [School(row["urn"], row["name"]) for row in rows]


async def school(conn: Conn, urn: str) -> School | None:
    row = await conn.fetchone("SELECT urn, name FROM schools WHERE urn = ?", (urn,))
    return None if row is None else School(row["urn"], row["name"])


# The school's pupils' stays there, from `since` to the day before `until` (the first day
# at the next school; NULL: still there). A pupil's first stay reaches back without
# bound (since ''): what the service holds from before it first held the pupil is from
# the only school it knows them at. That stay began on the pupil's first import and
# outlasted its day (a move that day leaves an empty span before it): told by a join,
# as a subquery would run again for every mark the stay is compared with. Its one
# parameter, the URN, comes first.
_STAYS = (
    "WITH stays AS (SELECT st.id, st.pupil_id,"
    " CASE WHEN st.started = pupil.first_imported"
    " AND (st.ended IS NULL OR st.ended > st.started) THEN '' ELSE st.started END AS since,"
    " st.ended AS until FROM school_history st JOIN pupils pupil ON pupil.id = st.pupil_id"
    " WHERE st.school_urn = ?) ")


def _at_school(day: str) -> str:
    """SQL: the date `day` lies in the stay `st`."""
    return f"{day} >= st.since AND (st.until IS NULL OR {day} < st.until)"


async def school_data(conn: Conn, found: School, period: Period, marks_from: date
                ) -> SchoolData:
    """The referred pupils of `found` in `period` with their stage on their last day
    counted, their marks from `marks_from` to the period's end and what was delivered to
    them in the period (corrections counted once), all while they were at the school."""
    referred = await _referred(conn, found.urn, period)
    ids = {pupil.pupil_id for pupil in referred}
    stages = await _stages(conn, found.urn, ids, period.end)
    pupils = tuple(replace(pupil, stage=_stage_label(stages.get(pupil.pupil_id)))
                   for pupil in referred)
    marks = await _marks(conn, found.urn, ids, marks_from, period.end)
    visits = await _interventions(conn, found.urn, ids, period)
    return SchoolData(found, pupils, marks, replace(
        visits, steps=await _steps(conn, found.urn, ids, period),
        outcomes=await _outcomes(conn, found.urn, ids, period),
        sharing=await _sharing(conn, found.urn, ids, period)))


async def _referred(conn: Conn, urn: str, period: Period) -> list[ReferredRow]:
    """Every pupil allocated in the period while at the school: each allocation span in
    the period beside each stay there in the period (a pupil has one of each, mostly)."""
    rows = await conn.fetchall(
        _STAYS
        + "SELECT h.id AS span_id, h.pupil_id, h.started, h.ended, o.ref,"
        " st.id AS stay_id, st.since, st.until, p.first_name, p.last_name, p.year_group,"
        " p.case_ref FROM stays st JOIN allocation_history h ON h.pupil_id = st.pupil_id"
        " JOIN pupils p ON p.id = st.pupil_id JOIN officers o ON o.id = h.officer_id"
        " WHERE h.started <= ? AND (h.ended IS NULL OR h.ended >= ?)"
        " AND st.since <= ? AND (st.until IS NULL OR st.until > ?)"
        f" AND NOT {rights.RESTRICTED_SQL.format(pupil='p.id')}",
        (urn, *(period.end.isoformat(), period.start.isoformat()) * 2))
    spans: defaultdict[int, dict[int, Allocation]] = defaultdict(dict)
    stays: defaultdict[int, dict[int, Stay]] = defaultdict(dict)
    pupils = {}
    for row in rows:
        spans[row["pupil_id"]][row["span_id"]] = Allocation(
            row["ref"], _day(row["started"]), _day_or_none(row["ended"]))
        stays[row["pupil_id"]][row["stay_id"]] = Stay(
            _day_or_none(row["since"] or None), _day_or_none(row["until"]))
        pupils[row["pupil_id"]] = row
    referred = []
    for pupil_id, row in pupils.items():
        found = referral(list(spans[pupil_id].values()), list(stays[pupil_id].values()),
                         period)
        if found is None:  # allocated in the period, but not while at the school
            continue
        referred.append(ReferredRow(pupil_id, pupil_name(row["first_name"], row["last_name"]),
                                    row["year_group"], row["case_ref"], found.officer_ref,
                                    found.referred_on, found.last_day, found.left_on))
    return sorted(referred, key=lambda pupil: (pupil.name.casefold(), pupil.case_ref))


@lru_cache(maxsize=2048)
def _day(text: str) -> date:
    return date.fromisoformat(text)


def _day_or_none(text: str | None) -> date | None:
    return None if text is None else _day(text)


async def _marks(conn: Conn, urn: str, pupil_ids: set[int], first: date, last: date
                 ) -> dict[int, list[tuple[date, str]]]:
    marks: dict[int, list[tuple[date, str]]] = {pupil: [] for pupil in pupil_ids}
    rows = await conn.fetchall(
        _STAYS + "SELECT m.pupil_id, m.date, m.code FROM stays st"
        " JOIN marks m ON m.pupil_id = st.pupil_id"
        f" WHERE m.date BETWEEN ? AND ? AND {_at_school('m.date')}",
        (urn, first.isoformat(), last.isoformat()))
    for pupil, day, code in rows:
        held = marks.get(pupil)
        if held is not None:
            held.append((_day(day), code))
    return marks


async def _interventions(conn: Conn, urn: str, pupil_ids: set[int], period: Period
                   ) -> Interventions:
    rows = await conn.fetchall(
        _STAYS + "SELECT v.pupil_id, v.type, v.contact FROM stays st"
        " JOIN visits v ON v.pupil_id = st.pupil_id"
        f" WHERE v.visit_date BETWEEN ? AND ? AND {_at_school('v.visit_date')}"
        " AND NOT EXISTS (SELECT 1 FROM visits later WHERE later.supersedes = v.id)",
        (urn, period.start.isoformat(), period.end.isoformat()))
    by_type: Counter[str] = Counter()
    by_contact: Counter[str] = Counter()
    for row in rows:
        if row["pupil_id"] not in pupil_ids:
            continue
        by_type[label_of(VISIT_TYPES, row["type"])] += 1
        by_contact[label_of(CONTACT_OUTCOMES, row["contact"]) if row["contact"]
                   else "No contact step (letter)"] += 1
    order = {label: n for n, (_, label) in enumerate((*VISIT_TYPES, *CONTACT_OUTCOMES))}
    return Interventions(dict(sorted(by_type.items(), key=lambda item: order[item[0]])),
                         dict(sorted(by_contact.items(), key=lambda item: order.get(item[0], 99))))


async def _stages(conn: Conn, urn: str, pupil_ids: set[int], last: date) -> dict[int, Stage]:
    """Each pupil's stage on `last`, or on their last day at the school before it, as
    /case has it but of their steps there: the latest current step (by step date, then
    as saved, a correction in its step's place) dated then or before, at the school."""
    rows = await conn.fetchall(
        _STAYS + "SELECT s.pupil_id, s.kind, s.step_date FROM stays st"
        " JOIN pathway_steps s ON s.pupil_id = st.pupil_id"
        f" WHERE s.step_date <= ? AND {_at_school('s.step_date')} AND {_CURRENT_STEP}"
        f" ORDER BY {STEPS_LATEST_FIRST}", (urn, last.isoformat()))
    stages: dict[int, Stage] = {}
    for row in rows:  # latest first: the first of each pupil is kept
        if row["pupil_id"] in pupil_ids and row["pupil_id"] not in stages:
            stages[row["pupil_id"]] = Stage(row["kind"], _day(row["step_date"]))
    return stages


def _stage_label(stage: Stage | None) -> str | None:
    return None if stage is None else label(STAGES, stage.kind)


def _in_order(counts: Counter[str], labels: dict[str, str]) -> dict[str, int]:
    """Counts keyed by label, in the vocabulary's order (unknown codes last)."""
    order = list(labels)
    ranked = sorted(counts.items(),
                    key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    return {label(labels, code): n for code, n in ranked}


async def _steps(conn: Conn, urn: str, pupil_ids: set[int], period: Period) -> dict[str, int]:
    """Current pathway steps dated in the period while at the school, by kind."""
    rows = await conn.fetchall(
        _STAYS + "SELECT s.pupil_id, s.kind FROM stays st"
        " JOIN pathway_steps s ON s.pupil_id = st.pupil_id"
        f" WHERE s.step_date BETWEEN ? AND ? AND {_at_school('s.step_date')}"
        f" AND {_CURRENT_STEP}",
        (urn, period.start.isoformat(), period.end.isoformat()))
    return _in_order(Counter(row["kind"] for row in rows if row["pupil_id"] in pupil_ids),
                     STEP_LABELS)


async def _outcomes(conn: Conn, urn: str, pupil_ids: set[int], period: Period
                    ) -> dict[str, int]:
    """Current pathway outcomes dated in the period while at the school, by outcome (a
    penalty notice is one per parent it was issued to)."""
    rows = await conn.fetchall(
        _STAYS + "SELECT o.pupil_id, o.outcome FROM stays st"
        " JOIN pathway_outcomes o ON o.pupil_id = st.pupil_id"
        f" WHERE o.outcome_date BETWEEN ? AND ? AND {_at_school('o.outcome_date')}"
        f" AND {_CURRENT_OUTCOME}",
        (urn, period.start.isoformat(), period.end.isoformat()))
    return _in_order(Counter(row["outcome"] for row in rows if row["pupil_id"] in pupil_ids),
                     OUTCOME_LABELS)


async def _sharing(conn: Conn, urn: str, pupil_ids: set[int], period: Period
                   ) -> dict[str, Decisions]:
    """Current sharing decisions dated in the period while at the school, by recipient
    type, shared and not shared apart. The typed name of an Other recipient is not read."""
    rows = await conn.fetchall(
        _STAYS + "SELECT sh.pupil_id, sh.recipient, sh.decision FROM stays st"
        " JOIN sharing_log sh ON sh.pupil_id = st.pupil_id"
        f" WHERE sh.shared_on BETWEEN ? AND ? AND {_at_school('sh.shared_on')}"
        f" AND {_CURRENT_SHARING}",
        (urn, period.start.isoformat(), period.end.isoformat()))
    shared: Counter[str] = Counter()
    not_shared: Counter[str] = Counter()
    for row in rows:
        if row["pupil_id"] in pupil_ids:
            (shared if row["decision"] == sharing_words.SHARED else not_shared)[
                row["recipient"]] += 1
    order = [code for code, _ in sharing_words.RECIPIENTS]
    found = sorted(set(shared) | set(not_shared),
                   key=lambda code: order.index(code) if code in order else len(order))
    return {sharing_words.recipient_label(code): Decisions(shared[code], not_shared[code])
            for code in found}


async def record_report(conn: Conn, *, actor: str, urn: str, period: Period,
                        counts: dict[str, int], pupil_ids: Sequence[int],
                        now: datetime) -> None:
    """The audit entry of a report made: the school, the period and counts, never names.
    It names (by reference) every pupil the report's table lists, as a listing does, so
    each one's subject-access export shows that their record went into it."""
    await audit.append(conn, actor=actor, action="school_report", target=f"school:{urn}",
                       reason="school_report", at=now, targets=audit.pupil_refs(pupil_ids),
                       detail={"from": period.start.isoformat(), "to": period.end.isoformat(),
                               **counts})
