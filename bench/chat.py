"""Chat throughput through the loopback stand-in and the real polling loop: pupil cards
and whole visit conversations, against a bare python-telegram-bot echo handler."""

from __future__ import annotations

import asyncio
import csv
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench.drills.common import NoRateLimit
from bench.report import Result, Unavailable
from bench.workspace import PIN, Scale, Workspace, bench_clock
from bot.domain.visits import ABSENCE_REASONS, ACTIONS, CONTACT_OUTCOMES, VISIT_TYPES, label_of
from bot.handlers.common import SENSITIVE_PLACEHOLDER
from bot.handlers.pupils import DETAILS_BUTTON
from bot.handlers.visit import (
    LABEL_1_WEEK,
    LABEL_NONE,
    LABEL_SAVE,
    LABEL_SKIP,
    LABEL_TODAY,
    SAVED,
)
from bot.harness import RunningBot, enrol_directly
from bot.sandbox import BotApiStandIn, BotMessage, FakeUser
from bot.settings import Settings
from bot.storage.db import Database

ECHO = "echo baseline"
CARDS = "pupil cards"
VISITS = "visits recorded"
REPLY_TIMEOUT = 30.0  # seconds: far above any healthy reply, short enough to notice a hang
FIRST_USER_ID = 7_000
# The bot and the baseline both take up to this many updates at once.
CONCURRENT_UPDATES = 64
# Cards a second in all while latency is measured: far above a real service's peak
# (forty officers each asking every two seconds), well below saturation.
PACED_RATE = 20.0
ROUNDS = 3  # throughput rounds of the echo and of the cards, taken in turn

Exchange = Callable[[], Awaitable[int]]  # one request and its answer; returns updates sent


@dataclass
class Load:
    """What a run measured: how long it took and how long each exchange waited."""

    seconds: float
    exchanges: int
    updates: int
    latencies: list[float] = field(default_factory=list)  # seconds, one per exchange

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.seconds

    @property
    def exchanges_per_s(self) -> float:
        return self.exchanges / self.seconds

    def percentile_ms(self, percent: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1] * 1000

    def percentiles(self) -> str:
        """p50/p95/p99 in milliseconds, for the table."""
        return "/".join(f"{self.percentile_ms(p):.1f}" for p in (50, 95, 99))


async def closed_loop(sessions: Sequence[Sequence[Exchange]]) -> Load:
    """Throughput: each person sends, waits for the answer, sends again; all at once."""
    return await _run(sessions, rate=None)


async def paced(sessions: Sequence[Sequence[Exchange]], rate: float) -> Load:
    """Latency at a steady load: exchanges start on a fixed timetable of `rate` a second
    in all, taking the people in turn; a late start counts against the exchange."""
    return await _run(sessions, rate=rate)


async def _run(sessions: Sequence[Sequence[Exchange]], rate: float | None) -> Load:
    latencies: list[float] = []
    updates: list[int] = []
    people = len(sessions)
    begin = time.perf_counter()

    async def person(number: int, exchanges: Sequence[Exchange]) -> None:
        for turn, exchange in enumerate(exchanges):
            started = time.perf_counter()
            if rate is not None:
                due = begin + (turn * people + number) / rate
                await asyncio.sleep(max(0.0, due - started))  # pacing, not waiting on an event
                started = due
            updates.append(await exchange())
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(person(n, exchanges) for n, exchanges in enumerate(sessions)))
    seconds = time.perf_counter() - begin
    return Load(seconds, len(latencies), sum(updates), latencies)


# --- the baseline ------------------------------------------------------------------------


@dataclass
class Echo:
    """The baseline's throughput and its latency at the paced rate."""

    busy: Load
    steady: Load


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def _say(user: FakeUser, text: str) -> Exchange:
    async def exchange() -> int:
        await user.send(text)
        reply = await user.next_message(REPLY_TIMEOUT)
        if reply.text != text:
            raise AssertionError("the echo bot answered something else")
        return 1
    return exchange


async def echo_loads(scale: Scale) -> Echo:
    """A bare Application with one echo handler, polling its own stand-in."""
    async with BotApiStandIn() as standin:
        application = (ApplicationBuilder().token(standin.token).base_url(standin.base_url)
                       .base_file_url(standin.base_file_url)
                       .concurrent_updates(CONCURRENT_UPDATES).build())
        application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            users = [standin.user(FIRST_USER_ID + n, first_name=f"Echo{n}")
                     for n in range(scale.chat_officers)]
            await closed_loop([[_say(user, "warm up")] for user in users])
            busy = await closed_loop(
                [[_say(user, f"hello {n}") for n in range(scale.chat_requests)]
                 for user in users])
            steady = await paced(
                [[_say(user, f"hi {n}") for n in range(scale.paced_requests)]
                 for user in users], PACED_RATE)
            return Echo(busy, steady)
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()


def echo_result(scale: Scale, rounds: Sequence[Echo]) -> Result:
    best = best_echo(rounds)
    busy, steady = best.busy, best.steady
    return Result(
        ECHO,
        figures={"updates_per_s": busy.updates_per_s, "busy_p95_ms": busy.percentile_ms(95),
                 "p50_ms": steady.percentile_ms(50), "p95_ms": steady.percentile_ms(95),
                 "p99_ms": steady.percentile_ms(99), "rounds": len(rounds)},
        headline=(f"{busy.updates_per_s:,.0f} updates/s; at {PACED_RATE:g}/s p50/p95/p99"
                  f" {steady.percentiles()} ms"),
        baseline="(is the baseline)",
        notes=[f"Throughput: {scale.chat_officers} people at once, each sending"
               f" {scale.chat_requests} messages, each as soon as the last was answered; the"
               f" best of {len(rounds)} rounds, taken in turn with the bot's, so a busy moment"
               " on a shared machine spoils neither. Latency: "
               f"{PACED_RATE:g} messages a second on a fixed timetable, the people in turn."
               f" The bot and the echo handler both take up to {CONCURRENT_UPDATES} updates"
               " at once and run without a rate limiter (Telegram's flood limits are not the"
               " bot's speed)."])


def best_echo(rounds: Sequence[Echo]) -> Echo:
    return max(rounds, key=lambda echo: echo.busy.updates_per_s)


# --- the bot -----------------------------------------------------------------------------


@dataclass
class Officers:
    """Enrolled officers talking to the running bot, each with their allocated pupils."""

    users: list[FakeUser]
    pupils: list[list[str]]  # UPNs allocated to each


def allocations(workspace: Workspace) -> dict[str, list[str]]:
    """Officer ref -> UPNs allocated, from the service's allocations file."""
    found: dict[str, list[str]] = {}
    with workspace.service().files["allocations"].open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            found.setdefault(row["officer_ref"], []).append(row["upn"])
    return found


async def enrol_officers(workspace: Workspace, db: Database, settings: Settings,
                         standin: BotApiStandIn, count: int, *, skip: int = 0,
                         now: datetime | None = None) -> Officers:
    """`count` officers with pupils (after the first `skip`), enrolled with sessions
    unlocked at `now` (the benchmark clock's by default)."""
    by_officer = allocations(workspace)
    refs = [officer.ref for officer in workspace.service().officers
            if officer.role == "officer" and by_officer.get(officer.ref)][skip:skip + count]
    users, pupils = [], []
    for number, ref in enumerate(refs, start=skip):
        user_id = FIRST_USER_ID + 1_000 + number
        await enrol_directly(db, settings, ref=ref, user_id=user_id, pin=PIN,
                             now=now or bench_clock().now())
        users.append(standin.user(user_id, first_name=f"Officer{number}"))
        pupils.append(by_officer[ref])
    return Officers(users, pupils)


def card_exchange(user: FakeUser, upn: str, *, typed: bool) -> Exchange:
    """Ask for a pupil's card (by /pupil or by typing the UPN) and wait for it."""

    async def exchange() -> int:
        await user.send(upn if typed else f"/pupil {upn}")
        card = await user.next_message(REPLY_TIMEOUT)
        if DETAILS_BUTTON not in card.labels():
            # The reply itself may name a pupil: it stays out of the report.
            raise AssertionError("a card was asked for and something else came back")
        return 1
    return exchange


def has_command(bot: RunningBot, name: str) -> bool:
    """Whether the running bot has a handler for /name."""
    assert bot.application is not None
    return any(isinstance(handler, CommandHandler) and name in handler.commands
               for handlers in bot.application.handlers.values() for handler in handlers)


async def run(workspace: Workspace) -> list[Result]:
    """The echo baseline, then cards and visits on the bot with the whole service loaded;
    echo and cards take turns for `ROUNDS` rounds."""
    scale = workspace.scale
    echoes = [await echo_loads(scale)]
    try:
        settings = await workspace.loaded()
    except Unavailable as missing:
        return [echo_result(scale, echoes), Result.skip(CARDS, str(missing)),
                Result.skip(VISITS, str(missing))]
    db = await Database.open(settings)
    try:
        async with BotApiStandIn() as standin:
            bot = RunningBot(settings, standin, clock=bench_clock(), db=db,
                             rate_limiter=NoRateLimit())
            async with bot:
                officers = await enrol_officers(workspace, db, settings, standin,
                                                scale.chat_officers)
                cards = await cards_result(workspace, bot, officers, echoes)
                # Others record visits: each chat's messages and events are read once.
                recorders = await enrol_officers(workspace, db, settings, standin,
                                                 scale.chat_officers, skip=scale.chat_officers)
                visits = await visits_result(workspace, bot, recorders, best_echo(echoes))
    finally:
        await db.close()
    return [echo_result(scale, echoes), cards, visits]


async def cards_result(workspace: Workspace, bot: RunningBot, officers: Officers,
                       echoes: list[Echo]) -> Result:
    """Card throughput in rounds taken in turn with the echo's (adding its rounds to
    `echoes`), then latency at the paced rate."""
    if not has_command(bot, "pupil"):
        return Result.skip(CARDS, "the /pupil command is not registered yet")
    scale = workspace.scale
    people = list(zip(officers.users, officers.pupils, strict=True))
    await closed_loop([[card_exchange(user, pupils[0], typed=False)] for user, pupils in people])
    rounds: list[Load] = []
    for number in range(ROUNDS):
        if number:
            echoes.append(await echo_loads(scale))
        rounds.append(await closed_loop(
            [[card_exchange(user, pupils[(number * scale.chat_requests + n) % len(pupils)],
                            typed=n % 2 == 1)
              for n in range(scale.chat_requests)] for user, pupils in people]))
    busy = max(rounds, key=lambda load: load.exchanges_per_s)
    steady = await paced(
        [[card_exchange(user, pupils[-1 - n % len(pupils)], typed=n % 2 == 1)
          for n in range(scale.paced_requests)] for user, pupils in people], PACED_RATE)
    echo = best_echo(echoes)
    ratio = busy.exchanges_per_s / echo.busy.updates_per_s
    p95 = steady.percentile_ms(95)
    return Result(
        CARDS,
        figures={"cards": sum(load.exchanges for load in rounds) + steady.exchanges,
                 "cards_per_s": busy.exchanges_per_s, "busy_p95_ms": busy.percentile_ms(95),
                 "p50_ms": steady.percentile_ms(50), "p95_ms": p95,
                 "p99_ms": steady.percentile_ms(99),
                 "echo_updates_per_s": echo.busy.updates_per_s,
                 "echo_p95_ms": echo.steady.percentile_ms(95)},
        headline=(f"{busy.exchanges_per_s:,.0f} cards/s; at {PACED_RATE:g}/s p50/p95/p99"
                  f" {steady.percentiles()} ms"),
        baseline=(f"echo {echo.busy.updates_per_s:,.0f} updates/s;"
                  f" p95 {echo.steady.percentile_ms(95):.1f} ms"),
        ratio=ratio, target="≥ 0.6; p95 ≤ 25 ms", met=ratio >= 0.6 and p95 <= 25,
        notes=[f"{len(people)} officers, each asking for cards of their own pupils among"
               f" {workspace.service().pupils:,}, half by /pupil UPN and half by typing the"
               f" UPN: {scale.chat_requests} each as fast as answered (throughput, best of"
               f" {ROUNDS} rounds), then {scale.paced_requests} each at {PACED_RATE:g} cards"
               " a second in all (latency). When all ask at once, p95 is"
               f" {busy.percentile_ms(95):.0f} ms: the queue of the others' requests, not one"
               " card's work."])


async def visits_result(workspace: Workspace, bot: RunningBot, officers: Officers,
                        echo: Echo) -> Result:
    """Whole visit conversations as fast as answered, against the best echo round."""
    if not has_command(bot, "visit"):
        return Result.skip(VISITS, "the /visit command is not registered yet")
    visits = workspace.scale.visits
    sessions = [
        [step for n in range(visits) for step in visit_steps(user, pupils[-1 - n % len(pupils)], n)]
        for user, pupils in zip(officers.users, officers.pupils, strict=True)]
    load = await closed_loop(sessions)
    recorded = visits * len(officers.users)
    ratio = load.updates_per_s / echo.busy.updates_per_s
    steps = len(sessions[0]) // visits
    return Result(
        VISITS,
        figures={"visits": recorded, "visits_per_s": recorded / load.seconds,
                 "updates_per_s": load.updates_per_s, "p50_ms": load.percentile_ms(50),
                 "p95_ms": load.percentile_ms(95), "p99_ms": load.percentile_ms(99),
                 "echo_updates_per_s": echo.busy.updates_per_s},
        headline=(f"{recorded / load.seconds:,.1f} visits/s = {load.updates_per_s:,.0f}"
                  f" updates/s; each step p50/p95/p99 {load.percentiles()} ms"),
        baseline=f"echo {echo.busy.updates_per_s:,.0f} updates/s",
        ratio=ratio, target="report",
        notes=[f"{len(officers.users)} other officers at once, {visits} visits each, every"
               f" visit a whole conversation of {steps} updates (/visit UPN, type, date,"
               " contact, reason, action, follow-up, notes typed or skipped, Save), each"
               " step sent as soon as the last was answered."])


def visit_steps(user: FakeUser, upn: str, number: int) -> list[Exchange]:
    """A whole visit: /visit, one answer a step, Save; each waits for the bot's screen."""
    typed_notes = number % 2 == 0
    actions: list[tuple[str, str]] = [
        ("send", f"/visit {upn}"), ("press", label_of(VISIT_TYPES, "home")),
        ("press", LABEL_TODAY), ("press", label_of(CONTACT_OUTCOMES, "parent")),
        ("press", label_of(ABSENCE_REASONS, "illness")),
        ("press", label_of(ACTIONS, "followup")),
        ("press", LABEL_1_WEEK if typed_notes else LABEL_NONE),
        ("send", "Agreed a morning routine with the family.") if typed_notes
        else ("press", LABEL_SKIP),
        ("press", LABEL_SAVE)]
    return [_visit_step(user, how, what, last=n == len(actions) - 1)
            for n, (how, what) in enumerate(actions)]


def _visit_step(user: FakeUser, how: str, what: str, *, last: bool) -> Exchange:
    async def exchange() -> int:
        if how == "send":
            await user.send(what)
        else:
            await user.press(what)
        screen = await _next_screen(user)
        if last and not (screen.text or "").startswith(SAVED.split("{", 1)[0]):
            raise AssertionError("Save was pressed and the visit was not saved")
        return 1
    return exchange


async def _next_screen(user: FakeUser) -> BotMessage:
    """The next message the bot sent or edited in this chat (answers to presses,
    deletions and a sensitive message's placeholder before its edit are not screens)."""
    while True:
        event = await user.next_event(REPLY_TIMEOUT)
        if (event.kind in ("sent", "edited") and event.message is not None
                and event.message.text != SENSITIVE_PLACEHOLDER):
            return event.message
