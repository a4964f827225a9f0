"""Drill: one chat floods the bot. A stranger sends a flood of `/start <junk>` and an
enrolled officer a flood of searches, both queued before other officers send /help.
Each other officer's reply arrives while the floods are still being worked through
(counted by the flooder's replies, not by the clock), through the real rate limiter;
the stranger gets one refusal in all and, after its fifth wrong code, costs nothing
more (no deletion, no audit entry); every flood search is answered in the end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.common import Drill, LogCapture, Size, count
from bench.drills.stage import Service
from bot.clock import FixedClock
from bot.domain.attempts import MAX_WRONG_CODES
from bot.handlers import access
from bot.handlers import pupils as pupil_handlers
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, FakeUser

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
# Messages in each flood: the thousand at full size.
FLOODS = {"suite": 150, "full": 1000}
OTHERS = 3
ANSWER = 30.0
FIRST_USER = 5000


async def flood_drill(folder: Path, size: Size, *,
                      out: Callable[[str], None] = print) -> Drill:
    """A stranger's and an officer's floods, and other officers' /help meanwhile."""
    drill = Drill("floods from one chat", out)
    flood = FLOODS.get(size.name, FLOODS["full"])
    service = await Service.open(folder, MORNING)
    capture = LogCapture.install()
    try:
        async with BotApiStandIn() as standin:
            flooder, others = await _officers(service, standin)
            stranger = standin.user(FIRST_USER - 1, "Stranger")
            async with RunningBot(service.settings, standin, clock=FixedClock(MORNING),
                                  db=service.db) as bot:
                drill.tried(f"{flood} '/start <junk>' from a stranger and {flood} searches "
                            f"from an officer, then /help from {OTHERS} other officers")
                for number in range(flood):
                    await stranger.send(f"/start junk-{number}")
                    await flooder.send(f"Nobody{number}")
                for other in others:
                    await other.send("/help")
                await _others_answered_first(drill, flooder, others, flood)
                replies = [(await flooder.next_message(timeout=ANSWER)).text
                           for _ in range(flood)]
                drill.check(replies == [pupil_handlers.NOT_FOUND] * flood,
                            f"all {flood} flood searches answered in the end",
                            "a flood search got another reply")
                await bot.settled()
                _stranger_cost(drill, service, standin, stranger)
        drill.check(not capture.problems(), "no error in the log",
                    lambda: f"errors in the log: {capture.problems()[:3]}")
    finally:
        capture.remove()
        await service.close()
    return drill


async def _officers(service: Service, standin: BotApiStandIn) -> tuple[FakeUser, list[FakeUser]]:
    users = []
    for number in range(OTHERS + 1):
        ref = f"EWO{number + 1}"
        await service.add_officer(ref)
        await service.enrol(ref, FIRST_USER + number)
        users.append(standin.user(FIRST_USER + number, ref))
    return users[0], users[1:]


async def _others_answered_first(drill: Drill, flooder: FakeUser, others: list[FakeUser],
                                 flood: int) -> None:
    """Each /help reply comes while the flooder still waits for most of its replies."""
    helps = [(await other.next_message(timeout=ANSWER)).text or "" for other in others]
    answered = len(flooder.history)
    drill.check(all("/pupils" in text for text in helps), "each /help got the help text",
                "a /help got another reply")
    drill.check(answered < flood // 2,
                f"every other officer's /help answered when the flood had {answered} of "
                f"{flood} replies",
                f"the other officers' /help waited for {answered} of {flood} flood replies")


def _stranger_cost(drill: Drill, service: Service, standin: BotApiStandIn,
                   stranger: FakeUser) -> None:
    replies = [message.text for message in stranger.history]
    drill.check(replies == [access.BAD_CODE], "the stranger got one refusal in all",
                f"the stranger got {len(replies)} replies")
    deleted = len(standin.calls_to("deleteMessage"))
    audited = count(service.settings.database,
                    "SELECT count(*) FROM audit WHERE action = 'enrol_refused'")
    drill.check(deleted == MAX_WRONG_CODES and audited == MAX_WRONG_CODES,
                f"the stranger's codes cost {deleted} deletions and {audited} audit entries, "
                f"then nothing",
                f"the stranger's codes cost {deleted} deletions and {audited} audit entries")
