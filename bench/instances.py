"""Several instances on one PostgreSQL database: pupil-card latency at a paced 20 cards a
second with three `ewobot run` webhook instances behind the stand-in's balancer, against
one instance in the same run; and the job leader's failover, timed.

The instances are child processes (`python -m bot run` in webhook mode, their settings
from the environment as on a server: the bot's own rate limiter, the outbox polled every
5 s, EWO_JOB_LEASE_SECONDS=30, 3 at the smoke size), on the service imported into a
throwaway cluster (tests/pg.py, as bench/postgres.py runs it); the stand-in of the Bot
API posts each update to them in turn, as a load balancer would. Without PostgreSQL
installed every figure is skipped.

- Cards: the officers ask for their own pupils' cards on a fixed timetable of 20 a
  second in all, in rounds taken in turn: all updates to the job leader alone (one
  instance, as a one-instance service would be), then spread over the three. Every
  update must be answered exactly once. Two more modes in the same rounds say what
  the difference is made of: one instance at a third of the pace (what each of three
  gets at 20 a second) and three at Telegram's limit, 30 a second (each gets 10; more
  than 30 a second the instances hold back between them, as one would).
- Telegram's limit: the officers ask for cards as fast as they are answered (each
  the next as soon as the last comes), first all to the job leader alone, then spread
  over the three; the messages a second Telegram receives from the bot, in all, and
  the most in any one second. The instances share the limit (bot/jobs/send_budget.py):
  three must not send more than one does.
- Failover: the job leader SIGKILLed with nothing in hand and a message due at that
  moment, then the next leader SIGKILLed while Telegram has not yet answered its send
  of a due message; each time, the seconds until another instance delivers it.

    python -m bench.instances [--size full|smoke] [--out FILE]

(`python -m bench instances` runs it with the default size.)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chat import (
    PACED_RATE,
    REPLY_TIMEOUT,
    Exchange,
    Load,
    card_exchange,
    closed_loop,
    enrol_officers,
    paced,
)
from bench.postgres import kept_postgres
from bench.report import Result, run_alone
from bench.workspace import FULL, SCALES, Workspace
from bot.sandbox import BotApiStandIn, FakeUser
from bot.settings import Settings
from bot.storage import outbox as outbox_store
from bot.storage.db import Conn, Database
from tests.e2e.processes import Deployment, Instance, lease_holder, outbox_claim
from tests.pg import Cluster, pg_bin_dir, start_cluster, stop_cluster

SPREAD = "cards over three instances (PostgreSQL)"
FLOOD = "Telegram's limit kept by three instances"
FLOOD_CARDS = {"full": 30, "smoke": 3}  # each officer's, each asked once the last came
QUIET_SECONDS = 3.0  # between the floods: every instance's report of the first goes stale
FAILOVER = "job leader failover"
INSTANCES = 3
ROUNDS = 5  # paced rounds of each mode, the modes taken in turn (forward, then backward)
# mode: (all updates to the leader alone or to the three, pace ÷ 20 a second)
MODES: dict[str, tuple[bool, float]] = {
    "one": (True, 1.0), "three": (False, 1.0), "one_at_a_third": (True, 1 / 3),
    "three_at_the_limit": (False, 1.5)}
SECRET = "bench-instances-webhook-secret"
# The real lease; a smoke run (which must be quick) uses a short one.
LEASE_SECONDS = {"full": 30.0, "smoke": 3.0}
TARGET_SECONDS = 60.0
ALERT = "Bench alert"


async def run(workspace: Workspace) -> list[Result]:
    """Both figures, on one throwaway cluster (skipped without PostgreSQL)."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL is not installed (apt-get install postgresql)"
        return [Result.skip(SPREAD, reason), Result.skip(FAILOVER, reason)]
    cluster = await asyncio.to_thread(start_cluster, bin_dir)
    try:
        return await _run(workspace, cluster)
    finally:
        await asyncio.to_thread(stop_cluster, cluster)


async def _run(workspace: Workspace, cluster: Cluster) -> list[Result]:
    settings = await kept_postgres(workspace, cluster, workspace.service(), "instances")
    lease = LEASE_SECONDS.get(workspace.scale.name, LEASE_SECONDS["full"])
    db = await Database.open(settings)
    try:
        async with BotApiStandIn() as standin:
            deployment = _deployment(workspace, settings, standin, lease)
            try:
                await deployment.start()
                spread, flood = await card_rounds(workspace, db, settings, standin,
                                                  deployment)
                failover = await failovers(workspace, db, settings, standin, deployment,
                                           lease)
            finally:
                await deployment.stop()
    finally:
        await db.close()
    return [spread, flood, failover]


def _deployment(workspace: Workspace, settings: Settings, standin: BotApiStandIn,
                lease: float) -> Deployment:
    deployment = Deployment(settings, standin, workspace.folder("instances"),
                            count=INSTANCES, lease_seconds=lease, secret=SECRET)
    deployment.env.pop("EWO_OUTBOX_POLL_SECONDS", None)  # the real poll, every 5 s
    deployment.env["EWO_CASELOAD_DIGEST"] = ""  # no digest to supervisors mid-run
    return deployment


# --- cards, one instance against three ---------------------------------------------------


@dataclass
class Tally:
    """Updates sent and replies that never came (each exchange sends one update)."""

    sent: int = 0
    lost: int = 0
    rounds: dict[str, list[Load]] = field(default_factory=lambda: {mode: [] for mode in MODES})

    def pooled(self, mode: str) -> Load:
        loads = self.rounds[mode]
        return Load(sum(load.seconds for load in loads), sum(load.exchanges for load in loads),
                    sum(load.updates for load in loads),
                    [latency for load in loads for latency in load.latencies])


def _counted(tally: Tally, user: FakeUser, upn: str, *, typed: bool) -> Exchange:
    """A card exchange; a reply that does not come (or is not a card) is counted lost."""
    ask = card_exchange(user, upn, typed=typed)

    async def exchange() -> int:
        tally.sent += 1
        try:
            return await ask()
        except (TimeoutError, AssertionError):
            tally.lost += 1
            return 1
    return exchange


async def card_rounds(workspace: Workspace, db: Database, settings: Settings,
                      standin: BotApiStandIn, deployment: Deployment
                      ) -> tuple[Result, Result]:
    scale = workspace.scale
    officers = await enrol_officers(workspace, db, settings, standin, scale.chat_officers,
                                    now=datetime.now(UTC))
    people = list(zip(officers.users, officers.pupils, strict=True))
    tally = Tally()
    turn = itertools.count()

    def sessions(requests: int) -> list[list[Exchange]]:
        start = next(turn) * requests
        return [[_counted(tally, user, pupils[(start + n) % len(pupils)], typed=n % 2 == 1)
                 for n in range(requests)] for user, pupils in people]

    await closed_loop(sessions(INSTANCES))  # every instance warmed up, all connections open
    await asyncio.sleep(QUIET_SECONDS)  # the warm-up's sending forgotten before the rounds
    leader = deployment.by_name(await _until_holder(db, lambda name: name is not None,
                                                    REPLY_TIMEOUT))
    order = list(MODES)
    measured = time.monotonic()  # refused posts before this were the warm-up's
    for number in range(ROUNDS):
        for mode in order if number % 2 == 0 else order[::-1]:
            alone, pace = MODES[mode]
            deployment.route_to([leader] if alone else deployment.instances)
            requests = max(2, round(scale.paced_requests * pace))  # each round as long
            tally.rounds[mode].append(await paced(sessions(requests), PACED_RATE * pace))
    floods: dict[str, Sending] = {}
    for mode, targets in (("one", [leader]), ("three", deployment.instances)):
        await asyncio.sleep(QUIET_SECONDS)  # pacing between the floods, not an event
        deployment.route_to(targets)
        began = time.monotonic()
        await closed_loop(sessions(FLOOD_CARDS.get(scale.name, FLOOD_CARDS["full"])))
        floods[mode] = Sending.of([call.at for call in standin.calls
                                   if call.method == "sendMessage" and call.at >= began])
    deployment.route_to(deployment.instances)
    await standin.wait_until_taken(REPLY_TIMEOUT)
    accepted = Counter(post.update_id for post in standin.webhook_posts if post.status == 200)
    refused = Counter(post.status for post in standin.webhook_posts
                      if post.status != 200 and post.at >= measured)
    warm_up_refused = sum(1 for post in standin.webhook_posts
                          if post.status != 200 and post.at < measured)
    posted_twice = sum(1 for count in accepted.values() if count > 1)
    replies = sum(len(user.history) for user in officers.users)
    duplicated = max(0, replies - (tally.sent - tally.lost)) + posted_twice
    # An update handled without its chat's lock (not had within 30 s) is logged.
    unlocked = sum(instance.log_text().count("chat lock not had")
                   for instance in deployment.instances)
    return (_spread_result(workspace, tally, leader, duplicated=duplicated, refused=refused,
                           accepted=len(accepted), unlocked=unlocked,
                           warm_up_refused=warm_up_refused),
            _flood_result(workspace, floods, leader))


@dataclass(frozen=True)
class Sending:
    """The messages Telegram received in a flood: how many, a second on average after
    the flood's first second (the rate held, past the burst a quiet bot may send at
    once), and the most within any one second."""

    messages: int
    per_second: float
    busiest_second: int

    @classmethod
    def of(cls, moments: Sequence[float]) -> Sending:
        moments = sorted(moments)
        held = [moment for moment in moments if moment >= moments[0] + 1.0] if moments else []
        if len(held) < 2:
            return cls(len(moments), 0.0, len(moments))
        busiest, start = 0, 0
        for end, moment in enumerate(moments):
            while moments[start] <= moment - 1.0:
                start += 1
            busiest = max(busiest, end - start + 1)
        return cls(len(moments), (len(held) - 1) / (held[-1] - held[0]), busiest)


def _flood_result(workspace: Workspace, floods: dict[str, Sending], leader: Instance) -> Result:
    one, three = floods["one"], floods["three"]
    ratio = three.per_second / one.per_second if one.per_second else float("inf")
    scale = workspace.scale
    cards = FLOOD_CARDS.get(scale.name, FLOOD_CARDS["full"])
    return Result(
        FLOOD,
        figures={"per_second": three.per_second, "busiest_second": three.busiest_second,
                 "messages": three.messages, "one_per_second": one.per_second,
                 "one_busiest_second": one.busiest_second, "one_messages": one.messages},
        headline=(f"three flooded: {three.per_second:.1f} messages/s, at most"
                  f" {three.busiest_second} in a second ({three.messages:,} messages)"),
        baseline=(f"one instance flooded: {one.per_second:.1f} messages/s, at most"
                  f" {one.busiest_second} in a second"),
        ratio=ratio, target="≤ 1.05 × one instance's (one bot: about 30 a second in all)",
        met=ratio <= 1.05,
        notes=[f"{scale.chat_officers} officers, {cards} cards each, each asked as soon as"
               " the last was answered: first every update to the job leader"
               f" ({leader.name}) alone, then to the three in turn, {QUIET_SECONDS:g} s"
               " apart. Messages a second held from the flood's first second on (its first"
               " second is the burst a quiet bot may send at once); the busiest second is"
               " any one second's window (one instance alone may send 30 at once and 30 more"
               " within the second). Each instance's limiter keeps 30 a second; the"
               " instances share it (bot/jobs/send_budget.py): each keeps what the others"
               " leave, at least an even share, and a quiet one keeps a third of 30, as its"
               " rate and its burst, until it has told the others it is sending."])


def _spread_result(workspace: Workspace, tally: Tally, leader: Instance, *, duplicated: int,
                   refused: Counter[int], accepted: int, unlocked: int,
                   warm_up_refused: int) -> Result:
    one, three = tally.pooled("one"), tally.pooled("three")
    p95, one_p95 = three.percentile_ms(95), one.percentile_ms(95)
    ratio = p95 / one_p95
    scale = workspace.scale
    per_round = {mode: ", ".join(f"{load.percentile_ms(95):.1f}" for load in loads)
                 for mode, loads in tally.rounds.items()}
    third, at_limit = tally.pooled("one_at_a_third"), tally.pooled("three_at_the_limit")
    # Each round's "one" and "three" are run one after the other: their ratio, pair by
    # pair, is the difference with the machine's slow spells weighing on both alike.
    pairs = [b.percentile_ms(95) / a.percentile_ms(95)
             for a, b in zip(tally.rounds["one"], tally.rounds["three"], strict=True)]
    pairs_median = statistics.median(pairs)
    no_worse = sum(pair <= 1 for pair in pairs)
    return Result(
        SPREAD,
        figures={"p50_ms": three.percentile_ms(50), "p95_ms": p95,
                 "p99_ms": three.percentile_ms(99), "one_p50_ms": one.percentile_ms(50),
                 "one_p95_ms": one_p95, "one_p99_ms": one.percentile_ms(99),
                 "cards": tally.sent, "lost": tally.lost, "duplicated": duplicated,
                 "updates_accepted": accepted, "posts_refused": refused.total(),
                 "warm_up_posts_refused": warm_up_refused,
                 "slowest_ms": max(max(load.latencies) for loads in tally.rounds.values()
                                   for load in loads) * 1000,
                 "without_chat_lock": unlocked,
                 "one_at_a_third_p50_ms": third.percentile_ms(50),
                 "one_at_a_third_p95_ms": third.percentile_ms(95),
                 "three_at_the_limit_p50_ms": at_limit.percentile_ms(50),
                 "three_at_the_limit_p95_ms": at_limit.percentile_ms(95),
                 "pair_ratio_median": pairs_median,
                 "pairs_three_no_worse": no_worse},
        headline=(f"three at {PACED_RATE:g}/s: p50/p95/p99 {three.percentiles()} ms;"
                  f" {tally.lost} lost, {duplicated} duplicated of {tally.sent:,}"),
        baseline=f"one instance at {PACED_RATE:g}/s: p50/p95/p99 {one.percentiles()} ms",
        ratio=ratio, target="p95 ≤ one's (≤ 1); 0 lost, 0 duplicated",
        met=ratio <= 1 and tally.lost == 0 and duplicated == 0,
        notes=[f"{scale.chat_officers} officers, {scale.paced_requests} cards each a round at"
               f" {PACED_RATE:g} cards a second in all, their own pupils among"
               f" {workspace.service().pupils:,} on PostgreSQL, half by /pupil and half typed;"
               f" {ROUNDS} rounds of each mode, the modes taken in turn (forward, then"
               " backward), all of a mode's rounds pooled. `ewobot run` processes in webhook"
               " mode with the bot's rate limiter and the real settings; the stand-in's balancer"
               " posts each update to the next instance in turn (one instance: all to the job"
               f" leader, {leader.name}, the other two idle). p95 of each round: one"
               f" {per_round['one']};"
               f" three {per_round['three']} ms; round by round, three against one"
               f" {' '.join(f'{pair:.2f}' for pair in pairs)} (median"
               f" {pairs_median:.2f}; three no worse in {no_worse} of {len(pairs)})."
               f" Lost: no card within {REPLY_TIMEOUT:g} s;"
               " duplicated: replies beyond one an update, and updates accepted twice;"
               f" {refused.total()} webhook posts were refused{_statuses(refused)} in the"
               f" rounds and {warm_up_refused} while warming up, {unlocked} updates handled"
               " without their chat's lock. In the same rounds: one instance at a third of the"
               f" pace, p50/p95/p99 {third.percentiles()} ms; three at 30 a second (Telegram's"
               f" limit), {at_limit.percentiles()} ms (p95 of each round:"
               f" {per_round['one_at_a_third']}; {per_round['three_at_the_limit']})."
               " Instances, stand-in and PostgreSQL share the machine."])


def _statuses(refused: Counter[int]) -> str:
    """` (3 with HTTP 503, 1 with no connection)`, or nothing."""
    if not refused:
        return ""
    parts = [f"{n} with {'no connection' if code == 0 else f'HTTP {code}'}"
             for code, n in sorted(refused.items())]
    return f" ({', '.join(parts)}; each posted again)"


# --- failover ----------------------------------------------------------------------------


async def _until_holder(db: Database, wanted: Any, timeout: float) -> str:  # noqa: ASYNC109
    """The live holder of the jobs lease once `wanted(holder)` is true."""
    deadline = time.monotonic() + timeout
    while True:
        holder = await lease_holder(db)
        if wanted(holder):
            assert holder is not None
            return holder
        if time.monotonic() > deadline:
            raise AssertionError(f"no lease holder as wanted within {timeout:g} s")
        await asyncio.sleep(0.1)  # polled with a deadline: the lease is a row, not an event


async def _due(db: Database, chat: int, text: str) -> int:
    now = datetime.now(UTC)

    async def _transaction(conn: Conn) -> int:
        return await outbox_store.enqueue(conn, kind="message", audience=f"chat:{chat}",
                                          payload={"text": text}, now=now)
    return await db.write(_transaction)


@dataclass
class Takeover:
    killed: str
    by: str
    seconds: float


async def failovers(workspace: Workspace, db: Database, settings: Settings,
                    standin: BotApiStandIn, deployment: Deployment, lease: float) -> Result:
    [user] = (await enrol_officers(workspace, db, settings, standin, 1,
                                   skip=workspace.scale.chat_officers,
                                   now=datetime.now(UTC))).users
    limit = lease * 4 / 3 + TARGET_SECONDS  # far beyond the target: a miss is measured
    idle = await _idle_leader_killed(db, standin, deployment, user, limit)
    in_flight = await _leader_killed_mid_send(db, standin, deployment, user, lease, limit)
    worst = max(idle.seconds, in_flight.seconds)
    return Result(
        FAILOVER,
        figures={"idle_leader_s": idle.seconds, "mid_send_s": in_flight.seconds,
                 "lease_s": lease},
        headline=(f"{idle.seconds:.1f} s (leader idle); {in_flight.seconds:.1f} s (leader"
                  " killed mid-send)"),
        baseline="—", target=f"≤ {TARGET_SECONDS:g} s", met=worst <= TARGET_SECONDS,
        notes=[f"EWO_JOB_LEASE_SECONDS={lease:g} (renewed every third), the outbox polled"
               f" every 5 s. Leader idle: {idle.killed} SIGKILLed and a message made due at"
               f" that moment; {idle.by} delivered it {idle.seconds:.1f} s later. Mid-send:"
               f" the stand-in holds its answer to {in_flight.killed}'s sendMessage of a due"
               f" message, {in_flight.killed} is SIGKILLed; {in_flight.by} sent it again"
               f" {in_flight.seconds:.1f} s later (the row `sent` under its name). Seconds from"
               " the kill to Telegram receiving the send."])


async def _idle_leader_killed(db: Database, standin: BotApiStandIn, deployment: Deployment,
                              user: FakeUser, limit: float) -> Takeover:
    first = await _until_holder(db, lambda name: name is not None, limit)
    await deployment.kill(deployment.by_name(first))
    killed = time.monotonic()
    text = f"{ALERT} after {first} was killed"
    outbox_id = await _due(db, user.chat_id, text)
    call = await standin.wait_for_call("sendMessage", lambda c: c.params.get("text") == text,
                                       timeout=limit, since=killed)
    seconds = call.at - killed
    status, by = await _until_sent(db, outbox_id, limit)
    assert by != first, "the killed instance cannot have sent it"
    return Takeover(first, by, seconds)


async def _leader_killed_mid_send(db: Database, standin: BotApiStandIn,
                                  deployment: Deployment, user: FakeUser, lease: float,
                                  limit: float) -> Takeover:
    holder = await _until_holder(db, lambda name: name is not None, limit)
    text = f"{ALERT} in {holder}'s hands"
    standin.delay_next("sendMessage", 2 * limit)  # its answer never reaches the holder
    outbox_id = await _due(db, user.chat_id, text)
    await standin.wait_for_call("sendMessage", lambda c: c.params.get("text") == text,
                                timeout=limit)
    await deployment.kill(deployment.by_name(holder))
    killed = time.monotonic()
    again = await standin.wait_for_call("sendMessage", lambda c: c.params.get("text") == text,
                                        timeout=limit, since=killed)
    _, by = await _until_sent(db, outbox_id, limit)
    assert by != holder, "the killed instance cannot have sent it"
    return Takeover(holder, by, again.at - killed)


async def _until_sent(db: Database, outbox_id: int, timeout: float) -> tuple[str, str]:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        status, by = await db.read(outbox_claim, outbox_id)
        if status == "sent":
            return status, by
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox row not sent within {timeout:g} s")
        await asyncio.sleep(0.1)  # polled with a deadline: the row is written by another process


# --- on its own --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instances", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SCALES), default=FULL.name)
    parser.add_argument("--out", type=Path, help="write the table here as well")
    args = parser.parse_args(argv)
    workspace = Workspace(SCALES[args.size])
    return run_alone(lambda: run(workspace), workspace.close, scale=args.size, out=args.out)


if __name__ == "__main__":
    raise SystemExit(main())
