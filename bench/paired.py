"""Paired rounds: the chat figures of two checkouts, measured in turn, A B B A A B …

`python -m bench.paired --a OLD_TREE [--b NEW_TREE] [--pairs 6]` builds the full-size
service once for each tree (in that tree's own code: schemas may differ), then runs
each round in a fresh subprocess against a fresh copy of that tree's database, with
that tree's `bot` and `bench` packages first on the path. A round measures the echo
baseline, pupil cards as fast as answered and at a paced 20 a second (without the
rate limiter, then with the bot's own), and whole visits. Printed: every round, each
side's median, and the median of the per-pair ratios B/A.

On a shared machine whole runs move by ±15 % from one to the next; a pair's two
rounds are minutes apart at most and taken in alternating order, so a busy spell
weighs on both sides alike and the pair's ratio keeps the difference between trees.

The round code runs in either tree: it uses only what both have (`bench.chat`,
`bench.workspace`, `bot.harness`), so this file may be run from outside the tree
it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TREE = HERE.parent
# The figures of a round, in the order printed; True where more is better.
FIGURES = {
    "echo_per_s": True,
    "cards_per_s": True,
    "card_ratio": True,
    "paced_p50_ms": False,
    "paced_p95_ms": False,
    "limited_p50_ms": False,
    "limited_p95_ms": False,
    "visits_per_s": True,
}
PEOPLE = "people.json"


# --- in the tree measured -------------------------------------------------------------


def _build(root: Path) -> None:
    """The full-size service and its loaded database in `root`, and the officers the
    rounds enrol (so a round need not generate the service again)."""
    from bench import chat
    from bench.workspace import FULL, Workspace

    workspace = Workspace(FULL, root=root)
    settings = asyncio.run(workspace.loaded())
    by_officer = chat.allocations(workspace)
    refs = [officer.ref for officer in workspace.service().officers
            if officer.role == "officer" and by_officer.get(officer.ref)]
    people = [[ref, by_officer[ref]] for ref in refs[:2 * FULL.chat_officers]]
    (root / PEOPLE).write_text(json.dumps({"database": str(settings.database),
                                           "people": people}))


async def _round(root: Path, work: Path, sizes: dict[str, int]) -> dict[str, Any]:
    from bench import chat
    from bench.drills.common import NoRateLimit
    from bench.workspace import FULL, PIN, bench_clock, bench_settings
    from bot.harness import RunningBot, enrol_directly
    from bot.sandbox import BotApiStandIn
    from bot.storage.db import Database

    scale = dataclasses.replace(FULL, **sizes)
    known = json.loads((root / PEOPLE).read_text())
    database = Path(known["database"])
    shutil.copytree(database.parent, work / database.parent.name)
    settings = bench_settings(work / database.parent.name)
    people = known["people"]
    figures: dict[str, Any] = {"bot": str(Path(sys.modules["bot"].__file__ or "").parent)}
    echo = await chat.echo_loads(dataclasses.replace(scale, paced_requests=1))
    figures["echo_per_s"] = echo.busy.updates_per_s
    db = await Database.open(settings)
    try:
        ids = []
        for number, (ref, _) in enumerate(people):
            ids.append(chat.FIRST_USER_ID + 1_000 + number)
            await enrol_directly(db, settings, ref=ref, user_id=ids[-1], pin=PIN,
                                 now=bench_clock().now())
        half = scale.chat_officers
        async with BotApiStandIn() as standin:
            bot = RunningBot(settings, standin, clock=bench_clock(), db=db,
                             rate_limiter=NoRateLimit())
            async with bot:
                users = [standin.user(user_id, first_name=f"Officer{n}")
                         for n, user_id in enumerate(ids)]
                figures.update(await _cards(scale, users[:half], people[:half], "paced"))
                figures["card_ratio"] = figures["cards_per_s"] / figures["echo_per_s"]
                figures["visits_per_s"] = await _visits(scale, users[half:], people[half:])
        async with (BotApiStandIn() as standin,
                    RunningBot(settings, standin, clock=bench_clock(), db=db)):
            users = [standin.user(user_id, first_name=f"Officer{n}")
                     for n, user_id in enumerate(ids[:half])]
            figures.update(await _cards(scale, users, people[:half], "limited", busy=False))
    finally:
        await db.close()
    return figures


async def _cards(scale: Any, users: list[Any], people: list[Any], name: str, *,
                 busy: bool = True) -> dict[str, float]:
    from bench import chat

    pupils = [upns for _, upns in people]
    await chat.closed_loop([[chat.card_exchange(user, upns[0], typed=False)]
                            for user, upns in zip(users, pupils, strict=True)])
    found: dict[str, float] = {}
    if busy:
        load = await chat.closed_loop(
            [[chat.card_exchange(user, upns[n % len(upns)], typed=n % 2 == 1)
              for n in range(scale.chat_requests)] for user, upns in zip(users, pupils,
                                                                         strict=True)])
        found["cards_per_s"] = load.exchanges_per_s
    steady = await chat.paced(
        [[chat.card_exchange(user, upns[-1 - n % len(upns)], typed=n % 2 == 1)
          for n in range(scale.paced_requests)] for user, upns in zip(users, pupils,
                                                                      strict=True)],
        chat.PACED_RATE)
    found[f"{name}_p50_ms"] = steady.percentile_ms(50)
    found[f"{name}_p95_ms"] = steady.percentile_ms(95)
    return found


async def _visits(scale: Any, users: list[Any], people: list[Any]) -> float:
    from bench import chat

    sessions = [[step for n in range(scale.visits)
                 for step in chat.visit_steps(user, upns[-1 - n % len(upns)], n)]
                for user, (_, upns) in zip(users, people, strict=True)]
    load = await chat.closed_loop(sessions)
    return scale.visits * len(users) / load.seconds


def _in_tree(argv: list[str]) -> int:
    """`build ROOT` or `round ROOT SIZES` (JSON: Scale fields), run inside the tree
    measured."""
    logging.basicConfig(level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    root = Path(argv[1])
    if argv[0] == "build":
        _build(root)
        return 0
    with tempfile.TemporaryDirectory(prefix="ewo-paired-") as work:
        figures = asyncio.run(_round(root, Path(work), json.loads(argv[2])))
    print("FIGURES " + json.dumps(figures), flush=True)
    return 0


# --- the driver -------------------------------------------------------------------------


def _run_in(tree: Path, *args: str) -> str:
    """This file's in-tree part, run by the tree's code (its folder first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    python = tree / ".venv" / "bin" / "python"
    if not python.exists():
        python = Path(sys.executable)
    done = subprocess.run([str(python), str(Path(__file__).resolve()), "--in-tree", *args],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _figures(output: str) -> dict[str, Any]:
    for line in reversed(output.splitlines()):
        if line.startswith("FIGURES "):
            return json.loads(line.removeprefix("FIGURES "))  # type: ignore[no-any-return]
    raise RuntimeError(f"a round printed no figures:\n{output[-2000:]}")


def _line(label: str, figures: dict[str, Any]) -> str:
    return f"{label:<10}" + "".join(f"{figures[name]:>16.3f}" for name in FIGURES)


def _header() -> str:
    return f"{'':<10}" + "".join(f"{name:>16}" for name in FIGURES)


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--in-tree"]:
        # Run by the tree measured: its own packages, not this file's folder, come first.
        sys.path[:] = [path for path in sys.path if Path(path or ".").resolve() != HERE]
        return _in_tree(args_in[1:])
    parser = argparse.ArgumentParser(prog="python -m bench.paired", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, required=True, help="the tree before (A)")
    parser.add_argument("--b", type=Path, default=TREE, help="the tree after (B; this one)")
    parser.add_argument("--c", type=Path, help="a third tree (C), e.g. a change to B")
    parser.add_argument("--pairs", type=int, default=6, help="rounds of each tree")
    parser.add_argument("--cards", type=int, default=100,
                        help="cards per officer as fast as answered (20 officers)")
    parser.add_argument("--paced", type=int, default=10,
                        help="paced cards per officer (20 officers at 20 a second)")
    parser.add_argument("--visits", type=int, default=15, help="visits per officer")
    parser.add_argument("--work", type=Path, help="keep the built services here (reused)")
    args = parser.parse_args(args_in)
    trees = {side: tree.resolve() for side, tree in (("A", args.a), ("B", args.b),
                                                     ("C", args.c)) if tree is not None}
    sizes = {"chat_requests": args.cards, "paced_requests": args.paced,
             "visits": args.visits}
    work = args.work or Path(tempfile.mkdtemp(prefix="ewo-paired-"))
    try:
        return _compare(trees, work, args.pairs, sizes)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _compare(trees: dict[str, Path], work: Path, pairs: int, sizes: dict[str, int]) -> int:
    """Build each tree's service (once per work folder), then the rounds in turn."""
    roots = {}
    for side, tree in trees.items():
        roots[side] = work / side
        if not (roots[side] / PEOPLE).exists():
            started = time.perf_counter()
            _run_in(tree, "build", str(roots[side]))
            print(f"built {side} ({tree}) in {time.perf_counter() - started:.0f} s", flush=True)
    for side, tree in trees.items():
        print(f"{side}: {tree}")
    rounds: dict[str, list[dict[str, Any]]] = {side: [] for side in trees}
    print(_header(), flush=True)
    for number in range(pairs):
        sides = list(trees)
        for side in sides if number % 2 == 0 else reversed(sides):
            figures = _figures(_run_in(trees[side], "round", str(roots[side]),
                                       json.dumps(sizes)))
            rounds[side].append(figures)
            print(_line(f"{number + 1}{side}", figures), flush=True)
    _summary(rounds)
    return 0


def _summary(rounds: dict[str, list[dict[str, Any]]]) -> None:
    """Each side's medians, then each later side against A (and C against B), pair by
    pair: the median of the ratios, and in how many pairs the later side did better."""
    print()
    print(_header())
    for side, found in rounds.items():
        print(_line(f"median {side}", {name: statistics.median(r[name] for r in found)
                                       for name in FIGURES}))
    sides = list(rounds)
    comparisons = [(before, after) for n, after in enumerate(sides) for before in sides[:n]]
    for before, after in comparisons:
        each = {name: [b[name] / a[name] for a, b in zip(rounds[before], rounds[after],
                                                         strict=True)]
                for name in FIGURES}
        print(_line(f"{after}/{before}", {name: statistics.median(ratios)
                                          for name, ratios in each.items()}))
        for name, ratios in each.items():
            better = sum((ratio > 1) == FIGURES[name] for ratio in ratios)
            print(f"  {name}: {after}/{before} per pair"
                  f" {' '.join(f'{ratio:.2f}' for ratio in ratios)};"
                  f" {after} better in {better} of {len(ratios)}")


if __name__ == "__main__":
    raise SystemExit(main())
