"""Drill 7, no leaks: a whole working day of the bot, run in this process with the root
logger at DEBUG and every record of every logger caught (message and exception text),
then scanned. Enrolment with a code and a PIN, an unlock, a search by a canary pupil's
name, the card and the details, a visit with a canary note, an import that alerts,
a subject-access request, and errors forced on the way (Telegram failing a reply and a
pushed message). No bot token, canary name, date of birth, address, phone number,
note, PIN or enrolment code may appear in any log line, exception text or error reply;
nor in the audit trail, which names records by internal reference only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import next_reply, visit_up_to
from bench.drills.common import Drill, LogCapture, NoRateLimit, Size, poll_until, rows
from bench.drills.stage import PUPILS_HEADER, Service, upn
from bot.app import SOMETHING_WRONG
from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import access, visit
from bot.handlers import pupils as pupil_handlers
from bot.harness import RunningBot
from bot.logs import RedactingFilter
from bot.sandbox import BotApiStandIn, FakeUser
from bot.storage import officers as officer_store
from bot.storage.db import Conn
from bot.synthetic import school_days

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
ANSWER = 10.0
TOKEN = "7301946285:AAH-canary_token_Xq9ZpL2mW7vRt4Ks"
CODE = "Zq7-canary-enrolment-code-4fK9pW2xR8mT6vB3nY5"
PIN = "4826"
FIRST, LAST, BORN = "Zebediah", "Quuxworth", "2014-03-07"
ADDRESS, PHONE, CONTACT = "17 Vellacott Mews", "07700 918273", "Yolanda Quuxworth"
NOTE = "Grandmother Philippa Wrenfold answered; Zebediah was unwell with a migraine."
_ERROR_REPLY = SOMETHING_WRONG.split("(", 1)[0]


def canaries() -> dict[str, str]:
    """What must never be logged, by what it is."""
    return {"bot token": TOKEN, "token's secret": TOKEN.split(":", 1)[1],
            "enrolment code": CODE, "PIN": PIN, "first name": FIRST, "last name": LAST,
            "date of birth": BORN, "date of birth as typed": "07/03/2014",
            "address": ADDRESS, "phone": PHONE, "contact": CONTACT,
            "visit note": "Wrenfold", "UPN": upn(1)}


async def leaks_drill(folder: Path, size: Size, *, out: Callable[[str], None] = print) -> Drill:
    """The same working day at any size: what it proves does not grow with numbers."""
    drill = Drill("no leaks", out)
    clock = FixedClock(MORNING)
    service = await Service.open(folder, MORNING, outbox_poll_seconds=0.1)
    capture = LogCapture.install(logging.DEBUG)
    try:
        await _canary_service(service)
        async with (BotApiStandIn(token=TOKEN) as standin,
                    RunningBot(service.settings, standin, clock=clock, db=service.db,
                               rate_limiter=NoRateLimit())):
            officer = standin.user(9_301, "Ewo")
            controller = standin.user(9_302, "Dpo")
            await _working_day(drill, service, standin, clock, officer, controller)
        drill.held(f"{len(capture.records):,} log records caught from "
                   f"{len({name for _, name, _ in capture.records})} loggers")
        errors = [text for _, name, text in capture.records if name == "bot.app"]
        drill.check(len(errors) == 2 and all("NetworkError" in text for text in errors),
                    "both forced errors went through the error handler, and no feature "
                    "handler ran after the gate's error",
                    f"the error handler logged {errors}")
        _scan(drill, "log line or exception text", capture.text())
        _scan(drill, "log line as written by the bot's log handler", _as_written(capture))
        audit = "\n".join(" ".join(str(value) for value in row) for row in rows(
            service.settings.database, "SELECT actor, action, target, reason, detail"
            " FROM audit"))
        _scan(drill, "audit entry", audit)
    finally:
        capture.remove()
        await service.close()
    return drill


async def _canary_service(service: Service) -> None:
    """EWO1 (with a code, not yet enrolled) holds the canary pupil; SUP1 supervises."""
    await service.add_officer("SUP1", "supervisor")
    await service.add_officer("EWO1", "officer", "SUP1")
    await service.add_officer("CON1", "controller")
    await service.enrol("CON1", 9_302)
    async def _transaction(conn: Conn) -> None:
        officer = await officer_store.officer_by_ref(conn, "EWO1")
        assert officer is not None
        await officer_store.issue_code(conn, officer, code=CODE, now=service.now,
                                       expires_at=service.now + timedelta(hours=24))
    await service.db.write(_transaction)
    pupils = service.write_csv("pupils.csv", PUPILS_HEADER, [
        (upn(1), FIRST, LAST, BORN, "7", "100001", "Hillside Primary", ADDRESS, "ZZ1 1ZZ")])
    await service.import_file("pupils", pupils)
    await service.import_file("allocations", service.write_csv(
        "allocations.csv", ("upn", "officer_ref"), [(upn(1), "EWO1")]))
    await service.import_file("contacts", service.write_csv(
        "contacts.csv", ("upn", "name", "relationship", "phone"),
        [(upn(1), CONTACT, "Mother", PHONE)]))


async def _working_day(drill: Drill, service: Service, standin: BotApiStandIn,
                       clock: FixedClock, officer: FakeUser, controller: FakeUser) -> None:
    drill.tried("enrolment with a code and a PIN typed twice")
    await officer.send(f"/start {CODE}")
    await officer.send(PIN)
    await officer.send(PIN)
    while not ((await officer.next_message(timeout=ANSWER)).text or "").startswith(
            access.ENROLLED):
        pass
    drill.tried("/lock, then the PIN")
    await officer.send("/lock")
    await officer.send(PIN)
    while (await officer.next_message(timeout=ANSWER)).text != access.UNLOCKED:
        pass
    drill.tried("a search by the canary's name, the card and the details")
    await officer.send(FIRST)
    card = await next_reply(officer, ANSWER)
    await officer.press(pupil_handlers.DETAILS_BUTTON, message_id=card.message_id)
    await next_reply(officer, ANSWER)
    drill.tried("a visit with a canary note, saved")
    await visit_up_to(officer, upn(1), flow.NOTES)
    await officer.send(NOTE)
    summary = await next_reply(officer, ANSWER)
    press = await officer.press(visit.LABEL_SAVE, message_id=summary.message_id)
    await officer.answer_to(press, timeout=ANSWER)
    drill.tried("an attendance import that alerts, the first send of the alert failing "
                "with 500")
    standin.fail_next("sendMessage", status=500)
    await _alerting_import(service)
    await _until_alerted(service, clock)
    # The clock moved past the alert's back-off: the officer's session is locked now.
    drill.tried("Telegram failing the PIN prompt of the locked session (500): an error in "
                "the gate")
    standin.fail_next("sendMessage", status=500)
    await officer.send(f"/pupil {FIRST} {LAST}")
    await _error_reply(drill, officer)
    await officer.send(PIN)
    while (await officer.next_message(timeout=ANSWER)).text != access.UNLOCKED:
        pass
    await next_reply(officer, ANSWER)  # the request kept while locked, answered now
    drill.tried("Telegram failing the reply to /pupil with the canary's name (500): an "
                "error in a feature handler")
    standin.fail_next("sendMessage", status=500)
    await officer.send(f"/pupil {FIRST} {LAST}")
    await _error_reply(drill, officer)
    drill.tried("a subject-access export of the canary, asked for in the chat")
    await controller.send(f"/sar {upn(1)}")
    await next_reply(controller, ANSWER)


async def _error_reply(drill: Drill, user: FakeUser) -> None:
    error = await next_reply(user, ANSWER)
    drill.check((error.text or "").startswith(_ERROR_REPLY) and FIRST not in (error.text or ""),
                f"the error reply names no one: {error.text!r}",
                f"the error reply reads {error.text!r}")


async def _alerting_import(service: Service) -> None:
    """Twelve weeks of marks, one session in three missed: persistent absence."""
    marks = []
    for index, day in enumerate(school_days(service.today - timedelta(days=1), 12)):
        for half, session in enumerate(("AM", "PM")):
            marks.append((upn(1), day.isoformat(), session,
                          "O" if (2 * index + half) % 3 == 0 else "/"))
    await service.import_file("attendance", service.write_csv(
        "attendance.csv", ("upn", "date", "session", "code"), marks))


async def _until_alerted(service: Service, clock: FixedClock) -> None:
    """The outbox delivers on its poll; a failed send waits its back-off (moved past)."""

    def sent() -> bool:
        return bool(rows(service.settings.database,
                         "SELECT 1 FROM outbox WHERE kind = 'alert' AND status = 'sent'"))

    for _ in range(5):
        clock.advance(timedelta(minutes=16))
        try:
            await poll_until(sent, 2.0)
            return
        except TimeoutError:
            continue
    raise AssertionError("the alert was never delivered")


def _as_written(capture: LogCapture) -> str:
    """The records as `ewobot run` writes them: through the redacting filter."""
    redact = RedactingFilter((TOKEN,))
    lines = []
    for level, name, text in capture.records:
        record = logging.LogRecord(name, level, __file__, 0, text, None, None)
        redact.filter(record)
        lines.append(record.getMessage())
    return "\n".join(lines)


def _scan(drill: Drill, where: str, text: str) -> None:
    found = [what for what, value in canaries().items() if value in text]
    drill.check(not found, f"no {', '.join(canaries())} in any {where}",
                lambda: f"found in a {where}: {found}: " + "; ".join(
                    line[:200] for line in text.splitlines()
                    if any(canaries()[what] in line for what in found))[:1500])
