"""Drill 3, graceful stop: SIGTERM to `ewobot run` while updates are being handled (and
a pushed message is being sent), with Telegram answering slowly so the work is in
flight. The work in flight finishes, conversation state stays in the database, the
process exits 0, and what arrives during the stop is answered after the restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import next_reply, record_one_visit, visit_up_to
from bench.drills.common import Drill, Size, count, integrity, rows
from bench.drills.processes import STARTUP, BotProcess
from bench.drills.stage import Pupil, Service, made_up_pupil
from bot.clock import Clock
from bot.domain import visit_flow as flow
from bot.handlers import visit
from bot.sandbox import BotApiStandIn, FakeUser
from bot.storage import outbox as outbox_store

SLOW = 1.0  # seconds Telegram takes to answer each send and edit in flight
FIRST_USER = 7_000
_SAVED = visit.SAVED.split("{", 1)[0]


async def stop_drill(folder: Path, size: Size, *, out: Callable[[str], None] = print) -> Drill:
    """`size.stops` times: four officers mid-visit or mid-request, SIGTERM, restart."""
    drill = Drill("graceful stop", out)
    now = Clock(ZoneInfo("Europe/London")).now()
    service = await Service.open(folder, now)
    try:
        async with BotApiStandIn() as standin:
            bot = BotProcess(service.settings, standin, folder / "bot")
            for number in range(1, size.stops + 1):
                people = await _people(service, standin, number)
                await bot.start()
                await _one_stop(drill, service, standin, bot, people)
                await bot.start()
                await _after_restart(drill, service, people)
                code = await bot.terminate()
                drill.check(code == 0, "stopped again with exit code 0", f"exit code {code}")
            drill.check("Traceback" not in bot.logs(), "no traceback in any of the bot's logs",
                        lambda: bot.logs()[-2000:])
    finally:
        await service.close()
    return drill


async def _people(service: Service, standin: BotApiStandIn,
                  number: int) -> dict[str, tuple[FakeUser, Pupil]]:
    """Four officers with a pupil each, named for what they do when the stop comes."""
    people = {}
    for index, role in enumerate(("pressing", "saving", "asking", "typing")):
        ref = f"EWO{number}{index}"
        user_id = FIRST_USER + 10 * number + index
        await service.add_officer(ref)
        [pupil] = await service.add_pupils([made_up_pupil(user_id, ref)], name=f"{ref}.csv")
        await service.enrol(ref, user_id, service.now)
        people[role] = (standin.user(user_id, ref), pupil)
    return people


async def _one_stop(drill: Drill, service: Service, standin: BotApiStandIn, bot: BotProcess,
                    people: dict[str, tuple[FakeUser, Pupil]]) -> None:
    pressing, saving, asking, typing = (people[role] for role in people)
    date_screen = await visit_up_to(pressing[0], pressing[1].upn, flow.DATE, timeout=STARTUP)
    summary = await visit_up_to(saving[0], saving[1].upn, flow.SUMMARY)
    await visit_up_to(typing[0], typing[1].upn, flow.NOTES)

    # Telegram now answers slowly: each of these is mid-send when the stop comes.
    standin.delay_next("sendMessage", SLOW, times=3)
    standin.delay_next("editMessageText", SLOW, times=2)
    since = time.monotonic()
    await _owe_an_alert(service, pressing[0].first_name, pressing[1])
    await pressing[0].press("Today", message_id=date_screen.message_id)
    await saving[0].press(visit.LABEL_SAVE, message_id=summary.message_id)
    await asking[0].send(f"/pupil {asking[1].upn}")
    await typing[0].send("Seen at home; all well.")
    for method, calls in (("editMessageText", 2), ("sendMessage", 3)):
        for _ in range(calls):
            await standin.wait_for_call(method, timeout=STARTUP, since=since)
    drill.tried("SIGTERM while a press, a Save, a card and a typed note are being answered "
                "and an alert is being sent (Telegram answering each in 1 s)")
    assert bot.process is not None
    stopping = bot.process
    stopped = time.perf_counter()
    code = await bot.terminate()
    late = await asking[0].send("/help")  # arrives while the process is gone
    drill.check(code == 0, f"exit code 0, {time.perf_counter() - stopped:.1f} s after SIGTERM",
                lambda: f"exit code {code} (pid {stopping.pid}): {bot.log()[-2000:]}")
    await _work_finished(drill, service, people, late)


async def _owe_an_alert(service: Service, ref: str, pupil: Pupil) -> None:
    officer = service.officers[ref]
    payload = {"text": f"Alert for {ref} before the stop",
               "buttons": [["Open card", f"al:card:{pupil.id}"]]}
    await service.db.write(outbox_store.enqueue, kind="alert", audience=f"officer:{officer.id}",
                           payload=payload, now=service.now, pupil_ids=[pupil.id])


async def _work_finished(drill: Drill, service: Service,
                         people: dict[str, tuple[FakeUser, Pupil]], late: int) -> None:
    database = service.settings.database
    report = integrity(database)
    drill.check(report == "ok", "PRAGMA integrity_check: ok", f"PRAGMA integrity_check: {report}")
    steps = {str(ref): str(step) for ref, step in rows(
        database, "SELECT o.ref, c.step FROM conversations c JOIN officers o"
        " ON o.id = c.officer_id")}
    pressing, saving, asking, typing = (people[role][0] for role in people)
    drill.check(steps.get(pressing.first_name) == flow.CONTACT
                and any((m.text or "").endswith(visit.QUESTIONS[flow.CONTACT])
                        for m in pressing.history),
                "the press in flight was finished: its draft moved on and the chat shows it",
                f"the press in flight: draft at {steps.get(pressing.first_name)}")
    saved = count(database, "SELECT count(*) FROM visits v JOIN officers o ON o.id ="
                  " v.officer_id WHERE o.ref = ?", (saving.first_name,))
    drill.check(saved == 1 and saving.first_name not in steps
                and any((m.text or "").startswith(_SAVED) for m in saving.history),
                "the Save in flight was finished: one visit held, shown as saved",
                f"the Save in flight: {saved} visits, draft {steps.get(saving.first_name)}")
    card = await next_reply(asking, 1.0)
    drill.check(people["asking"][1].name in (card.text or ""), "the card asked for was sent",
                f"instead of the card asked for: {card.text!r:.80}")
    notes = rows(database, "SELECT c.data FROM conversations c JOIN officers o"
                 " ON o.id = c.officer_id WHERE o.ref = ?", (typing.first_name,))
    drill.check(steps.get(typing.first_name) == flow.SUMMARY
                and bool(notes) and "all well" in json.loads(str(notes[0][0])).get("notes", ""),
                "the typed note was kept in the draft, now at its summary",
                f"the typed note: draft at {steps.get(typing.first_name)}")
    statuses = [str(status) for (status,) in rows(
        database, "SELECT status FROM outbox ORDER BY id DESC LIMIT 1")]
    drill.check(statuses == ["sent"], "the alert being sent was finished and marked sent",
                f"the alert being sent was left {statuses}")
    drill.held(f"update {late} sent during the stop waits at Telegram for the next start")


async def _after_restart(drill: Drill, service: Service,
                         people: dict[str, tuple[FakeUser, Pupil]]) -> None:
    asking = people["asking"][0]
    help_reply = await next_reply(asking, STARTUP)
    drill.check("/visit" in (help_reply.text or ""),
                "after the restart, the message sent during the stop was answered",
                f"after the restart the late message got {help_reply.text!r:.80}")
    for role in ("pressing", "typing"):
        user, pupil = people[role]
        saved = await record_one_visit(user, pupil.upn)
        drill.check(saved, f"{user.first_name} continued the visit kept across the stop and "
                    "saved it", f"{user.first_name} could not finish the visit after the stop")
    database = service.settings.database
    visits = count(database, "SELECT count(*) FROM visits v JOIN officers o ON o.id ="
                   " v.officer_id WHERE o.ref IN (?, ?, ?)",
                   tuple(people[role][0].first_name for role in ("pressing", "saving",
                                                                 "typing")))
    drill.check(visits == 3, "one visit each, none lost and none twice",
                f"{visits} visits for three officers")


