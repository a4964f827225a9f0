"""Drill 13, what a locked chat keeps and who saw whom in a list: every officer lists
their pupils (/pupils, a search matching several), then locks and types a pupil's
name; half of those pupils are disposed of before the PIN.

Every list shown is one audit entry naming each pupil listed by reference, found
among the entries about each pupil (their subject-access export), and the chain
verifies. No name typed while locked reaches the kept requests; after disposal
nothing of the disposed pupils can be read from the database files and no kept
request names them; after the PIN a request naming a disposed pupil goes nowhere,
and one naming a pupil still held shows that pupil's card.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import next_from, next_reply, skip_events, until_edited
from bench.drills.common import (
    Drill,
    LogCapture,
    NoRateLimit,
    Size,
    audit_verifies,
    found_in_files,
    rows,
)
from bench.drills.stage import PIN, Pupil, Service, made_up_pupil, made_up_word
from bot.clock import FixedClock
from bot.handlers import access
from bot.handlers import retention_texts as retention_handlers
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, FakeUser
from bot.storage import audit
from bot.storage.db import Conn

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
ANSWER = 10.0


async def kept_and_listed_drill(folder: Path, size: Size, *,
                                out: Callable[[str], None] = print) -> Drill:
    """`size.officers` officers, three pupils each; every other officer's typed pupil
    is disposed of while they are locked."""
    drill = Drill("kept requests and listings", out)
    clock = FixedClock(MORNING)
    service = await Service.open(folder, MORNING)
    capture = LogCapture.install()
    try:
        refs = [f"EWO{number:02d}" for number in range(1, size.officers + 1)]
        old, twins = await _service(service, refs)
        async with BotApiStandIn() as standin, RunningBot(
                service.settings, standin, clock=clock, db=service.db,
                rate_limiter=NoRateLimit()):
            users = {}
            for number, ref in enumerate(refs, start=1):
                users[ref] = standin.user(9_400 + number, ref)
                await service.enrol(ref, users[ref].user_id)
            controller = standin.user(9_399, "DPO1")
            await service.enrol("DPO1", controller.user_id)
            drill.tried(f"{len(refs)} officers list their pupils and a search of several")
            for ref in refs:
                await _list(users[ref], twins[ref][0].last_name)
            await _check_listings(drill, service, refs, old, twins)
            drill.tried("each locks and types a pupil's name; every other one's is disposed of")
            typed = {ref: old[ref] if number % 2 else twins[ref][0]
                     for number, ref in enumerate(refs)}
            for ref in refs:
                await _type_locked(users[ref], typed[ref].name)
            _check_kept(drill, service, service.pupils)
            await _dispose_all(drill, controller, len(refs))
            await _check_files(drill, service, list(old.values()))
            for ref in refs:
                await _unlock_and_check(drill, users[ref], typed[ref], typed[ref] in old.values())
        problem = await audit_verifies(service.db)
        drill.check(problem is None, "the audit trail verifies",
                    f"the audit trail does not verify: {problem}")
        drill.check(not capture.problems(), "nothing was logged as an error",
                    lambda: f"logged: {capture.problems()[:3]}")
    finally:
        capture.remove()
        await service.close()
    return drill


async def _service(service: Service,
                   refs: list[str]) -> tuple[dict[str, Pupil], dict[str, list[Pupil]]]:
    """Each officer: one pupil past due (imported long ago), two recent ones sharing a
    last name."""
    await service.add_officer("DPO1", "controller")
    for ref in refs:
        await service.add_officer(ref)
    old = await service.add_pupils(
        [made_up_pupil(number * 10 + 1, ref) for number, ref in enumerate(refs, 1)],
        imported_on=service.today - timedelta(days=3 * 365), name="old.csv")
    recent = await service.add_pupils(
        [made_up_pupil(number * 10 + twin, ref, last_name=made_up_word(number * 131 + 7, 9))
         for number, ref in enumerate(refs, 1) for twin in (2, 3)], name="recent.csv")
    return ({pupil.officer_ref or "": pupil for pupil in old},
            {ref: [pupil for pupil in recent if pupil.officer_ref == ref] for ref in refs})


async def _list(user: FakeUser, shared_last_name: str) -> None:
    await user.send("/pupils")
    await next_reply(user, ANSWER)
    await user.send(shared_last_name)
    await next_reply(user, ANSWER)


async def _check_listings(drill: Drill, service: Service, refs: list[str],
                          old: dict[str, Pupil], twins: dict[str, list[Pupil]]) -> None:
    """/pupils lists all three, the search both twins: each list one entry."""
    missing = []
    async def _snapshot(conn: Conn) -> None:
        for ref in refs:
            for pupil, lists in ((old[ref], 1), (twins[ref][0], 2), (twins[ref][1], 2)):
                entries = [entry for entry in await audit.entries(
                    conn, targets=(f"pupil:{pupil.id}",)) if entry.action == audit.LISTING]
                if len(entries) != lists or any(e.actor != f"officer:{ref}" for e in entries):
                    missing.append(f"{ref}'s pupil {pupil.id}: {len(entries)} lists")
    await service.db.read(_snapshot)
    drill.check(not missing, f"each of {len(refs) * 2} lists is one audit entry naming every "
                "pupil it showed, found among each pupil's entries",
                lambda: f"lists not audited as shown: {missing[:5]}")
    names = rows(service.settings.database, "SELECT detail FROM audit WHERE action = ?",
                 (audit.LISTING,))
    leaked = [pupil.last_name for pupil in service.pupils
              if any(pupil.last_name in str(detail) for (detail,) in names)]
    drill.check(not leaked, "the list entries name pupils by reference only",
                lambda: f"names in list entries: {leaked[:5]}")


async def _type_locked(user: FakeUser, name: str) -> None:
    await user.send("/lock")
    await next_from(user, access.LOCKED_NOW, ANSWER)
    await user.send(name)
    await next_from(user, access.LOCKED_PROMPT, ANSWER)


def _check_kept(drill: Drill, service: Service, pupils: list[Pupil]) -> None:
    kept = " ".join(str(request) for (request,) in rows(
        service.settings.database,
        "SELECT pending_update FROM sessions WHERE pending_update IS NOT NULL"))
    leaked = [pupil.name for pupil in pupils
              if pupil.first_name in kept or pupil.last_name in kept]
    drill.check(bool(kept) and not leaked, "no name typed while locked is in a kept request",
                lambda: f"kept verbatim: {leaked[:5]}")


async def _dispose_all(drill: Drill, controller: FakeUser, count: int) -> None:
    await controller.send("/retention")
    overview = await next_from(controller, retention_handlers.TITLE, ANSWER)
    press = await controller.press(retention_handlers.DISPOSE_ALL.format(count=count),
                                   message_id=overview.message_id)
    await controller.answer_to(press, timeout=ANSWER)
    confirm = await next_from(controller, retention_handlers.CONFIRM_ALL, ANSWER)
    await skip_events(controller)
    await controller.press(retention_handlers.YES_ALL.format(count=count),
                           message_id=confirm.message_id)
    shown = await until_edited(controller, confirm.message_id, ANSWER)
    drill.check(shown.text == retention_handlers.DISPOSED_ALL.format(count=count),
                f"the controller disposed of the {count} past-due records",
                f"the disposal answered {shown.text!r}")


async def _check_files(drill: Drill, service: Service, disposed: list[Pupil]) -> None:
    database = service.settings.database
    files = [database, database.with_name(database.name + "-wal")]
    found = await found_in_files(files, [text for pupil in disposed
                                         for text in (pupil.last_name, pupil.upn)])
    drill.check(not found, "nothing of a disposed pupil can be read from the database files",
                lambda: f"still in the files: {found[:5]}")
    named = rows(database, "SELECT count(*) FROM kept_request_pupils WHERE pupil_id IN"
                 f" ({','.join(str(pupil.id) for pupil in disposed)})")
    drill.check(named == [(0,)], "no kept request names a disposed pupil",
                f"kept requests still naming them: {named}")


async def _unlock_and_check(drill: Drill, user: FakeUser, typed: Pupil, disposed: bool) -> None:
    await user.send(PIN)
    await next_from(user, access.UNLOCKED, ANSWER)
    if disposed:
        await user.send("/help")
        reply = await next_reply(user, ANSWER)
        drill.check("/pupils" in (reply.text or ""),
                    f"{typed.officer_ref}: the request naming a disposed pupil went nowhere",
                    f"{typed.officer_ref} was answered {reply.text!r}")
        return
    card = await next_reply(user, ANSWER)
    drill.check((card.text or "").startswith(f"{typed.name} ("),
                f"{typed.officer_ref}: the kept search went on to the card",
                f"{typed.officer_ref} was answered {card.text!r}")
