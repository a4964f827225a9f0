"""The retention check over 100,000 pupil records: every record's deadline worked out
from its last intervention, counted by school, reminders recorded."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from bench.report import Result, Unavailable
from bench.workspace import (
    LONDON,
    Workspace,
    add_officers,
    bench_settings,
    import_files,
    morning_of,
    need,
)
from bot.storage.db import Database
from bot.synthetic import SyntheticService, generate

RETENTION = "retention sweep"
LIMIT_S = 1.0
# Two school weeks either side of the summer holiday: visits fall in two academic years,
# so records reach their deadlines a year apart.
TODAY = date(2026, 9, 11)
# The first check finds last year's records past due; a year on, every record is due.
CHECKS = (datetime(2027, 9, 6, 9, 0, tzinfo=LONDON), datetime(2028, 8, 10, 9, 0, tzinfo=LONDON))


def _check_function() -> Callable[..., Awaitable[Any]]:
    """run_retention_check, from the use cases (or the job module, where it lived)."""
    try:
        return need("bot.usecases.retention", "run_retention_check")
    except Unavailable:
        return need("bot.jobs.retention", "run_retention_check")


async def run(workspace: Workspace) -> list[Result]:
    try:
        check = _check_function()
        need("bot.importing.service", "run_import")
    except Unavailable as missing:
        return [Result.skip(RETENTION, str(missing))]
    service = _service(workspace)
    settings = bench_settings(workspace.folder("retention"))
    db = await Database.open(settings)
    try:
        await add_officers(db, service, morning_of(service.today))
        await import_files(db, settings, service, ("pupils", "allocations", "visits"))
        seconds = []
        for now in CHECKS:
            started = time.perf_counter()
            outcome = await check(db, settings, now)
            seconds.append(time.perf_counter() - started)
            due = (outcome.coming_due, outcome.past_due)
    finally:
        await db.close()
    slowest = max(seconds)
    return [Result(
        RETENTION,
        figures={"pupils": service.pupils, "first_check_s": seconds[0],
                 "second_check_s": seconds[1], "due_at_second": sum(due)},
        headline=(f"{service.pupils:,} records: {seconds[0]:.2f} s, then {seconds[1]:.2f} s"
                  f" with {sum(due):,} due"),
        target=f"≤ {LIMIT_S:g} s", met=slowest <= LIMIT_S,
        notes=[f"{service.pupils:,} pupils with allocations and {service.visits:,} visits"
               " (the check reads pupils, visits, holds and reminders). The first check finds"
               " last year's records past due; the second, a year later, finds every record"
               " due and records a reminder for each."])]


def _service(workspace: Workspace) -> SyntheticService:
    pupils = workspace.scale.retention_pupils
    return generate(workspace.folder("retention-service"), seed=9, pupils=pupils,
                    schools=max(2, pupils // 2_000), officers=max(2, pupils // 500),
                    supervisors=max(1, pupils // 5_000), weeks=2, today=TODAY)
