"""Drill 1, crash during writes: kill -9 a real process at random moments during an
attendance import, visit saves, disposals and outbox sends, then look at what is left.

After every kill: `PRAGMA integrity_check` is ok, the audit trail verifies, an import
is there whole or not at all, every visit the officer saw saved is there (once), every
disposal is whole (nothing of the pupil left) and unreadable from the files soon after
the restart, every pushed message marked sent was accepted by Telegram (the stand-in
records what it accepted), and the bot starts again cleanly.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import dispose_one, drain, record_one_visit
from bench.drills.common import (
    Drill,
    Size,
    audit_verifies,
    count,
    found_in_files,
    integrity,
    poll_until,
    rows,
    snapshot,
)
from bench.drills.processes import STARTUP, BotProcess, answers_a_stranger, run_cli, start_cli
from bench.drills.stage import Pupil, Service, made_up_pupil
from bot.clock import Clock
from bot.sandbox import BotApiStandIn, FakeUser
from bot.storage import outbox as outbox_store
from bot.storage.db import Conn

PROMPT = 1.5  # seconds within which /help is answered, however busy the bot is
FIRST_USER = 5_000
LONDON = ZoneInfo("Europe/London")
# Everything held about a pupil besides the pupil row (disposal removes it all).
PUPIL_TABLES = ("contacts", "allocations", "marks", "pupil_stats", "rule_states", "visits",
                "conversations", "alerts", "outbox_pupils", "holds", "retention_reminders",
                "pupil_name_tails", "school_history")


def _now() -> datetime:
    """The child processes read the real clock, so the drills' data follows it."""
    return Clock(LONDON).now()


async def _check_integrity(drill: Drill, service: Service) -> None:
    report = integrity(service.settings.database)
    drill.check(report == "ok", "PRAGMA integrity_check: ok", f"PRAGMA integrity_check: {report}")
    problem = await audit_verifies(service.db)
    drill.check(problem is None, "the audit trail verifies", f"audit trail: {problem}")


async def _kill_during(seconds: float, work: list[Awaitable[None]],
                       bot: BotProcess) -> None:
    """Let `work` run for `seconds`, kill -9 the bot, then drop the work."""
    tasks = [asyncio.ensure_future(job) for job in work]
    await asyncio.sleep(seconds)  # the random moment is the point of the drill
    await bot.kill()
    for task in tasks:
        task.cancel()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        # A wait that times out or a message that vanished is what a kill does to a chat.
        if isinstance(result, Exception) and not isinstance(
                result, TimeoutError | LookupError | asyncio.CancelledError):
            raise result


async def _restarts_cleanly(drill: Drill, bot: BotProcess) -> None:
    """The bot starts on the database as the kill left it, answers, and stops with 0."""
    await bot.start()
    answered = await answers_a_stranger(bot.standin)
    code = await bot.terminate()
    drill.check(answered and code == 0 and "Traceback" not in bot.log(),
                "the bot started on it, answered and stopped with exit code 0",
                lambda: f"the bot did not start cleanly (exit {code}): {bot.log()[-2000:]}")


# --- attendance import -----------------------------------------------------------------


async def import_drill(folder: Path, size: Size, *, seed: int = 1,
                       out: Callable[[str], None] = print) -> Drill:
    """kill -9 `ewobot import attendance FILE` at random moments, each time on a copy of
    the same database."""
    drill = Drill("crash: attendance import", out)
    rng = random.Random(seed)
    base = await Service.open(folder / "base", _now())
    try:
        for ref in ("EWO1", "EWO2", "EWO3", "EWO4"):
            await base.add_officer(ref)
        pupils = await base.add_pupils([made_up_pupil(n, f"EWO{n % 4 + 1}")
                                        for n in range(1, size.import_pupils + 1)])
        path, marks = base.attendance_file(pupils, weeks=4, absent_every=7)
    finally:
        await base.close()
    started = time.perf_counter()
    whole = await _import_round(drill, folder / "whole", base, path, kill_after=None)
    seconds = time.perf_counter() - started
    drill.held(f"uninterrupted, importing {marks:,} marks takes {seconds:.1f} s and leaves "
               f"{whole:,} marks")
    outcomes = {"none": 0, "whole": 0}
    async with BotApiStandIn() as standin:
        for number in range(1, size.kills + 1):
            # Every other kill lands near the end, where the write transaction commits.
            moment = rng.uniform(0.0, seconds) if number % 2 else rng.uniform(0.8, 1.05) * seconds
            drill.tried(f"kill -9 {moment:.2f} s into the import (kill {number})")
            round_folder = folder / f"kill-{number}"
            found = await _import_round(drill, round_folder, base, path, kill_after=moment)
            drill.check(found in (0, marks), f"the database holds {found:,} marks: "
                        f"{'none' if found == 0 else 'the whole file'}",
                        f"the database holds {found:,} of {marks:,} marks after the kill")
            outcomes["none" if found == 0 else "whole"] += 1
            service = await Service.open(round_folder, _now())
            try:
                await _check_integrity(drill, service)
                await _import_again(drill, service, path, marks)
                await _restarts_cleanly(drill, BotProcess(service.settings, standin,
                                                          round_folder / "bot"))
            finally:
                await service.close()
    drill.held(f"{size.kills} kills: {outcomes['none']} left nothing, "
               f"{outcomes['whole']} left the whole import")
    return drill


async def _import_round(drill: Drill, folder: Path, base: Service, path: Path, *,
                        kill_after: float | None) -> int:
    """Import into a copy of the base database, killed after `kill_after` seconds (or
    left to finish); returns the marks then held."""
    settings = base.settings.model_copy(update={"database": folder / "data" / "ewo.sqlite3"})
    settings.database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(base.settings.database, settings.database)  # closed: no -wal file
    args = ("import", "attendance", str(path))
    if kill_after is None:
        done = await run_cli(settings, folder / "cli", *args)
        drill.check(done.code == 0, f"the import finished: {done.out.strip()}",
                    f"the import failed (exit {done.code}): {done.err}")
    else:
        process = await start_cli(settings, folder / "cli", *args)
        await asyncio.sleep(kill_after)  # the random moment is the point of the drill
        if process.returncode is None:
            process.kill()
        await process.communicate()
    database = settings.database
    report = integrity(database)
    drill.check(report == "ok", "PRAGMA integrity_check: ok", f"PRAGMA integrity_check: {report}")
    marks = count(database, "SELECT count(*) FROM marks")
    audited = count(database, "SELECT count(*) FROM audit WHERE action = 'import_attendance'")
    drill.check(audited == (1 if marks else 0),
                "the import's audit entry is there exactly when its marks are",
                f"{marks:,} marks but {audited} import audit entries")
    if not marks:
        left = sum(count(database, f"SELECT count(*) FROM {table}")
                   for table in ("pupil_stats", "rule_states", "alerts", "outbox"))
        drill.check(left == 0, "no figures, rule states or alerts without the marks",
                    f"{left} rows of figures or alerts without any marks")
    return marks


async def _import_again(drill: Drill, service: Service, path: Path, marks: int) -> None:
    """The administrator runs the import again: it completes, changing nothing twice."""
    again = await run_cli(service.settings, service.folder / "cli", "import", "attendance",
                          str(path))
    found = count(service.settings.database, "SELECT count(*) FROM marks")
    drill.check(again.code == 0 and found == marks, "importing the file again completes it",
                f"the import run again gave exit {again.code} and {found:,} of {marks:,} "
                f"marks: {again.err}")


# --- visits ----------------------------------------------------------------------------


async def visit_drill(folder: Path, size: Size, *, seed: int = 2,
                      out: Callable[[str], None] = print) -> Drill:
    """kill -9 `ewobot run` at random moments while three officers record visits."""
    drill = Drill("crash: visit save", out)
    rng = random.Random(seed)
    service = await Service.open(folder, _now())
    try:
        async with BotApiStandIn() as standin:
            officers = await _recording_officers(service, standin, 3)
            bot = BotProcess(service.settings, standin, folder / "bot")
            for number in range(1, size.kills + 1):
                await bot.start()
                # The first visit of each officer waits for the interpreter to start.
                for officer in officers:
                    await officer.record(timeout=STARTUP)
                moment = rng.uniform(0.05, 1.5)
                drill.tried(f"kill -9 {moment:.2f} s into {len(officers)} officers recording "
                            f"visits (kill {number})")
                await _kill_during(moment, [officer.keep_recording() for officer in officers],
                                   bot)
                await _check_visits(drill, service, officers, kills=number)
                for officer in officers:
                    await drain(officer.user)
            await bot.start()
            for officer in officers:
                saved = await officer.record(timeout=STARTUP)
                drill.check(saved, f"after the last kill {officer.ref} carried on and saved "
                            "a visit", f"{officer.ref} could not save a visit after the kill")
            code = await bot.terminate()
            drill.check(code == 0 and "Traceback" not in bot.logs(),
                        "the bot ran after every kill without a traceback and stopped with 0",
                        lambda: f"exit {code}; {bot.logs()[-2000:]}")
            await _check_visits(drill, service, officers, kills=size.kills)
    finally:
        await service.close()
    return drill


class _Recorder:
    """An officer recording visits for one pupil, counting the saves the chat showed."""

    def __init__(self, ref: str, user: FakeUser, pupil: Pupil) -> None:
        self.ref, self.user, self.pupil = ref, user, pupil
        self.shown_saved = 0

    async def record(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109
        saved = await record_one_visit(self.user, self.pupil.upn, timeout=timeout)
        self.shown_saved += saved
        return saved

    async def keep_recording(self) -> None:
        while True:
            await self.record()


async def _recording_officers(service: Service, standin: BotApiStandIn,
                              how_many: int) -> list[_Recorder]:
    officers = []
    for number in range(how_many):
        ref = f"EWO{number + 1}"
        await service.add_officer(ref)
        [pupil] = await service.add_pupils([made_up_pupil(number + 1, ref)],
                                           name=f"pupils-{ref}.csv")
        await service.enrol(ref, FIRST_USER + number, _now())
        officers.append(_Recorder(ref, standin.user(FIRST_USER + number, ref), pupil))
    return officers


async def _check_visits(drill: Drill, service: Service, officers: list[_Recorder], *,
                        kills: int) -> None:
    await _check_integrity(drill, service)
    database = service.settings.database
    problems = []
    for officer in officers:
        saved = count(database, "SELECT count(*) FROM visits v JOIN officers o"
                      " ON o.id = v.officer_id WHERE o.ref = ?", (officer.ref,))
        # A save committed just before a kill may not have been shown: one a kill at most.
        if not officer.shown_saved <= saved <= officer.shown_saved + kills:
            problems.append(f"{officer.ref}: {officer.shown_saved} shown saved, {saved} held")
    shown = sum(officer.shown_saved for officer in officers)
    drill.check(not problems, f"every visit shown as saved is there ({shown} so far)",
                "; ".join(problems))
    twice = count(database, "SELECT count(*) - count(DISTINCT draft_token) FROM visits")
    audited = count(database, "SELECT count(*) FROM audit WHERE action = 'visit_saved'")
    visits = count(database, "SELECT count(*) FROM visits")
    drill.check(twice == 0 and audited == visits,
                "no draft saved twice, every save audited",
                f"{twice} drafts saved twice; {visits} visits, {audited} audited")


# --- disposals -------------------------------------------------------------------------


async def disposal_drill(folder: Path, size: Size, *, seed: int = 3,
                         out: Callable[[str], None] = print) -> Drill:
    """kill -9 `ewobot run` at random moments while a controller disposes of records
    and other processes read now and then."""
    drill = Drill("crash: disposal", out)
    rng = random.Random(seed)
    now = _now()
    service = await Service.open(folder, now)
    try:
        pupils = await _past_due_service(service, 12 * size.kills + 12)
        async with BotApiStandIn() as standin:
            controller = standin.user(FIRST_USER, "Controller")
            officer = standin.user(FIRST_USER + 1, "Officer")
            bot = BotProcess(service.settings, standin, folder / "bot")
            disposed: list[str] = []

            async def keep_disposing() -> None:
                while (case_ref := await dispose_one(controller)) is not None:
                    disposed.append(case_ref)

            for number in range(1, size.kills + 1):
                await bot.start()
                first = await dispose_one(controller, timeout=STARTUP)
                drill.check(first is not None, "a record was disposed of after the start",
                            "nothing could be disposed of after the start")
                disposed.append(str(first))
                if number == 1:
                    await _kill_while_clean_up_waits(drill, service, controller, bot)
                    await _after_a_kill(drill, service, pupils, disposed, bot)
                    await bot.start()
                    await _others_answered_while_clean_up_waits(
                        drill, service, controller, officer, disposed, size.reader_seconds)
                moment = rng.uniform(0.05, 1.0)
                drill.tried(f"kill -9 {moment:.2f} s into disposals while another process "
                            f"reads now and then (kill {number})")
                await _kill_during(moment, [keep_disposing(), _read_now_and_then(service, rng)],
                                   bot)
                await drain(controller)
                await _after_a_kill(drill, service, pupils, disposed, bot)
            drill.check("Traceback" not in bot.logs(), "no traceback in any of the bot's logs",
                        lambda: bot.logs()[-2000:])
    finally:
        await service.close()
    return drill


async def _past_due_service(service: Service, how_many: int) -> list[Pupil]:
    """Pupils imported three years ago, never visited since: all past due."""
    await service.add_officer("EWO1")
    await service.add_officer("CON1", "controller")
    await service.enrol("CON1", FIRST_USER, service.now)
    await service.enrol("EWO1", FIRST_USER + 1, service.now)
    long_ago = service.today.replace(year=service.today.year - 3)
    pupils = await service.add_pupils([made_up_pupil(n, "EWO1") for n in range(1, how_many)],
                                      imported_on=long_ago)
    path, _ = service.attendance_file(pupils, weeks=2, absent_every=3, until=long_ago)
    await service.import_file("attendance", path, long_ago)
    return pupils


async def _after_a_kill(drill: Drill, service: Service, pupils: list[Pupil],
                        disposed: list[str], bot: BotProcess) -> None:
    """Each disposal whole, then the next start cleans the files and stops cleanly."""
    await _check_disposals(drill, service, pupils, disposed)
    await bot.start()
    drill.check(await answers_a_stranger(bot.standin), "the bot started again",
                "the bot did not answer after the kill")
    await _check_files(drill, service, pupils)
    code = await bot.terminate()
    drill.check(code == 0, "the bot stopped with exit code 0", f"exit code {code}")


async def _check_disposals(drill: Drill, service: Service, pupils: list[Pupil],
                           disposed: list[str]) -> None:
    await _check_integrity(drill, service)
    database = service.settings.database
    held = {str(ref) for (ref,) in rows(database, "SELECT case_ref FROM pupils")}
    still = [ref for ref in disposed if ref in held]
    drill.check(not still, f"every disposal shown as done is done ({len(disposed)} so far)",
                f"shown as disposed of but still held: {still}")
    gone = _gone(service, pupils)
    remains = [f"{table} of pupil:{p.id}" for p in gone for table in PUPIL_TABLES
               if count(database, f"SELECT count(*) FROM {table} WHERE pupil_id = ?", (p.id,))]
    drill.check(not remains, f"each of the {len(gone)} records gone is gone whole",
                f"rows left of records disposed of: {remains}")
    audited = count(database, "SELECT count(*) FROM audit WHERE action = 'disposal'")
    drill.check(audited == len(gone), "one disposal audit entry per record gone",
                f"{len(gone)} records gone, {audited} disposals audited")


def _gone(service: Service, pupils: list[Pupil]) -> list[Pupil]:
    held = {int(pupil_id) for (pupil_id,) in rows(service.settings.database,  # type: ignore[call-overload]
                                                   "SELECT id FROM pupils")}
    return [pupil for pupil in pupils if pupil.id not in held]


def _disposals(service: Service) -> int:
    return count(service.settings.database, "SELECT count(*) FROM audit WHERE action = 'disposal'")


async def _others_answered_while_clean_up_waits(drill: Drill, service: Service,
                                                controller: FakeUser, officer: FakeUser,
                                                disposed: list[str], seconds: float) -> None:
    """A backup or an export in another process holds a read snapshot while the
    controller disposes of a record: the files cannot be cleaned until it ends, and
    meanwhile everyone else is still answered promptly."""
    drill.tried(f"Dispose while another process holds a read snapshot for {seconds:.0f} s, "
                "and another officer sends /help meanwhile")
    reader = snapshot(service.settings.database)
    before = _disposals(service)
    try:
        disposal = asyncio.ensure_future(dispose_one(controller, timeout=seconds + STARTUP))
        await poll_until(lambda: _disposals(service) > before, STARTUP)
        started = time.perf_counter()
        await officer.send("/help")
        try:
            await officer.next_message(timeout=PROMPT)
            waited: float | None = time.perf_counter() - started
        except TimeoutError:
            waited = None
        await asyncio.sleep(max(0.0, seconds - PROMPT))  # how long the other process reads
    finally:
        reader.close()
    case_ref = await disposal
    drill.check(waited is not None, f"the other officer was answered in {waited or 0:.2f} s",
                f"the other officer waited more than {PROMPT:.1f} s for /help while the "
                "disposal's clean-up waited for another process")
    drill.check(case_ref is not None, "the disposal was answered", "the disposal was not")
    disposed.append(str(case_ref))


async def _kill_while_clean_up_waits(drill: Drill, service: Service, controller: FakeUser,
                                     bot: BotProcess) -> None:
    """kill -9 after a disposal committed but before the files were cleaned (another
    process was reading): the next start must finish the clean-up."""
    drill.tried("kill -9 after a disposal committed, while another process's read keeps "
                "the files from being cleaned")
    reader = snapshot(service.settings.database)
    before = _disposals(service)
    try:
        disposal = asyncio.ensure_future(dispose_one(controller))
        await poll_until(lambda: _disposals(service) > before, STARTUP)
        await bot.kill()
        disposal.cancel()
        await asyncio.gather(disposal, return_exceptions=True)
    finally:
        reader.close()
    await drain(controller)


async def _read_now_and_then(service: Service, rng: random.Random) -> None:
    while True:
        reader = snapshot(service.settings.database)
        try:
            await asyncio.sleep(rng.uniform(0.05, 0.3))  # another process's read, then a pause
        finally:
            reader.close()  # at the kill too: a read left open would keep the files busy
        await asyncio.sleep(rng.uniform(0.05, 0.3))


async def _readable(service: Service, pupils: list[Pupil]) -> list[str]:
    database = service.settings.database
    files = [database, Path(f"{database}-wal")]
    found = set(await found_in_files(files, [text for p in pupils
                                            for text in (p.last_name, p.upn)]))
    return [f"pupil:{p.id}" for p in pupils if p.last_name in found or p.upn in found]


async def _check_files(drill: Drill, service: Service, pupils: list[Pupil]) -> None:
    """Soon after the restart, nothing of a disposed record is left in the files
    (another process's clean-up is no event to await: look every 100 ms, 10 s at most)."""
    gone = _gone(service, pupils)
    found = await _readable(service, gone)
    for _ in range(100):
        if not found:
            break
        await asyncio.sleep(0.1)
        found = await _readable(service, gone)
    drill.check(not found, f"within seconds of the restart, none of the {len(gone)} records "
                "disposed of can be read from the database files",
                f"still readable in the files 10 s after the restart: {found}")


# --- outbox sends ----------------------------------------------------------------------


async def outbox_drill(folder: Path, size: Size, *, seed: int = 4,
                       out: Callable[[str], None] = print) -> Drill:
    """kill -9 `ewobot run` at random moments while it delivers pushed messages that
    Telegram answers late (so kills land between a send and its mark)."""
    drill = Drill("crash: outbox send", out)
    rng = random.Random(seed)
    service = await Service.open(folder, _now())
    try:
        async with BotApiStandIn() as standin:
            per_officer = max(size.alerts_each, 4 * size.kills)
            users = await _owed_messages(service, standin, per_officer)
            total = count(service.settings.database, "SELECT count(*) FROM outbox")
            drill.tried(f"{total} pushed messages owed to {len(users)} officers")
            bot = BotProcess(service.settings, standin, folder / "bot")
            for number in range(1, size.kills + 1):
                for _ in range(10):
                    standin.delay_next("sendMessage", rng.uniform(0.0, 0.15))
                since = time.monotonic()
                await bot.start()
                await standin.wait_for_call("sendMessage", timeout=STARTUP, since=since)
                moment = rng.uniform(0.0, 0.6)
                drill.tried(f"kill -9 {moment:.2f} s into delivery (kill {number})")
                await _kill_during(moment, [], bot)
                _check_outbox(drill, service, standin)
            await bot.start()
            await poll_until(lambda: count(service.settings.database, "SELECT count(*) FROM"
                                           " outbox WHERE status = 'sent'") == total, STARTUP)
            code = await bot.terminate()
            drill.check(code == 0 and "Traceback" not in bot.logs(),
                        "after the last kill the bot delivered the rest and stopped with 0",
                        lambda: f"exit {code}: {bot.logs()[-2000:]}")
            _check_outbox(drill, service, standin)
            _check_order(drill, standin, users, per_officer)
    finally:
        await service.close()
    return drill


async def _owed_messages(service: Service, standin: BotApiStandIn,
                         per_officer: int) -> list[FakeUser]:
    """Three enrolled officers, each owed `per_officer` alerts, numbered in order."""
    users = []
    for number in range(3):
        ref = f"EWO{number + 1}"
        await service.add_officer(ref)
        await service.enrol(ref, FIRST_USER + number, service.now)
        users.append(standin.user(FIRST_USER + number, ref))
    async def _transaction(conn: Conn) -> None:
        for sequence in range(per_officer):
            for user in users:
                officer = service.officers[user.first_name]
                await outbox_store.enqueue(conn, kind="alert", audience=f"officer:{officer.id}",
                                           payload={"text": _alert(sequence, officer.ref)},
                                           now=service.now)
    await service.db.write(_transaction)
    return users


def _alert(sequence: int, ref: str) -> str:
    return f"Alert {sequence:03d} for {ref}"


def _accepted(standin: BotApiStandIn) -> dict[int, list[str]]:
    """The texts Telegram accepted, per chat, in the order it accepted them."""
    texts: dict[int, list[str]] = {}
    for call in standin.calls_to("sendMessage"):
        if call.status == 200:
            texts.setdefault(int(call.params["chat_id"]), []).append(str(call.params["text"]))
    return texts


def _check_outbox(drill: Drill, service: Service, standin: BotApiStandIn) -> None:
    database = service.settings.database
    report = integrity(database)
    drill.check(report == "ok", "PRAGMA integrity_check: ok", f"PRAGMA integrity_check: {report}")
    accepted = _accepted(standin)
    sent = rows(database, "SELECT o.payload, f.chat_id FROM outbox o JOIN officers f"
                " ON f.id = o.recipient_id WHERE o.status = 'sent'")
    unaccepted = [json.loads(str(payload))["text"] for payload, chat in sent
                  if json.loads(str(payload))["text"] not in accepted.get(int(chat), [])]  # type: ignore[call-overload]
    waiting = count(database, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
    lost = count(database, "SELECT count(*) FROM outbox WHERE status NOT IN"
                 " ('pending', 'sending', 'sent')")
    drill.check(not unaccepted and not lost,
                f"{len(sent)} marked sent, each accepted by Telegram; {waiting} still pending",
                f"marked sent but never accepted: {unaccepted}; {lost} neither sent nor pending")


def _check_order(drill: Drill, standin: BotApiStandIn, users: list[FakeUser],
                 per_officer: int) -> None:
    accepted = _accepted(standin)
    problems = []
    again = 0
    for user in users:
        texts = accepted.get(user.chat_id, [])
        first_seen = list(dict.fromkeys(texts))
        again += len(texts) - len(first_seen)
        if first_seen != [_alert(n, user.first_name) for n in range(per_officer)]:
            problems.append(f"{user.first_name} got {first_seen}")
    drill.check(not problems, f"every message delivered, in order per officer ({again} "
                "delivered again after a kill: at least once)", "; ".join(problems))
