"""One EWO_INSTANCE_NAME, one live process (SCALE.md, "Behaviour with several
instances"): a second `ewobot run` given a running instance's name is refused with one
line and exit 1, never a second job leader under the first one's name and fence; a fixed
name (a systemd unit, a container recipe) still restarts after a kill and after a stop.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from bot.cli.service import NAME_IN_USE, NAME_TAKEN
from bot.sandbox import BotApiStandIn
from bot.settings import Settings
from bot.storage import leases, retention
from bot.storage.db import Database
from tests.e2e.processes import Deployment, Instance, deployed, free_port, lease_holder
from tests.e2e.test_instances import until
from tests.pg import settings_for

SECRET = "names-webhook-secret"
LEASE_SECONDS = 3
TAKEN_OVER = "the process last seen under this name at"


@pytest.fixture
def settings(pg_url: str, tmp_path: Path) -> Settings:
    return settings_for(tmp_path, pg_url)


@pytest.fixture
async def deployment(settings: Settings, standin: BotApiStandIn, db: Database,
                     tmp_path: Path) -> AsyncIterator[Deployment]:
    async with deployed(settings, standin, tmp_path, count=1, lease_seconds=LEASE_SECONDS,
                        secret=SECRET) as running:
        yield running


async def _run_once(env: dict[str, str], cwd: Path) -> tuple[int | None, str]:
    """`ewobot run` to its end (within a minute): its exit code and its stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=cwd, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:  # it went on running: not refused
        process.kill()
        await process.wait()
        raise
    return process.returncode, err.decode()


async def leading(db: Database) -> int | None:
    """The fence of the live jobs lease (None when no instance holds it)."""
    lease = await db.read(leases.current, leases.JOBS)
    return lease.fence if lease is not None and await lease_holder(db) else None


async def _is(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def test_a_second_process_given_a_running_instances_name_is_refused(
        db: Database, deployment: Deployment, tmp_path: Path) -> None:
    [first] = deployment.instances
    fence = (await db.read(leases.current, leases.JOBS)).fence  # type: ignore[union-attr]
    code, err = await _run_once(deployment.environment(first.name, free_port()), tmp_path)
    assert code == 1, err
    assert err.count("\n") == 1, err  # one line, no traceback
    prefix, _, rest = NAME_IN_USE.partition("{seconds}")
    assert err.startswith(prefix.format(name="web-1"))
    assert err.endswith(f"{rest}\n")
    # The first goes on alone: the jobs' lease still its own, under the same fence.
    lease = await db.read(leases.current, leases.JOBS)
    assert lease is not None and lease.fence == fence
    assert await lease_holder(db) == "web-1"
    assert first.process is not None and first.process.returncode is None


async def test_a_fixed_name_restarts_after_a_kill_and_after_a_clean_stop(
        db: Database, deployment: Deployment) -> None:
    [instance] = deployment.instances
    await deployment.kill(instance)  # SIGKILL: its heartbeat and lease left behind
    await deployment.restart(instance)  # waits out the dead heartbeat, then takes the name
    assert TAKEN_OVER in instance.log_text()

    await until(lambda: _is(leading(db), 2), 10, "the lease taken under a new fence")
    assert instance.process is not None
    instance.process.terminate()  # a clean stop lets the name go: no wait
    assert await asyncio.wait_for(instance.process.wait(), 20) == 0
    await deployment.restart(instance)
    assert TAKEN_OVER not in instance.log_text()


async def test_a_frozen_instance_whose_name_was_taken_meanwhile_stops_when_resumed(
        db: Database, deployment: Deployment, tmp_path: Path) -> None:
    """Frozen past the lease (SIGSTOP: a paused VM) while a second process was started
    under its name: that one takes the name and the jobs; the first, resumed, stops
    with one line and exit 1, and the second goes on leading."""
    [frozen] = deployment.instances
    assert frozen.process is not None
    # Frozen between transactions, not inside the start-up's retention check (a frozen
    # process's open transaction would hold the lease row, and the takeover with it).
    await until(lambda: db.read(retention.last_check), 30, "the retention check at start")
    frozen.process.send_signal(signal.SIGSTOP)
    newer = Instance(frozen.name, free_port(), tmp_path / "web-1-newer.log")
    deployment.instances.append(newer)  # stopped with the rest at the end
    await deployment.restart(newer)
    await until(lambda: _is(leading(db), 2), 10, "the newer process leading")
    frozen.process.send_signal(signal.SIGCONT)
    assert await asyncio.wait_for(frozen.process.wait(), 20) == 1
    assert frozen.log_text().endswith(NAME_TAKEN.format(name="web-1") + "\n")
    assert "another process has taken this EWO_INSTANCE_NAME" in frozen.log_text()
    assert await leading(db) == 2
    assert newer.process is not None and newer.process.returncode is None
