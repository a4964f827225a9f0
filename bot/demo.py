"""`ewobot demo`: the real bot on a synthetic service, offline, with a chat in the terminal.

A temporary folder holds the service (never EWO_DATABASE): the synthetic import files,
the database and its keys; it is deleted at the end. A second folder, named at start
and kept, receives what a person would keep: pictures and files the bot sends, and
subject-access exports. The bot runs exactly as `ewobot run` builds it, polling the
loopback stand-in of the Bot API; the terminal plays the people talking to it.

The synthetic service carries the demo's showcase (bot.synthetic.Showcase): records
past due (one on hold) and coming due, a pupil for each alert rule whose marks
arrive in a second attendance import after the first message typed, so that an alert
is pushed while the person watches, and pathway cases with sharing decisions recorded
as their officer would record them, so that /case, /due and the day's pathway
reminders have something to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from bot.clock import Clock, ShiftedClock
from bot.domain.dates import academic_year_start
from bot.domain.retention import PAST
from bot.handlers.common import SENSITIVE_PLACEHOLDER
from bot.harness import RunningBot, enrol_directly
from bot.importing.service import run_import
from bot.jobs import outbox as outbox_jobs
from bot.sandbox import BotApiStandIn, FakeUser
from bot.sandbox.models import BotMessage, ChatEvent, FilePayload
from bot.settings import SECRET_SETTINGS, Settings
from bot.storage import audit
from bot.storage import compliance as compliance_store
from bot.storage import imports as import_store
from bot.storage import officers as officer_store
from bot.storage import pathway as pathway_store
from bot.storage import pupils as pupil_store
from bot.storage import retention as retention_store
from bot.storage import sharing as sharing_store
from bot.storage.db import Conn, Database
from bot.storage.pathway import NewOutcome, NewStep
from bot.storage.sharing import NewSharing
from bot.synthetic import IMPORT_ORDER, Showcase, SyntheticService, generate, sessions_marked
from bot.usecases import sharing as sharing_cases

PIN = "2580"
ACTOR = "system:demo"
FIRST_USER_ID = 7001
STRANGER_USER_ID = 7999
REPLY_WAIT_SECONDS = 10.0  # how long a silent bot is waited for before saying so
WATCH_SECONDS = 3600.0  # the watcher's wait for the next event, renewed while it lasts
# Deadlines fall on academic year ends; a notice of a year and a day makes records whose
# last visit was in the previous academic year count as coming due on any day.
DEMO_NOTICE_DAYS = 366
HOLD_DAYS = 90  # the review date of the hold the demo puts on one past-due record
PUPILS_SHOWN = 3
# The showcase's pathway cases, dated back from today (CASEWORK.md §1).
SUPPORT_PLAN_DAYS_AGO = 42  # its review, 6 weeks on, is due today
NTI_DAYS_AGO, NTI_WEEKS = 14, 4  # half-way through its improvement period
PN_REFERRED_DAYS_AGO, PN_ISSUED_DAYS_AGO = 35, 29  # day 29: no Paid or Withdrawn yet
SHARED_DAYS_AGO = 7
STRANGER_ROLE = "not enrolled"
DAYS_SEARCHED = 366  # how far ahead demo_day looks for a day on which alerts can show

ReadLine = Callable[[], Awaitable[str | None]]  # the next line typed; None at the end

# What the terminal says (the bot's own texts live beside its handlers).
BUILDING = "Building a synthetic service ({pupils} pupils)…"
FOLDERS = (
    "Pictures and files the bot sends are saved in {files} (kept after :quit).\n"
    "Subject-access exports (EWO_EXPORT_DIR) are written to {exports}.\n"
    "The service's database lives in {work} and is deleted at :quit.")
DEMO_RULES = (
    "In this demo pushed messages ignore quiet hours, and a record counts as coming due "
    f"{DEMO_NOTICE_DAYS} days before its deadline (EWO_RETENTION_NOTICE_DAYS).\n"
    "After your first message the schools send their latest marks: new alerts then "
    "arrive in {officer}'s chat.")
EARLY_IN_THE_YEAR = (
    "Early in an academic year no alert rule is evaluated until a pupil has {sessions} "
    "possible sessions (EWO_ALERT_MIN_SESSIONS): this demo runs as if today were {day}.")
RUNNING = ("The bot is running offline. Buttons show as [1] Label: type the number to "
           "press. :help lists the demo's commands and people, :who switches person, "
           ":quit ends.")
WHO = "Who are you?"
PICK = "Type a number from 1 to {count}, or :quit."
YOU_ARE = "You are {ref} ({role}). Your PIN is {pin}."
YOU_ARE_STRANGER = "You are someone the service has not enrolled."
TRY = {
    "officer": "Try /help, /pupils, /due, /visit, or type a name, UPN or case reference.",
    "supervisor": "Try /caseload (its chart is saved as a picture), /pupils, /due, or "
                  "type a name; copies of severe and continuous absence alerts come here.",
    "controller": "Try /retention (Hold, Release hold, Dispose) and /sar UPN.",
    STRANGER_ROLE: "Send anything, /start or /help: a person who is not enrolled is refused.",
}
PUPILS_HEADING = "Pupils to try (case reference · UPN · name):"
RECORDS_HEADING = "Records to try (case reference · UPN · retention):"
HELP = (
    "The demo's own commands (not sent to the bot):\n"
    "  :help  this list\n"
    "  :who   be someone else\n"
    "  :quit  end the demo (saved pictures and files stay in {files})\n"
    "  a number presses the button shown with it, e.g. [1]")
PEOPLE = "People you can be:"
NOT_A_DEMO_COMMAND = "The demo's commands are :help, :who and :quit."
LATE_MARKS = ("(The schools' latest attendance marks have just been imported: new alerts "
              "are on their way to {officer}.)")
NO_REPLY = "(no reply)"
BUTTON_GONE = "That button is gone."
DELETED = "(the bot deleted one of its messages)"
PICTURE_SAVED = "(picture saved: {path})"
FILE_SAVED = "(file saved: {path})"
GOODBYE = "Goodbye. The pictures, files and exports stay in {files}."


@dataclass(frozen=True)
class Persona:
    """Someone the person at the terminal can be: an enrolled member of staff of the
    demo, or a stranger. `tries` are lines naming pupils or records to try."""

    ref: str
    name: str
    role: str
    user_id: int
    tries: tuple[str, ...] = ()

    @property
    def enrolled(self) -> bool:
        return self.role != STRANGER_ROLE


STRANGER = Persona("GUEST", "Not enrolled", STRANGER_ROLE, STRANGER_USER_ID)


@dataclass(frozen=True)
class DemoService:
    """What `build_service` made: the open database, who can be played, the showcase."""

    db: Database
    personas: tuple[Persona, ...]
    showcase: Showcase


def demo_settings(base: Settings, folder: Path, files: Path | None = None) -> Settings:
    """The service's settings, with every file inside `folder` (exports inside `files`),
    no secrets of its own, and pushed messages at any hour.

    Nothing of the real service is kept: not its database (a PostgreSQL URL included),
    nor a secret or the file it came from (the audit key and pepper are generated beside
    the temporary database), nor its webhook (the demo polls its own stand-in)."""
    return base.model_copy(update={
        **{name: None for name in SECRET_SETTINGS},
        **{f"{name}_file": None for name in SECRET_SETTINGS},
        "database": folder / "ewo.sqlite3",
        "webhook_url": None,
        "export_dir": (files or folder) / "exports",
        "quiet_hours": None,
        "quiet_days": frozenset(),
        "retention_notice_days": DEMO_NOTICE_DAYS,
    })


async def build_service(settings: Settings, folder: Path, clock: Clock, *,
                        pupils: int = 100, schools: int = 3, seed: int = 1) -> DemoService:
    """Write a synthetic service with the showcase, import it (attendance as the
    go-live baseline), hold one past-due record and enrol every officer with the PIN."""
    today = clock.today()
    service = generate(folder / "import", seed=seed, schools=schools, pupils=pupils,
                       today=today, showcase=True)
    assert service.showcase is not None
    db = await Database.open(settings)
    try:
        await db.write(officer_store.add_officers, service.officers, now=clock.now())
        await db.write(_record_checks, service, clock)
        for kind in IMPORT_ORDER:
            await run_import(db, kind, service.files[kind], actor=ACTOR, today=today,
                             baseline=kind == "attendance", settings=settings, now=clock.now())
        if service.showcase.pathway_attendance is not None:
            await run_import(db, "attendance", service.showcase.pathway_attendance, actor=ACTOR,
                             today=today, baseline=True, settings=settings, now=clock.now())
        await db.write(_record_pathway, service.showcase, clock)
        await _hold_one(db, settings, clock, service)
        staff = []
        for number, person in enumerate(service.officers):
            persona = Persona(person.ref, person.name, person.role, FIRST_USER_ID + number)
            await enrol_directly(db, settings, ref=persona.ref, user_id=persona.user_id,
                                 pin=PIN, now=clock.now())
            staff.append(replace(persona,
                                 tries=await _tries(db, settings, clock, service, persona)))
    except BaseException:
        await db.close()
        raise
    return DemoService(db, (*staff, STRANGER), service.showcase)


async def _record_checks(conn: Conn, service: SyntheticService, clock: Clock) -> None:
    """The personas' DBS checks and training, current (as `ewobot officers compliance`
    would record them), so the demo runs with EWO_COMPLIANCE=enforce."""
    for person in service.officers:
        officer = await officer_store.officer_by_ref(conn, person.ref)
        assert officer is not None
        await compliance_store.set_dates(conn, officer, dbs=person.dbs_checked,
                                         training=person.training_completed, actor=ACTOR,
                                         now=clock.now())


async def _record_pathway(conn: Conn, showcase: Showcase, clock: Clock) -> None:
    """Record the showcase's pathway steps, outcome and sharing decisions as the officer
    would through /step and /share (each audited as theirs): a support plan whose review
    is due today, a Notice to Improve in its improvement period, a penalty notice issued
    29 days ago with no outcome, and a decision to share and one not to."""
    officer = await officer_store.officer_by_ref(conn, showcase.officer_ref)
    assert officer is not None
    ids = await import_store.pupil_ids(conn, list(showcase.pathway_cases.values()))
    today, now = clock.today(), clock.now()
    pupil = {kind: ids[upn] for kind, upn in showcase.pathway_cases.items()}
    mother = {kind: await _first_parent(conn, officer, pupil_id, clock)
              for kind, pupil_id in pupil.items()}

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    steps = [NewStep(pupil["support_plan"], "support_plan", ago(SUPPORT_PLAN_DAYS_AGO)),
             NewStep(pupil["nti"], "nti", ago(NTI_DAYS_AGO), parents=(mother["nti"],),
                     period_weeks=NTI_WEEKS),
             NewStep(pupil["penalty_notice"], "pn_referral", ago(PN_REFERRED_DAYS_AGO),
                     parents=(mother["penalty_notice"],), reason="support_not_appropriate")]
    saved = [await pathway_store.record_step(conn, officer, step, today=today, now=now)
             for step in steps]
    assert all(result.id is not None for result in saved), [r.problem for r in saved]
    issued = await pathway_store.record_outcome(
        conn, officer, NewOutcome(saved[-1].id or 0, "issued", ago(PN_ISSUED_DAYS_AGO),
                                  contact_id=mother["penalty_notice"]), now=now)
    assert issued.id is not None, issued.problem
    for number, upn in enumerate(showcase.shared):
        shared = number == 0
        entry = NewSharing(
            ids[upn], "school" if shared else "police", None,
            "shared" if shared else "not_shared", ("attendance",) if shared else ("contact",),
            "public_task" if shared else None, None, "barrier" if shared else "other",
            ago(SHARED_DAYS_AGO), None)
        entry_id = await sharing_store.record(conn, officer, entry, draft_token=f"demo-{upn}",
                                              now=now)
        await audit.append(conn, actor=officer.actor, action="sharing_saved",
                           target=f"pupil:{entry.pupil_id}", reason=sharing_cases.REASON,
                           detail={"sharing_id": entry_id, "decision": entry.decision,
                                   "recipient": entry.recipient}, at=now)


async def _first_parent(conn: Conn, officer: officer_store.Officer, pupil_id: int,
                        clock: Clock) -> int:
    """The pupil's first contact with parental responsibility (the showcase gives one),
    read as /step reads it."""
    record = await pathway_store.step_record(conn, officer, pupil_id, today=clock.today(),
                                             now=clock.now())
    assert record is not None and record.parents
    return record.parents[0].contact_id


async def _hold_one(db: Database, settings: Settings, clock: Clock,
                    service: SyntheticService) -> None:
    """Put the showcase's held record on hold, as its controller would (audited)."""
    assert service.showcase is not None
    controller = next((p.ref for p in service.officers if p.role == "controller"), None)
    if controller is None:
        return
    policy = retention_store.policy_for(settings, clock.now())
    async def _transaction(conn: Conn) -> None:
        viewer = await officer_store.officer_by_ref(conn, controller)
        ids = await import_store.pupil_ids(conn, [service.showcase.held])
        assert viewer is not None
        await retention_store.hold(conn, viewer, policy, ids[service.showcase.held],
                                   reason="complaint", now=clock.now(),
                                   review_date=clock.today() + timedelta(days=HOLD_DAYS))
    await db.write(_transaction)


async def _tries(db: Database, settings: Settings, clock: Clock, service: SyntheticService,
                 persona: Persona) -> tuple[str, ...]:
    """A few of the persona's pupils (or, for a controller, due records) to try."""
    assert service.showcase is not None
    showcase = service.showcase

    async def snapshot(conn: Conn) -> tuple[str, ...]:
        viewer = await officer_store.officer_by_ref(conn, persona.ref)
        assert viewer is not None
        if persona.role == "controller":
            return await _records_to_try(conn, viewer, settings, clock, showcase)
        lines = []
        for upn, name in service.allocated.get(persona.ref, ())[:PUPILS_SHOWN]:
            found = await pupil_store.find_pupils(conn, viewer, upn, today=clock.today(),
                                                  year_end=settings.academic_year_end, limit=1)
            if found:
                lines.append(f"  {found[0].case_ref} · {upn} · {name}")
        return tuple(lines)

    return await db.read(snapshot)


async def _records_to_try(conn: Conn, viewer: officer_store.Officer, settings: Settings,
                          clock: Clock, showcase: Showcase) -> tuple[str, ...]:
    policy = retention_store.policy_for(settings, clock.now())
    upns = [*showcase.past_due, *showcase.coming_due]
    ids = await import_store.pupil_ids(conn, upns)
    records, _ = await retention_store.due_records(conn, viewer, policy, limit=100)
    by_id = {record.pupil_id: record for record in records}
    lines = []
    for upn in upns:
        record = by_id.get(ids.get(upn, -1))
        if record is not None:
            stage = "past due" if record.stage == PAST else "coming due"
            lines.append(f"  {record.case_ref} · {upn} · {stage}"
                         f"{' (on hold)' if record.held else ''}")
    return tuple(lines)


class TerminalChat:
    """A chat with the bot in a terminal: pick who you are, type, press buttons by number.

    While a line is being typed, a watcher prints what the bot pushes (alerts, deleted
    messages) as it happens; after a line is sent, the bot's whole reply is printed once
    the bot has taken the update and finished handling it.
    """

    def __init__(self, running: RunningBot, standin: BotApiStandIn,
                 personas: Sequence[Persona], read_line: ReadLine, out: TextIO, *,
                 files: Path, after_first: Callable[[], Awaitable[None]] | None = None) -> None:
        self._running = running
        self._personas = list(personas)
        self._users = {persona.ref: standin.user(persona.user_id, first_name=persona.ref)
                       for persona in personas}
        self._read_line = read_line
        self._out = out
        self._files = files
        self._after_first = after_first
        self._printed = 0  # bot messages and notices printed so far
        self._saved = 0
        # Sensitive messages arrive as a placeholder edited into their text once their
        # deletion is recorded: the demo shows the text once, as the message it is.
        self._placeholders: set[tuple[int, int]] = set()
        # Per chat: the numbered buttons of the newest message that had any.
        self._buttons: dict[str, dict[int, tuple[int, str]]] = {}

    async def run(self) -> None:
        """Until `:quit` or the end of input."""
        persona = await self._choose()
        while persona is not None:
            user = self._users[persona.ref]
            await self._show_unread(persona, user)
            line = await self._ask_watching(persona, user)
            if line is None or line == ":quit":
                break
            if line == ":who":
                persona = await self._choose()
            elif line == ":help":
                self._help()
            elif line.startswith(":"):
                self._say(NOT_A_DEMO_COMMAND)
            elif line:
                await self._act(persona, user, line)
                await self._first_done()
        self._say(GOODBYE.format(files=self._files))

    async def _first_done(self) -> None:
        if self._after_first is not None:
            after_first, self._after_first = self._after_first, None
            await after_first()

    def _help(self) -> None:
        self._say(HELP.format(files=self._files))
        self._say(PEOPLE)
        self._list_personas()

    def _list_personas(self) -> None:
        for number, persona in enumerate(self._personas, 1):
            self._say(f"  [{number}] {persona.ref} {persona.name} ({persona.role})")

    async def _choose(self) -> Persona | None:
        self._say(WHO)
        self._list_personas()
        while True:
            line = await self._ask("number> ")
            if line is None or line == ":quit":
                return None
            if line == ":help":
                self._help()
            elif line.isdigit() and 1 <= int(line) <= len(self._personas):
                persona = self._personas[int(line) - 1]
                self._introduce(persona)
                return persona
            else:
                self._say(PICK.format(count=len(self._personas)))

    def _introduce(self, persona: Persona) -> None:
        if persona.enrolled:
            self._say(YOU_ARE.format(ref=persona.ref, role=persona.role, pin=PIN))
        else:
            self._say(YOU_ARE_STRANGER)
        self._say(TRY[persona.role])
        if persona.tries:
            self._say(RECORDS_HEADING if persona.role == "controller" else PUPILS_HEADING)
            for line in persona.tries:
                self._say(line)

    async def _act(self, persona: Persona, user: FakeUser, line: str) -> None:
        # A number presses a button the person saw: one of a message pushed after the
        # line was typed, and shown only now, they never had in front of them.
        buttons = self._buttons.get(persona.ref, {})
        await self._show_unread(persona, user)  # what came before is shown before the reply
        if line.isdigit() and int(line) in buttons:
            message_id, label = buttons[int(line)]
            try:
                await user.press(label, message_id=message_id)
            except LookupError:
                self._say(BUTTON_GONE)
                return
        else:
            await user.send(line)
        await self._settle(persona, user)

    async def _settle(self, persona: Persona, user: FakeUser) -> None:
        """Show the bot's reply once it has taken what was sent and finished handling it.

        Waiting for the first event instead would take a message the bot deleted while
        the line was typed for the reply, and print the real reply only after the next
        line (the bug this replaces)."""
        printed = self._printed
        try:
            await user.taken(timeout=REPLY_WAIT_SECONDS)
            await self._running.idle()
        except TimeoutError:
            self._say(NO_REPLY)
            return
        await self._show_unread(persona, user)
        if self._printed == printed:
            self._say(NO_REPLY)

    async def _show_unread(self, persona: Persona, user: FakeUser) -> None:
        while True:
            try:
                event = await user.next_event(timeout=0)
            except TimeoutError:
                return
            self._show(persona, event)

    async def _ask_watching(self, persona: Persona, user: FakeUser) -> str | None:
        """The next line typed, printing whatever the bot does in the meantime."""
        prompt = f"{persona.ref}> "
        watcher = asyncio.create_task(self._watch(persona, user, prompt))
        try:
            return await self._ask(prompt)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch(self, persona: Persona, user: FakeUser, prompt: str) -> None:
        while True:
            try:
                event = await user.next_event(timeout=WATCH_SECONDS)
            except TimeoutError:
                continue
            self._say()  # off the prompt's line
            self._show(persona, event)
            await self._show_unread(persona, user)
            self._out.write(prompt)
            self._out.flush()

    def _show(self, persona: Persona, event: ChatEvent) -> None:
        message = event.message
        if event.kind == "answered":
            if event.answer:
                self._print(f"bot (notice): {event.answer}")
        elif event.kind == "deleted":
            if message is not None:
                self._print(DELETED)
        elif message is not None:
            self._show_message(persona, message, kind=event.kind)

    def _show_message(self, persona: Persona, message: BotMessage, *, kind: str) -> None:
        key = (message.chat_id, message.message_id)
        if kind == "sent" and message.text == SENSITIVE_PLACEHOLDER:
            self._placeholders.add(key)
            return
        if kind == "edited" and key in self._placeholders:
            self._placeholders.discard(key)
            kind = "sent"
        lines = (message.text or message.caption or "").splitlines()
        for payload, saved in ((message.photo, PICTURE_SAVED), (message.document, FILE_SAVED)):
            if payload is not None and kind == "sent":  # an edit shows the same file again
                lines.append(saved.format(path=self._save(payload)))
        lines = lines or [""]
        self._print(f"bot{' (edited)' if kind == 'edited' else ''}: {lines[0]}")
        for line in lines[1:]:
            self._say(f"     {line}")
        if not message.labels():
            return
        numbered: dict[int, tuple[int, str]] = {}
        for row in message.buttons:  # one line per keyboard row, numbered throughout
            shown = []
            for button in row:
                numbered[len(numbered) + 1] = (message.message_id, button.label)
                shown.append(f"[{len(numbered)}] {button.label}")
            self._say("     " + "  ".join(shown))
        self._buttons[persona.ref] = numbered

    def _save(self, payload: FilePayload) -> Path:
        """Write a picture or file the bot sent into the kept folder, numbered in order."""
        self._saved += 1
        name = Path(payload.filename or "file").name  # never a path of the sender's choosing
        path = self._files / f"{self._saved:03d}-{name}"
        self._files.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload.content)
        return path

    async def _ask(self, prompt: str) -> str | None:
        self._out.write(prompt)
        self._out.flush()
        line = await self._read_line()
        if line is None:
            self._say()
            return None
        return line.strip()

    def _print(self, line: str) -> None:
        self._printed += 1
        self._say(line)

    def _say(self, line: str = "") -> None:
        print(line, file=self._out, flush=True)


async def run_demo(base: Settings, *, read_line: ReadLine, out: TextIO,
                   clock: Clock | None = None, pupils: int = 100,
                   files: Path | None = None) -> None:
    """Build the synthetic service in a temporary folder, run the bot, chat until done.

    Pictures, files and exports go to `files` (by default a new folder that is kept)."""
    clock = clock or Clock(base.timezone)
    today = clock.today()  # read once: at midnight a second read would be the next day
    day = demo_day(today, base)
    if day != today:
        clock = ShiftedClock(clock, day - today)
    files = files or Path(tempfile.mkdtemp(prefix="ewobot-demo-files-"))
    with tempfile.TemporaryDirectory(prefix="ewobot-demo-") as folder:
        settings = demo_settings(base, Path(folder), files)
        print(BUILDING.format(pupils=pupils), file=out, flush=True)
        service = await build_service(settings, Path(folder), clock, pupils=pupils)
        print(FOLDERS.format(files=files, exports=settings.export_dir, work=folder), file=out)
        print(DEMO_RULES.format(officer=service.showcase.officer_ref), file=out, flush=True)
        if day != today:
            print(EARLY_IN_THE_YEAR.format(sessions=base.alert_min_sessions,
                                           day=f"{day:%A} {day:%d/%m/%Y}"), file=out, flush=True)
        try:
            async with BotApiStandIn() as standin, RunningBot(settings, standin, clock=clock,
                                                              db=service.db) as running:
                print(RUNNING, file=out, flush=True)

                async def late_marks() -> None:
                    await _import_late_marks(running, service, clock, out)

                chat = TerminalChat(running, standin, service.personas, read_line, out,
                                    files=files, after_first=late_marks)
                await chat.run()
        finally:
            await service.db.close()


def demo_day(today: date, settings: Settings) -> date:
    """The day the demo runs on: today, or, early in an academic year, the first day on
    which the synthetic marks give a pupil the possible sessions this academic year that
    any alert rule waits for (EWO_ALERT_MIN_SESSIONS); before then, none could show."""
    for ahead in range(DAYS_SEARCHED):
        day = today + timedelta(days=ahead)
        since = academic_year_start(day, settings.academic_year_end)
        if sessions_marked(day, since=since) >= settings.alert_min_sessions:
            return day
    return today  # more sessions than a year holds: no day would do


async def _import_late_marks(running: RunningBot, service: DemoService, clock: Clock,
                             out: TextIO) -> None:
    """The showcase's later attendance file, imported as `ewobot import` would, then
    delivered at once rather than at the next outbox poll."""
    await run_import(service.db, "attendance", service.showcase.late_attendance, actor=ACTOR,
                     today=clock.today(), settings=running.settings, now=clock.now())
    print(LATE_MARKS.format(officer=service.showcase.officer_ref), file=out, flush=True)
    assert running.application is not None and running.application.job_queue is not None
    running.application.job_queue.run_once(outbox_jobs.deliver_due, 0)


class StdinLines:
    """Lines from standard input, read by a daemon thread so Ctrl-C never waits on it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdin
        self._queue: asyncio.Queue[str | None] | None = None

    async def __call__(self) -> str | None:
        if self._queue is None:
            self._queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            threading.Thread(target=self._pump, args=(loop, self._queue), daemon=True).start()
        return await self._queue.get()

    def _pump(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
        for line in self._stream:
            with contextlib.suppress(RuntimeError):  # the loop has closed: stop quietly
                loop.call_soon_threadsafe(queue.put_nowait, line)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(queue.put_nowait, None)
