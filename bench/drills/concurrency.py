"""Drill 2, concurrent officers: many officers record visits and open pupil cards at the
same moment through the stand-in, while an attendance import writes from another
process. Nothing is lost or saved twice, nobody meets "database is locked" or the
error reply, and the answers' p95 is reported."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import next_reply, record_one_visit
from bench.drills.common import Drill, Size, count, integrity, percentile
from bench.drills.processes import STARTUP, BotProcess, start_cli
from bench.drills.stage import Pupil, Service, made_up_pupil
from bot.app import SOMETHING_WRONG
from bot.clock import Clock
from bot.sandbox import BotApiStandIn, FakeUser

PUPILS_EACH = 5
FIRST_USER = 6_000
_ERROR_REPLY = SOMETHING_WRONG.split("(", 1)[0]


@dataclass
class _Officer:
    """One officer at work: what they asked for, what they were shown, how long it took."""

    ref: str
    user: FakeUser
    pupils: list[Pupil]
    shown_saved: int = 0
    cards: int = 0
    problems: list[str] = field(default_factory=list)
    timings: list[float] = field(default_factory=list)

    async def open_card(self, pupil: Pupil) -> None:
        started = time.perf_counter()
        await self.user.send(f"/pupil {pupil.upn}")
        card = await next_reply(self.user, STARTUP)
        self.timings.append(time.perf_counter() - started)
        if pupil.name in (card.text or ""):
            self.cards += 1
        else:
            self.problems.append(f"{self.ref} asked for a card and got: {card.text!r:.80}")

    async def record_visit(self, pupil: Pupil) -> None:
        if await record_one_visit(self.user, pupil.upn, timeout=STARTUP, timings=self.timings):
            self.shown_saved += 1
        else:
            self.problems.append(f"{self.ref} could not save a visit: "
                                 f"{self.user.last().text!r:.80}")

    async def work(self, visits: int, cards: int) -> None:
        """Cards and visits in turn, each answer awaited before the next request."""
        for turn in range(max(visits, cards)):
            pupil = self.pupils[turn % len(self.pupils)]
            if turn < cards:
                await self.open_card(pupil)
            if turn < visits:
                await self.record_visit(pupil)


async def concurrency_drill(folder: Path, size: Size, *, seed: int = 5,
                            out: Callable[[str], None] = print) -> Drill:
    """`size.officers` officers at once, each recording `size.visits_each` visits and
    opening `size.cards_each` cards, against `ewobot run` in its own process."""
    drill = Drill("concurrent officers", out)
    now = Clock(ZoneInfo("Europe/London")).now()
    service = await Service.open(folder, now)
    try:
        async with BotApiStandIn() as standin:
            officers = await _officers(service, standin, size.officers, now)
            others = await service.add_pupils(
                [made_up_pupil(10_000 + n, None) for n in range(size.import_pupils)],
                name="others.csv")
            path, marks = service.attendance_file(others, weeks=6, absent_every=None)
            bot = BotProcess(service.settings, standin, folder / "bot")
            await bot.start()
            for officer in officers:  # the first answer waits for the interpreter to start
                await officer.user.send("/help")
                await officer.user.next_message(timeout=STARTUP)
            drill.tried(f"{len(officers)} officers at once, each recording {size.visits_each} "
                        f"visits and opening {size.cards_each} pupil cards, while another "
                        f"process imports {marks:,} marks")
            started = time.perf_counter()
            importing = await start_cli(service.settings, folder / "cli", "import",
                                        "attendance", str(path))
            await asyncio.gather(*(officer.work(size.visits_each, size.cards_each)
                                   for officer in officers))
            seconds = time.perf_counter() - started
            _, import_errors = await importing.communicate()
            code = await bot.terminate()
            _check_answers(drill, officers, seconds)
            drill.check(importing.returncode == 0, "the import in the other process finished",
                        f"the import failed: {import_errors.decode()[-500:]}")
            log = bot.log()
            drill.check(code == 0 and "Traceback" not in log and "locked" not in log
                        and " ERROR " not in log,
                        "no \"database is locked\", no error in the bot's log; exit code 0",
                        lambda: f"exit {code}; the bot's log: {log[-2000:]}")
            _check_database(drill, service, officers)
    finally:
        await service.close()
    return drill


async def _officers(service: Service, standin: BotApiStandIn, how_many: int,
                    now: datetime) -> list[_Officer]:
    officers = []
    for number in range(how_many):
        ref = f"EWO{number + 1:02d}"
        await service.add_officer(ref)
        await service.enrol(ref, FIRST_USER + number, now)
        officers.append(_Officer(ref, standin.user(FIRST_USER + number, ref), []))
    pupils = await service.add_pupils([
        made_up_pupil(number * PUPILS_EACH + index + 1, officer.ref)
        for number, officer in enumerate(officers) for index in range(PUPILS_EACH)])
    for officer in officers:
        officer.pupils = [pupil for pupil in pupils if pupil.officer_ref == officer.ref]
    return officers


def _check_answers(drill: Drill, officers: list[_Officer], seconds: float) -> None:
    problems = [problem for officer in officers for problem in officer.problems]
    errors = [officer.ref for officer in officers for message in officer.user.history
              if (message.text or "").startswith(_ERROR_REPLY)]
    drill.check(not problems and not errors, "every request got its answer, none the error "
                "reply", "; ".join(problems[:5]) + f"; error replies to {errors}")
    timings = [value for officer in officers for value in officer.timings]
    # The bot's rate limiter keeps all its sends and edits under Telegram's flood limit
    # (30 a second), so with many officers at once the answers queue there.
    drill.held(f"{len(timings):,} answers in {seconds:.1f} s ({len(timings) / seconds:.0f} a "
               f"second, the rate limiter allowing 30): p50 "
               f"{percentile(timings, 0.5) * 1000:.0f} ms, p95 "
               f"{percentile(timings, 0.95) * 1000:.0f} ms, slowest "
               f"{max(timings) * 1000:.0f} ms")


def _check_database(drill: Drill, service: Service, officers: list[_Officer]) -> None:
    database = service.settings.database
    report = integrity(database)
    drill.check(report == "ok", "PRAGMA integrity_check: ok", f"PRAGMA integrity_check: {report}")
    wrong = []
    for officer in officers:
        held = count(database, "SELECT count(*) FROM visits v JOIN officers o"
                     " ON o.id = v.officer_id WHERE o.ref = ?", (officer.ref,))
        if held != officer.shown_saved:
            wrong.append(f"{officer.ref}: {officer.shown_saved} shown saved, {held} held")
    shown = sum(officer.shown_saved for officer in officers)
    drill.check(not wrong, f"{shown} visits shown saved, exactly those held: none lost, "
                "none twice", "; ".join(wrong))
    cards = sum(officer.cards for officer in officers)
    audited = count(database, "SELECT count(*) FROM audit WHERE action = 'pupil_card'")
    saves = count(database, "SELECT count(*) FROM audit WHERE action = 'visit_saved'")
    drill.check(audited == cards and saves == shown,
                f"{cards} card views and {shown} saves, each audited once",
                f"{cards} cards shown, {audited} audited; {shown} saves, {saves} audited")
