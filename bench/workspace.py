"""What the benchmarks share in one run: the size, a temporary folder, the synthetic
service and the database with that service imported."""

from __future__ import annotations

import copyreg
import importlib
import io
import pickle
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bench.report import Unavailable
from bot.clock import FixedClock
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.synthetic import SyntheticService, generate

LONDON = ZoneInfo("Europe/London")
# A Saturday in the summer term: thirty school weeks back stay in one academic year,
# and every session of the last week is marked (none is "this afternoon").
TODAY = date(2026, 7, 18)
ACTOR = "os:bench"
PIN = "2580"
T = TypeVar("T")
KEPT = "kept.pickle"  # what a kept folder's build returned; written once the build is done


@dataclass(frozen=True)
class Scale:
    """How big each benchmark is; `full` is the issue's size, `smoke` proves it starts."""

    name: str
    pupils: int
    weeks: int
    schools: int
    officers: int
    chat_officers: int  # officers talking to the bot at once
    chat_requests: int  # card queries per officer, each as soon as the last is answered
    paced_requests: int  # card queries per officer on a timetable, for latency
    visits: int  # visits recorded per officer
    retention_pupils: int
    # Cards asked for before the bot's memory is read (`ewobot run` keeps Telegram's
    # limit of 30 messages a second, so this sets the benchmark's length).
    memory_cards: int


FULL = Scale("full", pupils=20_000, weeks=30, schools=12, officers=40, chat_officers=20,
             chat_requests=100, paced_requests=20, visits=15, retention_pupils=100_000,
             memory_cards=600)
SMOKE = Scale("smoke", pupils=80, weeks=2, schools=2, officers=4, chat_officers=2,
              chat_requests=3, paced_requests=2, visits=1, retention_pupils=50, memory_cards=4)
SCALES = {scale.name: scale for scale in (FULL, SMOKE)}


def need(module: str, name: str) -> Any:
    """A function of a feature, or Unavailable naming what is missing."""
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            raise Unavailable(f"{module} is not written yet") from None
        raise
    if not hasattr(found, name):
        raise Unavailable(f"{module}.{name} is not written yet")
    return getattr(found, name)


def bench_settings(folder: Path, **overrides: Any) -> Settings:
    """Settings for a benchmark database in `folder`: no quiet hours, a fixed audit key."""
    values: dict[str, Any] = {
        "database": folder / "ewo.sqlite3",
        "export_dir": folder / "exports",
        "audit_key": "bench-audit-key",
        "quiet_hours": "",
        "quiet_days": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def morning_of(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), LONDON)


def bench_clock() -> FixedClock:
    """The chat benchmarks' clock: the morning after the last school day imported."""
    return FixedClock(morning_of(TODAY))


async def add_officers(db: Database, service: SyntheticService, now: datetime) -> None:
    """Create the service's people, as `ewobot officers add` would; supervisors first."""
    await db.write(officer_store.add_officers, service.officers, now=now)


async def import_files(db: Database, settings: Settings, service: SyntheticService,
                       kinds: Sequence[str]) -> None:
    """Import the service's files of these kinds through the import service."""
    for kind in kinds:
        await import_file(db, settings, service, kind)


async def import_file(db: Database, settings: Settings, service: SyntheticService,
                      kind: str) -> None:
    """One file, as `ewobot import KIND FILE` would, on the benchmark's day and settings."""
    run_import = need("bot.importing.service", "run_import")
    await run_import(db, kind, service.files[kind], actor=ACTOR, today=service.today,
                     settings=settings, now=morning_of(service.today))


class Workspace:
    """A temporary folder for one run; removed by `close()`. With `keep`, `root` is kept
    and what `kept()` built in it (the synthetic service, imported databases) is reused
    by later runs instead of built again."""

    def __init__(self, scale: Scale, root: Path | None = None, *, keep: bool = False) -> None:
        self.scale = scale
        self._own_root = root is None
        self.keep = keep and root is not None
        self.root = root if root is not None else Path(tempfile.mkdtemp(prefix="ewo-bench-"))
        self._service: SyntheticService | None = None
        self._loaded: Settings | None = None
        self._unavailable: Unavailable | None = None
        self._quiet = False  # the loaded database's outbox has been emptied

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def kept_folder(self, name: str) -> tuple[Path, Any]:
        """The folder `name` and, when a run keeping its workspace built it to the end
        before, what that build returned (else None, the folder emptied for a new one)."""
        folder = self.root / name
        saved = folder / KEPT
        if self.keep and saved.is_file():
            return folder, pickle.loads(saved.read_bytes())  # noqa: S301 - the bench's own file
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder, None

    def remember(self, folder: Path, value: T) -> T:
        """Record what the build of `folder` returned, for a later run keeping it."""
        if self.keep:
            buffer = io.BytesIO()
            pickler = pickle.Pickler(buffer)
            pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _as_dict}
            pickler.dump(value)
            (folder / KEPT).write_bytes(buffer.getvalue())
        return value

    def kept(self, name: str, build: Callable[[Path], T]) -> T:
        """`build(folder)`, or what it returned in an earlier run keeping the workspace."""
        folder, value = self.kept_folder(name)
        return value if value is not None else self.remember(folder, build(folder))

    async def kept_async(self, name: str, build: Callable[[Path], Awaitable[T]]) -> T:
        folder, value = self.kept_folder(name)
        return value if value is not None else self.remember(folder, await build(folder))

    def service(self) -> SyntheticService:
        """The synthetic service of this size, generated once per run."""
        if self._service is None:
            scale = self.scale
            self._service = self.kept("service", lambda folder: generate(
                folder, seed=8, pupils=scale.pupils, schools=scale.schools,
                officers=scale.officers, supervisors=max(1, scale.officers // 10),
                weeks=scale.weeks, today=TODAY))
        return self._service

    def mark_loaded(self, settings: Settings) -> None:
        """A benchmark has imported the whole service into this database: reuse it."""
        self._loaded = settings

    async def loaded(self) -> Settings:
        """Settings of a database holding the whole service (imported once per run).

        The import's alerts are dropped from the outbox: chat benchmarks time answers,
        and a pushed alert arriving among them would be taken for one.
        """
        if self._unavailable is not None:
            raise self._unavailable
        if self._loaded is None:
            need("bot.importing.service", "run_import")
            settings = bench_settings(self.folder("loaded"))
            db = await Database.open(settings)
            try:
                service = self.service()
                await add_officers(db, service, bench_clock().now())
                await import_files(db, settings, service, ("pupils", "contacts", "allocations",
                                                           "attendance", "visits"))
            except Unavailable as missing:
                self._unavailable = missing
                raise
            finally:
                await db.close()
            self._loaded = settings
        if not self._quiet:
            db = await Database.open(self._loaded)
            try:
                async def _transaction(conn: Conn) -> None:
                    await conn.execute("DELETE FROM outbox")
                await db.write(_transaction)
            finally:
                await db.close()
            self._quiet = True
        return self._loaded

    def close(self) -> None:
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)


def _as_dict(proxy: MappingProxyType[Any, Any]) -> tuple[Any, ...]:
    """Pickle a read-only mapping (the synthetic service holds some) as one again."""
    return read_only, (dict(proxy),)


def read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)
