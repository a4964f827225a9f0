"""`ewobot demo`: the terminal chat driven by a script, on a small synthetic service, and
once as a real process on its stdin and stdout."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import CallbackContext

from bot.cli import build_parser
from bot.clock import FixedClock
from bot.demo import (
    DELETED,
    EARLY_IN_THE_YEAR,
    GOODBYE,
    ReadLine,
    StdinLines,
    TerminalChat,
    build_service,
    demo_day,
    demo_settings,
    run_demo,
)
from bot.domain.attendance import RULE_LABELS
from bot.domain.compliance import CURRENT
from bot.handlers import access
from bot.handlers.common import NOT_ALLOWED
from bot.harness import RunningBot
from bot.jobs import sweeper
from bot.sandbox import BotApiStandIn
from bot.settings import SECRET_SETTINGS
from bot.storage import compliance
from bot.storage.keys import create_private_file
from tests.conftest import make_settings

CLOCK = FixedClock(datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London")))
# A line the demo prints for one of its officers' pupils: case reference · UPN · name.
PUPIL_LINE = re.compile(r"^  C\d{5} · [A-Z]\d{11}[0-9A-Z] · \S+", re.MULTILINE)

Step = str | Callable[[], Awaitable[None]]  # a line to type, or something to do first


def script(lines: Iterable[Step]) -> ReadLine:
    """Typed lines in order; a callable in the list is awaited before the next line."""
    pending = list(lines)

    async def read_line() -> str | None:
        while pending:
            step = pending.pop(0)
            if isinstance(step, str):
                return step + "\n"
            await step()
        return None

    return read_line


async def test_a_scripted_chat_lists_opens_a_card_and_switches_person(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    out = Screen()
    await run_demo(settings, out=out, clock=CLOCK, pupils=30, files=tmp_path / "kept",
                   read_line=script([
                       "9",  # not a person: asked again
                       "2",  # EWO01, the first officer (the supervisor comes first)
                       *pushed_to_the_officer(out),
                       "/pupils",
                       "1",  # the first pupil's button
                       "/due",
                       ":who",
                       "6",  # DPO01, the controller
                       "/pupils",
                       ":quit",
                   ]))
    transcript = out.getvalue()
    assert "Type a number from 1 to 7, or :quit." in transcript
    assert "You are EWO01 (officer). Your PIN is 2580." in transcript
    assert "bot: My pupils (" in transcript
    assert "[1] 1. " in transcript  # the list's buttons, numbered
    after_list = transcript.split("bot: My pupils (")[1].split("EWO01> ")
    card = after_list[1]  # what pressing [1] showed
    assert "Attendance this year:" in card and "[1] Contacts & needs" in card
    due = after_list[2]
    assert "bot: Follow-ups due" in due and "days overdue)" in due
    assert f"bot: {NOT_ALLOWED}" in transcript.split("DPO01> ")[1]
    assert transcript.rstrip().endswith(GOODBYE.format(files=tmp_path / "kept"))
    assert not settings.database.exists()  # EWO_DATABASE never touched


async def test_the_start_screen_names_folders_people_and_pupils_to_try(tmp_path: Path) -> None:
    out = io.StringIO()
    kept = tmp_path / "kept"
    await run_demo(make_settings(tmp_path), out=out, clock=CLOCK, pupils=30, files=kept,
                   read_line=script(["2", ":who", "6", ":quit"]))
    transcript = out.getvalue()
    assert f"saved in {kept} (kept after :quit)" in transcript
    assert f"Subject-access exports (EWO_EXPORT_DIR) are written to {kept / 'exports'}." \
        in transcript
    assert "[7] GUEST Not enrolled (not enrolled)" in transcript
    officer = transcript.split("You are EWO01")[1].split("EWO01> ")[0]
    assert "Pupils to try (case reference · UPN · name):" in officer
    assert len(PUPIL_LINE.findall(officer)) == 3
    controller = transcript.split("You are DPO01")[1]
    assert "past due (on hold)" in controller and "coming due" in controller
    assert "Try /retention (Hold, Release hold, Dispose) and /sar UPN." in controller


async def test_help_is_the_demos_own_and_the_stranger_is_refused(tmp_path: Path) -> None:
    out = io.StringIO()
    await run_demo(make_settings(tmp_path), out=out, clock=CLOCK, pupils=10,
                   files=tmp_path / "kept",
                   read_line=script(["7", ":help", "hello", ":nonsense", ":quit"]))
    transcript = out.getvalue()
    after_help = transcript.split("GUEST> ")[1]
    assert after_help.startswith("The demo's own commands (not sent to the bot):")
    assert ":who   be someone else" in after_help and "[1] SUP01 " in after_help
    assert "bot:" not in after_help  # nothing went to the bot
    assert f"bot: {access.STRANGER}" in transcript.split("GUEST> ")[2]
    assert "The demo's commands are :help, :who and :quit." in transcript


class Screen(io.StringIO):
    """What the terminal shows, with a wait until a text appears on it."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        self._changed.set()
        return written

    def until(self, text: str) -> Callable[[], Awaitable[None]]:
        """A script step: wait (as a person at the prompt does) until `text` shows."""

        async def wait() -> None:
            async with asyncio.timeout(30):
                while text not in self.getvalue():
                    self._changed.clear()
                    await self._changed.wait()

        return wait


def pushed_to_the_officer(out: Screen) -> list[Step]:
    """Script steps: a first message, then a wait until what is pushed to EWO01 unasked
    (the day's pathway reminders, the alerts the first message brings) has shown. A
    number pressed meanwhile would press a button of theirs (the newest message's)."""
    return ["/help", out.until("bot: Pathway reminders"), out.until("bot: New attendance alerts")]


EARLY_SEPTEMBER = FixedClock(datetime(2026, 9, 3, 10, 0, tzinfo=ZoneInfo("Europe/London")))


@pytest.mark.parametrize(("clock", "runs_on"), [
    (CLOCK, None),
    # Too early in the year for any alert (20 possible sessions): the demo runs on the
    # first day the synthetic marks reach them, and says so.
    (EARLY_SEPTEMBER, "Tuesday 15/09/2026"),
], ids=["in-term", "early-september"])
async def test_an_alert_arrives_after_the_first_message(
        tmp_path: Path, clock: FixedClock, runs_on: str | None) -> None:
    out = Screen()
    await run_demo(make_settings(tmp_path), out=out, clock=clock, pupils=30,
                   files=tmp_path / "kept",
                   read_line=script(["2", "/help", out.until("bot: New attendance alerts"),
                                     ":who", "1", out.until("Copy for supervisor"), ":quit"]))
    transcript = out.getvalue()
    early = EARLY_IN_THE_YEAR.format(sessions=20, day=runs_on)
    assert (early in transcript) is (runs_on is not None)
    before = transcript.split("bot: /pupils — ")[0]
    assert "New attendance alerts" not in before  # not at start: after the first message
    alert = transcript.split("bot: New attendance alerts")[1].split("Who are you?")[0]
    for label in RULE_LABELS.values():
        assert label in alert
    supervisor = transcript.split("You are SUP01")[1]
    assert "Copy for supervisor: severe or continuous absence among EWO01's pupils" \
        in supervisor


@pytest.mark.parametrize(("today", "alert_min_sessions", "runs_on"), [
    (date(2026, 11, 25), 20, date(2026, 11, 25)),  # in term: today
    (date(2026, 8, 12), 20, date(2026, 8, 12)),  # the summer holiday: the year just ended
    (date(2026, 9, 1), 20, date(2026, 9, 15)),  # Tuesday 1st: ten school days on
    (date(2026, 9, 14), 20, date(2026, 9, 15)),  # 19 sessions, the afternoon not marked
    (date(2026, 9, 15), 20, date(2026, 9, 15)),
    (date(2026, 9, 1), 0, date(2026, 9, 1)),  # no wait for sessions: today
    (date(2026, 9, 1), 10_000, date(2026, 9, 1)),  # more than a year holds: today
])
def test_the_demo_runs_on_the_first_day_an_alert_can_show(
        tmp_path: Path, today: date, alert_min_sessions: int, runs_on: date) -> None:
    settings = make_settings(tmp_path, alert_min_sessions=alert_min_sessions)
    assert demo_day(today, settings) == runs_on


async def test_a_picture_is_saved_and_its_path_printed(tmp_path: Path) -> None:
    out = io.StringIO()
    kept = tmp_path / "kept"
    await run_demo(make_settings(tmp_path), out=out, clock=CLOCK, pupils=30, files=kept,
                   read_line=script(["1", "/caseload", ":quit"]))
    saved = re.findall(r"\(picture saved: (.+)\)", out.getvalue())
    assert len(saved) == 1
    picture = Path(saved[0])
    assert picture.parent == kept and picture.name.endswith(".png")
    assert picture.read_bytes().startswith(b"\x89PNG")  # still there after :quit


async def test_a_deletion_while_typing_does_not_hide_the_next_reply(tmp_path: Path) -> None:
    """A sensitive message deleted while a line is typed is shown as deleted, and the
    reply to that line is printed before the next line is read; a file the bot sends
    meanwhile is saved."""
    clock = FixedClock(CLOCK.now())
    kept = tmp_path / "kept"
    settings = demo_settings(make_settings(tmp_path), tmp_path / "service", kept)
    (tmp_path / "service").mkdir()
    service = await build_service(settings, tmp_path / "service", clock, pupils=30)
    out = Screen()
    seen_before_next_line: list[str] = []
    try:
        async with BotApiStandIn() as standin, RunningBot(settings, standin, clock=clock,
                                                          db=service.db) as running:

            async def time_passes() -> None:  # the sensitive message's time is up
                clock.advance(timedelta(minutes=settings.sensitive_message_minutes + 1))
                assert running.application is not None
                await sweeper.sweep_sensitive_messages(CallbackContext(running.application))

            async def a_file_arrives() -> None:
                async with Bot(standin.token, base_url=standin.base_url) as bot:
                    await bot.send_document(service.personas[1].user_id, b"{}",
                                            filename="../export.json")

            async def note_the_screen() -> None:
                seen_before_next_line.append(out.getvalue())

            chat = TerminalChat(running, standin, service.personas, script([
                # EWO01, once the day's pathway reminders have shown (no alerts: the
                # late marks are not imported), opens a card, then its contacts
                "2", out.until("bot: Pathway reminders"), "/pupils", "1", "1",
                time_passes, a_file_arrives, "/help", note_the_screen, ":quit",
            ]), out, files=kept)
            await chat.run()
    finally:
        await service.db.close()
    screen = seen_before_next_line[0]
    after_help = screen.split(DELETED)[-1]
    assert DELETED in screen
    assert "bot: /pupils — My pupils, lowest attendance first" in after_help
    saved = re.findall(r"\(file saved: (.+)\)", screen)
    assert [Path(path).parent for path in saved] == [kept]
    assert Path(saved[0]).name == "001-export.json" and Path(saved[0]).read_bytes() == b"{}"


async def test_a_number_presses_the_keyboard_on_screen_not_one_pushed_meanwhile(
        tmp_path: Path) -> None:
    """A push with buttons of its own that reaches the chat as Enter is pressed, before
    the watcher could show it, is shown first, but the number typed presses the button
    the officer saw: the first pupil of the list, not the push's."""
    clock = FixedClock(CLOCK.now())
    settings = demo_settings(make_settings(tmp_path), tmp_path / "service", tmp_path / "kept")
    (tmp_path / "service").mkdir()
    service = await build_service(settings, tmp_path / "service", clock, pupils=30)
    officer = service.personas[1]
    out = Screen()
    pushes: list[asyncio.Task[object]] = []
    try:
        async with BotApiStandIn() as standin, RunningBot(settings, standin, clock=clock,
                                                          db=service.db) as running:

            async def push() -> None:
                button = InlineKeyboardButton("Never seen", callback_data="x")
                async with Bot(standin.token, base_url=standin.base_url) as bot:
                    await bot.send_message(officer.user_id, "A push",
                                           reply_markup=InlineKeyboardMarkup([[button]]))

            async def one_typed_as_a_push_lands() -> str:
                # Called before the watcher first runs, this waits ahead of it for the
                # same change: the push is in the chat, unseen, when the line returns.
                since = time.monotonic()
                pushes.append(asyncio.create_task(push()))
                await standin.wait_for_call(
                    "sendMessage", lambda call: call.params.get("text") == "A push",
                    timeout=30, since=since)
                return "1\n"

            lines = script(["2", out.until("bot: Pathway reminders"), "/pupils"])
            steps = [one_typed_as_a_push_lands, script([":quit"])]

            async def read_line() -> str | None:
                line = await lines()
                return line if line is not None or not steps else await steps.pop(0)()

            await TerminalChat(running, standin, service.personas, read_line, out,
                               files=tmp_path / "kept").run()
            await asyncio.gather(*pushes)
    finally:
        await service.db.close()
    after_push = out.getvalue().split("bot: A push")[1]
    assert after_push.startswith("\n     [1] Never seen\n")  # shown before the reply
    assert "Attendance this year:" in after_push  # [1] of the list: the first pupil's card


async def test_stdin_lines_end_with_none() -> None:
    read_line = StdinLines(io.StringIO("one\ntwo\n"))
    assert [await read_line(), await read_line(), await read_line()] == ["one\n", "two\n", None]


def test_demo_is_a_command() -> None:
    args = build_parser().parse_args(["demo"])
    assert args.handler.__name__ == "cmd_demo"


# --- the demo as a real process ----------------------------------------------------------


class Terminal:
    """`python -m bot demo` on pipes: type a line, read until a text shows."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen = ""
        self._read_to = 0  # the end of the text the last `until` returned

    async def until(self, text: str, timeout: float = 60) -> str:  # noqa: ASYNC109
        """What was shown after the last `until` up to and including `text`."""
        assert self.process.stdout is not None
        start = self._read_to
        async with asyncio.timeout(timeout):
            while text not in self.seen[start:]:
                chunk = await self.process.stdout.read(4096)
                if not chunk:
                    raise AssertionError(f"the demo ended before {text!r}:\n{self.seen}")
                self.seen += chunk.decode()
        self._read_to = self.seen.index(text, start) + len(text)
        return self.seen[start:self._read_to]

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()


async def test_the_demo_as_a_process(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EWO_")}
    env.update({"EWO_DATABASE": str(tmp_path / "data" / "ewo.sqlite3"),
                "TMPDIR": str(tmp_path)})  # the demo's folders go under tmp_path
    # A real service's settings beside it (a .env on a server): the demo uses none of
    # them. Its database is no one's (nothing listens on port 1), nor is its webhook.
    env.update({"EWO_DATABASE_URL": "postgresql://ewo:secret-pw@127.0.0.1:1/service",
                "EWO_PIN_PEPPER": "p" * 43, "EWO_AUDIT_KEY": "the-service-audit-key",
                "EWO_TELEGRAM_TOKEN": "123456:service-token",
                "EWO_WEBHOOK_URL": "https://ewo.example.org/telegram",
                "EWO_WEBHOOK_SECRET": "service-webhook-secret"})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "demo", cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    terminal = Terminal(process)
    try:
        start = await terminal.until("number> ", timeout=120)
        assert "[7] GUEST Not enrolled (not enrolled)" in start
        await terminal.type(":help")
        assert ":quit  end the demo" in await terminal.until("number> ")
        await terminal.type("1")
        intro = await terminal.until("SUP01> ")
        assert PUPIL_LINE.search(intro)
        await terminal.type("/caseload")
        await terminal.until("(picture saved: ")
        path = Path((await terminal.until(")\n")).removesuffix(")\n"))
        assert path.is_file() and path.read_bytes().startswith(b"\x89PNG")
        await terminal.until("Copy for supervisor: severe or continuous absence")
        await terminal.type(":who")
        await terminal.until("number> ")
        await terminal.type("7")
        await terminal.until("GUEST> ")
        await terminal.type("hello")
        await terminal.until(f"bot: {access.STRANGER}")
        await terminal.type(":quit")
        await terminal.until("Goodbye.")
        assert await asyncio.wait_for(process.wait(), timeout=60) == 0
        assert path.is_file()  # the kept folder outlives :quit
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert not (tmp_path / "data").exists()  # EWO_DATABASE never touched


async def test_contacts_show_once_as_a_message_not_as_a_placeholder_and_an_edit(
        tmp_path: Path) -> None:
    from bot.handlers.common import SENSITIVE_PLACEHOLDER

    out = Screen()
    await run_demo(make_settings(tmp_path), out=out, clock=CLOCK, pupils=30,
                   files=tmp_path / "kept",
                   read_line=script(["2", *pushed_to_the_officer(out), "/pupils", "1", "1",
                                     ":quit"]))  # the list, a card, then its details
    transcript = out.getvalue()
    # What pressing Contacts & needs showed
    details = transcript.split("bot: My pupils (")[1].split("EWO01> ")[2]
    assert "Contacts" in details and details.startswith("bot: ")
    assert SENSITIVE_PLACEHOLDER not in transcript
    assert "bot (edited):" not in details


async def test_the_personas_have_current_checks_so_enforce_blocks_no_one(
        tmp_path: Path) -> None:
    settings = demo_settings(make_settings(tmp_path, compliance="enforce"), tmp_path / "service")
    (tmp_path / "service").mkdir()
    service = await build_service(settings, tmp_path / "service", CLOCK, pupils=10)
    try:
        standings = await service.db.read(compliance.compliance_by_officer, CLOCK.today(),
                                          compliance.rules_of(settings))
    finally:
        await service.db.close()
    assert len(standings) == len(service.personas) - 1  # every persona but the stranger
    assert {item.state for standing in standings.values() for item in standing.items} == {
        CURRENT}


async def test_the_showcase_has_pathway_cases_for_case_due_and_reminders(
        tmp_path: Path) -> None:
    """EWO01's pathway cases: /due lists the review due today and the penalty notice's
    day 29, /case shows the improvement period running and the sharing decisions, and
    the day's pathway reminders are pushed to EWO01."""
    from bot.synthetic import generate

    made = generate(tmp_path / "same", seed=1, pupils=30, today=CLOCK.today(), showcase=True)
    assert made.showcase is not None
    cases = made.showcase.pathway_cases
    out = Screen()
    await run_demo(make_settings(tmp_path), out=out, clock=CLOCK, pupils=30,
                   files=tmp_path / "kept",
                   read_line=script(["2", "/due", f"/case {cases['nti']}",
                                     f"/case {cases['support_plan']}",
                                     out.until("bot: Pathway reminders"), ":quit"]))
    transcript = out.getvalue()
    due = transcript.split("EWO01> ")[1]
    assert "Pathway items due, oldest first:" in due
    assert "25/11/2026 (today) — Support plan review due — " in due
    assert "25/11/2026 (today) — penalty notice day 29 — " in due
    nti = transcript.split("EWO01> ")[2]
    assert "Current stage: Notice to Improve" in nti
    assert "• Improvement period ends: 09/12/2026" in nti
    assert "• 18/11/2026 — Not shared with Police (EWO01)" in nti
    plan = transcript.split("bot: Case: ")[2]
    assert "• Review due: 25/11/2026" in plan and "Shared with School (EWO01)" in plan
    reminders = transcript.split("bot: Pathway reminders")[1]
    assert "support plan review due 25/11/2026" in reminders
    assert "penalty notice issued 27/10/2026 — day 29" in reminders


async def test_the_caseload_counts_the_showcases_open_notices(tmp_path: Path) -> None:
    out = io.StringIO()
    await run_demo(make_settings(tmp_path), out=out, clock=CLOCK, pupils=30,
                   files=tmp_path / "kept", read_line=script(["1", "/caseload EWO01", ":quit"]))
    detail = out.getvalue().split("SUP01> ")[1]
    # The Notice to Improve in its period and the penalty notice awaiting an outcome.
    assert "Open notices (improvement periods running, notices awaiting an outcome): 2" \
        in detail


def test_the_demos_settings_keep_no_secret_or_key_file_of_the_service(tmp_path: Path) -> None:
    """Key files named by a real service's settings (a .env on its server) are never
    read or written by the demo: its keys are generated beside its own database."""
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    for name in ("audit-key", "pepper"):
        create_private_file(keys / name)
        (keys / name).write_text("k" * 43)
    base = make_settings(tmp_path, audit_key=None, audit_key_file=keys / "audit-key",
                         pin_pepper_file=keys / "pepper")
    settings = demo_settings(base, tmp_path / "service")
    assert {name: getattr(settings, name) for name in SECRET_SETTINGS} == dict.fromkeys(
        SECRET_SETTINGS)
    assert settings.audit_key_path.parent == settings.pepper_path.parent == tmp_path / "service"
