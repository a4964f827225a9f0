"""Running an import: check the whole file, then apply it in one write transaction.

The file is read and checked before the write transaction begins (in a worker
thread), so a running bot keeps answering during a long import; the checks that
need the database run on a read snapshot first and again inside the transaction,
so what is applied is exactly what was checked. All or nothing: any bad row
refuses the whole file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.domain.marks import CompactMarks, MarkWindow
from bot.importing.allocations import AllocationRow, parse_allocations
from bot.importing.attendance import AttendanceMarks, parse_attendance
from bot.importing.contacts import parse_contacts
from bot.importing.csvfile import Problems
from bot.importing.notices import NoticeRow, parse_notices
from bot.importing.pupils import parse_pupils
from bot.importing.rows import ParsedFile
from bot.importing.visits import VisitRow, parse_visits
from bot.settings import Settings, load_settings
from bot.storage import alerts as alert_store
from bot.storage import audit
from bot.storage import imports as store
from bot.storage import officers as officer_store
from bot.storage import pathway as pathway_store
from bot.storage.db import Conn, Database

KINDS = ("pupils", "contacts", "attendance", "allocations", "visits", "notices")

_PARSERS: dict[str, Callable[..., ParsedFile[Any]]] = {
    "pupils": parse_pupils,
    "contacts": parse_contacts,
    "attendance": parse_attendance,
    "allocations": parse_allocations,
    "visits": parse_visits,
    "notices": parse_notices,
}

# Files whose rows name pupils and officers that must exist: every bad row, in the file
# or against the database, is reported in one pass.
_LOOKED_UP = frozenset({"allocations", "visits", "notices"})

NOT_HELD = "is not a pupil the service holds (import the pupil first)"
NOT_OFFICER = "is not an officer (add them with ewobot officers add)"
CONTROLLER = "is a controller, who holds no pupils"
REVOKED = "is a revoked officer"
NOT_CONTACT = "is not a contact of this pupil (import contacts first)"
# CASEWORK.md section 3: a restricted record is stored and nothing else.
RESTRICTED = ("is a pupil whose record is restricted: no visit or step is recorded"
              " (ask the controller)")

# How each count reads in the summary line, in the order the counts are kept; the
# skipped ones come last, after a semicolon.
_COUNT_WORDS = {
    "added": "added",
    "updated": "updated",
    "replaced": "replaced",
    "allocated": "allocated",
    "reallocated": "reallocated",
    "ended": "ended",
    "unchanged": "unchanged",
}
_SKIPPED_WORDS = {"no_mark": "without a mark", "not_held": "for pupils not held"}


@dataclass(frozen=True)
class ImportSummary:
    """What an import did, for the person at the terminal and for the audit trail."""

    kind: str
    sha256: str
    rows: int  # rows read, blank rows not counted
    counts: Mapping[str, int]
    baseline: bool = False

    def line(self) -> str:
        """One line for stdout, e.g. `contacts: 177 rows; 172 added, 0 updated,
        0 unchanged; skipped 5 for pupils not held`."""
        done = [
            f"{n:,} {_COUNT_WORDS[name]}" for name, n in self.counts.items() if name in _COUNT_WORDS
        ]
        skipped = [
            f"{n:,} {_SKIPPED_WORDS[name]}"
            for name, n in self.counts.items()
            if name in _SKIPPED_WORDS
        ]
        rows = f"{self.rows:,} row" + ("" if self.rows == 1 else "s")
        text = f"{self.kind}: {rows}; {', '.join(done)}"
        if skipped:
            text += f"; skipped {', '.join(skipped)}"
        return text + (" (baseline: no alerts)" if self.baseline else "")

    def audit_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"kind": self.kind, "sha256": self.sha256, "rows": self.rows}
        if self.kind == "attendance":
            detail["baseline"] = self.baseline
        return {**detail, **self.counts}


@dataclass(frozen=True)
class _Context:
    """Who imports, when, and under which settings."""

    actor: str
    today: date
    now: datetime
    baseline: bool
    settings: Settings


@dataclass(frozen=True)
class _Plan:
    """What the checks against the database found: whom each row is about."""

    pupils: Mapping[str, int]  # UPN → id, for the file's UPNs the service holds
    officers: Mapping[str, int] = field(default_factory=dict)  # officer_ref → id
    contacts: Mapping[tuple[int, str], int] = field(default_factory=dict)  # (pupil, name key)


async def run_import(
    db: Database,
    kind: str,
    path: Path,
    *,
    actor: str,
    today: date,
    baseline: bool = False,
    settings: Settings | None = None,
    now: datetime | None = None,
    progress: TextIO | None = None,
) -> ImportSummary:
    """Import one file of `kind` (see KINDS), all or nothing, as `actor` (audited).

    ImportRejected, with every bad row found, leaves the database as it was.
    `baseline` (attendance only) records the rules that hold without alerting.
    `settings` give the academic year and the alert rules (by default, read as the
    command line reads them); `now` stamps allocations, visits and the audit entry;
    `progress` is where a terminal shows the reading (stderr by default).
    """
    if kind not in _PARSERS:
        raise ValueError(f"no such import: {kind}")
    if baseline and kind != "attendance":
        raise ValueError("only the attendance import has a baseline")
    parse = _PARSERS[kind]
    if kind in _LOOKED_UP:  # the file's bad rows are reported with the database's
        parsed = await asyncio.to_thread(parse, path, today=today, progress=progress,
                                         finish=False)
    else:
        parsed = await asyncio.to_thread(parse, path, today=today, progress=progress)
    await db.read(_plan, parsed)
    moment = now or datetime.now(UTC)
    context = _Context(actor, today, moment, baseline, settings or load_settings())
    async def _transaction(conn: Conn):
        await conn.lock("import")  # the diff read here is what is written
        plan = await _plan(conn, parsed)  # again: the service may have changed meanwhile
        counts = await _apply(conn, parsed, plan, context)
        summary = ImportSummary(kind, parsed.sha256, parsed.rows_read, counts, baseline)
        await audit.append(
            conn, actor=actor, action=f"import_{kind}", reason="admin_command",
            detail=summary.audit_detail(), at=moment,
        )  # fmt: skip
        return summary
    summary = await db.write(_transaction)
    return summary


# --- checks against the database ---------------------------------------------------------


async def _plan(conn: Conn, parsed: ParsedFile[Any]) -> _Plan:
    """Resolve pupils and officers; ImportRejected when a row names one that will not do,
    together with the file's own bad rows (`parsed.problems`)."""
    if parsed.kind == "pupils":
        return _Plan({})
    if parsed.kind == "attendance":
        marks: AttendanceMarks = parsed.rows  # type: ignore[assignment]
        return _Plan(await store.pupil_ids(conn, marks.by_pupil))
    rows: Sequence[Any] = parsed.rows  # type: ignore[assignment]
    # A bad row's good UPN and officer_ref are looked up too (it is already counted).
    named = [(row, frozenset[str](), False) for row in rows]
    named += [(row, failed, True) for row, failed in parsed.bad]
    pupils = await store.pupil_ids(conn, (row.upn for row, failed, _ in named
                                          if "upn" not in failed))
    if parsed.kind == "contacts":
        return _Plan(pupils)
    if parsed.kind == "notices":
        return await _plan_notices(conn, parsed, named, pupils)
    good_refs = [row for row, failed, _ in named if "officer_ref" not in failed]
    officers, officer_problems = await _officers(conn, good_refs, parsed.kind)
    problems = parsed.problems if parsed.problems is not None else Problems()
    restricted = (await store.restricted_pupils(conn, pupils.values())
                  if parsed.kind == "visits" else set())
    for row, failed, counted in named:
        if "upn" not in failed and row.upn not in pupils:
            problems.add(row.line, "upn", NOT_HELD, counted=counted)
        elif "upn" not in failed and pupils[row.upn] in restricted:
            problems.add(row.line, "upn", RESTRICTED, counted=counted)
        if "officer_ref" not in failed and row.officer_ref in officer_problems:
            problems.add(row.line, "officer_ref", officer_problems[row.officer_ref],
                         counted=counted)
    problems.raise_if_any()
    return _Plan(pupils, officers)


async def _plan_notices(conn: Conn, parsed: ParsedFile[Any],
                        named: Sequence[tuple[Any, frozenset[str], bool]],
                        pupils: Mapping[str, int]) -> _Plan:
    """Each row's pupil must be held and its contact_name one of that pupil's contacts."""
    contacts = await pathway_store.contact_ids(conn, list(pupils.values()))
    restricted = await store.restricted_pupils(conn, pupils.values())
    problems = parsed.problems if parsed.problems is not None else Problems()
    for row, failed, counted in named:
        if "upn" in failed:
            continue
        if row.upn not in pupils:
            problems.add(row.line, "upn", NOT_HELD, counted=counted)
        elif pupils[row.upn] in restricted:
            problems.add(row.line, "upn", RESTRICTED, counted=counted)
        elif "contact_name" not in failed and _contact_key(pupils, row) not in contacts:
            problems.add(row.line, "contact_name", NOT_CONTACT, counted=counted)
    problems.raise_if_any()
    return _Plan(pupils, contacts=contacts)


def _contact_key(pupils: Mapping[str, int], row: NoticeRow) -> tuple[int, str]:
    return pupils[row.upn], store.contact_name_key(row.contact_name)


async def _officers(
    conn: Conn, rows: Sequence[AllocationRow | VisitRow], kind: str
) -> tuple[dict[str, int], dict[str, str]]:
    """The ids of the officers the rows name (as the file spells them, any case), and
    what is wrong with the others.

    Visits are history, so a revoked officer's past visits are still imported;
    pupils are allocated only to officers and supervisors who have not been revoked.
    """
    ids: dict[str, int] = {}
    problems: dict[str, str] = {}
    for ref in sorted({row.officer_ref for row in rows if row.officer_ref}):
        officer = await officer_store.officer_by_ref(conn, ref)
        if officer is None:
            problems[ref] = NOT_OFFICER
        elif officer.role == "controller":
            problems[ref] = CONTROLLER
        elif officer.status == "revoked" and kind == "allocations":
            problems[ref] = REVOKED
        else:
            ids[ref] = officer.id
    return ids, problems


# --- applying ------------------------------------------------------------------------


async def _apply(
    conn: Conn, parsed: ParsedFile[Any], plan: _Plan, context: _Context
) -> dict[str, int]:
    """Write the file's rows; returns the counts for the summary."""
    rows: Any = parsed.rows
    today = context.today
    if parsed.kind == "pupils":
        applied = await store.apply_pupils(conn, rows, columns=parsed.columns, today=today)
        touched = (await store.pupil_ids(conn, (row.upn for row in rows))).values()
        await store.record_import_date(conn, touched, today)
        return dict(applied.counts)
    if parsed.kind == "attendance":
        return await _apply_attendance(conn, rows, plan, context, no_mark=parsed.no_mark)
    held = [row for row in rows if row.upn in plan.pupils]
    if parsed.kind == "notices":
        notices = [pathway_store.ImportedNotice(
            plan.pupils[row.upn], plan.contacts[_contact_key(plan.pupils, row)], row.kind,
            row.issued, row.outcome, row.outcome_date) for row in held]
        counts = await pathway_store.apply_notices(conn, notices, now=context.now)
        await store.record_import_date(conn, (plan.pupils[row.upn] for row in held), today)
        return counts
    if parsed.kind == "contacts":
        pairs = [(plan.pupils[row.upn], row) for row in held]
        applied = await store.apply_contacts(conn, pairs, columns=parsed.columns)
    elif parsed.kind == "allocations":
        allocations = [(plan.pupils[row.upn], _officer_id(plan, row)) for row in held]
        applied = await store.apply_allocations(conn, allocations, now=context.now)
    else:
        visits = [(plan.pupils[row.upn], plan.officers[row.officer_ref], row) for row in held]
        applied = await store.apply_visits(conn, visits, now=context.now)
    await store.record_import_date(conn, (plan.pupils[row.upn] for row in held), today)
    counts = dict(applied.counts)
    if parsed.kind == "contacts":
        counts["not_held"] = len(rows) - len(held)
    return counts


def _officer_id(plan: _Plan, row: AllocationRow) -> int | None:
    return plan.officers[row.officer_ref] if row.officer_ref else None


async def _apply_attendance(
    conn: Conn, marks: AttendanceMarks, plan: _Plan, context: _Context, *, no_mark: int
) -> dict[str, int]:
    def held_marks() -> Iterator[tuple[int, CompactMarks]]:
        for upn, pupil_marks in marks.by_pupil.items():
            if upn in plan.pupils:
                yield plan.pupils[upn], pupil_marks.compact()

    year_end = context.settings.academic_year_end
    applied = await store.apply_marks(conn, held_marks(), year_end=year_end)
    await store.record_import_date(conn, plan.pupils.values(), context.today)
    await evaluate_alerts(
        conn,
        applied.changed_pupils,
        known=applied.marks,
        baseline=context.baseline,
        settings=context.settings,
        today=context.today,
        now=context.now,
        actor=context.actor,
    )
    not_held = sum(len(m) for upn, m in marks.by_pupil.items() if upn not in plan.pupils)
    return {**applied.counts, "no_mark": no_mark, "not_held": not_held}


async def evaluate_alerts(
    conn: Conn,
    pupil_ids: Sequence[int],
    *,
    baseline: bool,
    settings: Settings,
    today: date,
    now: datetime,
    actor: str,
    known: Mapping[int, MarkWindow] | None = None,
) -> None:
    """The alert hook of the attendance import: the five rules are evaluated here, in
    the import's own transaction, for the pupils whose marks it added or replaced.
    With `baseline`, the rules that hold are recorded without alerting. `known`: the
    pupils' marks as the import wrote them, so that they need not be read back.
    """
    await alert_store.evaluate_import(conn, pupil_ids, settings=settings, today=today,
                                      now=now, baseline=baseline, actor=actor, known=known)
