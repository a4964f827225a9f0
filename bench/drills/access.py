"""Drill 6, access attempts: every command and every kind of button, tried by every
role, by a locked and a revoked officer and by a stranger, with forged button data
for every pupil id in the database (and every visit, officer, digest and foreign
conversation). Nothing is revealed: no reply, keyboard or notification shows the
name, date of birth, address, UPN or case reference of a pupil the person may not
see (controllers see case references only). Every refusal is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import next_reply, visit_up_to
from bench.drills.common import Drill, LogCapture, NoRateLimit, Size, count, rows
from bench.drills.stage import Pupil, Service, made_up_pupil
from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import access as access_handlers
from bot.handlers import common, visit
from bot.handlers import pupils as pupil_handlers
from bot.handlers import retention_texts as retention_handlers
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, BotMessage, FakeUser
from bot.storage import officers as officer_store
from bot.storage import outbox as outbox_store
from bot.storage import sessions
from bot.storage.db import Conn

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
ANSWER = 10.0
# Replies that refuse: each must leave an audit entry.
REFUSALS = (common.NOT_ALLOWED, pupil_handlers.NOT_FOUND, retention_handlers.CANNOT_DISPOSE,
            retention_handlers.CANNOT_HOLD, access_handlers.STRANGER, access_handlers.REVOKED)
# (ref, role, supervisor, state): who tries everything.
PEOPLE = (
    ("SUP1", "supervisor", None, "active"),
    ("SUP2", "supervisor", None, "active"),
    ("EWO1", "officer", "SUP1", "active"),
    ("EWO2", "officer", "SUP1", "active"),
    ("EWO3", "officer", "SUP2", "active"),
    ("CON1", "controller", None, "active"),
    ("LCK1", "officer", "SUP2", "locked"),
    ("REV1", "officer", "SUP2", "revoked"),
    ("stranger", "", None, "stranger"),
)


@dataclass
class _Person:
    ref: str
    role: str
    state: str
    user: FakeUser
    visible: list[Pupil] = field(default_factory=list)


@dataclass
class _World:
    """What there is to try things on."""

    service: Service
    people: list[_Person]
    pupils: list[Pupil]
    case_refs: dict[int, str]
    visit_ids: list[int]
    digest_id: int
    tokens: dict[str, str]  # officer ref -> their open conversation's token


async def access_drill(folder: Path, size: Size, *, out: Callable[[str], None] = print) -> Drill:
    """Everyone tries everything; `size.pupils_each` pupils for each officer and
    supervisor, one unallocated."""
    drill = Drill("access attempts", out)
    clock = FixedClock(MORNING)
    service = await Service.open(folder, MORNING, session_idle_minutes=100_000,
                                 session_max_hours=10_000)
    capture = LogCapture.install()
    try:
        async with BotApiStandIn() as standin:
            world = await _world(service, standin, pupils_each=size.pupils_each)
            async with RunningBot(service.settings, standin, clock=clock, db=service.db,
                                  rate_limiter=NoRateLimit()):
                await _open_conversations(world)
                drill.tried(f"{len(world.people)} people (every role, a locked and a revoked "
                            f"officer, a stranger), each trying every command and button "
                            f"with forged data for all {len(world.pupils)} pupil ids")
                for person in world.people:
                    await _try_everything(drill, world, person, clock)
        drill.check(not capture.problems(), "nothing was logged as an error",
                    lambda: f"logged: {capture.problems()[:3]}")
    finally:
        capture.remove()
        await service.close()
    return drill


async def _world(service: Service, standin: BotApiStandIn, pupils_each: int) -> _World:
    for ref, role, supervisor, _ in PEOPLE:
        if ref != "stranger":
            await service.add_officer(ref, role, supervisor)
    owners = [ref for ref, role, _, _ in PEOPLE if role in ("officer", "supervisor")]
    pupils = await service.add_pupils(
        [made_up_pupil(number * 10 + index + 1, owner) for number, owner in enumerate(owners)
         for index in range(pupils_each)] + [made_up_pupil(999, None)],
        imported_on=service.today - timedelta(days=3 * 365))  # all past due
    people = []
    for number, (ref, role, _, state) in enumerate(PEOPLE, start=1):
        user = standin.user(9_200 + number, ref)
        if state != "stranger":
            await service.enrol(ref, user.user_id)
        people.append(_Person(ref, role, state, user,
                              service.visible_to(ref) if state == "active" else []))
    async def _transaction(conn: Conn):
        await sessions.lock(conn, service.officers["LCK1"].id)
        revoked = await officer_store.officer_by_ref(conn, "REV1")
        assert revoked is not None
        await officer_store.revoke(conn, revoked, now=service.now)
        ewo1 = service.officers["EWO1"]
        digest_id = await outbox_store.enqueue(
            conn, kind="alert", audience=f"officer:{ewo1.id}", now=service.now,
            payload={"text": "digest", "pages": [{"text": "page 1", "buttons": []},
                                                 {"text": "page 2", "buttons": []}]})
        await conn.execute("UPDATE outbox SET status = 'sent', recipient_id = ? WHERE id = ?",
                           (ewo1.id, digest_id))
        return digest_id
    digest_id = await service.db.write(_transaction)
    case_refs = {int(pupil_id): str(ref) for pupil_id, ref in rows(
        service.settings.database, "SELECT id, case_ref FROM pupils")}
    return _World(service, people, pupils, case_refs, [], digest_id, {})


async def _open_conversations(world: _World) -> None:
    """EWO1 saves a visit (so there is a visit id to forge) and leaves a draft open;
    CON1 leaves a hold open: their tokens are the foreign tokens others try."""
    ewo1 = next(p for p in world.people if p.ref == "EWO1")
    pupil = ewo1.visible[0]
    screen = await visit_up_to(ewo1.user, pupil.upn, flow.SUMMARY)
    press = await ewo1.user.press(visit.LABEL_SAVE, message_id=screen.message_id)
    await ewo1.user.answer_to(press, timeout=ANSWER)
    screen = await visit_up_to(ewo1.user, pupil.upn, flow.DATE)
    world.tokens["EWO1"] = _token_of(screen, "v")
    con1 = next(p for p in world.people if p.ref == "CON1")
    await con1.user.send("/retention")
    overview = await next_reply(con1.user, ANSWER)
    hold = next(label for label in overview.labels() if label.startswith("Hold "))
    press = await con1.user.press(hold, message_id=overview.message_id)
    await con1.user.answer_to(press, timeout=ANSWER)
    world.tokens["CON1"] = _token_of(await next_reply(con1.user, ANSWER), "ret")
    world.visit_ids = [int(visit_id) for (visit_id,) in rows(
        world.service.settings.database, "SELECT id FROM visits")]


def _token_of(screen: BotMessage, prefix: str) -> str:
    for row in screen.buttons:
        for button in row:
            parts = (button.data or "").split(":")
            if prefix == "v" and parts[0] == "v" and len(parts) == 4:
                return parts[1]
            if prefix == "ret" and parts[:2] == ["ret", "hr"]:
                return parts[2]
    raise LookupError("no conversation token on the screen")


def _commands(world: _World) -> list[str]:
    """Every command, and every pupil asked for by UPN and case reference."""
    texts = ["/help", "/pupils", "/due", "/caseload", "/retention", "/visit", "/share",
             "/cancel",
             "/start", "/start not-a-code", "/nonsense"]
    for pupil in world.pupils:
        ref = world.case_refs[pupil.id]
        texts += [f"/pupil {pupil.upn}", f"/pupil {ref}", f"/visit {pupil.upn}",
                  f"/visit {ref}", f"/share {pupil.upn}", f"/share {ref}",
                  f"/case {pupil.upn}", f"/case {ref}", f"/sar {pupil.upn}", pupil.upn, ref]
    texts += [f"/caseload {ref}" for ref, *_ in PEOPLE]
    return texts


def _name_searches(world: _World) -> list[str]:
    """Every pupil asked for by name: a miss is no refusal (it may be a typo)."""
    return [text for pupil in world.pupils
            for text in (f"/pupil {pupil.first_name}", pupil.name, f"/visit {pupil.last_name}",
                         f"/case {pupil.first_name}")]


def _buttons(world: _World, person: _Person) -> list[str]:
    data = []
    for pupil in world.pupils:
        data += [f"{kind}:{pupil.id}" for kind in ("card", "det", "pick", "v:new", "al:card",
                                                     "case", "al:case", "ret:hold", "ret:dis")]
        data.append(f"case:{pupil.id}:2")
        if person.role != "controller":  # a controller's own Dispose is theirs to press
            data.append(f"ret:dok:{pupil.id}")
    data += [f"vc:{visit_id}" for visit_id in world.visit_ids]
    data += [f"cl:pupils:{ref}:0" for ref, *_ in PEOPLE]
    data += ["pg:1", "pg:2", "cl:page:0", "cl:page:1", f"al:more:{world.digest_id}:1",
             "ret:open", "ret:pg:0", "ret:all", "ret:aok:1:0123456789abcdef"]
    for ref, token in world.tokens.items():
        if ref != person.ref:
            data += [f"v:{token}:{flow.DATE}:today", f"v:{token}:resume:go",
                     f"ret:hr:{token}:legal", f"ret:hx:{token}"]
    return data


def _forbidden(world: _World, person: _Person) -> dict[str, str]:
    """Text that must not reach this person -> whose it is."""
    seen = {pupil.id for pupil in person.visible}
    found = {}
    for pupil in world.pupils:
        if pupil.id in seen:
            continue
        for value in pupil.personal_data():
            found[value] = f"pupil:{pupil.id}"
        if person.role != "controller" or person.state != "active":
            found[world.case_refs[pupil.id]] = f"pupil:{pupil.id}"
    return found


def _audited(world: _World, person: _Person) -> int:
    actor = "telegram:unknown" if person.state == "stranger" else f"officer:{person.ref}"
    return count(world.service.settings.database, "SELECT count(*) FROM audit WHERE actor = ?"
                 " AND (action LIKE 'refused%' OR action = 'enrol_refused')", (actor,))


async def _try_everything(drill: Drill, world: _World, person: _Person,
                          clock: FixedClock) -> None:
    """Every command and button (each refusal audited), then every name search."""
    user = person.user
    await _shown_since(user)  # what came before is not this person's attempts
    audited_before = _audited(world, person)
    texts = _commands(world)
    for text in texts:
        await user.send(text)
    message_id = user.last().message_id if user.history else 1
    presses = [await user.press_data(data, message_id) for data in _buttons(world, person)]
    await _until_handled(person, clock, len(texts))
    for press in presses:
        await user.answer_to(press, timeout=ANSWER)  # every press is answered
    shown = await _shown_since(user)
    _nothing_revealed(drill, world, person, shown,
                      f"{len(texts)} commands and {len(presses)} buttons")
    refusals = sum(1 for text in shown if text.startswith(REFUSALS))
    audited = _audited(world, person) - audited_before
    drill.check(audited >= refusals, f"{person.ref}: {refusals} refusals, {audited} audited",
                f"{person.ref}: {refusals} refusals but only {audited} audited")
    names = _name_searches(world)
    for text in names:
        await user.send(text)
    await _until_handled(person, clock, len(names))
    _nothing_revealed(drill, world, person, await _shown_since(user),
                      f"{len(names)} searches by name")


def _nothing_revealed(drill: Drill, world: _World, person: _Person, shown: list[str],
                      tried: str) -> None:
    forbidden = _forbidden(world, person)
    leaks = sorted({f"{whose} in {text[:60]!r}" for text in shown
                    for value, whose in forbidden.items() if value and value in text})
    drill.check(not leaks, f"{person.ref} ({person.state} {person.role or 'nobody'}): "
                f"{tried} revealed nothing",
                f"{person.ref} was shown what they may not see: {leaks[:5]}")


async def _shown_since(user: FakeUser) -> list[str]:
    """Every text, caption, button label and press answer the bot put in this chat since
    the last call (edits included)."""
    shown = []
    while True:
        try:
            event = await user.next_event(timeout=0)
        except TimeoutError:
            return shown
        if event.message is not None:
            shown.append(event.message.text or event.message.caption or "")
            shown += event.message.labels()
        if event.answer:
            shown.append(event.answer)


async def _until_handled(person: _Person, clock: FixedClock, texts: int) -> None:
    """Updates of one chat are handled in order: once a last message is answered, all
    the earlier ones were handled."""
    user = person.user
    if person.state == "stranger":
        clock.advance(timedelta(hours=1, minutes=1))  # the refusal is said once an hour
        await user.send("hello")
        while (await user.next_message(timeout=ANSWER)).text != access_handlers.STRANGER:
            pass
        return
    await user.send("/help")
    if person.state in ("revoked", "locked"):
        for _ in range(texts + 1):  # one reply to each message, the marker's last
            await user.next_message(timeout=ANSWER)
        return
    while "/help — " not in ((await user.next_message(timeout=ANSWER)).text or ""):
        pass
