"""What a wrong PIN costs: one `verify_pin` at the production cost, in a fresh process
(the test suite hashes at a lower cost), against the first build's scrypt parameters
timed the same way. The floor is what makes guessing slow for whoever steals the
database (bot/domain/pinhash.py); it is machine-bound, so it is measured here, not
asserted in a test."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys

from bench.report import Result
from bench.workspace import Workspace

PINS = "PIN check cost"
FLOOR_SECONDS = 0.25
ROUNDS = 3
# One wrong guess against a stored hash, timed in the child: (n, r, p) or production.
_GUESS = (
    "import json, sys, time\n"
    "from bot.domain import pinhash\n"
    "args = json.loads(sys.argv[1])\n"
    "if args: pinhash.use_cost(pinhash.PinCost(*args))\n"
    "stored = pinhash.hash_pin('2580', b'p')\n"
    "start = time.perf_counter()\n"
    "pinhash.verify_pin('1234', stored, b'p')\n"
    "print(time.perf_counter() - start)\n")
FIRST_BUILD = (2**14, 8, 1)


async def run(workspace: Workspace) -> list[Result]:
    production = [await _guess(None) for _ in range(ROUNDS)]
    first = [await _guess(FIRST_BUILD) for _ in range(ROUNDS)]
    seconds, baseline = statistics.median(production), statistics.median(first)
    return [Result(
        PINS,
        figures={"production_s": seconds, "first_build_s": baseline},
        headline=f"{seconds * 1000:.0f} ms a wrong guess (median of {ROUNDS})",
        baseline=f"the first build's scrypt (n=2^14): {baseline * 1000:.0f} ms",
        ratio=seconds / baseline if baseline else None,
        target=f"≥ {FLOOR_SECONDS * 1000:.0f} ms", met=seconds >= FLOOR_SECONDS)]


async def _guess(cost: tuple[int, int, int] | None) -> float:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _GUESS, json.dumps(cost or []),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the PIN check's process exited {child.returncode}")
    return float(out)
