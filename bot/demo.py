"""`ewobot demo`: the real bot on a synthetic service, offline, with a chat in the terminal.

A temporary folder holds everything (never EWO_DATABASE): the synthetic import files,
the database and its keys. The bot runs exactly as `ewobot run` builds it, polling the
loopback stand-in of the Bot API; the terminal plays the people talking to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.clock import Clock
from bot.harness import RunningBot, enrol_directly
from bot.importing.service import run_import
from bot.sandbox import BotApiStandIn, FakeUser
from bot.sandbox.models import BotMessage, ChatEvent
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Database
from bot.synthetic import IMPORT_ORDER, generate

PIN = "2580"
ACTOR = "system:demo"
FIRST_USER_ID = 7001
REPLY_WAIT_SECONDS = 10.0  # how long a silent bot is waited for before saying so

ReadLine = Callable[[], Awaitable[str | None]]  # the next line typed; None at the end


@dataclass(frozen=True)
class Persona:
    """Someone the person at the terminal can be: an enrolled officer of the demo."""

    ref: str
    name: str
    role: str
    user_id: int


def demo_settings(base: Settings, folder: Path) -> Settings:
    """The service's settings, with every file inside `folder` and no secrets of its own."""
    return base.model_copy(update={
        "database": folder / "ewo.sqlite3",
        "database_key": None,
        "audit_key": None,  # generated beside the temporary database
        "export_dir": folder / "exports",
        "telegram_token": None,
    })


async def build_service(settings: Settings, folder: Path, clock: Clock, *,
                        pupils: int = 100, schools: int = 3,
                        seed: int = 1) -> tuple[Database, list[Persona]]:
    """Write a synthetic service, import it, and enrol every officer with the demo PIN."""
    today = clock.today()
    service = generate(folder / "import", seed=seed, schools=schools, pupils=pupils,
                       today=today)
    db = await Database.open(settings)
    try:
        async with db.write() as conn:
            await officer_store.add_officers(conn, service.officers, now=clock.now())
        for kind in IMPORT_ORDER:
            await run_import(db, kind, service.files[kind], actor=ACTOR, today=today,
                             settings=settings, now=clock.now())
        personas = [Persona(person.ref, person.name, person.role, FIRST_USER_ID + number)
                    for number, person in enumerate(service.officers)]
        for persona in personas:
            await enrol_directly(db, settings, ref=persona.ref, user_id=persona.user_id,
                                 pin=PIN, now=clock.now())
    except BaseException:
        await db.close()
        raise
    return db, personas


class TerminalChat:
    """A chat with the bot in a terminal: pick who you are, type, press buttons by number."""

    def __init__(self, running: RunningBot, standin: BotApiStandIn,
                 personas: Sequence[Persona], read_line: ReadLine, out: TextIO) -> None:
        self._running = running
        self._personas = list(personas)
        self._users = {persona.ref: standin.user(persona.user_id, first_name=persona.ref)
                       for persona in personas}
        self._read_line = read_line
        self._out = out
        # Per chat: the numbered buttons of the newest message that had any.
        self._buttons: dict[str, dict[int, tuple[int, str]]] = {}

    async def run(self) -> None:
        """Until `:quit` or the end of input."""
        persona = await self._choose()
        while persona is not None:
            user = self._users[persona.ref]
            await self._show_unread(persona, user)
            line = await self._ask(f"{persona.ref}> ")
            if line is None or line == ":quit":
                break
            if line == ":who":
                persona = await self._choose()
            elif line:
                await self._act(persona, user, line)
        self._say("Goodbye.")

    async def _choose(self) -> Persona | None:
        self._say("Who are you?")
        for number, persona in enumerate(self._personas, 1):
            self._say(f"  [{number}] {persona.ref} {persona.name} ({persona.role})")
        while True:
            line = await self._ask("number> ")
            if line is None or line == ":quit":
                return None
            if line.isdigit() and 1 <= int(line) <= len(self._personas):
                persona = self._personas[int(line) - 1]
                self._say(f"You are {persona.ref} ({persona.role}). Your PIN is {PIN}. "
                          "Try /help.")
                return persona
            self._say(f"Type a number from 1 to {len(self._personas)}, or :quit.")

    async def _act(self, persona: Persona, user: FakeUser, line: str) -> None:
        buttons = self._buttons.get(persona.ref, {})
        if line.isdigit() and int(line) in buttons:
            message_id, label = buttons[int(line)]
            try:
                await user.press(label, message_id=message_id)
            except LookupError:
                self._say("That button is gone.")
                return
        else:
            await user.send(line)
        await self._settle(persona, user)

    async def _settle(self, persona: Persona, user: FakeUser) -> None:
        """Show the bot's reply once it has finished handling what was sent."""
        try:
            first = await user.next_event(timeout=REPLY_WAIT_SECONDS)
        except TimeoutError:
            self._say("(no reply)")
            return
        await self._running.idle()
        self._show(persona, first)
        await self._show_unread(persona, user)

    async def _show_unread(self, persona: Persona, user: FakeUser) -> None:
        while True:
            try:
                event = await user.next_event(timeout=0)
            except TimeoutError:
                return
            self._show(persona, event)

    def _show(self, persona: Persona, event: ChatEvent) -> None:
        message = event.message
        if event.kind == "answered":
            if event.answer:
                self._say(f"bot (notice): {event.answer}")
        elif event.kind == "deleted":
            if message is not None:
                self._say("(the bot deleted one of its messages)")
        elif message is not None:
            self._show_message(persona, message, edited=event.kind == "edited")

    def _show_message(self, persona: Persona, message: BotMessage, *, edited: bool) -> None:
        text = message.text or message.caption or ""
        if message.document is not None:
            text = f"{text}\n(file: {message.document.filename})".strip()
        if message.photo is not None:
            text = f"{text}\n(picture)".strip()
        lines = text.splitlines() or [""]
        self._say(f"bot{' (edited)' if edited else ''}: {lines[0]}")
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

    async def _ask(self, prompt: str) -> str | None:
        self._out.write(prompt)
        self._out.flush()
        line = await self._read_line()
        if line is None:
            self._say()
            return None
        return line.strip()

    def _say(self, line: str = "") -> None:
        print(line, file=self._out, flush=True)


async def run_demo(base: Settings, *, read_line: ReadLine, out: TextIO,
                   clock: Clock | None = None, pupils: int = 100) -> None:
    """Build the synthetic service in a temporary folder, run the bot, chat until done."""
    clock = clock or Clock(base.timezone)
    with tempfile.TemporaryDirectory(prefix="ewobot-demo-") as folder:
        settings = demo_settings(base, Path(folder))
        print(f"Building a synthetic service ({pupils} pupils)…", file=out, flush=True)
        db, personas = await build_service(settings, Path(folder), clock, pupils=pupils)
        try:
            async with BotApiStandIn() as standin, RunningBot(settings, standin, clock=clock,
                                                              db=db) as running:
                print("The bot is running offline. Buttons show as [1] Label: type the "
                      "number to press. :who switches person, :quit ends.", file=out,
                      flush=True)
                await TerminalChat(running, standin, personas, read_line, out).run()
        finally:
            await db.close()


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
