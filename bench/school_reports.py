"""`ewobot report schools` for a service of 40 schools and 20,000 pupils with a year of
marks: seconds in all and per school, against reading the same marks raw in the same run."""

from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.report import Result, Unavailable
from bench.workspace import ACTOR, LONDON, Workspace, add_officers, bench_settings, need
from bot.domain.dates import academic_year_start
from bot.settings import Settings
from bot.storage.db import Database
from bot.synthetic import SyntheticService, generate

REPORTS = "school reports"
LIMIT_S = 60.0
# The summer term's last week: a whole academic year of marks lies behind it.
TODAY = date(2026, 7, 17)
YEAR_WEEKS = 38


async def run(workspace: Workspace) -> list[Result]:
    try:
        write_all = need("bot.reports.service", "write_all_reports")
        period_type = need("bot.domain.school_report", "Period")
    except Unavailable as missing:
        return [Result.skip(REPORTS, str(missing))]
    scale = workspace.scale
    schools = 40 if scale.name == "full" else 2
    weeks = YEAR_WEEKS if scale.name == "full" else scale.weeks
    service = generate(workspace.folder("reports-service"), seed=21, pupils=scale.pupils,
                       schools=schools, officers=scale.officers,
                       supervisors=max(1, scale.officers // 10),
                       weeks=weeks, today=TODAY)
    settings = bench_settings(workspace.folder("reports"))
    db = await Database.open(settings)
    try:
        await load(db, settings, service)
        baseline = _raw_read_seconds(settings.database)
        period = period_type.of(None, None, today=TODAY, year_end=settings.academic_year_end)
        started = time.perf_counter()
        written = await write_all(db, settings, period, workspace.folder("reports-out"),
                                  force=True, actor=ACTOR, now=_morning(TODAY))
        seconds = time.perf_counter() - started
    finally:
        await db.close()
    referred = sum(one.report.headline.referred for one in written)
    return [Result(
        REPORTS,
        figures={"schools": len(written), "pupils": service.pupils, "marks": service.marks,
                 "referred": referred, "seconds": seconds,
                 "seconds_per_school": seconds / len(written), "raw_read_s": baseline},
        headline=f"{len(written)} schools in {seconds:.1f} s "
                 f"({seconds / len(written):.2f} s a school)",
        baseline=f"reading every mark raw with sqlite3: {baseline:.1f} s",
        ratio=seconds / baseline if baseline else None,
        target=f"well under {LIMIT_S:g} s", met=seconds < LIMIT_S,
        notes=[f"{service.pupils:,} pupils, {service.marks:,} marks over {weeks} weeks, "
               f"{referred:,} referred (allocated) pupils; each school's PDF has its "
               "title page, two charts and the table of referred pupils."])]


async def load(db: Database, settings: Settings, service: SyntheticService) -> None:
    """The service imported with its allocations made on the year's first school day, so
    that "at referral" and "now" differ as in a real year."""
    run_import = need("bot.importing.service", "run_import")
    first_day = service.school_days[0]
    year_end = settings.academic_year_end
    year_start = academic_year_start(service.today, year_end)
    begun = max(first_day, year_start)
    allocated = begun + timedelta(days=min(21, (service.today - begun).days // 2))
    await add_officers(db, service, _morning(first_day))
    for kind, day in (("pupils", first_day), ("contacts", first_day),
                      ("allocations", allocated),
                      ("attendance", service.today), ("visits", service.today)):
        await run_import(db, kind, service.files[kind], actor=ACTOR, today=day,
                         settings=settings, now=_morning(day), baseline=kind == "attendance",
                         progress=None)


def _morning(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), LONDON).replace(hour=10)


def _raw_read_seconds(database: Path) -> float:
    """Every mark read raw, school by school, as the reports read them."""
    started = time.perf_counter()
    with sqlite3.connect(database) as conn:
        for (urn,) in conn.execute("SELECT urn FROM schools").fetchall():
            for _row in conn.execute(
                    "SELECT m.pupil_id, m.date, m.code FROM pupils p JOIN marks m"
                    " ON m.pupil_id = p.id WHERE p.school_urn = ?", (urn,)):
                pass
    return time.perf_counter() - started
