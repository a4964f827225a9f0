"""Subject access: everything held about one pupil, written as one JSON file on the server.

The export is for the controller to review and redact before disclosure: a short
summary first, then the pupil's record, their contacts (third parties), marks with
the year's figures, visits, attendance-pathway steps and outcomes, alerts, holds,
every other row held about them (requests kept while a session was locked that name
them included), the audit entries about them, and why the data is held, who receives
it (with every sharing decision about them), how long it is kept and where it came
from. The request is recorded (received
today, due one calendar month later) and the export audited, in the transaction that
reads the data; the file is written 0600 before that transaction commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.domain.attendance import Tally
from bot.domain.dates import academic_year_bounds, academic_year_of, year_label
from bot.domain.retention import one_calendar_month_after
from bot.domain.upn import NOT_HELD, UpnProblem, checked_upn, normalise_upn
from bot.domain.visits import ABSENCE_REASONS, ACTIONS, CONTACT_OUTCOMES, VISIT_TYPES, label_of
from bot.files import os_reason, write_private
from bot.settings import Settings
from bot.storage import audit, retention, rights, sessions, sharing
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer

SEN_LABELS = {"N": "none", "K": "SEN support", "E": "EHC plan"}
PURPOSES = (
    "Monitoring the pupil's school attendance and punctuality for the schools that "
    "commission the education welfare service.",
    "Planning and recording interventions (home visits, meetings, letters) where "
    "attendance or punctuality causes concern.",
    "Alerting the pupil's education welfare officer and their supervisor when an "
    "attendance rule is met, and escalating safeguarding concerns.",
)
RECIPIENTS = (
    "The education welfare officer the pupil is allocated to.",
    "That officer's supervisor (read-only, audited as supervision).",
    "The service's data controller representative (case references and dates only).",
    "Telegram, as the carrier of the service's chat messages (protected content, "
    "deleted after a set time where they show contacts or notes).",
)
SOURCE = ("The pupil's school (pupil, contact and attendance files imported by the "
          "service's administrator) and the education welfare service's own visit records.")
SUMMARY = ("Subject-access export for case {ref}, made {made}. Held: the pupil's record; "
           "{contacts} contact(s) (third parties: review before disclosure); {marks} "
           "attendance mark(s) over {years} academic year(s); {visits} visit(s); "
           "{steps} pathway step(s) and {outcomes} outcome(s); "
           "{sharing} sharing decision(s); "
           "{alerts} alert(s); {holds} hold(s); {audit} audit entr(ies) about the pupil. "
           "Kept until {deadline} unless on hold. Request received {received}; "
           "response due by {due}.")


class SubjectAccessProblem(Exception):
    """The export cannot be made; str() is one line for the person asking."""


@dataclass(frozen=True, slots=True)
class SubjectAccessExport:
    """What was written: the file, its rows by section, and the request recorded."""

    path: Path
    counts: dict[str, int]
    request_id: int
    received: date
    due: date


async def export_subject_access(db: Database, settings: Settings, upn: str, *, actor: str,
                                now: datetime, requester: Officer | None = None,
                                out: Path | None = None,
                                force: bool = False) -> SubjectAccessExport:
    """Write the export for the pupil with this UPN; SubjectAccessProblem when it cannot be.

    `requester` is the controller asking in the chat (checked to be one, active); the
    command line, run by an administrator on the server, passes None. `out` names the
    file (default: a new file in EWO_EXPORT_DIR); an existing file needs `force`.
    """
    try:
        wanted = checked_upn(upn)
    except UpnProblem as problem:
        raise SubjectAccessProblem(str(problem)) from None
    if out is not None:
        try:
            _check_out(out, force=force)
        except OSError as exc:  # a name too long, a folder it may not look in
            raise SubjectAccessProblem(f"cannot write {out}: {_reason(exc)}") from None
    local = now.astimezone(settings.timezone)
    received = local.date()
    due = one_calendar_month_after(received)
    async def _transaction(conn: Conn):
        if requester is not None and not await _is_controller(conn, requester):
            raise SubjectAccessProblem("subject-access exports are for controllers only")
        pupil = await conn.fetchone(
            "SELECT p.*, s.name AS school_name FROM pupils p"
            " JOIN schools s ON s.urn = p.school_urn WHERE p.upn = ?", (wanted,))
        if pupil is None:
            raise SubjectAccessProblem(NOT_HELD)
        path = out or _default_path(settings, pupil["case_ref"], local)
        request_id = await conn.insert(
            "INSERT INTO subject_access_requests (pupil_ref, received, due, export_file,"
            " requested_by) VALUES (?, ?, ?, ?, ?)",
            (f"pupil:{pupil['id']}", received.isoformat(), due.isoformat(), path.name, actor))
        # Also a rights request of kind access, so one list and one reminder cover it;
        # the export's own audit entry below records it.
        await rights.record(conn, pupil["id"], "access", received, actor=actor, now=now,
                            audited=False)
        await audit.append(conn, actor=actor, action="sar_export", target=f"pupil:{pupil['id']}",
                           reason="subject_access", at=now, detail={"request": request_id})
        document, counts = await _document(conn, settings, pupil, local)
        document["request"] = {"id": request_id, "received": received.isoformat(),
                               "due": due.isoformat(), "requested_by": actor}
        document["summary"] = SUMMARY.format(
            ref=pupil["case_ref"], made=local.strftime("%d/%m/%Y %H:%M"),
            contacts=counts["contacts"], marks=counts["marks"], years=counts["figures"],
            visits=counts["visits"], steps=counts["pathway_steps"],
            outcomes=counts["pathway_outcomes"], sharing=counts["sharing_log"],
            alerts=counts["alerts"], holds=counts["holds"],
            audit=counts["audit"], deadline=_day(document["retention_deadline"]),
            received=_day(received.isoformat()), due=_day(due.isoformat()))
        _write(path, document, force=force)
        return counts, path, request_id
    counts, path, request_id = await db.write(_transaction)
    return SubjectAccessExport(path, counts, request_id, received, due)


async def remove_exports_of_disposed(db: Database, folder: Path) -> int:
    """Delete the exports still in `folder` (EWO_EXPORT_DIR) that were made for pupils
    since disposed of: the record is gone, so its copy goes too. Files written
    elsewhere (`--out`) are the administrator's to remove. Returns how many went; an
    OSError when one could not be deleted (its name is kept for the next clean-up)."""
    owed = await db.read(retention.exports_owed)
    removed, done, failed, failure = 0, [], [], None
    for name in owed:
        try:
            (folder / name).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            failed.append(name)
            failure = exc
            continue
        else:
            removed += 1
        done.append(name)
    await db.write(retention.exports_deleted, done, failed)
    if failure is not None:
        raise failure
    return removed


async def pupil_target(conn: Conn, upn: str) -> str | None:
    """The audit reference (`pupil:<id>`) of the pupil with this UPN, or None. No officer:
    a controller's `/sar UPN` kept while locked (whom the registry lets ask for one)."""
    pupil_id = await conn.fetchval("SELECT id FROM pupils WHERE upn = ?", (normalise_upn(upn),))
    return None if pupil_id is None else f"pupil:{pupil_id}"


async def upn_of(conn: Conn, pupil_id: int) -> str | None:
    """The UPN of a pupil held, or None (a `/sar` kept while locked keeps the id only).
    No officer: the `/sar` it rebuilds goes through the gate again, controllers only."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT upn FROM pupils WHERE id = ?", (pupil_id,))


async def _is_controller(conn: Conn, officer: Officer) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM officers WHERE id = ? AND role = 'controller' AND status = 'active'",
        (officer.id,))
    return found is not None


def _reason(exc: OSError) -> str:
    """Why a file could not be written, in the system's words ("Read-only file system")."""
    if isinstance(exc, FileExistsError) and exc.filename is not None:
        return f"{exc.filename} is not a folder"
    return os_reason(exc)


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def _default_path(settings: Settings, case_ref: str, local: datetime) -> Path:
    folder = settings.export_dir
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SubjectAccessProblem(f"cannot make the export folder {folder} (EWO_EXPORT_DIR):"
                                   f" {_reason(exc)}") from None
    path = folder / f"sar-{case_ref}-{local:%Y%m%d-%H%M%S}.json"
    if path.exists():
        raise SubjectAccessProblem(f"{path.name} already exists; try again in a second")
    return path


# --- the document --------------------------------------------------------------------------


# Sections exported as they are stored, a query each with the pupil's id its one
# parameter, in the order they appear in the export (after the visits and pathway).
_STORED: tuple[tuple[str, str], ...] = (
    ("alerts", "SELECT rule, academic_year, attended, possible, created_at FROM alerts"
               " WHERE pupil_id = ? ORDER BY id"),
    ("holds", "SELECT h.reason, h.review_date, o.ref AS placed_by, h.created_at FROM holds h"
              " JOIN officers o ON o.id = h.officer_id WHERE h.pupil_id = ?"),
    ("alert_rules", "SELECT academic_year, rule, holding, changed_at FROM rule_states"
                    " WHERE pupil_id = ? ORDER BY academic_year, rule"),
    ("stored_figures", "SELECT academic_year, possible, attended, authorised, unauthorised,"
                       " lates_l, lates_u, latest_mark FROM pupil_stats WHERE pupil_id = ?"
                       " ORDER BY academic_year"),
    # Messages are listed without their text, which may be about other pupils too.
    ("messages", "SELECT o.id, o.kind, o.status, o.created_at, o.sent_at FROM outbox o"
                 " JOIN outbox_pupils op ON op.outbox_id = o.id WHERE op.pupil_id = ?"
                 " ORDER BY o.id"),
)
# After the drafts and the kept requests.
_KEPT: tuple[tuple[str, str], ...] = (
    # Rectification statements are here in full: the export is the pupil's copy of them.
    ("rights_requests", "SELECT id, kind, received, due, extension_reason, status, decided,"
                        " decision_reason, statement, lifted FROM rights_requests"
                        " WHERE pupil_id = ? ORDER BY id"),
    ("retention_reminders", "SELECT stage, reminded_at FROM retention_reminders"
                            " WHERE pupil_id = ?"),
    ("pathway_reminders", "SELECT reminder_key, queued_at FROM pathway_reminders"
                          " WHERE pupil_id = ? ORDER BY queued_at, reminder_key"),
)


async def _document(conn: Conn, settings: Settings, pupil: Any,
                    local: datetime) -> tuple[dict[str, Any], dict[str, int]]:
    """Every section in the order the controller reads them, and rows per section."""
    pupil_id = pupil["id"]
    sections: dict[str, Any] = {"summary": ""}
    sections["pupil"] = await _pupil(conn, pupil)
    sections["contacts"] = await _contacts(conn, pupil_id)
    marks = await _rows(conn, "SELECT date, session, code FROM marks WHERE pupil_id = ?"
                              " ORDER BY date, session", pupil_id)
    sections["marks"] = {"figures": _figures(marks, settings), "sessions": marks}
    sections["visits"] = await _visits(conn, pupil_id)
    sections["pathway_steps"], sections["pathway_outcomes"] = await _pathway(conn, pupil_id)
    for name, sql in _STORED:
        sections[name] = await _rows(conn, sql, pupil_id)
    drafts = await _rows(
        conn, "SELECT kind, step, data, started_at, updated_at FROM conversations"
              " WHERE pupil_id = ?", pupil_id)
    sections["drafts"] = [{**draft, "data": json.loads(draft["data"])} for draft in drafts]
    sections["kept_requests"] = await _kept_requests(conn, pupil_id)
    for name, sql in _KEPT:
        sections[name] = await _rows(conn, sql, pupil_id)
    subject = f"pupil:{pupil_id}"
    sections["audit"] = [
        {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
         "reason": e.reason, "detail": _about_subject(e.detail, subject)}
        for e in await audit.entries(conn, targets=(subject,))]
    sections["purposes"] = list(PURPOSES)
    # Who receives the data as a rule, then every sharing decision about the pupil
    # (shared or not, with whom, what, why and on what basis): Article 15(1)(c).
    sections["recipients"] = {"categories": list(RECIPIENTS),
                              "sharing_log": await sharing.for_export(conn, pupil_id)}
    sections["retention_deadline"] = await _deadline(conn, settings, pupil, local)
    sections["source"] = SOURCE
    counts = {"pupil": 1, "allocation": int(sections["pupil"]["allocation"] is not None),
              "contacts": len(sections["contacts"]), "marks": len(marks),
              "figures": len(sections["marks"]["figures"]),
              "sharing_log": len(sections["recipients"]["sharing_log"])}
    counts.update({name: len(sections[name]) for name in (
        "visits", "pathway_steps", "pathway_outcomes", "alerts", "holds", "alert_rules",
        "stored_figures", "messages", "drafts", "kept_requests", "retention_reminders",
        "pathway_reminders", "audit")})
    return sections, counts


def _about_subject(detail: dict[str, Any] | None, subject: str) -> dict[str, Any] | None:
    """An audit entry's detail as the export shows it: of the further records it names
    (a listing names every pupil it showed), the other pupils are left out, as they are
    from the kept requests: they are not the subject."""
    if detail is None or "targets" not in detail:
        return detail
    targets = [target for target in detail["targets"]
               if target == subject or not str(target).startswith("pupil:")]
    return {**detail, "targets": targets}


async def _pathway(conn: Conn, pupil_id: int) -> tuple[list[dict[str, Any]],
                                                      list[dict[str, Any]]]:
    """The pupil's pathway steps (with the parents each names, by name: third parties)
    and their outcomes, corrections and superseded entries included, oldest first."""
    steps = await _rows(
        conn, "SELECT s.id, s.kind, s.step_date, o.ref AS officer_ref, s.review_date,"
              " s.period_weeks, s.section, s.reason, s.notes, s.supersedes, s.source, s.saved_at"
              " FROM pathway_steps s LEFT JOIN officers o ON o.id = s.officer_id"
              " WHERE s.pupil_id = ? ORDER BY s.step_date, s.saved_at, s.id", pupil_id)
    parents = await _rows(
        conn, "SELECT pp.step_id, c.name FROM pathway_parents pp"
              " JOIN pathway_steps s ON s.id = pp.step_id JOIN contacts c ON c.id = pp.contact_id"
              " WHERE s.pupil_id = ? ORDER BY c.name", pupil_id)
    for step in steps:
        step["parents"] = [row["name"] for row in parents if row["step_id"] == step["id"]]
    outcomes = await _rows(
        conn, "SELECT x.id, x.step_id, x.outcome, x.outcome_date, c.name AS parent,"
              " o.ref AS officer_ref, x.end_date, x.detail, x.supersedes, x.source, x.saved_at"
              " FROM pathway_outcomes x LEFT JOIN officers o ON o.id = x.officer_id"
              " LEFT JOIN contacts c ON c.id = x.contact_id"
              " WHERE x.pupil_id = ? ORDER BY x.outcome_date, x.saved_at, x.id", pupil_id)
    return steps, outcomes


async def _kept_requests(conn: Conn, pupil_id: int) -> list[dict[str, Any]]:
    """Requests kept while a session was locked that name the pupil: whose, what kind,
    until when. Other pupils a request names are left out (they are not the subject)."""
    kept = []
    for request in await sessions.requests_naming(conn, pupil_id):
        data = json.loads(request.request)
        kept.append({"officer_ref": request.officer_ref, "kind": data.get("kind"),
                     "via": data.get("via") or data.get("data"),
                     "kept_until": request.kept_until.isoformat()})
    return kept


async def _rows(conn: Conn, sql: str, pupil_id: int) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetchall(sql, (pupil_id,))]


async def _pupil(conn: Conn, pupil: Any) -> dict[str, Any]:
    allocation = await conn.fetchone(
        "SELECT o.ref, a.allocated_at FROM allocations a JOIN officers o ON o.id = a.officer_id"
        " WHERE a.pupil_id = ?", (pupil["id"],))
    spans = await conn.fetchall(
        "SELECT o.ref, h.started, h.ended FROM allocation_history h"
        " JOIN officers o ON o.id = h.officer_id WHERE h.pupil_id = ? ORDER BY h.started, h.id",
        (pupil["id"],))
    schools = await conn.fetchall(
        "SELECT h.school_urn, s.name, h.started, h.ended FROM school_history h"
        " JOIN schools s ON s.urn = h.school_urn WHERE h.pupil_id = ?"
        " ORDER BY h.started, h.id", (pupil["id"],))
    return {
        "upn": pupil["upn"], "case_ref": pupil["case_ref"],
        "first_name": pupil["first_name"], "last_name": pupil["last_name"],
        "date_of_birth": pupil["date_of_birth"], "year_group": pupil["year_group"],
        "school": {"urn": pupil["school_urn"], "name": pupil["school_name"]},
        "address": pupil["address"], "postcode": pupil["postcode"],
        "sen": {"code": pupil["sen"], "meaning": SEN_LABELS.get(pupil["sen"], pupil["sen"])},
        "health_needs": pupil["health_needs"],
        "first_imported": pupil["first_imported"], "last_imported": pupil["last_imported"],
        "allocation": None if allocation is None else {
            "officer_ref": allocation["ref"], "allocated_at": allocation["allocated_at"]},
        "allocation_history": [{"officer_ref": span["ref"], "from": span["started"],
                                "to": span["ended"]} for span in spans],
        # "to": the day the pupils import recorded the next school (None: still there).
        "school_history": [{"urn": span["school_urn"], "name": span["name"],
                            "from": span["started"], "to": span["ended"]} for span in schools],
    }


async def _contacts(conn: Conn, pupil_id: int) -> list[dict[str, Any]]:
    rows = await _rows(
        conn, "SELECT name, relationship, phone, email, address, date_of_birth,"
              " parental_responsibility, priority FROM contacts WHERE pupil_id = ?"
              " ORDER BY CASE WHEN priority IS NULL THEN 1 ELSE 0 END, priority, name", pupil_id)
    for row in rows:
        responsibility = row["parental_responsibility"]
        row["parental_responsibility"] = None if responsibility is None else bool(responsibility)
        row["third_party"] = True  # someone other than the data subject: redact before disclosure
    return rows


async def _visits(conn: Conn, pupil_id: int) -> list[dict[str, Any]]:
    rows = await _rows(
        conn, "SELECT v.id, v.visit_date, o.ref AS officer_ref, v.type, v.contact, v.reason,"
              " v.action, v.follow_up, v.notes, v.supersedes, v.source, v.saved_at"
              " FROM visits v JOIN officers o ON o.id = v.officer_id WHERE v.pupil_id = ?"
              " ORDER BY v.visit_date, v.saved_at, v.id", pupil_id)
    vocabularies = {"type": VISIT_TYPES, "contact": CONTACT_OUTCOMES,
                    "reason": ABSENCE_REASONS, "action": ACTIONS}
    for row in rows:
        for field, vocabulary in vocabularies.items():
            if row[field] is not None:
                row[field] = label_of(vocabulary, row[field])
    return rows


def _figures(marks: list[dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """Per academic year: sessions possible, attended, absences, lates and the figure."""
    by_year: dict[int, list[str]] = {}
    for mark in marks:
        year = academic_year_of(date.fromisoformat(mark["date"]), settings.academic_year_end)
        by_year.setdefault(year, []).append(mark["code"])
    figures = []
    for year, codes in sorted(by_year.items()):
        tally = Tally.of(codes)
        first, last = academic_year_bounds(year, settings.academic_year_end)
        figures.append({
            "academic_year": year_label(year, settings.academic_year_end),
            "from": first.isoformat(), "to": last.isoformat(),
            "possible": tally.possible, "attended": tally.attended,
            "authorised": tally.authorised, "unauthorised": tally.unauthorised,
            "lates": tally.lates, "attendance": tally.attendance_percent_text})
    return figures


async def _deadline(conn: Conn, settings: Settings, pupil: Any, local: datetime) -> str:
    deadline = await retention.deadline_of(conn, pupil["id"], retention.policy_for(settings, local))
    assert deadline is not None  # the pupil was read in this same transaction
    return deadline.isoformat()


# --- the file -------------------------------------------------------------------------------


def _check_out(out: Path, *, force: bool) -> None:
    """Refuse an --out that cannot be the export, before anything is read or recorded."""
    if out.is_dir():
        raise SubjectAccessProblem(f"{out} is a folder; give a file name ending .json")
    if out.exists() and not force:
        raise SubjectAccessProblem(f"{out} already exists; add --force to overwrite it")
    if not out.parent.is_dir():
        raise SubjectAccessProblem(f"no folder {out.parent} to write the export into")


def _write(path: Path, document: dict[str, Any], *, force: bool) -> None:
    """Write 0600; never over an existing file unless `force` (then replaced whole)."""
    data = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
    try:
        write_private(path, data, force=force)
    except FileExistsError:
        raise SubjectAccessProblem(f"{path} already exists; add --force to overwrite it") from None
    except IsADirectoryError:
        raise SubjectAccessProblem(f"{path} is a folder; give a file name ending .json") from None
    except OSError as exc:
        raise SubjectAccessProblem(f"cannot write {path}: {_reason(exc)}") from None
