"""The daily retention check over 100,000 pupil records."""

from __future__ import annotations

from bench.report import Result, Unavailable
from bench.workspace import Workspace, need

RETENTION = "retention sweep"


async def run(workspace: Workspace) -> list[Result]:
    try:
        need("bot.storage.retention", "run_retention_check")
    except Unavailable as missing:
        return [Result.skip(RETENTION, str(missing))]
    return [Result.skip(RETENTION, "not measured yet")]
