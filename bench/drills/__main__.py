"""`python -m bench.drills [NAME …] [--size full|suite]`: run the reliability and security
drills at the issue's size, each printing what it tried and what held; exit 1 if any
found a fault."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bench.drills import (
    access,
    concurrency,
    crash,
    custody,
    faults,
    flood,
    gatekeeping,
    hostile_chat,
    hostile_files,
    kept_and_listed,
    leaks,
    recipients,
    round_trip,
    sensitive,
    stop,
)
from bench.drills.common import FULL, SIZES, Drill, DrillFailed, Size

Run = Callable[..., Awaitable[Drill]]

# In the order the issue lists them.
DRILLS: dict[str, Run] = {
    "crash-import": crash.import_drill,
    "crash-visit": crash.visit_drill,
    "crash-disposal": crash.disposal_drill,
    "crash-outbox": crash.outbox_drill,
    "concurrency": concurrency.concurrency_drill,
    "stop": stop.stop_drill,
    "faults": faults.faults_drill,
    "hostile-files": hostile_files.hostile_files_drill,
    "hostile-chat": hostile_chat.hostile_chat_drill,
    "round-trip": round_trip.round_trip_drill,
    "access": access.access_drill,
    "leaks": leaks.leaks_drill,
    "audit-head": custody.audit_head_drill,
    "exit-paths": custody.exit_paths_drill,
    "key-files": custody.key_files_drill,
    "flood": flood.flood_drill,
    "own-chat": gatekeeping.own_chat_drill,
    "pin-cost": gatekeeping.pin_cost_drill,
    "kept-and-listed": kept_and_listed.kept_and_listed_drill,
    "sensitive": sensitive.sensitive_drill,
    "recipients": recipients.recipients_drill,
}


async def run_all(names: Sequence[str], size: Size, root: Path) -> list[str]:
    """Run the named drills one after another; returns the names of those that failed."""
    failed = []
    for name in names:
        print(f"== {name} ({size.name})", flush=True)
        started = time.perf_counter()
        try:
            await DRILLS[name](root / name, size, out=lambda line: print(line, flush=True))
        except DrillFailed:
            failed.append(name)
        except Exception:  # a broken drill must not hide the others' findings
            logging.getLogger(__name__).exception("drill %s broke", name)
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drills", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"drills to run (default: all of {', '.join(DRILLS)})")
    parser.add_argument("--size", choices=sorted(SIZES), default=FULL.name)
    parser.add_argument("--keep", action="store_true",
                        help="keep the drills' folders (databases and the bot's logs)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in DRILLS]
    if unknown:
        parser.error(f"no drill called {', '.join(unknown)}")
    logging.basicConfig(level=logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="ewo-drills-"))
    try:
        failed = asyncio.run(run_all(args.names or list(DRILLS), SIZES[args.size], root))
    finally:
        if args.keep:
            print(f"folders kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("== all held" if not failed else f"== FAULTS FOUND in {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
