"""Making school reports: read one school in one snapshot, work out its figures with the
domain rules the cards and alerts use, draw the PDF, write it 0600, audit it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.domain.dates import academic_year_start
from bot.domain.school_report import (
    Period,
    ReferredPupil,
    SchoolReport,
    Thresholds,
    attendance_at_referral,
    attendance_now,
    band_mix,
    headline,
    weekly_attendance,
)
from bot.files import os_reason, write_private
from bot.reports import pdf
from bot.settings import Settings
from bot.storage import reports as store
from bot.storage.db import Database


class ReportProblem(Exception):
    """A report that cannot be made as asked: one line for the person who asked."""


@dataclass(frozen=True)
class ReportWritten:
    path: Path
    report: SchoolReport


def file_name(urn: str, period: Period) -> str:
    """`school-100001-2026-09-01-to-2026-12-04.pdf`."""
    return f"school-{urn}-{period.start.isoformat()}-to-{period.end.isoformat()}.pdf"


async def write_school_report(db: Database, settings: Settings, urn: str, period: Period,
                              out: Path, *, force: bool, actor: str, now: datetime
                              ) -> ReportWritten:
    """One school's report at `out`; ReportProblem for an unknown URN or a path that
    cannot be written (nothing is audited then)."""
    found = await db.read(store.school, urn)
    if found is None:
        raise ReportProblem(f"no school with URN {urn} is held")
    return await _write(db, settings, found, period, out, force=force, actor=actor, now=now)


async def write_all_reports(db: Database, settings: Settings, period: Period, folder: Path, *,
                            force: bool, actor: str, now: datetime,
                            progress: Callable[[int, int], None] = lambda done, total: None
                            ) -> list[ReportWritten]:
    """One report per school into `folder` (created 0700 when missing); without `force`,
    refused before any is written when one of the files is already there. A refusal
    for holding no schools comes before the folder is made: none is left behind."""
    schools = await db.read(store.schools)
    if not schools:
        raise ReportProblem("the service holds no schools yet (import pupils first)")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportProblem(f"cannot create the folder {folder}: {os_reason(exc)}") from None
    if not folder.is_dir():
        raise ReportProblem(f"{folder} is not a folder")
    targets = [folder / file_name(found.urn, period) for found in schools]
    if not force:
        # Before any is written: a refusal at the tenth school would leave nine new
        # reports behind, written and audited, that the one error line does not mention.
        _refuse_existing(targets)
    written = []
    for done, (found, out) in enumerate(zip(schools, targets, strict=True)):
        progress(done, len(schools))
        written.append(await _write(db, settings, found, period, out,
                                    force=force, actor=actor, now=now))
    progress(len(schools), len(schools))
    return written


def _refuse_existing(targets: list[Path]) -> None:
    """ReportProblem naming the first of `targets` already there, as `_write` would."""
    for out in targets:
        try:
            folder, there = out.is_dir(), out.exists() or out.is_symlink()
        except OSError as exc:
            raise ReportProblem(f"cannot write {out}: {os_reason(exc)}") from None
        if folder:
            raise ReportProblem(f"{out} is a folder; give a file name ending .pdf")
        if there:
            raise ReportProblem(f"{out} already exists; add --force to overwrite it")


async def _write(db: Database, settings: Settings, found: store.School, period: Period,
                 out: Path, *, force: bool, actor: str, now: datetime) -> ReportWritten:
    report = await build_report(db, settings, found, period, now)
    document = await asyncio.to_thread(pdf.render, report)
    try:
        write_private(out, document, force=force)
    except FileExistsError:
        raise ReportProblem(f"{out} already exists; add --force to overwrite it") from None
    except IsADirectoryError:
        raise ReportProblem(f"{out} is a folder; give a file name ending .pdf") from None
    except OSError as exc:
        raise ReportProblem(f"cannot write {out}: {os_reason(exc)}") from None
    await db.write(store.record_report, actor=actor, urn=found.urn, period=period,
                   counts=report.counts(),
                   pupil_ids=[pupil.pupil_id for pupil in report.pupils], now=now)
    return ReportWritten(out, report)


async def build_report(db: Database, settings: Settings, found: store.School, period: Period,
                       now: datetime) -> SchoolReport:
    """The figures of one school's report, read in one snapshot."""
    year_end = settings.academic_year_end
    marks_from = academic_year_start(period.start, year_end)
    data = await db.read(store.school_data, found, period, marks_from)
    pupils = tuple(
        ReferredPupil(row.pupil_id, row.name, row.year_group, row.case_ref, row.officer_ref,
                      row.referred_on,
                      attendance_at_referral(data.marks[row.pupil_id], row.referred_on, year_end),
                      attendance_now(data.marks[row.pupil_id], row.last_day, year_end),
                      row.stage, row.left_on)
        for row in data.pupils)
    thresholds = Thresholds(settings.pa_threshold, settings.sa_threshold)
    return SchoolReport(
        urn=found.urn, school=found.name, period=period,
        made_at=f"{now:%d/%m/%Y %H:%M}", pupils=pupils,
        headline=headline(pupils, thresholds), band_mix=band_mix(pupils, thresholds),
        thresholds=thresholds, weeks=tuple(weekly_attendance(data.marks, period)),
        interventions=data.interventions)
