"""Drill 5a, hostile import files: random bytes and text, byte-order marks, NULs,
CR-only lines, unclosed quotes, enormous fields and 10⁵-row files, through the real
import service and the real command line. Each one is imported whole or refused with
the import error (one reason line, at most 20 bad rows, never a traceback), and a
refused file leaves the database exactly as it was."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.common import Drill, DrillFailed, Size, count
from bench.drills.processes import run_cli
from bench.drills.stage import ACTOR, Service, made_up_pupil, upn
from bot.importing.contacts import COLUMNS as CONTACT_COLUMNS
from bot.importing.csvfile import MAX_REPORTED, ImportRejected
from bot.importing.pupils import COLUMNS as PUPIL_COLUMNS
from bot.importing.service import run_import
from bot.importing.visits import COLUMNS as VISIT_COLUMNS

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
COLUMNS: dict[str, tuple[str, ...]] = {
    "pupils": PUPIL_COLUMNS,
    "contacts": CONTACT_COLUMNS,
    "attendance": ("upn", "date", "session", "code"),
    "allocations": ("upn", "officer_ref"),
    "visits": VISIT_COLUMNS,
}
# Characters that have broken CSV readers and text handling somewhere.
TRICKY = ["\x00", "\ufeff", "\r", "\n", "\r\n", "\x85", "\u2028", "\u2029", "\t", '"', ",",
          ";", "'", "\\", "%", "_", "\u202e", "\u200f", "\u200d", "é", "ß", "İ", "🌟", "👩‍🚀",
          "نور", "אביגיל", "\udcff", "\x1b[2J", "<b>", "&amp;", "NULL", "--", "/*"]
# Values that are almost right.
NEAR = ["0001-01-01", "9999-12-31", "31/02/2026", "29/02/2024", "2026-11-25", "AM", "PM",
        "pm", "/", "N", "O", "-", "", " ", "Y", "K", "E", "R", "N1", "15", "0", "-1",
        "99999999999999999999", "EWO1", "CON1", "Home visit", "letter", "Child seen"]
_TABLES = ("pupils", "contacts", "marks", "allocations", "visits", "alerts", "outbox", "audit")


def hostile_files(rng: random.Random, kind: str) -> Iterator[tuple[str, bytes]]:
    """(what it is, its bytes) for one kind of import file."""
    header = ",".join(COLUMNS[kind]).encode()

    def rows(count: int, pieces: list[str]) -> str:
        return "\n".join(",".join(rng.choice(pieces) for _ in COLUMNS[kind])
                         for _ in range(count))

    yield "random bytes", header + b"\n" + rng.randbytes(rng.randint(1, 3000))
    yield "random tricky text", (",".join(COLUMNS[kind]) + "\n" + "".join(
        rng.choice(TRICKY + NEAR + [upn(1)]) for _ in range(300))).encode("utf-8", "replace")
    yield "near-miss values", (",".join(COLUMNS[kind]) + "\n"
                               + rows(40, NEAR + [upn(1), upn(2)])).encode()
    yield "a byte-order mark, then another inside", b"\xef\xbb\xbf" + header + b"\n\xef\xbb\xbf" \
        + rows(3, NEAR).encode()
    yield "UTF-16 with its byte-order mark", (",".join(COLUMNS[kind]) + "\n"
                                              + rows(3, NEAR)).encode("utf-16")
    yield "Latin-1 text", (",".join(COLUMNS[kind]) + "\nZoë,Brontë,Café\n").encode("latin-1")
    yield "a NUL inside a value", header + b"\n" + upn(1).encode() + b"\x00,x\n"
    yield "lines ended by CR only", (",".join(COLUMNS[kind]) + "\r"
                                     + rows(5, NEAR).replace("\n", "\r")).encode()
    yield "a quote never closed", header + b'\n"' + b"x" * 5000 + b"\n" + rows(3, NEAR).encode()
    yield "an enormous field", header + b"\n" + b"x" * 300_000 + b"," * (len(COLUMNS[kind]) - 1)
    yield "an enormous quoted field", header + b'\n"' + b"y" * 300_000 + b'"' \
        + b"," * (len(COLUMNS[kind]) - 1)
    yield "the header only", header + b"\n"
    yield "nothing at all", b""
    yield "a blank first line", b"\n" + header + b"\n"
    yield "the header twice", header + b"," + header + b"\n"
    yield "no known column", b"foo,bar\n1,2\n"


def big_file(kind: str, rows: int, rng: random.Random) -> tuple[str, bytes]:
    """A file of `rows` rows, all well formed but the very last (so everything is read
    and checked before the refusal)."""
    if kind == "attendance":
        lines = [f"{upn(n % 500 + 1)},2026-{n % 11 + 1:02d}-{n % 27 + 1:02d},"
                 f"{'AM' if n % 2 else 'PM'},/" for n in range(rows - 1)]
        lines.append(f"{upn(1)},2026-13-45,AM,/")
    else:
        lines = [",".join(rng.choice(NEAR) for _ in COLUMNS[kind]) for _ in range(rows)]
    text = ",".join(COLUMNS[kind]) + "\n" + "\n".join(lines) + "\n"
    return f"{rows:,} rows", text.encode()


async def hostile_files_drill(folder: Path, size: Size, *, seed: int = 6,
                              out: Callable[[str], None] = print) -> Drill:
    """Every hostile file of every kind through the import service; the largest and a
    sample of the others through `ewobot import` as well."""
    drill = Drill("hostile import files", out)
    rng = random.Random(seed)
    service = await Service.open(folder, MORNING)
    try:
        await _a_small_service(service)
        refused, imported = 0, set()
        for kind in COLUMNS:
            for _ in range(max(1, size.inputs_per_step // 3)):
                for label, content in hostile_files(rng, kind):
                    path = _write(folder, kind, content)
                    if await _through_service(drill, service, kind, label, path):
                        imported.add(label)
                    else:
                        refused += 1
        drill.held(f"hostile files through the import service: {refused} refused with the "
                   f"import error, the others imported whole ({', '.join(sorted(imported))}), "
                   "nothing else")
        cli_files = [("attendance", big_file("attendance", size.big_rows, rng)),
                     ("pupils", big_file("pupils", size.big_rows, rng))]
        others = [(kind, item) for kind in COLUMNS for item in hostile_files(rng, kind)]
        cli_files += rng.sample(others, max(1, size.inputs_per_step // 3))
        for kind, (label, content) in cli_files:
            path = _write(folder, kind, content)
            await _through_service(drill, service, kind, label, path)
            await _through_the_command_line(drill, service, kind, label, path)
        drill.held(f"{len(cli_files)} of them through `ewobot import` too, among them "
                   f"{size.big_rows:,}-row files: exit 1, a reason line, at most "
                   f"{MAX_REPORTED} bad rows, no traceback")
    finally:
        await service.close()
    return drill


async def _a_small_service(service: Service) -> None:
    await service.add_officer("EWO1")
    await service.add_officer("CON1", "controller")
    await service.add_pupils([made_up_pupil(n, "EWO1") for n in (1, 2)])


def _write(folder: Path, kind: str, content: bytes) -> Path:
    path = folder / "files" / f"hostile-{kind}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _held(service: Service) -> dict[str, int]:
    return {table: count(service.settings.database, f"SELECT count(*) FROM {table}")
            for table in _TABLES}


async def _through_service(drill: Drill, service: Service, kind: str, label: str,
                           path: Path) -> bool:
    """True if imported whole, False if refused as the import error; anything else
    (another exception, a refusal that changed the database) stops the drill."""
    before = _held(service)
    try:
        await run_import(service.db, kind, path, actor=ACTOR, today=service.today,
                         settings=service.settings, now=service.now)
    except ImportRejected as rejected:
        lines = rejected.report_lines()
        if "\n" in rejected.reason or len(rejected.problems) > MAX_REPORTED:
            raise DrillFailed(f"{kind} file with {label}: the refusal is not one reason and "
                              f"at most {MAX_REPORTED} rows: {lines[:3]}") from None
        if _held(service) != before:
            raise DrillFailed(f"{kind} file with {label}: refused, yet the database "
                              "changed") from None
        return False
    except Exception as exc:
        drill.tried(f"a {kind} file with {label}")
        raise DrillFailed(f"{kind} file with {label}: {type(exc).__name__} instead of the "
                          "import error") from exc
    return True


async def _through_the_command_line(drill: Drill, service: Service, kind: str, label: str,
                                    path: Path) -> None:
    drill.tried(f"ewobot import {kind}: a file with {label}")
    before = _held(service)
    done = await run_cli(service.settings, service.folder / "cli", "import", kind, str(path))
    lines = done.err.splitlines()
    if done.code == 0:
        drill.held(f"imported: {done.out.strip()}")
        return
    drill.check(done.code == 1 and bool(lines) and "Traceback" not in done.err
                and len(lines) <= MAX_REPORTED + 2 and _held(service) == before,
                f"exit 1: {lines[0] if lines else ''}",
                f"exit {done.code}, stderr: {done.err[-1500:]}")
