"""The command line: `ewobot …` (the same as `python -m bot …`).

Output for people goes to stdout; errors to stderr, first line the reason. Exit codes:
0 done, 1 bad input or data, 2 bad usage (141, quietly, when stdout's reader has gone).
A user mistake never shows a traceback.
Each area registers its subcommands from its own module (see COMMAND_MODULES).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import inspect
import logging
import os
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NoReturn, TextIO

from bot.clock import Clock
from bot.domain.dates import parse_import_date
from bot.logs import configure_logging, redact
from bot.settings import SECRET_SETTINGS, Settings, SettingsError, load_settings
from bot.storage import audit
from bot.storage.db import LOCKED, Database, DatabaseError, is_busy

OK, BAD_INPUT, BAD_USAGE = 0, 1, 2
ADMIN_COMMAND = "admin_command"  # the audit reason of every administrator command
# The reader of stdout went away (`ewobot audit show | head`): a quiet end, with the
# status a shell gives a program killed by SIGPIPE (128 + 13), as `git log | head` has.
CLOSED_PIPE = 141
# Another process (the running bot, another import) kept the database locked past the
# busy timeout: not a bug, so no traceback. The write it stopped changed nothing (each is
# one transaction: an import is one), but a command that writes more than once (a report
# per school) may have made its earlier ones, so the line does not promise "nothing".
# Storage raises it as DatabaseBusy (its line is this one); a "database is locked" met
# outside a transaction of storage's is said the same way.
DATABASE_BUSY = LOCKED

# Each module has `register(subparsers)`; a handler is `async def (args, env) -> int`.
COMMAND_MODULES = (
    "bot.cli.admin",
    "bot.cli.db_copy",
    "bot.cli.imports",
    "bot.cli.records",
    "bot.cli.reports",
    "bot.cli.rights",
    "bot.cli.ropa",
    "bot.cli.service",
    "bot.cli.status",
)


# Every date option (`--received`, `--dbs`, `--from`, …) takes the forms PRODUCT.md names.
DATE_FORMS = "YYYY-MM-DD or DD/MM/YYYY"
NOT_A_DATE = f"not a date (use {DATE_FORMS})"


def date_option(text: str) -> date:
    """An argparse `type` for a date option: argparse puts the option before the reason."""
    try:
        return parse_import_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(NOT_A_DATE) from None


class _UpnWords(argparse.Action):
    """The words of a UPN typed in groups, as on a form (`A123 4567 89012`), joined:
    `checked_upn` removes the spaces (and upper-cases it), as import files have it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[object] | None,
                 option_string: str | None = None) -> None:
        words = [values] if isinstance(values, str) else list(values or [])
        setattr(namespace, self.dest, " ".join(str(word) for word in words))


def add_upn(parser: argparse.ArgumentParser, *names: str,
            help: str = "the pupil's UPN (spaces and lower case are fine)") -> None:
    """A UPN argument (`upn`, or an option such as `--upn`): one word or several."""
    parser.add_argument(*(names or ("upn",)), metavar="UPN", nargs="+", action=_UpnWords,
                        help=help)


class CliError(Exception):
    """A user mistake: one line on stderr, then exit with `code`."""

    def __init__(self, message: str, code: int = BAD_INPUT, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.details = list(details)


@dataclass
class CliEnv:
    """What a command handler needs: settings, who is acting, the clock, the streams."""

    settings_factory: Callable[[], Settings] = load_settings
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = self.settings_factory()
        return self._settings

    @property
    def actor(self) -> str:
        """The audit actor for an administrator command: the operating-system user."""
        try:
            return f"os:{getpass.getuser()}"
        except (KeyError, OSError):
            return "os:unknown"

    @property
    def clock(self) -> Clock:
        return Clock(self.settings.timezone)

    @asynccontextmanager
    async def database(self, *, create: bool = True) -> AsyncIterator[Database]:
        """The service database for one command, closed however the command ends.

        A command that only reads passes `create=False`: a mistyped EWO_DATABASE is then
        an error, never a new empty database (nor new key files) that verifies."""
        db = await Database.open(self.settings, create=create)
        try:
            yield db
        finally:
            await db.close()

    async def audit_command(self, db: Database, action: str, *, target: str | None = None,
                            targets: Sequence[str] = (),
                            detail: dict[str, Any] | None = None) -> None:
        """The audit entry of a command that showed what the database holds (PRODUCT.md
        "Audit"): the operating-system user, the command, the records it showed by
        internal reference. Written into a database already open: a command that only
        reads still never creates one."""
        await db.write(audit.append, actor=self.actor, action=action, reason=ADMIN_COMMAND,
                       target=target, targets=targets, detail=detail, at=self.clock.now())

    def say(self, line: str = "") -> None:
        print(line, file=self.out)

    def secrets(self) -> tuple[str, ...]:
        """The secret settings' values, for redaction (none before settings are read)."""
        if self._settings is None:
            return ()
        # Every secret setting, whether given in the environment or as its file.
        values = (getattr(self._settings, name) for name in SECRET_SETTINGS
                  if name != "database_url")
        found = tuple(value.get_secret_value() for value in values if value is not None)
        url = self._settings.database_url
        if url is None:
            return found
        # The whole URL first, then its passwords alone (as written and as decoded).
        return (*found, url.get_secret_value(), *url.passwords)


Handler = Callable[[argparse.Namespace, CliEnv], Awaitable[int] | int]


class _Parser(argparse.ArgumentParser):
    """argparse that puts the reason first and exits 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{message}", file=sys.stderr)
        print(f"usage: {self.format_usage().removeprefix('usage: ').strip()}", file=sys.stderr)
        raise SystemExit(BAD_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ewobot", description="EWO Bot: the service's command line.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # an area not built yet
            raise
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, env: CliEnv | None = None) -> int:
    """Every command's one exit path: what it prints on the way out is redacted."""
    env = env or CliEnv()
    if not logging.getLogger().handlers:
        # Else Python's last-resort handler prints warnings unfiltered; `run` and `demo`
        # configure their own. Under a test runner the runner's handlers stay.
        configure_logging(level=logging.WARNING)
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        result = handler(args, env)
        # Most commands are coroutines; `run` owns its event loop (run_polling).
        code = asyncio.run(result) if inspect.isawaitable(result) else result  # type: ignore[arg-type]
        env.out.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        _silence(env.out)
        return CLOSED_PIPE
    except CliError as exc:
        _print(env, str(exc), *exc.details)
        return exc.code
    except (SettingsError, DatabaseError) as exc:
        _print(env, str(exc))
        return BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=env.err)
        return 130
    except Exception as exc:
        if is_busy(exc):
            _print(env, DATABASE_BUSY)
            return BAD_INPUT
        # A bug, not a user mistake: its traceback, without secrets.
        _print(env, traceback.format_exc().rstrip())
        return BAD_INPUT


def _silence(stream: TextIO) -> None:
    """Point a stream whose reader has gone at /dev/null, so what is still buffered in it
    is dropped at exit instead of raising BrokenPipeError again there."""
    try:
        fileno = stream.fileno()
    except (OSError, ValueError):  # not a file (a test's StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)


def _print(env: CliEnv, *lines: str) -> None:
    for line in lines:
        print(redact(line, env.secrets()), file=env.err)
