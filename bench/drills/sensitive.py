"""Drill: a sensitive or secret message never outlives its deadline, whatever happens to
the send.

Contacts and a visit summary are shown while Telegram loses, refuses or delays the
replies to the bot's sends and edits; a PIN and an enrolment code are sent while
deleteMessage fails; the sweep's own first deletion fails too. Then, in a child process,
the bot is killed with kill -9 in the middle of showing contacts. After the deadline and
the sweeps, no chat shows any of the made-up phone numbers or notes, every code or PIN
message is deleted, and no deletion is left waiting.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.drills.chat import next_reply, visit_up_to
from bench.drills.common import Drill, Size, count, poll_until
from bench.drills.processes import STARTUP, BotProcess
from bench.drills.stage import PIN, Pupil, Service, made_up_pupil
from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.handlers import access
from bot.handlers import pupils as pupil_handlers
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, FakeUser
from bot.storage import officers as officer_store
from bot.storage.db import Conn, stamp

LONDON = ZoneInfo("Europe/London")
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=LONDON)  # a Wednesday in term time
ANSWER = 30.0  # seconds: a reply slower than the 5 s timeout included
OFFICER_USER, NEWCOMER_USER = 8_600, 8_601

# (what happens, the method it happens to, how): "lose" lets the call take effect and
# loses the reply; a number is an error status instead of the call; "slow" answers late.
FAULTS: list[tuple[str, str | None, str | int | None]] = [
    ("no fault", None, None),
    ("the reply to sendMessage lost after it took effect", "sendMessage", "lose"),
    ("the reply to editMessageText lost after it took effect", "editMessageText", "lose"),
    ("sendMessage answered 500", "sendMessage", 500),
    ("editMessageText answered 500", "editMessageText", 500),
]
SLOW = ("the reply to editMessageText 6 s late, past python-telegram-bot's 5 s timeout",
        "editMessageText", "slow")


def _phone(number: int) -> str:
    return f"07700 9{number:05d}"


def _note(number: int) -> str:
    return f"Canary note {secrets.token_hex(4)} round {number}"


@dataclass
class _Chat:
    """What the drill showed, to look for afterwards."""

    canaries: list[str]
    secrets: list[tuple[FakeUser, int]]  # the people's own messages that must go
    shown: int = 0  # canaries the chat showed before their deadline

    def look(self, user: FakeUser) -> None:
        """Count the canaries the chat shows now (the drill is no proof if it shows none)."""
        texts = "\n".join(message.text or "" for message in user.history)
        self.shown = sum(canary in texts for canary in self.canaries)


async def sensitive_drill(folder: Path, size: Size, *,
                          out: Callable[[str], None] = print) -> Drill:
    """Every fault on the contacts and on a visit summary, then a kill -9 mid-send."""
    drill = Drill("sensitive messages", out)
    faults = FAULTS + ([SLOW] * size.timeouts if size.timeouts else [])
    await _faults_in_process(drill, folder / "faults", faults)
    await _killed_mid_send(drill, folder / "kill", max(1, size.kills // 4))
    return drill


async def _faults_in_process(drill: Drill, folder: Path,
                             faults: list[tuple[str, str | None, str | int | None]]) -> None:
    clock = FixedClock(MORNING)
    service = await Service.open(folder, MORNING, session_idle_minutes=24 * 60)
    try:
        await service.add_officer("EWO1")
        await service.enrol("EWO1", OFFICER_USER)
        pupils = await _pupils_with_contacts(service, len(faults))
        async with BotApiStandIn() as standin:
            user = standin.user(OFFICER_USER, "EWO1")
            async with RunningBot(service.settings, standin, clock=clock,
                                  db=service.db) as running:
                chat = _Chat([], [])
                for number, (fault, pupil) in enumerate(zip(faults, pupils, strict=True)):
                    await _round(drill, standin, user, pupil, fault, number, chat)
                chat.look(user)
                drill.check(chat.shown > 0, f"{chat.shown} of {len(chat.canaries)} phone "
                            "numbers and notes reached the chat before their deadline",
                            "no phone number or note ever reached the chat")
                await _secrets(drill, service, standin, user, chat)
                await _sweep_past_the_deadline(drill, standin, running, clock, service)
                _nothing_left(drill, [user, standin.user(NEWCOMER_USER)], chat, service)
    finally:
        await service.close()


async def _pupils_with_contacts(service: Service, how_many: int) -> list[Pupil]:
    pupils = await service.add_pupils(
        [made_up_pupil(n + 1, "EWO1") for n in range(how_many)])
    path = service.write_csv("contacts.csv", ("upn", "name", "relationship", "phone"),
                             [(p.upn, f"Carer {p.last_name}", "Mother", _phone(p.number))
                              for p in pupils])
    await service.import_file("contacts", path)
    return pupils


def _inject(standin: BotApiStandIn, method: str | None, how: str | int | None) -> None:
    if method is None:
        return
    if how == "lose":
        standin.lose_reply_next(method)
    elif how == "slow":
        standin.delay_next(method, 6)
    else:
        assert isinstance(how, int)
        standin.fail_next(method, status=how)


async def _round(drill: Drill, standin: BotApiStandIn, user: FakeUser, pupil: Pupil,
                 fault: tuple[str, str | None, str | int | None], number: int,
                 chat: _Chat) -> None:
    what, method, how = fault
    drill.tried(f"contacts and a visit summary shown with {what}")
    await user.send(f"/pupil {pupil.upn}")
    card = await next_reply(user, ANSWER)
    _inject(standin, method, how)
    await user.press(pupil_handlers.DETAILS_BUTTON, message_id=card.message_id)
    await _settled(user)
    standin.clear_faults()  # one the press did not meet must not hit the visit's steps
    chat.canaries.append(_phone(pupil.number))
    await visit_up_to(user, pupil.upn, flow.NOTES, timeout=ANSWER)
    _inject(standin, method, how)
    note = _note(number)
    chat.secrets.append((user, await user.send(note)))
    chat.canaries.append(note)
    await _settled(user)
    standin.clear_faults()
    await user.send("/cancel")
    await _settled(user)


async def _settled(user: FakeUser, timeout: float = ANSWER) -> None:  # noqa: ASYNC109
    """Every earlier update is done with: /help is answered in order."""
    await user.send("/help")
    while "/pupil" not in ((await user.next_message(timeout=timeout)).text or ""):
        pass


async def _secrets(drill: Drill, service: Service, standin: BotApiStandIn, user: FakeUser,
                   chat: _Chat) -> None:
    drill.tried("a PIN and a /start code sent while deleteMessage answers 500")
    await user.send("/lock")
    await user.next_message(timeout=ANSWER)  # locked: /help would wait for the PIN
    standin.fail_next("deleteMessage", status=500)
    chat.secrets.append((user, await user.send(PIN)))
    unlocked = await user.next_message(timeout=ANSWER)
    drill.check(unlocked.text == access.UNLOCKED, "the PIN unlocked although its deletion failed",
                f"the PIN whose deletion failed got {unlocked.text!r:.80}")
    code = secrets.token_urlsafe(24)
    async def _transaction(conn: Conn) -> None:
        newcomer = await officer_store.add_officer(conn, ref="EWO2", name="Officer EWO2",
                                                   role="officer", supervisor_ref=None,
                                                   now=service.now)
        await officer_store.issue_code(conn, newcomer, code=code, now=service.now,
                                       expires_at=service.now + timedelta(hours=24))
    await service.db.write(_transaction)
    stranger = standin.user(NEWCOMER_USER, "EWO2")
    standin.fail_next("deleteMessage", status=500)
    chat.secrets.append((stranger, await stranger.send(f"/start {code}")))
    asked = await stranger.next_message(timeout=ANSWER)
    drill.check(asked.text == access.CHOOSE_PIN,
                "the code was used up although its message's deletion failed",
                f"the /start whose deletion failed got {asked.text!r:.80}")


async def _sweep_past_the_deadline(drill: Drill, standin: BotApiStandIn, running: RunningBot,
                                   clock: FixedClock, service: Service) -> None:
    drill.tried("the deadline passes; the sweep's first deletion answers 500; sweeps go on "
                "as the retries fall due")
    application = running.application
    assert application is not None and application.job_queue is not None
    [sweep] = application.job_queue.get_jobs_by_name("sensitive-messages")
    clock.advance(timedelta(minutes=service.settings.sensitive_message_minutes))
    standin.fail_next("deleteMessage", status=500)
    for _ in range(10):
        await sweep.run(application)
        if not count(service.settings.database, "SELECT count(*) FROM sensitive_messages"):
            break
        clock.advance(timedelta(minutes=5))


def _nothing_left(drill: Drill, users: list[FakeUser], chat: _Chat, service: Service) -> None:
    shown = [text for user in users for message in user.history
             for text in [message.text or ""] if any(c in text for c in chat.canaries)]
    drill.check(not shown, f"none of {len(chat.canaries)} phone numbers and notes is still "
                "in the chat", lambda: f"{len(shown)} messages still show them: {shown[0]!r:.80}")
    left = [message_id for user, message_id in chat.secrets if message_id not in user.deleted]
    if chat.secrets:
        drill.check(not left, f"all {len(chat.secrets)} notes, PIN and code messages deleted",
                    f"{len(left)} of the person's secret messages are still in the chat")
    waiting = count(service.settings.database, "SELECT count(*) FROM sensitive_messages")
    drill.check(waiting == 0, "no deletion is left waiting",
                f"{waiting} deletions still wait after the sweeps")


async def _killed_mid_send(drill: Drill, folder: Path, kills: int) -> None:
    """kill -9 while the reply to the contacts' send or edit is on its way; the deadline
    passes while the bot is down; the sweep at the next start deletes what was shown."""
    now = datetime.now(LONDON)  # the child reads the real clock
    service = await Service.open(folder, now)
    try:
        await service.add_officer("EWO1")
        await service.enrol("EWO1", OFFICER_USER, now)
        [pupil] = await _pupils_with_contacts(service, 1)
        async with BotApiStandIn() as standin:
            user = standin.user(OFFICER_USER, "EWO1")
            bot = BotProcess(service.settings, standin, folder / "work")
            for number in range(kills * 2):
                method = "editMessageText" if number % 2 else "sendMessage"
                drill.tried(f"kill -9 while the reply to the contacts' {method} is delayed")
                await _kill_while_showing(bot, standin, user, pupil, method)
            chat = _Chat([_phone(pupil.number)], [])
            chat.look(user)
            drill.check(chat.shown == 1, "the contacts reached the chat before a kill",
                        "the contacts never reached the chat")
            # A press the killed process never confirmed comes again: let it be handled.
            await bot.start()
            await _settled(user, STARTUP)
            await bot.terminate()
            await _deadline_passes(service)
            await bot.start()
            try:
                await poll_until(lambda: not count(
                    service.settings.database, "SELECT count(*) FROM sensitive_messages"),
                    STARTUP)
            except TimeoutError:
                pass  # the check below says what is left
            finally:
                await bot.terminate()
            _nothing_left(drill, [user], chat, service)
    finally:
        await service.close()


async def _kill_while_showing(bot: BotProcess, standin: BotApiStandIn, user: FakeUser,
                              pupil: Pupil, method: str) -> None:
    await bot.start()
    await _settled(user, STARTUP)  # whatever the killed process left is handled first
    await user.send(f"/pupil {pupil.upn}")
    card = await next_reply(user, STARTUP)
    standin.delay_next(method, 60)
    pressed = time.monotonic()
    await user.press(pupil_handlers.DETAILS_BUTTON, message_id=card.message_id)
    with contextlib.suppress(TimeoutError):  # a build that never edits: the check tells
        await standin.wait_for_call(method, lambda call: _is_contacts_call(call.params, method),
                                    timeout=ANSWER, since=pressed)
    await bot.kill()


def _is_contacts_call(params: dict[str, Any], method: str) -> bool:
    """The call that shows (or stands in for) the contacts, not a card or an answer."""
    text = str(params.get("text", ""))
    return method == "sendMessage" or "contacts and needs" in text


async def _deadline_passes(service: Service) -> None:
    """While the bot is down, its deadlines come due (the child reads the real clock)."""
    async def _transaction(conn: Conn) -> None:
        await conn.execute("UPDATE sensitive_messages SET delete_at = ?",
                           (stamp(datetime.now(LONDON) - timedelta(minutes=1)),))
    await service.db.write(_transaction)
