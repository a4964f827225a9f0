"""`python -m bench.sample_report`: the README's picture of a school report, made from the
synthetic service (docs/school-report.png, the first page at 80 dpi; needs pdftoppm)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.school_reports import _morning, load
from bench.workspace import ACTOR, bench_settings
from bot.domain.school_report import Period
from bot.reports.service import write_all_reports
from bot.storage.db import Database
from bot.synthetic import generate

OUT = Path(__file__).resolve().parent.parent / "docs" / "school-report.png"


async def make(folder: Path) -> Path:
    service = generate(folder / "service", seed=4, pupils=240, schools=3, officers=6,
                       weeks=14, today=_today())
    settings = bench_settings(folder / "db")
    db = await Database.open(settings)
    try:
        await load(db, settings, service)
        period = Period.of(None, None, today=service.today, year_end=settings.academic_year_end)
        written = await write_all_reports(db, settings, period, folder / "reports", force=True,
                                          actor=ACTOR, now=_morning(service.today))
    finally:
        await db.close()
    return max(written, key=lambda one: one.report.headline.referred).path


def _today():  # noqa: ANN202 - a date late in the autumn term
    from datetime import date

    return date(2026, 12, 4)


def main() -> int:
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is needed (Debian: apt-get install poppler-utils)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        pdf = asyncio.run(make(Path(folder)))
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                        str(pdf), str(OUT.with_suffix(""))], check=True)
    print(f"written: {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
