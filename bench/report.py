"""What a benchmark returns, how it is printed, and the markdown table of a whole run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import telegram


class Unavailable(Exception):
    """The feature a benchmark measures is not in the code yet; str() says which."""


@dataclass
class Result:
    """One benchmark's figures, its baseline in the same run, and the target."""

    name: str
    figures: dict[str, float] = field(default_factory=dict)
    headline: str = ""  # the figure that the ratio and target are about, for the table
    baseline: str = "—"  # what the ratio is taken against, with its figure
    ratio: float | None = None
    target: str = "report"
    met: bool | None = None  # None when there is no target
    skipped: str | None = None
    error: str | None = None  # the benchmark itself broke
    notes: list[str] = field(default_factory=list)

    @classmethod
    def skip(cls, name: str, reason: str) -> Result:
        return cls(name, skipped=reason)

    @classmethod
    def broken(cls, name: str, error: BaseException) -> Result:
        return cls(name, error=f"{type(error).__name__}: {error}"[:200])

    @property
    def verdict(self) -> str:
        if self.skipped is not None:
            return "skipped"
        if self.error is not None:
            return "BROKEN"
        if self.met is None:
            return "—"
        return "met" if self.met else "MISSED"

    def lines(self) -> list[str]:
        """What the benchmark prints when it finishes."""
        if self.skipped is not None:
            return [f"{self.name}: skipped: {self.skipped}"]
        if self.error is not None:
            return [f"{self.name}: broken: {self.error}"]
        lines = [f"{self.name}:"]
        lines += [f"  {key} = {_number(value)}" for key, value in self.figures.items()]
        ratio = "" if self.ratio is None else f"  ratio = {self.ratio:.2f}"
        lines.append(f"  baseline: {self.baseline}{ratio}")
        lines.append(f"  target: {self.target} -> {self.verdict}")
        lines += [f"  note: {note}" for note in self.notes]
        return lines


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def machine() -> str:
    """One line about where the figures come from."""
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
            f" SQLite {sqlite3.sqlite_version}, python-telegram-bot {telegram.__version__}")


def table(results: Sequence[Result], *, scale: str, seconds: float,
          started: datetime, appendix: str = "") -> str:
    """The markdown written to bench/results.md; `appendix` (markdown) goes at the end."""
    rows = [
        "| benchmark | result | baseline (same run) | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        if result.skipped is not None:
            rows.append(f"| {result.name} | skipped: {result.skipped} | — | — | — | skipped |")
            continue
        if result.error is not None:
            rows.append(f"| {result.name} | broken: {result.error} | — | — | — | BROKEN |")
            continue
        ratio = "—" if result.ratio is None else f"{result.ratio:.2f}"
        rows.append(f"| {result.name} | {result.headline} | {result.baseline} | {ratio}"
                    f" | {result.target} | {result.verdict} |")
    notes = [f"- **{result.name}**: {note}" for result in results for note in result.notes]
    text = [
        "# Benchmark results",
        "",
        f"`make bench` ({scale} size), {started:%Y-%m-%d %H:%M}, {seconds:.0f} s in all;"
        f" {machine()}.",
        "Each ratio is against a baseline measured in the same run on the same machine.",
        "",
        *rows,
    ]
    if notes:
        text += ["", "## Notes", "", *notes]
    if appendix.strip():
        text += ["", appendix.strip()]
    return "\n".join(text) + "\n"


def print_result(result: Result) -> None:
    print("\n".join(result.lines()), flush=True)
    sys.stdout.flush()


def run_alone(measure: Callable[[], Awaitable[list[Result]]], close: Callable[[], None], *,
              scale: str, out: Path | None) -> int:
    """One benchmark module run on its own (`python -m bench.NAME`): quiet logs, its
    figures printed, the table written to `out` if given; 1 if any figure broke."""
    logging.basicConfig(level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)  # the bot keeps its libraries' loggers at INFO
    started_at, started = datetime.now(), time.perf_counter()
    try:
        results = asyncio.run(measure())  # type: ignore[arg-type]
    finally:
        close()
    for result in results:
        print_result(result)
    if out is not None:
        with contextlib.suppress(OSError):
            out.write_text(table(results, scale=scale, seconds=time.perf_counter() - started,
                                 started=started_at), encoding="utf-8")
    return 0 if all(result.error is None for result in results) else 1
