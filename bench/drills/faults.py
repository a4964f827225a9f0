"""Drill 4, Telegram faults scripted in the stand-in: 429 with retry_after, 5xx,
timeouts and refused connections, while officers ask for cards and the bot owes them
pushed messages. The bot rides them out: every request is answered (or, where
Telegram failed the reply itself, the person is told to try again), and afterwards
every pushed message is delivered, in order per officer.

The bot runs in this process on a clock the drill moves, so retries fall due without
waiting out their real back-off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import is_pushed, next_reply
from bench.drills.common import Drill, Size, poll_until, rows
from bench.drills.stage import Pupil, Service, made_up_pupil
from bot.app import SOMETHING_WRONG
from bot.clock import FixedClock
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, FakeUser
from bot.storage import outbox as outbox_store
from bot.storage.db import Conn

# A Wednesday morning in term time.
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
OFFICERS = 3
PUPILS_EACH = 3
FIRST_USER = 8_000
ANSWER = 60.0  # seconds: polling backs off up to 30 s after a long outage
_ERROR_REPLY = SOMETHING_WRONG.split("(", 1)[0]


@dataclass
class _Officer:
    ref: str
    user: FakeUser
    pupils: list[Pupil]
    asked: list[str] = field(default_factory=list)  # names of the cards asked for, in order

    async def ask_card(self, turn: int) -> None:
        pupil = self.pupils[turn % len(self.pupils)]
        self.asked.append(pupil.name)
        await self.user.send(f"/pupil {pupil.upn}")


async def faults_drill(folder: Path, size: Size, *, out: Callable[[str], None] = print) -> Drill:
    """Each fault in turn, then an outage of `size.outage_seconds`."""
    drill = Drill("Telegram faults", out)
    clock = FixedClock(MORNING)
    # Long sessions: the drill moves the clock past back-offs without locking anyone.
    service = await Service.open(folder, MORNING, session_idle_minutes=24 * 60,
                                 outbox_poll_seconds=0.1)
    try:
        async with BotApiStandIn() as standin:
            officers = await _officers(service, standin)
            async with RunningBot(service.settings, standin, clock=clock, db=service.db):
                await _each_fault(drill, service, standin, clock, officers, size)
                await _outage(drill, service, standin, clock, officers, size)
                await _everything_delivered(drill, service, clock, officers)
    finally:
        await service.close()
    return drill


async def _officers(service: Service, standin: BotApiStandIn) -> list[_Officer]:
    officers = []
    for number in range(OFFICERS):
        ref = f"EWO{number + 1}"
        await service.add_officer(ref)
        pupils = await service.add_pupils(
            [made_up_pupil(number * PUPILS_EACH + n + 1, ref) for n in range(PUPILS_EACH)],
            name=f"{ref}.csv")
        await service.enrol(ref, FIRST_USER + number)
        officers.append(_Officer(ref, standin.user(FIRST_USER + number, ref), pupils))
    return officers


async def _owe_alerts(service: Service, officers: list[_Officer], how_many: int) -> None:
    """Queue alerts, numbered per officer, as an import in the same transaction would."""
    async def _transaction(conn: Conn) -> None:
        for officer in officers:
            done = len(await _alerts_queued(service, officer))
            for sequence in range(done, done + how_many):
                pupil = officer.pupils[sequence % len(officer.pupils)]
                await outbox_store.enqueue(
                    conn, kind="alert", audience=f"officer:{service.officers[officer.ref].id}",
                    payload={"text": f"Alert {sequence:03d} for {officer.ref}",
                             "buttons": [["Open card", f"al:card:{pupil.id}"]]},
                    now=service.now, pupil_ids=[pupil.id])
    await service.db.write(_transaction)


async def _alerts_queued(service: Service, officer: _Officer) -> list[str]:
    found = rows(service.settings.database, "SELECT payload FROM outbox WHERE audience = ?",
                 (f"officer:{service.officers[officer.ref].id}",))
    return [str(payload) for (payload,) in found]


async def _answers(officer: _Officer, count: int) -> list[str]:
    """The next `count` replies (pushed messages skipped): the card's name, or what came."""
    answers = []
    for _ in range(count):
        reply = await next_reply(officer.user, ANSWER)
        text = reply.text or ""
        name = next((n for n in officer.asked if text.startswith(n)), None)
        answers.append(name or text.split("\n", 1)[0])
    return answers


async def _each_fault(drill: Drill, service: Service, standin: BotApiStandIn,
                      clock: FixedClock, officers: list[_Officer], size: Size) -> None:
    faults = [
        ("429 Too Many Requests, retry after 1 s", {"status": 429, "retry_after": 1}),
        ("500 Internal Server Error", {"status": 500}),
        ("502 Bad Gateway", {"status": 502}),
    ]
    for label, fault in faults:
        first = officers[0]
        first.asked.clear()
        drill.tried(f"{label} to a reply")
        standin.fail_next("sendMessage", **fault)  # type: ignore[arg-type]
        await first.ask_card(0)
        await first.ask_card(1)
        answers = await _answers(first, 2)
        retried = answers == first.asked
        # A 5xx may or may not have been delivered: the person is told to try again.
        told = (fault["status"] != 429 and answers[1:] == first.asked[1:]
                and answers[0].startswith(_ERROR_REPLY))
        drill.check(retried or told, "the reply came after Telegram's wait" if retried else
                    "the person was told to try again, and the next request was answered",
                    f"after {label} the answers were {answers} for {first.asked}")
        drill.tried(f"{label} to a pushed message")
        hit = len(standin.calls_to("sendMessage"))
        standin.fail_next("sendMessage", **fault)  # type: ignore[arg-type]
        await _owe_alerts(service, officers, 1)
        await _deliver_all(service, clock)
        failed = [call for call in standin.calls_to("sendMessage")[hit:]
                  if call.status == fault["status"]]
        drill.check(bool(failed), "the pushed message it hit was delivered on a later round",
                    f"{label} hit no pushed message")
    if not size.timeouts:
        drill.note("timeouts are drilled at the full size: each one waits out the bot's "
                   "5 s read timeout")
    for _ in range(size.timeouts):
        await _owe_alerts(service, officers, 1)
        drill.tried("Telegram answers a pushed message only after the bot stopped waiting "
                    "(a timeout)")
        standin.delay_next("sendMessage", 7)
        await _deliver_all(service, clock)
        drill.held("the message was sent again after the back-off (at least once)")


async def _deliver_all(service: Service, clock: FixedClock) -> None:
    """Move the clock past any back-off until nothing is owed."""

    def owed() -> bool:
        return bool(rows(service.settings.database, "SELECT 1 FROM outbox WHERE status IN"
                         " ('pending', 'sending') LIMIT 1"))

    async with asyncio.timeout(ANSWER):
        while owed():
            clock.advance(timedelta(minutes=16))  # past the longest back-off (15 minutes)
            try:
                await poll_until(lambda: not owed(), 1.0)
            except TimeoutError:
                continue


async def _outage(drill: Drill, service: Service, standin: BotApiStandIn, clock: FixedClock,
                  officers: list[_Officer], size: Size) -> None:
    await _owe_alerts(service, officers, size.alerts_each)
    drill.tried(f"Telegram unreachable for {size.outage_seconds:.0f} s (connections refused) "
                f"while {len(officers)} officers each ask for {PUPILS_EACH} cards and are owed "
                f"{size.alerts_each} pushed messages")
    await standin.refuse_connections()
    for officer in officers:
        officer.asked.clear()
    started = time.perf_counter()
    for turn in range(PUPILS_EACH):
        for officer in officers:
            await officer.ask_card(turn)
    await asyncio.sleep(size.outage_seconds)  # the outage is the drill: nothing to await
    await standin.accept_connections()
    problems = []
    for officer in officers:
        answers = await _answers(officer, len(officer.asked))
        if answers != officer.asked:
            problems.append(f"{officer.ref} asked for {officer.asked}, got {answers}")
    drill.check(not problems, f"once Telegram was back, every card asked for was answered, in "
                f"order ({time.perf_counter() - started:.0f} s after the first request)",
                "; ".join(problems))
    await _deliver_all(service, clock)


async def _everything_delivered(drill: Drill, service: Service, clock: FixedClock,
                                officers: list[_Officer]) -> None:
    await _deliver_all(service, clock)
    statuses = {str(status) for (status,) in rows(service.settings.database,
                                                  "SELECT DISTINCT status FROM outbox")}
    drill.check(statuses == {"sent"}, "every pushed message ended marked sent",
                f"pushed messages left {sorted(statuses)}")
    problems = []
    again = 0
    for officer in officers:
        texts = [m.text or "" for m in officer.user.history if is_pushed(m)]
        first_seen = list(dict.fromkeys(texts))
        again += len(texts) - len(first_seen)
        wanted = [f"Alert {n:03d} for {officer.ref}"
                  for n in range(len(await _alerts_queued(service, officer)))]
        if first_seen != wanted:
            problems.append(f"{officer.ref} got {first_seen}")
    drill.check(not problems, f"each officer got every pushed message, in order ({again} "
                "came twice after a timeout: at least once)", "; ".join(problems))
