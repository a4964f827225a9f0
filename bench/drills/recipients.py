"""Drill: a safeguarding concern always reaches someone, or the recorder is told plainly
that it reached nobody; and no pushed message waits for nobody.

Officers with a supervisor, with none, and with a supervisor who has left each record
a safeguarding visit through the chat, as does a supervisor on their own caseload. Then
a supervisor leaves before the outbox runs, and messages are queued for audiences that
resolve to nobody (no controller at all, a revoked officer without a supervisor). A
second, smaller service has one supervisor and no one else to tell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import as_shown, visit_up_to
from bench.drills.common import Drill, NoRateLimit, Size, count, rows
from bench.drills.stage import Service, made_up_pupil
from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, FakeUser
from bot.storage import caseload as caseload_store
from bot.storage import officers as officer_store
from bot.storage import outbox as outbox_store
from bot.storage.db import Conn

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
SAFEGUARDING = "Safeguarding concern – referred to DSL"
PRESSES = (SAFEGUARDING, "None", "Skip", "Save")
_TOLD = re.compile(r"(\d+) (?:person was|other supervisors? (?:was|were)) told")


async def recipients_drill(folder: Path, size: Size, *,
                           out: Callable[[str], None] = print) -> Drill:
    """`size.officers` officers (a third without a supervisor, a third whose supervisor
    has left) and a supervisor each record one concern."""
    drill = Drill("recipients", out)
    await _team_drill(drill, folder / "team", size.officers)
    await _alone_drill(drill, folder / "alone")
    return drill


async def _team_drill(drill: Drill, folder: Path, officers: int) -> None:
    clock = FixedClock(MORNING)
    service = await Service.open(folder, MORNING, outbox_poll_seconds=3600)
    try:
        async with BotApiStandIn() as standin:
            users = await _team(service, standin, officers)
            async with RunningBot(service.settings, standin, clock=clock, db=service.db,
                                  rate_limiter=NoRateLimit()) as bot:
                expected = _expected_counts(service)
                drill.tried(f"{len(expected)} safeguarding visits recorded through the chat "
                            "(own supervisor, none, one who has left, a supervisor's own)")
                wrong = []
                for ref, told in expected.items():
                    upn = next(p.upn for p in service.pupils if p.officer_ref == ref)
                    shown = await _record_concern(users[ref], upn)
                    if shown != told:
                        wrong.append(f"{ref}: told {shown}, expected {told}")
                drill.check(not wrong, "every confirmation said how many people were told",
                            "; ".join(wrong))
                await _leave_and_queue(drill, service, clock)
                for _ in range(2):  # a readdressed message goes at the next poll
                    await _deliver(bot)
            _check_team(drill, service, users, len(expected))
    finally:
        await service.close()


async def _team(service: Service, standin: BotApiStandIn,
                officers: int) -> dict[str, FakeUser]:
    """SUP1 (a team and own pupils), SUP2, SUP3, and SUPX who has left; officers under
    SUP1, under nobody, and under SUPX; everyone enrolled, one pupil each."""
    layout = [("SUP1", "supervisor", None), ("SUP2", "supervisor", None),
              ("SUP3", "supervisor", None), ("SUPX", "supervisor", None)]
    layout += [(f"EWO{n:02d}", "officer", ("SUP1", None, "SUPX")[n % 3])
               for n in range(officers)]
    users = {}
    for number, (ref, role, supervisor) in enumerate(layout, start=1):
        await service.add_officer(ref, role, supervisor)
        users[ref] = standin.user(5000 + number, first_name=ref)
        await service.enrol(ref, users[ref].user_id)
    recorders = [ref for ref, role, _ in layout if role == "officer"] + ["SUP1"]
    await service.add_pupils([made_up_pupil(n, ref) for n, ref in enumerate(recorders, 1)])
    await service.db.write(officer_store.revoke, service.officers["SUPX"], now=service.now)
    return users


def _expected_counts(service: Service) -> dict[str, int]:
    """Who should be told of each recorder's concern: 1 (their supervisor), or every
    other supervisor who has not left."""
    supervisors = {o.id for o in service.officers.values()
                   if o.role == "supervisor" and o.ref != "SUPX"}
    expected = {}
    for ref, officer in service.officers.items():
        if officer.role == "officer":
            has_own = officer.supervisor_id == service.officers["SUP1"].id
            expected[ref] = 1 if has_own else len(supervisors)
    expected["SUP1"] = len(supervisors) - 1
    return expected


async def _record_concern(user: FakeUser, upn: str) -> int | None:
    """The number the confirmation gives, 0 for "nobody", None when it gives none."""
    shown = await visit_up_to(user, upn, flow.ACTION)
    for label in PRESSES:
        press = await user.press(label, message_id=shown.message_id)
        await user.answer_to(press)
        shown = as_shown(user, shown)
    text = shown.text or ""
    if "Contact the DSL directly" in text:
        return 0
    found = _TOLD.search(text)
    return int(found.group(1)) if found else None


async def _leave_and_queue(drill: Drill, service: Service, clock: FixedClock) -> None:
    """SUP1 leaves before the outbox runs; messages are queued for nobody."""
    alone = next(o for o in service.officers.values()
                 if o.role == "officer" and o.supervisor_id is None)
    async def _transaction(conn: Conn) -> None:
        await officer_store.revoke(conn, service.officers["SUP1"], now=clock.now())
        await officer_store.revoke(conn, alone, now=clock.now())
        await outbox_store.enqueue(conn, kind="retention", audience="controllers",
                                   payload={"text": "reminder"}, now=clock.now())
        await outbox_store.enqueue(conn, kind="alert", audience=f"officer:{alone.id}",
                                   payload={"text": "alert"}, now=clock.now())
    await service.db.write(_transaction)
    drill.tried("SUP1 left before delivery; a reminder for no controller and an alert for "
                f"{alone.ref}, revoked without a supervisor, were queued")


def _check_team(drill: Drill, service: Service, users: dict[str, FakeUser],
                concerns: int) -> None:
    path = service.settings.database
    waiting = count(path, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
                          " AND kind != 'commands'")
    drill.check(waiting == 0, "no message is left waiting for nobody",
                f"{waiting} message(s) still wait")
    silent = rows(path, "SELECT id FROM outbox WHERE status = 'undelivered' AND id NOT IN"
                        " (SELECT CAST(substr(target, 8) AS INTEGER) FROM audit"
                        "  WHERE target LIKE 'outbox:%' AND reason = ?)",
                  (outbox_store.NO_RECIPIENT,))
    undelivered = count(path, "SELECT count(*) FROM outbox WHERE status = 'undelivered'")
    drill.check(undelivered > 0 and not silent,
                f"{undelivered} message(s) for nobody kept as undelivered, each audited",
                f"undelivered rows without an audit entry: {silent}")
    received = {ref: sum(1 for m in users[ref].history
                         if (m.text or "").startswith(SAFEGUARDING)) for ref in ("SUP2", "SUP3")}
    reached = count(path, "SELECT count(DISTINCT p.pupil_id) FROM outbox x JOIN outbox_pupils p"
                          " ON p.outbox_id = x.id WHERE x.kind = 'escalation'"
                          " AND x.status = 'sent'")
    drill.check(reached == concerns,
                f"every one of the {concerns} concerns reached a supervisor still there "
                f"(SUP2 got {received['SUP2']}, SUP3 {received['SUP3']})",
                f"only {reached} of {concerns} concerns reached anyone")


async def _alone_drill(drill: Drill, folder: Path) -> None:
    """One supervisor, nobody else: the recorder is told to contact the DSL, and the
    message counts as undelivered on their own caseload."""
    clock = FixedClock(MORNING)
    service = await Service.open(folder, MORNING, outbox_poll_seconds=3600)
    try:
        async with BotApiStandIn() as standin:
            await service.add_officer("SUP1", "supervisor")
            user = standin.user(6001, first_name="SUP1")
            await service.enrol("SUP1", user.user_id)
            [pupil] = await service.add_pupils([made_up_pupil(1, "SUP1")])
            async with RunningBot(service.settings, standin, clock=clock, db=service.db,
                                  rate_limiter=NoRateLimit()) as bot:
                drill.tried("a supervisor with no one else to tell recorded a concern")
                told = await _record_concern(user, pupil.upn)
                await _deliver(bot)
        team = await service.db.read(caseload_store.team_caseload, service.officers["SUP1"],
                                     terms=caseload_store.Terms.of(service.settings, clock.now()))
        drill.check(told == 0 and team.own.figures.undelivered == 1,
                    "told plainly to contact the DSL; counted undelivered on their caseload",
                    f"told {told}, undelivered {team.own.figures.undelivered}")
    finally:
        await service.close()


async def _deliver(bot: RunningBot) -> None:
    application = bot.application
    assert application is not None and application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name("outbox")
    await job.run(application)

