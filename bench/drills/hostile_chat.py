"""Drill 5b, hostile chat input: random text and random button data at every step of
every conversation (the visit's steps and its resume prompt, a hold's reason and review
date, the PIN prompt of a locked session, the PIN set-up after enrolment). Each input
gets a hint or a refusal: never the error handler's reply, never an error in the log,
and every press is answered.

The bot runs in this process, so every log record of every logger is caught.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import as_shown, next_reply, visit_up_to
from bench.drills.common import Drill, LogCapture, NoRateLimit, Size
from bench.drills.stage import PIN, Pupil, Service, made_up_pupil
from bot.app import SOMETHING_WRONG
from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import access, visit
from bot.handlers import retention_texts as retention_handlers
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, BotMessage, FakeUser
from bot.storage import officers as officer_store
from bot.storage import sessions
from bot.storage.db import Conn

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
ANSWER = 10.0
_ERROR_REPLY = SOMETHING_WRONG.split("(", 1)[0]
PREFIXES = ("card", "det", "pg", "pick", "cl", "al", "v", "vc", "ret")
# Commands a person may type at any moment (/lock and /start change who is talking;
# /help marks the end of each round of input).
COMMANDS = ("/visit", "/pupil", "/pupils", "/due", "/cancel", "/caseload",
            "/retention", "/sar", "/nonsense", "/")
DATES = ("31/02/2026", "29/02", "00/00", "99/99/9999", "1/1/1", "32/01/2026", "25/11/2026",
         "26/11/2026", "01/01/0000", "31/12/9999", "١٢/١١/٢٠٢٦", "12/11/20266", "-1/-1",
         "9" * 60 + "/01/2026", "24/11", "25/11", "26/11")
SQL = ("'; DROP TABLE visits; --", "%", "_", "\\", '" OR 1=1 --', "') OR ('1'='1")
MARKUP = ("<b>bold", "*bold* _it_ [link](x) `code`", "&amp; &lt;", "</pre>")
# Unicode ranges: Latin, combining marks, Hebrew, Arabic, CJK, emoji, and format marks.
RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x590, 0x5FF), (0x600, 0x6FF),
          (0x4E00, 0x4E80), (0x1F300, 0x1F6FF), (0x200B, 0x200F), (0x202A, 0x202E),
          (0x1, 0x1F))


def hostile_text(rng: random.Random) -> str:
    """Something a person (or a broken client) could send."""
    kind = rng.randrange(8)
    if kind == 0:
        text = "".join(chr(rng.randint(*rng.choice(RANGES))) for _ in range(rng.randint(1, 60)))
    elif kind == 1:
        text = "".join(chr(rng.randint(*rng.choice(RANGES[:7]))) for _ in range(4096))
    elif kind == 2:
        text = rng.choice(DATES)
    elif kind == 3:
        text = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
    elif kind == 4:
        text = rng.choice(SQL)
    elif kind == 5:
        text = f"{rng.choice(COMMANDS)} {rng.choice(SQL + DATES + MARKUP)}"
    elif kind == 6:
        text = rng.choice(MARKUP)
    else:
        text = f"  {rng.choice(('Today', 'home visit', 'SKIP', 'save', 'None', 'in 1 week'))}  "
    return text if text.strip() else "?"


def hostile_data(rng: random.Random, token: str, step: str) -> str:
    """Button data a modified client could send (at most 64 bytes, as Telegram allows)."""
    junk = "".join(chr(rng.randint(*rng.choice(RANGES[:7]))) for _ in range(rng.randint(0, 12)))
    number = rng.choice(("0", "-1", "99999999999999999999", "1e3", "١٢", "", "1", "2", junk))
    kind = rng.randrange(7)
    if kind == 0:
        data = junk or ":"
    elif kind == 1:
        data = f"{rng.choice(PREFIXES)}:{number}"
    elif kind == 2:
        data = f"v:{token}:{step}:{junk}"
    elif kind == 3:
        steps = (*flow.STEPS, flow.DATE_CHECK, flow.CHANGE, "resume")
        data = f"v:{token}:{rng.choice(steps)}:{number}"
    elif kind == 4:
        data = f"ret:{rng.choice(('hold', 'hr', 'hx', 'dis', 'pg', 'all', 'x'))}:{token}:{number}"
    elif kind == 5:
        data = f"{rng.choice(PREFIXES)}:{number}:{junk}:{number}"
    else:
        data = ":" * rng.randint(1, 5) + junk
    return data.encode()[:64].decode(errors="ignore") or ":"


@dataclass
class _Step:
    """A conversation waiting at one step, and how to see that the bot is done."""

    name: str
    user: FakeUser
    screen: BotMessage | None


async def hostile_chat_drill(folder: Path, size: Size, *, seed: int = 7,
                             out: Callable[[str], None] = print) -> Drill:
    """`size.inputs_per_step` random texts and as many random presses at every step."""
    drill = Drill("hostile chat input", out)
    rng = random.Random(seed)
    clock = FixedClock(MORNING)
    service = await Service.open(folder, MORNING)
    capture = LogCapture.install()
    try:
        async with BotApiStandIn() as standin:
            people = await _people(service, standin)
            async with RunningBot(service.settings, standin, clock=clock, db=service.db,
                                  rate_limiter=NoRateLimit()):
                enrolling = people["enrolling"]
                assert isinstance(enrolling, _Person)
                await enrolling.user.send(f"/start {people['code']}")
                await _next_with(enrolling.user, access.CHOOSE_PIN)
                for step in _visit_steps():
                    screen = await _to_visit_step(people["officer"], people["pupil"], step)
                    await _assault(drill, rng, _Step(f"visit: {step}", people["officer"].user,
                                                     screen), size, capture)
                for step in ("reason", "review"):
                    screen = await _to_hold_step(people["controller"].user, step)
                    await _assault(drill, rng, _Step(f"hold: {step}",
                                                     people["controller"].user, screen),
                                   size, capture)
                await _assault(drill, rng, _Step("PIN prompt (locked)", people["locked"].user,
                                                 None), size, capture)
                await _assault(drill, rng, _Step("PIN set-up", people["enrolling"].user, None),
                               size, capture)
    finally:
        capture.remove()
        await service.close()
    return drill


@dataclass
class _Person:
    ref: str
    user: FakeUser


async def _people(service: Service, standin: BotApiStandIn) -> dict[str, object]:
    """An officer with pupils, a controller with past-due records, an officer whose
    session is locked, and one who has just used an enrolment code."""
    await service.add_officer("EWO1")
    await service.add_officer("CON1", "controller")
    await service.add_officer("EWO2")
    await service.add_officer("EWO3")
    pupils = await service.add_pupils([made_up_pupil(n, "EWO1") for n in (1, 2)])
    long_ago = service.today - timedelta(days=3 * 365)
    await service.add_pupils([made_up_pupil(n, None) for n in (3, 4, 5)],
                             imported_on=long_ago, name="old.csv")
    users = {}
    for number, ref in enumerate(("EWO1", "CON1", "EWO2"), start=1):
        await service.enrol(ref, 9_000 + number)
        users[ref] = standin.user(9_000 + number, ref)
    async def _transaction(conn: Conn):
        await sessions.lock(conn, service.officers["EWO2"].id)
        code = "drill-enrolment-code-" + "x" * 20
        officer = await officer_store.officer_by_ref(conn, "EWO3")
        assert officer is not None
        await officer_store.issue_code(conn, officer, code=code, now=service.now,
                                       expires_at=service.now + timedelta(hours=24))
        return code
    code = await service.db.write(_transaction)
    enrolling = standin.user(9_004, "EWO3")
    return {"code": code, "officer": _Person("EWO1", users["EWO1"]), "pupil": pupils[0],
            "controller": _Person("CON1", users["CON1"]),
            "locked": _Person("EWO2", users["EWO2"]), "enrolling": _Person("EWO3", enrolling)}


def _visit_steps() -> list[str]:
    return [*flow.STEPS, flow.DATE_CHECK, flow.CHANGE, "resume"]


async def _to_visit_step(person: object, pupil: object, step: str) -> BotMessage:
    assert isinstance(person, _Person) and isinstance(pupil, Pupil)
    user = person.user
    await user.send("/cancel")
    await next_reply(user, ANSWER)
    if step == flow.PUPIL:
        await user.send("/visit")
        return await next_reply(user, ANSWER)
    if step == "resume":
        await visit_up_to(user, pupil.upn, flow.DATE)
        await user.send("/visit")
        return await next_reply(user, ANSWER)
    if step == flow.DATE_CHECK:  # a date over 28 days ago, asked again
        await visit_up_to(user, pupil.upn, flow.DATE)
        await user.send("01/01/2020")
        return await next_reply(user, ANSWER)
    if step == flow.CHANGE:  # the summary's Change
        summary = await visit_up_to(user, pupil.upn, flow.SUMMARY)
        press = await user.press(visit.LABEL_CHANGE, message_id=summary.message_id)
        await user.answer_to(press, timeout=ANSWER)
        return as_shown(user, summary)
    return await visit_up_to(user, pupil.upn, step)


async def _to_hold_step(user: FakeUser, step: str) -> BotMessage:
    await user.send("/cancel")
    await next_reply(user, ANSWER)
    await user.send("/retention")
    overview = await next_reply(user, ANSWER)
    hold = next(label for label in overview.labels() if label.startswith("Hold "))
    press = await user.press(hold, message_id=overview.message_id)
    await user.answer_to(press, timeout=ANSWER)
    screen = await next_reply(user, ANSWER)
    if step == "review":
        reason = retention_handlers.HOLD_REASON_LABELS["legal"]
        press = await user.press(reason, message_id=screen.message_id)
        await user.answer_to(press, timeout=ANSWER)
    return screen


def _token(screen: BotMessage | None) -> str:
    """The conversation's token, as its buttons carry it (`v:<token>:…`, `ret:hr:<token>:…`)."""
    for row in screen.buttons if screen else []:
        for button in row:
            parts = (button.data or "").split(":")
            if parts[0] == "v" and len(parts) == 4:
                return parts[1]
            if parts[0] == "ret" and parts[1] in ("hr", "hx"):
                return parts[2]
    return "0000"


def _pin_shaped(text: str) -> bool:
    return text.strip().isdigit() and 4 <= len(text.strip()) <= 8


async def _assault(drill: Drill, rng: random.Random, step: _Step, size: Size,
                   capture: LogCapture) -> None:
    """Random texts and presses at one step, then check every one got a proper answer."""
    user = step.user
    token = _token(step.screen)
    sent_before = len(user.history)
    capture.clear()
    texts = [hostile_text(rng) for _ in range(size.inputs_per_step)]
    if step.name.startswith("PIN"):
        # Wrong PINs count towards the lock-out: two of them, the rest anything else.
        texts = [text for text in texts if not _pin_shaped(text)] + ["0000", "9137"]
    presses = []
    for text in texts:
        await user.send(text)
    message_id = step.screen.message_id if step.screen else 1
    for _ in range(size.inputs_per_step):
        data = hostile_data(rng, token, step.name.split(": ")[-1])
        presses.append(await user.press_data(data, message_id))
    await _until_answered(user, step)
    unanswered = []
    for press in presses:
        try:
            await user.answer_to(press, timeout=ANSWER)
        except TimeoutError:
            unanswered.append(press)
    errors = [m.text for m in user.history[sent_before:] if (m.text or "").startswith(
        _ERROR_REPLY)]
    logged = capture.problems()
    drill.tried(f"{step.name}: {len(texts)} random texts and {len(presses)} random presses")
    drill.check(not errors and not logged and not unanswered,
                "each got a hint or a refusal; every press answered; nothing logged as an error",
                lambda: f"{step.name}: {len(errors)} error replies, {len(unanswered)} presses "
                        f"unanswered, logged: {logged[:3]}")


async def _until_answered(user: FakeUser, step: _Step) -> None:
    """Updates of one chat are handled in order: once a marker sent last is answered,
    everything sent before it has been handled."""
    if step.name.startswith("PIN prompt"):
        await user.send(PIN)
        await _next_with(user, access.UNLOCKED)
        return
    if step.name.startswith("PIN set-up"):
        for _ in range(4):
            await user.send(PIN)
            if (await _next_with(user, access.REPEAT_PIN, access.PIN_MISMATCH,
                                 access.ENROLLED)).startswith(access.ENROLLED):
                return
        raise AssertionError("the PIN set-up never finished")
    await user.send("/help")
    await _next_with(user, "/help — ")


async def _next_with(user: FakeUser, *starts: str) -> str:
    while True:
        text = (await user.next_message(timeout=ANSWER)).text or ""
        if any(text.startswith(start) or start in text for start in starts):
            return text

