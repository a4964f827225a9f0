"""The attendance pathway's records: steps, their outcomes, the notices they add up to.

Steps and outcomes are never edited: a correction is a new row whose `supersedes`
names the old one, by the old one's author, within 7 days (as visits), standing where
the old one stood in the order they were saved (`placed_at`), so correcting an older
entry never makes it the latest (a notice's final outcome, the stage). A step that
already has outcomes is not corrected (its outcomes would be left behind on the old
row): the outcome is corrected instead, or a new step recorded.

Every function takes the requesting officer and answers only for pupils that person
may see: steps and outcomes are recorded for one's own caseload only (even by a
supervisor); a supervisor reads their team's read-only. Every function appends its
audit entry in the caller's transaction with a fixed reason code, so each is called
run by `db.write(fn, …)`. The rules (counts, amounts, dates) are in
bot/domain/penalty_notices.py; this module only reads and writes (CASEWORK.md §1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain import penalty_notices as rules
from bot.domain.attendance import penalty_notice_holds
from bot.domain.corrections import correctable
from bot.domain.dates import compulsory_school_age
from bot.domain.penalty_notices import Eligibility, Notice
from bot.domain.step_flow import Parent, Record, Target
from bot.storage import audit
from bot.storage.db import Conn, placed_as_corrected, stamp
from bot.storage.imports import contact_name_key
from bot.storage.officers import Officer

STEP_KINDS = ("support_plan", "contract", "nti", "pn_referral", "prosecution", "eso", "sao")
SECTIONS = ("444(1)", "444(1A)")
# The outcomes each kind of step can have; the others have none.
OUTCOMES_OF: dict[str, frozenset[str]] = {
    "pn_referral": frozenset({"issued", "paid", "withdrawn", "unpaid"}),
    "prosecution": frozenset({"hearing"}),
    "eso": frozenset({"granted", "refused"}),
    "sao": frozenset({"order"}),
}
_PARENTS_REQUIRED = frozenset({"contract", "nti", "pn_referral"})
_FINAL = ("paid", "withdrawn", "unpaid")
OWN, SUPERVISION = "own", "supervision"
# Enough marks for the pupil's 10 most recent school weeks across any holiday.
_MARKS_DAYS = 366

# Fixed problem codes a save is refused with (the chat flow words them).
NOT_VISIBLE = "not_visible"
REPEAT = "repeat"
UNKNOWN_PARENT = "unknown_parent"
PARENTS_NEEDED = "parents_needed"
NO_PARENTAL_RESPONSIBILITY = "no_parental_responsibility"
THIRD_NOTICE = "third_notice"
REASON_NEEDED = "reason_needed"
BAD_FIELD = "bad_field"
TOO_OLD = "too_old"
ALREADY_CORRECTED = "already_corrected"
HAS_OUTCOMES = "has_outcomes"
NOT_ISSUED = "not_issued"
ALREADY_ISSUED = "already_issued"
BEFORE_REFERRAL = "before_referral"
REFERRAL_CLOSED = "referral_closed"
THIRD_ISSUED = "third_issued"  # Issued, the parent having two notices counted on that day


@dataclass(frozen=True, slots=True)
class NewStep:
    """A pathway step ready to save; `parents` are contact ids of the pupil."""

    pupil_id: int
    kind: str
    step_date: date
    parents: tuple[int, ...] = ()
    review_date: date | None = None  # support plan, contract: 6 weeks on when not given
    period_weeks: int | None = None  # Notice to Improve
    section: str | None = None  # prosecution
    reason: str | None = None  # penalty-notice referral, when one must be chosen
    notes: str | None = None
    supersedes: int | None = None


@dataclass(frozen=True, slots=True)
class NewOutcome:
    """What became of a step; for a penalty notice, `contact_id` names whose notice."""

    step_id: int
    outcome: str
    outcome_date: date
    contact_id: int | None = None
    end_date: date | None = None  # an ESO granted: 12 months on when not given
    detail: str | None = None  # withdrawn: why; hearing: its result
    supersedes: int | None = None


@dataclass(frozen=True, slots=True)
class Saved:
    """The id saved, or the fixed code of why nothing was."""

    id: int | None
    problem: str | None = None
    eligibility: tuple[Eligibility, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a pupil's chronology: a visit, a step or an outcome."""

    source: str  # visit, step, outcome
    id: int
    on: date
    what: str  # visit type, step kind or outcome
    officer_ref: str | None  # None: brought in by `ewobot import notices`
    saved_at: str


@dataclass(frozen=True, slots=True)
class ParentCount:
    contact_id: int
    name: str
    eligibility: Eligibility
    # The dates of their penalty-notice referrals awaiting Issued (not in the count).
    awaiting: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenItem:
    """Something with a date on a pupil's pathway: `kind` is review, improvement_ends,
    improvement_reminder, payment_closes, outcome_reminder, eso_ends or eso_reminder."""

    pupil_id: int
    kind: str
    due: date
    step_id: int
    contact_id: int | None = None
    step_kind: str | None = None  # the kind of the step the date belongs to
    # An outcome_reminder of a notice recorded Unpaid: pushed on its day all the same
    # (neither Paid nor Withdrawn), not listed by /due, which asks for that outcome.
    answered: bool = False


# --- scope -------------------------------------------------------------------------------

_CURRENT_STEP = ("NOT EXISTS (SELECT 1 FROM pathway_steps c"
                 " WHERE c.pupil_id = s.pupil_id AND c.supersedes = s.id)")
_CURRENT_OUTCOME = ("NOT EXISTS (SELECT 1 FROM pathway_outcomes c"
                    " WHERE c.pupil_id = o.pupil_id AND c.supersedes = o.id)")

# The order steps and outcomes were saved in, a correction in the place of the entry it
# corrects (placed_at: its chain's first saved_at, schema 4), as visits.LATEST_FIRST: so
# correcting an older outcome never makes it a notice's final one, nor correcting an
# older step of the same day the stage. Outcomes (as `o`) oldest first, and latest first;
# steps (as `s`) latest first by their date, then as saved.
OUTCOMES_IN_ORDER = "COALESCE(o.placed_at, o.saved_at), o.saved_at, o.id"
OUTCOMES_LATEST_FIRST = "COALESCE(o.placed_at, o.saved_at) DESC, o.saved_at DESC, o.id DESC"
STEPS_LATEST_FIRST = ("s.step_date DESC, COALESCE(s.placed_at, s.saved_at) DESC,"
                      " s.saved_at DESC, s.id DESC")
# A step `{t}` as a row that compares in that order (date, then as saved).
_STEP_PLACE = "({t}.step_date, COALESCE({t}.placed_at, {t}.saved_at), {t}.saved_at, {t}.id)"


async def access(conn: Conn, officer: Officer, pupil_id: int, *,
                 include_team: bool = True) -> str | None:
    """`own`, `supervision` (a supervisor's team member's pupil) or None, as pupils.py's
    scope has it: a controller or an inactive person sees none."""
    if officer.role == "controller" or not officer.active:
        return None
    team = officer.role == "supervisor" and include_team
    row = await conn.fetchone(
        "SELECT a.officer_id FROM allocations a WHERE a.pupil_id = :pupil AND (a.officer_id = :me"
        + (" OR a.officer_id IN (SELECT t.id FROM officers t WHERE t.supervisor_id = :me)"
           if team else "") + ")", {"pupil": pupil_id, "me": officer.id})
    if row is None:
        return None
    return OWN if row["officer_id"] == officer.id else SUPERVISION


async def _refused(conn: Conn, officer: Officer, action: str, pupil_id: int | None,
                   now: datetime | None) -> None:
    await audit.append(conn, actor=officer.actor, action=f"refused:{action}",
                       target=None if pupil_id is None else f"pupil:{pupil_id}",
                       reason=NOT_VISIBLE, at=now)


# --- notices on record -------------------------------------------------------------------


async def notices_on_record(conn: Conn, pupil_id: int) -> list[Notice]:
    """The pupil's Notices to Improve and issued penalty notices, one per parent, from the
    current steps and outcomes (a referral not yet issued is not a notice)."""
    rows = await conn.fetchall(
        "SELECT s.id, s.kind, s.step_date, pp.contact_id,"
        " (SELECT o.outcome_date FROM pathway_outcomes o WHERE o.step_id = s.id"
        f"   AND o.contact_id = pp.contact_id AND o.outcome = 'issued' AND {_CURRENT_OUTCOME}"
        f"   ORDER BY {OUTCOMES_LATEST_FIRST} LIMIT 1) AS issued,"
        " (SELECT o.outcome || ' ' || o.outcome_date FROM pathway_outcomes o"
        "   WHERE o.step_id = s.id AND o.contact_id = pp.contact_id"
        f"   AND o.outcome IN ('paid', 'withdrawn', 'unpaid') AND {_CURRENT_OUTCOME}"
        f"   ORDER BY {OUTCOMES_LATEST_FIRST} LIMIT 1) AS final"
        " FROM pathway_steps s JOIN pathway_parents pp ON pp.step_id = s.id"
        f" WHERE s.pupil_id = ? AND s.kind IN ('nti', 'pn_referral') AND {_CURRENT_STEP}"
        " ORDER BY s.step_date, s.id, pp.contact_id", (pupil_id,))
    notices = []
    for row in rows:
        if row["kind"] == "nti":
            notices.append(Notice(row["contact_id"], "nti", date.fromisoformat(row["step_date"])))
        elif row["issued"] is not None:
            outcome, on = row["final"].split(" ") if row["final"] else (None, None)
            notices.append(Notice(row["contact_id"], "pn", date.fromisoformat(row["issued"]),
                                  outcome, date.fromisoformat(on) if on else None))
    return notices


async def _parents(conn: Conn, pupil_id: int, contact_ids: Sequence[int]) -> dict[int, Any]:
    """The pupil's contacts among `contact_ids`, by id."""
    if not contact_ids:
        return {}
    marks = ",".join("?" * len(contact_ids))
    rows = await conn.fetchall(
        "SELECT id, name, parental_responsibility FROM contacts"
        f" WHERE pupil_id = ? AND id IN ({marks})", (pupil_id, *contact_ids))
    return {row["id"]: row for row in rows}


async def _rule_holds(conn: Conn, pupil_id: int, today: date) -> bool:
    """Whether the penalty-notice rule holds today: as every rule, only for a pupil of
    compulsory school age on the date of their latest mark (ATTENDANCE.md, Rules)."""
    rows = await conn.fetchall(
        "SELECT date, code FROM marks WHERE pupil_id = ? AND date > ? AND date <= ?",
        (pupil_id, (today - timedelta(days=_MARKS_DAYS)).isoformat(), today.isoformat()))
    marks = [(date.fromisoformat(r["date"]), r["code"]) for r in rows]
    if not marks:
        return False
    born = await conn.fetchval("SELECT date_of_birth FROM pupils WHERE id = ?", (pupil_id,))
    latest = max(day for day, _code in marks)
    return (born is not None and compulsory_school_age(date.fromisoformat(born), latest)
            and penalty_notice_holds(marks))


# --- recording ---------------------------------------------------------------------------


async def record_step(conn: Conn, officer: Officer, step: NewStep, *, today: date,
                      now: datetime, draft_token: str | None = None,
                      source: str = "chat") -> Saved:
    """Save a step for one of the officer's own pupils with the parents it names, and its
    audit entry; Saved(None, problem) and nothing saved when a rule refuses it. A penalty-
    notice referral is refused for a parent who has had two notices within 3 years, and
    without a reason when one must be chosen (the result carries each parent's count)."""
    if await access(conn, officer, step.pupil_id, include_team=False) != OWN:
        await _refused(conn, officer, "pathway_step", step.pupil_id, now)
        return Saved(None, NOT_VISIBLE)
    await _lock_pupil(conn, step.pupil_id)
    if draft_token is not None and await _saved_from(conn, "pathway_steps", draft_token):
        return Saved(None, REPEAT)
    problem, eligibility = await _step_problem(conn, officer, step, today, now)
    if problem is not None:
        return Saved(None, problem, eligibility)
    review = step.review_date
    if review is None and step.kind in ("support_plan", "contract"):
        review = rules.support_review_date(step.step_date)
    saved_at = stamp(now)
    step_id = await conn.fetchval(
        "INSERT INTO pathway_steps (pupil_id, officer_id, kind, step_date, review_date,"
        " period_weeks, section, reason, notes, supersedes, source, saved_at, placed_at,"
        " draft_token)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {placed_as_corrected('pathway_steps')}, ?)"
        " ON CONFLICT (draft_token) DO NOTHING RETURNING id",
        (step.pupil_id, officer.id, step.kind, step.step_date.isoformat(), _iso(review),
         step.period_weeks, step.section, step.reason, step.notes, step.supersedes, source,
         saved_at, step.supersedes, saved_at, draft_token))
    if step_id is None:
        return Saved(None, REPEAT)
    await conn.executemany("INSERT INTO pathway_parents (step_id, contact_id) VALUES (?, ?)",
                           [(step_id, contact) for contact in dict.fromkeys(step.parents)])
    await audit.append(conn, actor=officer.actor, action="pathway_step_saved",
                       target=f"pupil:{step.pupil_id}",
                       reason="correction" if step.supersedes else f"{source}_entry",
                       detail={"kind": step.kind, "step": step_id,
                               "parents": len(set(step.parents))}, at=now)
    return Saved(step_id, None, eligibility)


async def _lock_pupil(conn: Conn, pupil_id: int) -> None:
    """The count and correction checks read, then write on what they read: under
    PostgreSQL's READ COMMITTED two officers' saves for one pupil take turns (SQLite
    serialises every write already: its `lock` does nothing)."""
    await conn.lock(f"pathway:pupil:{pupil_id}")


def _field_problem(step: NewStep) -> bool:
    """Whether a field is missing or out of its vocabulary for the step's kind."""
    if step.kind not in STEP_KINDS:
        return True
    if (step.kind == "nti") != (step.period_weeks is not None):
        return True
    if step.period_weeks is not None and step.period_weeks not in rules.IMPROVEMENT_WEEKS:
        return True
    if (step.kind == "prosecution") != (step.section is not None):
        return True
    if step.section is not None and step.section not in SECTIONS:
        return True
    if step.reason is not None and (step.kind != "pn_referral" or step.reason not in {
            code for code, _ in rules.REFERRAL_REASONS}):
        return True
    return step.review_date is not None and (
        step.kind not in ("support_plan", "contract") or step.review_date < step.step_date)


async def _step_problem(conn: Conn, officer: Officer, step: NewStep, today: date,
                        now: datetime) -> tuple[str | None, tuple[Eligibility, ...]]:
    """Why this step cannot be saved (a fixed code), with the parents' counts for a
    penalty-notice referral."""
    if _field_problem(step):
        return BAD_FIELD, ()
    parents = await _parents(conn, step.pupil_id, list(dict.fromkeys(step.parents)))
    if len(parents) != len(set(step.parents)):
        return UNKNOWN_PARENT, ()
    if step.kind in _PARENTS_REQUIRED and not parents:
        return PARENTS_NEEDED, ()
    if step.kind == "contract" and not rules.contract_allowed(
            row["parental_responsibility"] == 1 for row in parents.values()):
        return NO_PARENTAL_RESPONSIBILITY, ()
    eligibility: tuple[Eligibility, ...] = ()
    if step.kind == "pn_referral":
        notices = await notices_on_record(conn, step.pupil_id)
        eligibility = tuple(rules.eligibility_per_parent(notices, parents, today))
        if not all(item.allowed for item in eligibility):
            return THIRD_NOTICE, eligibility
        holds = await _rule_holds(conn, step.pupil_id, today)
        if step.reason is None and any(rules.reason_required(notices, contact, today,
                                                             rule_holds=holds)
                                       for contact in parents):
            return REASON_NEEDED, eligibility
    if step.supersedes is not None:
        problem = await _correction_problem(conn, officer, "pathway_steps", step.supersedes,
                                            step.pupil_id, now, kind=step.kind)
        return problem, eligibility
    return None, eligibility


async def _correction_problem(conn: Conn, officer: Officer, table: str, old_id: int,
                              pupil_id: int, now: datetime, *, kind: str) -> str | None:
    """Why the row `old_id` cannot be superseded by this officer now, or None."""
    column = "kind" if table == "pathway_steps" else "outcome"
    old = await conn.fetchone(
        f"SELECT officer_id, saved_at, {column} AS what FROM {table}"
        " WHERE id = ? AND pupil_id = ?", (old_id, pupil_id))
    if old is None or old["officer_id"] != officer.id or old["what"] != kind:
        return NOT_VISIBLE
    if not correctable(datetime.fromisoformat(old["saved_at"]), now):
        return TOO_OLD
    if await conn.fetchval(f"SELECT 1 FROM {table} WHERE supersedes = ?", (old_id,)):
        return ALREADY_CORRECTED
    if table == "pathway_steps" and await conn.fetchval(
            "SELECT 1 FROM pathway_outcomes WHERE step_id = ?", (old_id,)):
        return HAS_OUTCOMES
    return None


async def _saved_from(conn: Conn, table: str, draft_token: str) -> bool:
    return await conn.fetchval(f"SELECT 1 FROM {table} WHERE draft_token = ?",
                               (draft_token,)) is not None


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


async def record_outcome(conn: Conn, officer: Officer, outcome: NewOutcome, *, now: datetime,
                         draft_token: str | None = None, source: str = "chat") -> Saved:
    """Save what became of a current step of one of the officer's own pupils, and its audit
    entry; Saved(None, problem) and nothing saved when a rule refuses it. A penalty
    notice's Paid or Unpaid needs its Issued first, for the same parent; Withdrawn may
    come before it (a referral withdrawn, no notice issued), and then closes it."""
    step = await conn.fetchone(
        "SELECT s.id, s.pupil_id, s.kind, s.step_date FROM pathway_steps s"
        f" WHERE s.id = ? AND {_CURRENT_STEP}", (outcome.step_id,))
    if step is None or await access(conn, officer, step["pupil_id"], include_team=False) != OWN:
        await _refused(conn, officer, "pathway_outcome",
                       None if step is None else step["pupil_id"], now)
        return Saved(None, NOT_VISIBLE)
    await _lock_pupil(conn, step["pupil_id"])
    if draft_token is not None and await _saved_from(conn, "pathway_outcomes", draft_token):
        return Saved(None, REPEAT)
    problem = await _outcome_problem(conn, step, outcome)
    if problem is None and outcome.supersedes is not None:
        problem = await _correction_problem(conn, officer, "pathway_outcomes", outcome.supersedes,
                                            step["pupil_id"], now, kind=outcome.outcome)
    if problem is not None:
        return Saved(None, problem)
    end = outcome.end_date
    if end is None and outcome.outcome == "granted":
        end = rules.eso_end_date(outcome.outcome_date)
    saved_at = stamp(now)
    outcome_id = await conn.fetchval(
        "INSERT INTO pathway_outcomes (step_id, pupil_id, officer_id, contact_id, outcome,"
        " outcome_date, end_date, detail, supersedes, source, saved_at, placed_at, draft_token)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {placed_as_corrected('pathway_outcomes')}, ?)"
        " ON CONFLICT (draft_token) DO NOTHING RETURNING id",
        (step["id"], step["pupil_id"], officer.id, outcome.contact_id, outcome.outcome,
         outcome.outcome_date.isoformat(), _iso(end), outcome.detail, outcome.supersedes,
         source, saved_at, outcome.supersedes, saved_at, draft_token))
    if outcome_id is None:
        return Saved(None, REPEAT)
    await audit.append(conn, actor=officer.actor, action="pathway_outcome_saved",
                       target=f"pupil:{step['pupil_id']}",
                       reason="correction" if outcome.supersedes else f"{source}_entry",
                       detail={"kind": step["kind"], "outcome": outcome.outcome,
                               "step": step["id"], "entry": outcome_id}, at=now)
    return Saved(outcome_id)


async def _outcome_problem(conn: Conn, step: Any, outcome: NewOutcome) -> str | None:
    """Why this outcome does not fit its step (a fixed code), or None."""
    if outcome.outcome not in OUTCOMES_OF.get(step["kind"], frozenset()):
        return BAD_FIELD
    notice = step["kind"] == "pn_referral"
    if notice != (outcome.contact_id is not None):
        return BAD_FIELD
    if outcome.end_date is not None and (outcome.outcome != "granted"
                                         or outcome.end_date <= outcome.outcome_date):
        return BAD_FIELD
    if outcome.outcome in ("withdrawn", "hearing") and not (outcome.detail or "").strip():
        return BAD_FIELD
    if not notice:
        return None
    named = await conn.fetchval(
        "SELECT 1 FROM pathway_parents WHERE step_id = ? AND contact_id = ?",
        (step["id"], outcome.contact_id))
    if named is None:
        return UNKNOWN_PARENT
    held = await conn.fetchone(
        "SELECT min(CASE WHEN o.outcome = 'issued' THEN o.outcome_date END) AS issued,"
        " count(CASE WHEN o.outcome = 'withdrawn' THEN 1 END) AS withdrawn"
        " FROM pathway_outcomes o WHERE o.step_id = ? AND o.contact_id = ?"
        f" AND {_CURRENT_OUTCOME}", (step["id"], outcome.contact_id))
    issued = held["issued"]
    if outcome.outcome == "issued":
        # One notice per parent per referral: a wrong date is corrected, not added to.
        if outcome.supersedes is not None:
            return None
        if issued is not None:
            return ALREADY_ISSUED
        if held["withdrawn"]:
            return REFERRAL_CLOSED
        # The count was checked at the referral; another notice may have been recorded
        # or imported since, and a third within 3 years cannot be issued.
        notices = await notices_on_record(conn, step["pupil_id"])
        allowed = rules.eligibility(notices, outcome.contact_id, outcome.outcome_date).allowed
        return None if allowed else THIRD_ISSUED
    if outcome.outcome == "withdrawn" and issued is None:
        # The referral withdrawn before any notice was issued to this parent.
        return BEFORE_REFERRAL if outcome.outcome_date.isoformat() < step["step_date"] else None
    if issued is None or outcome.outcome_date.isoformat() < issued:
        return NOT_ISSUED
    return None


# --- reading -----------------------------------------------------------------------------

# The chronology is a union of sources: each is one function returning a SELECT of
# (source, id, on_date, what, ref, saved_at) for the pupil `:pupil`, current rows only.
# A new kind of record in the chronology is one more such function, added to
# CHRONOLOGY_SOURCES (and a label in bot/chat/case.py's ENTRY_LABELS); the case view
# pages the union newest first.


def _visit_entries() -> str:
    return ("SELECT 'visit' AS source, v.id, v.visit_date AS on_date, v.type AS what, o.ref,"
            " v.saved_at FROM visits v JOIN officers o ON o.id = v.officer_id"
            " WHERE v.pupil_id = :pupil AND NOT EXISTS (SELECT 1 FROM visits c"
            " WHERE c.pupil_id = v.pupil_id AND c.supersedes = v.id)")


def _step_entries() -> str:
    return ("SELECT 'step', s.id, s.step_date, s.kind, o.ref, s.saved_at"
            " FROM pathway_steps s LEFT JOIN officers o ON o.id = s.officer_id"
            f" WHERE s.pupil_id = :pupil AND {_CURRENT_STEP}")


def _outcome_entries() -> str:
    return ("SELECT 'outcome', o.id, o.outcome_date, o.outcome, w.ref, o.saved_at"
            " FROM pathway_outcomes o LEFT JOIN officers w ON w.id = o.officer_id"
            f" WHERE o.pupil_id = :pupil AND {_CURRENT_OUTCOME}")


def sharing_entries() -> str:
    """Sharing decisions (bot/storage/sharing.py); `what` is "<decision>:<recipient>"."""
    return ("SELECT 'sharing', sh.id, sh.shared_on, sh.decision || ':' || sh.recipient,"
            " o.ref, sh.saved_at FROM sharing_log sh JOIN officers o ON o.id = sh.officer_id"
            " WHERE sh.pupil_id = :pupil AND NOT EXISTS (SELECT 1 FROM sharing_log c"
            " WHERE c.pupil_id = sh.pupil_id AND c.supersedes = sh.id)")


CHRONOLOGY_SOURCES: tuple[Callable[[], str], ...] = (_visit_entries, _step_entries,
                                                     _outcome_entries, sharing_entries)


def _chronology_sql() -> str:
    return " UNION ALL ".join(source() for source in CHRONOLOGY_SOURCES)


async def _chronology_page(conn: Conn, pupil_id: int, offset: int,
                           limit: int) -> tuple[list[Entry], int]:
    """One page of the union, newest first, and how many entries there are in all."""
    union = _chronology_sql()
    params = {"pupil": pupil_id, "offset": max(offset, 0), "limit": max(limit, 0)}
    rows = await conn.fetchall(
        f"SELECT * FROM ({union}) t ORDER BY on_date DESC, saved_at DESC, source, id DESC"
        " LIMIT :limit OFFSET :offset", params)
    total = await conn.fetchval(f"SELECT count(*) FROM ({union}) t", params)
    return [Entry(row["source"], row["id"], date.fromisoformat(row["on_date"]), row["what"],
                  row["ref"], row["saved_at"]) for row in rows], int(total or 0)


async def chronology(conn: Conn, officer: Officer, pupil_id: int, *, offset: int = 0,
                     limit: int = 10, now: datetime | None = None) -> tuple[list[Entry], int]:
    """One page of the pupil's current visits, steps and outcomes, newest first, and how
    many there are; ([], 0) for a pupil this person may not see (audited as refused)."""
    seen = await access(conn, officer, pupil_id)
    if seen is None:
        await _refused(conn, officer, "case_chronology", pupil_id, now)
        return [], 0
    page = await _chronology_page(conn, pupil_id, offset, limit)
    await _viewed(conn, officer, "case_chronology", pupil_id, seen, now)
    return page


async def parent_counts(conn: Conn, officer: Officer, pupil_id: int, *, today: date,
                        now: datetime | None = None) -> list[ParentCount]:
    """Each parent's penalty-notice count and what a referral would be today, with the
    dates of their referrals awaiting Issued: the pupil's contacts with parental
    responsibility and anyone a notice or referral went to, by name."""
    seen = await access(conn, officer, pupil_id)
    if seen is None:
        await _refused(conn, officer, "case_counts", pupil_id, now)
        return []
    counts = await _parent_counts(conn, pupil_id, today)
    await _viewed(conn, officer, "case_counts", pupil_id, seen, now)
    return counts


async def _parent_counts(conn: Conn, pupil_id: int, today: date) -> list[ParentCount]:
    notices = await notices_on_record(conn, pupil_id)
    awaiting = [t for t in await _targets(conn, pupil_id)
                if t.what == "pn_outcome" and t.issued is None]
    named = {n.contact_id for n in notices} | {t.contact_id for t in awaiting}
    rows = await conn.fetchall(
        "SELECT id, name, parental_responsibility FROM contacts WHERE pupil_id = ?"
        " ORDER BY COALESCE(priority, 999), name, id", (pupil_id,))
    return [ParentCount(row["id"], row["name"], rules.eligibility(notices, row["id"], today),
                        tuple(t.step_date for t in awaiting if t.contact_id == row["id"]))
            for row in rows if row["parental_responsibility"] == 1 or row["id"] in named]


async def _viewed(conn: Conn, officer: Officer, action: str, pupil_id: int, seen: str,
                  now: datetime | None) -> None:
    await audit.append(conn, actor=officer.actor, action=action, target=f"pupil:{pupil_id}",
                       reason=SUPERVISION if seen == SUPERVISION else "case_view", at=now)


# --- dates: open items and what is due ---------------------------------------------------

_OPEN_KINDS = frozenset({"review", "improvement_ends", "payment_closes", "eso_ends"})
_DUE_KINDS = frozenset({"review", "improvement_reminder", "outcome_reminder", "eso_reminder"})

_STEP_ROWS = ("SELECT s.id, s.pupil_id, s.kind, s.step_date, s.review_date, s.period_weeks,"
              " COALESCE(s.placed_at, s.saved_at) AS placed, s.saved_at"
              " FROM pathway_steps s {join} WHERE {where} AND " + _CURRENT_STEP)
_OUTCOME_ROWS = ("SELECT o.step_id, o.pupil_id, o.contact_id, o.outcome, o.outcome_date,"
                 " o.end_date FROM pathway_outcomes o {join} WHERE {where} AND "
                 + _CURRENT_OUTCOME + " ORDER BY " + OUTCOMES_IN_ORDER)


def _step_items(steps: Sequence[Any]) -> list[OpenItem]:
    """Reviews and improvement periods still open. Each belongs to its own step, whatever
    comes after it in the meantime (a support plan beside a Notice to Improve is what the
    guidance expects): a review is closed by a later step of the same kind (the new plan
    or contract) or by any step recorded on or after its date (the case was reviewed and
    moved on); an improvement period by a later Notice to Improve or by any step recorded
    after the period ended."""
    items = []
    by_pupil: dict[int, list[Any]] = defaultdict(list)
    for step in steps:
        by_pupil[step["pupil_id"]].append(step)
    for pupil, own in by_pupil.items():
        # By date, then as saved (a correction where the step it corrects stood).
        own.sort(key=lambda step: (step["step_date"], step["placed"], step["saved_at"],
                                   step["id"]))
        for at, step in enumerate(own):
            later = own[at + 1:]
            started = date.fromisoformat(step["step_date"])
            if step["review_date"] is not None:
                review = date.fromisoformat(step["review_date"])
                if not _closed(later, step["kind"], on_or_after=review):
                    items.append(OpenItem(pupil, "review", review, step["id"],
                                          step_kind=step["kind"]))
            if step["kind"] == "nti" and step["period_weeks"] is not None:  # imported: unknown
                weeks = step["period_weeks"]
                ends = rules.improvement_period_end(started, weeks)
                if not _closed(later, "nti", on_or_after=ends + timedelta(days=1)):
                    items.append(OpenItem(pupil, "improvement_ends", ends, step["id"]))
                    items.append(OpenItem(pupil, "improvement_reminder",
                                          rules.improvement_reminder_date(started, weeks),
                                          step["id"]))
    return items


def _closed(later: Sequence[Any], kind: str, *, on_or_after: date) -> bool:
    """Whether a later step replaces one of `kind` or was recorded on or after a day."""
    return any(step["kind"] == kind or date.fromisoformat(step["step_date"]) >= on_or_after
               for step in later)


def _outcome_items(outcomes: Sequence[Any], today: date) -> list[OpenItem]:
    """Payment windows of notices issued with no outcome yet, and orders running."""
    items: list[OpenItem] = []
    by_record: dict[tuple[int, int | None], list[Any]] = {}
    for row in outcomes:  # in the order saved: the last of each notice or order counts
        by_record.setdefault((row["step_id"], row["contact_id"]), []).append(row)
    for (step_id, contact), rows in by_record.items():
        pupil, last = rows[-1]["pupil_id"], rows[-1]
        issued = [date.fromisoformat(r["outcome_date"]) for r in rows if r["outcome"] == "issued"]
        if issued and not any(r["outcome"] in _FINAL for r in rows):
            closes = issued[-1] + timedelta(days=rules.PAYMENT_DAYS)
            items.append(OpenItem(pupil, "payment_closes", closes, step_id, contact))
        if issued and not any(r["outcome"] in ("paid", "withdrawn") for r in rows):
            items.append(OpenItem(pupil, "outcome_reminder",
                                  rules.outcome_reminder_date(issued[-1]), step_id, contact,
                                  answered=any(r["outcome"] == "unpaid" for r in rows)))
        if last["outcome"] == "granted" and last["end_date"] is not None:
            end = date.fromisoformat(last["end_date"])
            if end >= today:
                items.append(OpenItem(pupil, "eso_ends", end, step_id))
                items.append(OpenItem(pupil, "eso_reminder", rules.eso_reminder_date(end),
                                      step_id))
    return items


async def _all_items(conn: Conn, join: str, where: str, params: dict[str, Any],
                     today: date) -> list[OpenItem]:
    """Every dated item of the pupils `where` names; `{t}` in `join` and `where` stands
    for the table read (s: steps, o: outcomes)."""
    steps = await conn.fetchall(_STEP_ROWS.format(join=join.format(t="s"),
                                                  where=where.format(t="s")), params)
    outcomes = await conn.fetchall(_OUTCOME_ROWS.format(join=join.format(t="o"),
                                                        where=where.format(t="o")), params)
    items = _step_items(steps) + _outcome_items(outcomes, today)
    return sorted(items, key=lambda item: (item.due, item.pupil_id, item.kind, item.step_id))


async def open_items(conn: Conn, officer: Officer, pupil_id: int, *, today: date,
                     now: datetime | None = None) -> list[OpenItem]:
    """The pupil's open items, soonest first: review due, improvement period ends, payment
    window closes, education supervision order ends."""
    seen = await access(conn, officer, pupil_id)
    if seen is None:
        await _refused(conn, officer, "case_open_items", pupil_id, now)
        return []
    items = await _open_items(conn, pupil_id, today)
    await _viewed(conn, officer, "case_open_items", pupil_id, seen, now)
    return items


async def _open_items(conn: Conn, pupil_id: int, today: date) -> list[OpenItem]:
    items = await _all_items(conn, "", "{t}.pupil_id = :pupil", {"pupil": pupil_id}, today)
    return [item for item in items if item.kind in _OPEN_KINDS]


async def items_due(conn: Conn, officer: Officer, *, today: date,
                    now: datetime | None = None) -> list[OpenItem]:
    """The pathway reminders due today or earlier on the officer's own caseload, oldest
    first: reviews on the day, the day after an improvement period ends, day 29 after a
    notice with no outcome recorded, 4 weeks before an order ends."""
    if officer.role not in ("officer", "supervisor") or not officer.active:
        return []
    items = await _all_items(conn, "JOIN allocations a ON a.pupil_id = {t}.pupil_id",
                             "a.officer_id = :me", {"me": officer.id}, today)
    due = [item for item in items
           if item.kind in _DUE_KINDS and item.due <= today and not item.answered]
    if due:
        await audit.append_many(conn, [audit.listing(
            actor=officer.actor, reason="pathway_due",
            pupil_ids=[item.pupil_id for item in due])], at=now)
    return due


# --- the case view, the caseload's counts, the daily reminders -----------------------------


@dataclass(frozen=True, slots=True)
class Stage:
    """The pupil's latest current step: where the case stands."""

    kind: str
    on: date


@dataclass(frozen=True, slots=True)
class CaseFile:
    """What `/case` shows of one pupil: stage, open items, counts, a chronology page."""

    pupil_id: int
    access: str  # OWN or SUPERVISION
    stage: Stage | None
    open_items: tuple[OpenItem, ...]
    parents: tuple[ParentCount, ...]
    entries: tuple[Entry, ...]
    offset: int  # of the page shown (a page past the end shows the last)
    total: int


async def case_file(conn: Conn, officer: Officer, pupil_id: int, *, today: date,
                    offset: int = 0, limit: int = 10) -> CaseFile | None:
    """The case of a pupil this person may see (a supervisor their team's), else None.
    Not audited here: the caller audits the view once, with how it was reached, before
    showing it (as a card's view is)."""
    seen = await access(conn, officer, pupil_id)
    if seen is None:
        return None
    entries, total = await _chronology_page(conn, pupil_id, offset, limit)
    if total and not entries and limit > 0:
        offset = (total - 1) // limit * limit
        entries, total = await _chronology_page(conn, pupil_id, offset, limit)
    latest = await conn.fetchone(
        f"SELECT s.kind, s.step_date FROM pathway_steps s WHERE s.pupil_id = ? AND {_CURRENT_STEP}"
        f" ORDER BY {STEPS_LATEST_FIRST} LIMIT 1", (pupil_id,))
    stage = None if latest is None else Stage(latest["kind"],
                                              date.fromisoformat(latest["step_date"]))
    return CaseFile(pupil_id, seen, stage, tuple(await _open_items(conn, pupil_id, today)),
                    tuple(await _parent_counts(conn, pupil_id, today)), tuple(entries),
                    max(offset, 0), total)


async def caseload_items(conn: Conn, officer_id: int, *, today: date) -> list[OpenItem]:
    """Every dated item on one officer's caseload (not audited: no pupil is shown; the
    callers count them or queue reminders naming no one)."""
    return await _all_items(conn, "JOIN allocations a ON a.pupil_id = {t}.pupil_id",
                            "a.officer_id = :me", {"me": officer_id}, today)


# Open notices of many officers' caseloads in one statement (the caseload summary is a
# few statements however large the team): each Notice to Improve that may still be in
# its improvement period (issued in the last 6 weeks, no later Notice to Improve, by
# date then as saved, as `_step_items` orders them: a step after the period ended cannot
# be recorded while it runs), and
# each penalty notice issued with no Paid, Withdrawn or Unpaid. `{officers}` joins the
# officers (alias `ow`) to the allocation `a`; `{where}` chooses them.
_OPEN_NOTICES = f"""
    SELECT a.officer_id, 'nti' AS kind, s.step_date AS on_date, s.period_weeks
      FROM pathway_steps s JOIN allocations a ON a.pupil_id = s.pupil_id {{officers}}
     WHERE {{where}} AND s.kind = 'nti' AND s.period_weeks IS NOT NULL
       AND s.step_date >= :nti_since AND {_CURRENT_STEP}
       AND NOT EXISTS (SELECT 1 FROM pathway_steps l WHERE l.pupil_id = s.pupil_id
           AND l.kind = 'nti'
           AND {_STEP_PLACE.format(t='l')} > {_STEP_PLACE.format(t='s')}
           AND NOT EXISTS (SELECT 1 FROM pathway_steps c WHERE c.pupil_id = l.pupil_id
                           AND c.supersedes = l.id))
    UNION ALL
    SELECT a.officer_id, 'pn', o.outcome_date, NULL
      FROM pathway_outcomes o JOIN allocations a ON a.pupil_id = o.pupil_id {{officers}}
     WHERE {{where}} AND o.outcome = 'issued' AND {_CURRENT_OUTCOME}
       AND NOT EXISTS (SELECT 1 FROM pathway_outcomes f WHERE f.step_id = o.step_id
           AND f.contact_id = o.contact_id AND f.outcome IN ('paid', 'withdrawn', 'unpaid')
           AND NOT EXISTS (SELECT 1 FROM pathway_outcomes c WHERE c.pupil_id = f.pupil_id
                           AND c.supersedes = f.id))
"""


async def open_notices(conn: Conn, *, officers: str, where: str, params: dict[str, Any],
                       today: date) -> dict[int, int]:
    """Open notices on each chosen officer's caseload, for /caseload's column:
    improvement periods running (today on or before the period's last day) and
    penalty notices awaiting an outcome. Not audited: counts name no one."""
    since = today - timedelta(weeks=max(rules.IMPROVEMENT_WEEKS))
    rows = await conn.fetchall(_OPEN_NOTICES.format(officers=officers, where=where),
                               {**params, "nti_since": since.isoformat()})
    counts: dict[int, int] = {}
    for row in rows:
        running = row["kind"] == "pn" or rules.improvement_period_end(
            date.fromisoformat(row["on_date"]), row["period_weeks"]) >= today
        if running:
            counts[row["officer_id"]] = counts.get(row["officer_id"], 0) + 1
    return counts


def reminder_due(item: OpenItem) -> bool:
    """Whether the item is one of the dates a reminder is pushed on."""
    return item.kind in _DUE_KINDS


# --- an imported history -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportedNotice:
    """A notice issued before the bot (`ewobot import notices`): `kind` nti or pn."""

    pupil_id: int
    contact_id: int
    kind: str
    issued: date
    outcome: str | None = None
    outcome_date: date | None = None


async def contact_ids(conn: Conn, pupil_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """The pupils' contacts by (pupil id, name ignoring case and spacing)."""
    found: dict[tuple[int, str], int] = {}
    for pupil_id in sorted(set(pupil_ids)):
        rows = await conn.fetchall("SELECT id, name FROM contacts WHERE pupil_id = ?",
                                   (pupil_id,))
        found.update(((pupil_id, contact_name_key(row["name"])), row["id"]) for row in rows)
    return found


async def apply_notices(conn: Conn, notices: Sequence[ImportedNotice], *,
                        now: datetime) -> dict[str, int]:
    """Add the notices not yet imported (the same pupil, parent, kind and date issued),
    and a penalty notice's outcome when it is new; the counts for the summary. The
    caller audits the import as a whole (the file's SHA-256 and these counts)."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for pupil_id in sorted({notice.pupil_id for notice in notices}):  # in order: no deadlock
        await _lock_pupil(conn, pupil_id)
    for notice in notices:
        kind = "nti" if notice.kind == "nti" else "pn_referral"
        step_id = await conn.fetchval(
            "SELECT s.id FROM pathway_steps s JOIN pathway_parents pp ON pp.step_id = s.id"
            " WHERE s.source = 'import' AND s.pupil_id = ? AND s.kind = ? AND s.step_date = ?"
            " AND pp.contact_id = ?",
            (notice.pupil_id, kind, notice.issued.isoformat(), notice.contact_id))
        if step_id is None:
            step_id = await conn.insert(  # placed at its saving: it corrects nothing
                "INSERT INTO pathway_steps (pupil_id, kind, step_date, source, saved_at,"
                " placed_at) VALUES (?, ?, ?, 'import', ?, ?)",
                (notice.pupil_id, kind, notice.issued.isoformat(), stamp(now), stamp(now)))
            await conn.execute("INSERT INTO pathway_parents (step_id, contact_id) VALUES (?, ?)",
                               (step_id, notice.contact_id))
            if kind == "pn_referral":
                await _imported_outcome(conn, step_id, notice, "issued", notice.issued, now)
            counts["added"] += 1
        elif not await _outcome_is_new(conn, step_id, notice):
            counts["unchanged"] += 1
            continue
        else:
            counts["updated"] += 1
        if notice.outcome is not None and notice.outcome_date is not None:
            await _imported_outcome(conn, step_id, notice, notice.outcome,
                                    notice.outcome_date, now)
    return counts


async def _outcome_is_new(conn: Conn, step_id: int, notice: ImportedNotice) -> bool:
    """Whether the row's outcome differs from the latest recorded for that notice."""
    if notice.outcome is None or notice.outcome_date is None:
        return False
    latest = await conn.fetchone(
        "SELECT o.outcome, o.outcome_date FROM pathway_outcomes o WHERE o.step_id = ?"
        f" AND o.outcome IN ('paid', 'withdrawn', 'unpaid') AND {_CURRENT_OUTCOME}"
        f" ORDER BY {OUTCOMES_LATEST_FIRST} LIMIT 1", (step_id,))
    return latest is None or (latest["outcome"], latest["outcome_date"]) != (
        notice.outcome, notice.outcome_date.isoformat())


async def _imported_outcome(conn: Conn, step_id: int, notice: ImportedNotice, outcome: str,
                            on: date, now: datetime) -> None:
    await conn.execute(  # placed at its saving: an imported outcome corrects nothing
        "INSERT INTO pathway_outcomes (step_id, pupil_id, contact_id, outcome, outcome_date,"
        " source, saved_at, placed_at) VALUES (?, ?, ?, ?, ?, 'import', ?, ?)",
        (step_id, notice.pupil_id, notice.contact_id, outcome, on.isoformat(), stamp(now),
         stamp(now)))


# --- what the /step flow offers ----------------------------------------------------------

_TARGET_WHAT = {"pn_referral": "pn_outcome", "prosecution": "hearing", "eso": "eso_decision",
                "sao": "order"}


async def step_record(conn: Conn, officer: Officer, pupil_id: int, *, today: date,
                      now: datetime | None = None) -> Record | None:
    """What /step may offer for one of the officer's own pupils: the contacts with
    parental responsibility, the steps awaiting an outcome, the notices on record and
    whether the penalty-notice rule holds today; None (audited as refused) otherwise."""
    if await access(conn, officer, pupil_id, include_team=False) != OWN:
        await _refused(conn, officer, "pathway_step", pupil_id, now)
        return None
    parents = await conn.fetchall(
        "SELECT id, name FROM contacts WHERE pupil_id = ? AND parental_responsibility = 1"
        " ORDER BY COALESCE(priority, 999), name, id", (pupil_id,))
    record = Record(
        parents=tuple(Parent(row["id"], row["name"]) for row in parents),
        targets=tuple(await _targets(conn, pupil_id)),
        notices=tuple(await notices_on_record(conn, pupil_id)),
        rule_holds=await _rule_holds(conn, pupil_id, today))
    await audit.append(conn, actor=officer.actor, action="pathway_record",
                       target=f"pupil:{pupil_id}", reason="step_command", at=now)
    return record


async def _targets(conn: Conn, pupil_id: int) -> list[Target]:
    """The current steps that can take an outcome now, oldest first; a penalty-notice
    referral once per parent whose notice is not issued or has no final outcome."""
    steps = await conn.fetchall(
        "SELECT s.id, s.kind, s.step_date FROM pathway_steps s WHERE s.pupil_id = ?"
        f" AND s.kind IN ('pn_referral', 'prosecution', 'eso', 'sao') AND {_CURRENT_STEP}"
        " ORDER BY s.step_date, s.id", (pupil_id,))
    outcomes = await conn.fetchall(
        "SELECT o.step_id, o.contact_id, o.outcome, o.outcome_date FROM pathway_outcomes o"
        f" WHERE o.pupil_id = ? AND {_CURRENT_OUTCOME} ORDER BY {OUTCOMES_IN_ORDER}",
        (pupil_id,))
    parents = await conn.fetchall(
        "SELECT pp.step_id, c.id, c.name FROM pathway_parents pp"
        " JOIN contacts c ON c.id = pp.contact_id JOIN pathway_steps s ON s.id = pp.step_id"
        " WHERE s.pupil_id = ? ORDER BY COALESCE(c.priority, 999), c.name, c.id", (pupil_id,))
    targets = []
    for step in steps:
        on, what = date.fromisoformat(step["step_date"]), _TARGET_WHAT[step["kind"]]
        had = [row for row in outcomes if row["step_id"] == step["id"]]
        if step["kind"] != "pn_referral":
            left = {"prosecution": ("hearing",), "eso": ("granted", "refused"),
                    "sao": ("order",)}[step["kind"]]
            if not any(row["outcome"] in left for row in had):
                targets.append(Target(str(step["id"]), what, step["id"], on, None, None, None,
                                      left))
            continue
        for parent in (row for row in parents if row["step_id"] == step["id"]):
            mine = [row for row in had if row["contact_id"] == parent["id"]]
            issued = [row["outcome_date"] for row in mine if row["outcome"] == "issued"]
            if any(row["outcome"] in _FINAL for row in mine):
                continue
            left = ("paid", "withdrawn", "unpaid") if issued else ("issued", "withdrawn")
            targets.append(Target(f"{step['id']}.{parent['id']}", what, step["id"], on,
                                  parent["id"], parent["name"],
                                  date.fromisoformat(issued[-1]) if issued else None, left))
    return targets


async def saved_from_draft(conn: Conn, draft_token: str) -> bool:
    """Whether the /step draft with this token was saved (a second Save is a repeat)."""
    return (await _saved_from(conn, "pathway_steps", draft_token)
            or await _saved_from(conn, "pathway_outcomes", draft_token))
