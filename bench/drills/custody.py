"""The custody drills, of the trail and the secrets: what someone with the database
file, or a careless operator, can do.

- audit head truncation: someone who can write the file (and has no key) drops the
  guard trigger, deletes the last entries and lets normal work grow the trail past
  the count of a head kept outside; `audit verify --head` must still fail, naming the
  entry, and a wrong hash at a smaller count must fail too.
- secrets on exit paths: `ewobot run` against a Bot API that refuses the token (401),
  a mistyped URL (404) and a closed port, and read-only commands on a mistyped
  database, each as a real process: exit 1, one line on stderr, no token anywhere.
- key file permissions: pepper and audit key files empty or readable by others, a
  database file, -wal or -shm open to others and a data folder others can write are
  each refused with one line naming the file; under umask 000 the files made are
  still 0600 in a 0700 folder.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import sqlite3
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.drills.common import Drill, Size
from bot.cli import CliEnv, main
from bot.settings import Settings

TOKEN = "6402917385:AAH-custody_canary_Zr8WqK3pL5xN7m"


def _settings(folder: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {"database": folder / "data" / "ewo.sqlite3",
                              "export_dir": folder / "data" / "exports",
                              "quiet_hours": "", "quiet_days": "", "caseload_digest": ""}
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def _cli(settings: Settings, *argv: str) -> tuple[int, str, str]:
    """`ewobot ARGV` in this process (on a thread: it runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()
    env = CliEnv(settings_factory=lambda: settings, out=out, err=err)
    code = await asyncio.to_thread(main, list(argv), env)
    return code, out.getvalue(), err.getvalue()


async def _work(settings: Settings, first: int, count: int) -> None:
    """Normal work that appends one audit entry each: officers added."""
    for number in range(first, first + count):
        code, _, err = await _cli(settings, "officers", "add", f"EWO{number}", "--name",
                                  f"Officer {number}", "--role", "officer")
        assert code == 0, err


def _cut_back(database: Path, keep: int) -> None:
    raw = sqlite3.connect(database)
    try:
        raw.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        raw.execute("DELETE FROM audit WHERE seq > ?", (keep,))
        raw.commit()
    finally:
        raw.close()


async def audit_head_drill(folder: Path, size: Size, *,
                           out: Callable[[str], None] = print) -> Drill:
    """`size.kills` cuts of growing depth, each regrown past the kept count."""
    drill = Drill("audit head truncation", out)
    for cut in range(1, size.kills + 1):
        settings = _settings(folder / f"cut-{cut}", audit_key=None)
        await _cli(settings, "init")
        await _work(settings, 0, cut + 2)
        _, said, _ = await _cli(settings, "audit", "verify")
        head = said.split()[1]  # "OK COUNT:HASH (N entries)"
        count = int(head.split(":")[0])
        _cut_back(settings.database, count - cut)
        await _work(settings, 100, cut + 1)  # the trail now ends past COUNT
        drill.tried(f"head {head} kept; last {cut} entries deleted with the guard dropped; "
                    f"{cut + 1} added by normal work")
        code, _, err = await _cli(settings, "audit", "verify", "--head", head)
        drill.check(code == 1 and err == f"audit trail broken at entry {count}: entry "
                    f"{count} differs from the recorded head\n",
                    f"the old head fails at entry {count}", f"verify said {code} {err!r}")
        wrong = f"{count - cut}:{'0' * 12}"
        code, _, err = await _cli(settings, "audit", "verify", "--head", wrong)
        drill.check(code == 1 and f"entry {count - cut} differs" in err,
                    "a wrong hash at a smaller count fails", f"verify said {code} {err!r}")
    missing = _settings(folder / "mistyped")
    for argv in (["audit", "verify"], ["audit", "show"], ["backup", "--out", "x.sqlite3"]):
        code, _, err = await _cli(missing, *argv)
        drill.check(code == 1 and err.count("\n") == 1 and not missing.database.parent.exists(),
                    f"`{' '.join(argv)}` on a mistyped EWO_DATABASE creates nothing, exit 1",
                    f"it said {code} {err!r}")
    return drill


class FixedAnswer:
    """A Bot API that answers every request with one status, as Telegram does for a
    revoked token (401) or a mistyped base URL (404); `requests` counts what it got."""

    def __init__(self, status: int, description: str) -> None:
        body = json.dumps({"ok": False, "error_code": status, "description": description})
        self.response = (f"HTTP/1.1 {status} {description}\r\nContent-Type: application/json"
                         f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")
        self.requests = 0

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        writer.write(self.response.encode())
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/bot"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _process(folder: Path, *argv: str, **env: str) -> tuple[int | None, str]:
    """`python -m bot ARGV` as an operator runs it; its stdout and stderr together."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EWO_")}
    environment.update({"EWO_DATABASE": str(folder / "data" / "ewo.sqlite3"),
                        "EWO_TELEGRAM_TOKEN": TOKEN, **env})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *argv, cwd=folder, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    said, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, said.decode() + err.decode()


def _one_clean_line(drill: Drill, what: str, code: int | None, text: str) -> None:
    secret = TOKEN.split(":", 1)[1]
    drill.check(code == 1 and text.count("\n") == 1 and secret not in text
                and TOKEN.split(":")[0] not in text,
                f"{what}: exit 1, one line, no token ({text.strip()[:70]}…)",
                f"{what}: exit {code}, {text.count(chr(10))} lines: {text[:300]!r}")


async def exit_paths_drill(folder: Path, size: Size, *,
                           out: Callable[[str], None] = print) -> Drill:
    drill = Drill("secrets on exit paths", out)
    for status, description in ((401, "Unauthorized"), (404, "Not Found")):
        async with FixedAnswer(status, description) as url:
            drill.tried(f"ewobot run against a Bot API answering {status}")
            code, text = await _process(folder / str(status), "run", EWO_TELEGRAM_API_URL=url)
        _one_clean_line(drill, f"a {status}", code, text)
    drill.tried("ewobot run against a closed port (retried, then given up)")
    code, text = await _process(folder / "closed", "run",
                                EWO_TELEGRAM_API_URL=f"http://127.0.0.1:{closed_port()}/bot")
    _one_clean_line(drill, "a refused connection", code, text)
    for argv in (["audit", "verify"], ["sar", "9999999999999"], ["backup", "--out", "b.db"]):
        drill.tried(f"ewobot {' '.join(argv)} with the token set, on no database")
        code, text = await _process(folder / "none", *argv)
        _one_clean_line(drill, " ".join(argv), code, text)
    return drill


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def key_files_drill(folder: Path, size: Size, *,
                          out: Callable[[str], None] = print) -> Drill:
    drill = Drill("key file permissions", out)
    old_umask = os.umask(0)  # the most careless operator: nothing masked
    try:
        settings = _settings(folder / "service", audit_key=None)
        code, _, err = await _cli(settings, "init")
        await _cli(settings, "officers", "add", "EWO1", "--name", "Ewo", "--role", "officer")
    finally:
        os.umask(old_umask)
    database = settings.database
    made = {path: _mode(path) for path in (database, settings.pepper_path,
                                            settings.audit_key_path) if path.exists()}
    drill.check(code == 0 and set(made.values()) == {0o600} and len(made) == 3
                and _mode(database.parent) == 0o700,
                "under umask 000, init made the database and both key files 0600 in a 0700 "
                "folder", f"init said {err!r}; modes {made}")
    cases: list[tuple[str, Path, Callable[[], None], Callable[[], None]]] = []
    for key in (settings.pepper_path, settings.audit_key_path):
        cases.append((f"{key.name} readable by others", key,
                      lambda k=key: k.chmod(0o644), lambda k=key: k.chmod(0o600)))
        cases.append((f"{key.name} empty", key, lambda k=key: _swap(k, b""),
                      lambda k=key: _swap(k, None)))
    for tail in ("", "-wal", "-shm"):
        file = database.with_name(database.name + tail)
        cases.append((f"{file.name} open to others", file, lambda f=file: _loosen(f),
                      lambda f=file: f.chmod(0o600)))
    cases.append(("the data folder writable by others", database.parent,
                  lambda: database.parent.chmod(0o777), lambda: database.parent.chmod(0o700)))
    for what, path, spoil, mend in cases:
        spoil()
        drill.tried(what)
        try:
            code, _, err = await _cli(settings, "officers", "code", "EWO1")
        finally:
            mend()
        drill.check(code == 1 and err.count("\n") == 1 and str(path) in err,
                    f"refused in one line naming {path.name}", f"it said {code} {err!r}")
    code, _, err = await _cli(settings, "audit", "verify")
    drill.check(code == 0, "mended, the service works again", f"verify said {err!r}")
    return drill


_kept: dict[Path, bytes] = {}


def _swap(path: Path, content: bytes | None) -> None:
    """Empty a key file (keeping its content), or put the kept content back."""
    if content is None:
        path.write_bytes(_kept.pop(path))
    else:
        _kept[path] = path.read_bytes()
        path.write_bytes(content)


def _loosen(path: Path) -> None:
    if not path.exists():
        path.touch(mode=0o600)
    path.chmod(0o666)
