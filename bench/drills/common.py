"""What every drill shares: its running account (what it tried, what held), its sizes,
and the checks of a database file after a fault."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import BaseRateLimiter

from bot.storage import audit
from bot.storage.db import Database


class DrillFailed(AssertionError):
    """A drill found a fault: the message says what was tried and what did not hold."""


@dataclass
class Drill:
    """The account of one drill, printed as it goes: what was tried and what held."""

    name: str
    out: Callable[[str], None] = print
    lines: list[str] = field(default_factory=list)

    def _say(self, kind: str, text: str) -> None:
        line = f"[{self.name}] {kind}: {text}"
        self.lines.append(line)
        self.out(line)

    def tried(self, text: str) -> None:
        self._say("tried", text)

    def held(self, text: str) -> None:
        self._say("held", text)

    def note(self, text: str) -> None:
        self._say("note", text)

    def check(self, ok: bool, held: str, failed: str | Callable[[], str]) -> None:
        """Say what held, or stop the drill saying what did not."""
        if not ok:
            reason = failed() if callable(failed) else failed
            self._say("FAILED", reason)
            raise DrillFailed(f"{self.name}: {reason}")
        self.held(held)


@dataclass(frozen=True)
class Size:
    """How hard each drill pushes: `suite` keeps the test suite quick, `full` is the
    issue's size (run with `python -m bench.drills`)."""

    name: str
    kills: int  # kill -9 per crash scenario
    reader_seconds: float  # another process's read during a disposal
    import_pupils: int  # pupils in the attendance file killed mid-import (40 marks each)
    officers: int  # officers working at once
    visits_each: int
    cards_each: int
    stops: int  # SIGTERMs while updates are in flight
    outage_seconds: float  # Telegram unreachable
    timeouts: int  # pushed messages Telegram answers too late (5 s each)
    alerts_each: int  # pushed messages owed to each officer
    inputs_per_step: int  # random texts and button data at each conversation step
    big_rows: int  # rows of the largest hostile import file
    pupils_each: int  # pupils of each officer whose ids are forged in the access drill


SUITE = Size("suite", kills=2, reader_seconds=2.0, import_pupils=100, officers=10,
             visits_each=2, cards_each=4, stops=1, outage_seconds=3.0, timeouts=0,
             alerts_each=3, inputs_per_step=3, big_rows=100_000, pupils_each=1)
FULL = Size("full", kills=20, reader_seconds=20.0, import_pupils=1_000, officers=20,
            visits_each=50, cards_each=50, stops=10, outage_seconds=60.0, timeouts=3,
            alerts_each=20, inputs_per_step=40, big_rows=100_000, pupils_each=5)
SIZES = {size.name: size for size in (SUITE, FULL)}


class NoRateLimit(BaseRateLimiter[int]):
    """Sends at once: for drills about what the bot answers, not how fast Telegram lets
    it (the rate limiter would hold thousands of replies to 30 a second)."""

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(self, callback: Callable[..., Any], args: Any, kwargs: Any,
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        return await callback(*args, **kwargs)


class LogCapture(logging.Handler):
    """Every record of every logger, from DEBUG up, as a log file would show it (the
    message and any exception text), for drills that run the bot in this process."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[int, str, str]] = []  # level, logger, text
        self._root_level = logging.WARNING

    @classmethod
    def install(cls, level: int = logging.DEBUG) -> LogCapture:
        capture = cls()
        root = logging.getLogger()
        capture._root_level = root.level
        root.addHandler(capture)
        root.setLevel(level)
        return capture

    def remove(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._root_level)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string still shows its parts
            text = f"{record.msg} {record.args}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + record.stack_info
        self.records.append((record.levelno, record.name, text))

    def clear(self) -> None:
        self.records.clear()

    def problems(self) -> list[str]:
        """Records at ERROR or above: the error handler's, and any library's."""
        return [f"{name}: {text}" for level, name, text in self.records
                if level >= logging.ERROR]

    def text(self) -> str:
        return "\n".join(f"{name}: {text}" for _, name, text in self.records)


def integrity(path: Path) -> str:
    """`PRAGMA integrity_check` of the file as another process finds it after a fault."""
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = raw.execute("PRAGMA integrity_check").fetchall()
    finally:
        raw.close()
    return "; ".join(str(row[0]) for row in rows)


def rows(path: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    """Rows from the file, read by a fresh connection as another process would."""
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return raw.execute(sql, params).fetchall()
    finally:
        raw.close()


def count(path: Path, sql: str, params: Sequence[object] = ()) -> int:
    """One number from the file."""
    [(value, *_)] = rows(path, sql, params)
    return int(value or 0)  # type: ignore[call-overload]


def snapshot(path: Path) -> sqlite3.Connection:
    """A read transaction held open, as another process's long read (a backup, an
    export) would hold it; close the connection to end it."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN")
    raw.execute("SELECT count(*) FROM pupils").fetchall()
    return raw


_SEARCH = """
import json, sys
paths, needles = json.load(sys.stdin)
contents = b"".join(open(path, "rb").read().lower() for path in paths)
print(json.dumps([needle for needle in needles if needle.lower().encode() in contents]))
"""


async def found_in_files(paths: Sequence[Path], needles: Sequence[str]) -> list[str]:
    """Which of `needles` (ignoring case) are anywhere in the bytes of these files.

    Read by a child process: closing a file descriptor of the database in this process
    would drop every POSIX lock SQLite holds here on it, so another process could take
    itself for the last user and delete the write-ahead log from under this one.
    """
    import json
    import sys

    existing = [str(path) for path in paths if path.exists()]
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SEARCH, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate(json.dumps([existing, list(needles)]).encode())
    return list(json.loads(out))


async def poll_until(probe: Callable[[], bool], seconds: float) -> None:
    """Wait for another process's commit: that is no event this one can await, so look
    every 20 ms, for at most `seconds` (TimeoutError after)."""
    async with asyncio.timeout(seconds):
        while not probe():  # noqa: ASYNC110 - another process's change, not an event
            await asyncio.sleep(0.02)


async def audit_verifies(db: Database) -> str | None:
    """None when the audit trail is whole and untampered, else what is wrong."""
    verification = await db.read(audit.verify)
    return None if verification.ok else verification.problem or "the trail does not verify"


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]
