"""A throwaway PostgreSQL cluster for the test session, and a fresh database per test.

One cluster per session on 127.0.0.1 (a free port, its socket in a temporary folder),
started from the binaries of the Debian `postgresql` package under
/usr/lib/postgresql/*/bin (or EWO_TEST_PG_BIN), without fsync, so it starts in about a
second. `initdb` and `pg_ctl` refuse to run as root: as root they run as the `postgres`
user. One template database is migrated once; each test gets its own copy
(`CREATE DATABASE … TEMPLATE`, about 30 ms), owned by a login role that is not a
superuser, as the service's role is in production, and reached over TCP with a password.

Without PostgreSQL binaries the tests that need it are skipped with one line saying
why; with CI=true they fail instead, so CI can never pass without running them.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import psycopg.sql
import pytest

ROLE = "ewo_service"
PASSWORD = "pg-test-pw-8d41c6"  # only for the throwaway cluster; tests look for it in errors
TEMPLATE = "ewo_template"
MISSING = ("PostgreSQL not installed (apt-get install postgresql): "
           "the PostgreSQL tests are skipped")
_skipped_for_missing: list[str] = []


def pg_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries on this machine, if any."""
    given = os.environ.get("EWO_TEST_PG_BIN")
    candidates = [given] if given else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for folder in reversed(candidates):
        if folder and (Path(folder) / "initdb").is_file():
            return Path(folder)
    return None


@dataclass
class Cluster:
    """A running throwaway cluster: admin connections by socket, tests by TCP."""

    bin_dir: Path
    root: Path
    port: int
    as_postgres: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """A superuser connection over the Unix socket (trusted)."""
        user = "postgres" if self.as_postgres else pwd.getpwuid(os.getuid()).pw_name
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user=user,
                               dbname=dbname, autocommit=True)

    async def lock_waiter(self, locktype: str) -> None:
        """Return once some session waits for a lock of this type (`advisory`; a row's
        is `transactionid`); fail after about ten seconds."""
        def waiting() -> int:
            with self.admin() as admin:
                return admin.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = %s"
                                     " AND NOT granted", (locktype,)).fetchone()[0]
        for _ in range(1000):  # polled: the database gives no event for a waiter
            if await asyncio.to_thread(waiting):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"no session waited for a {locktype} lock")

    def url(self, dbname: str, password: str = PASSWORD) -> str:
        return f"postgresql://{ROLE}:{password}@127.0.0.1:{self.port}/{dbname}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_cluster(bin_dir: Path, root: Path | None = None) -> Cluster:
    """initdb and start a cluster in a new temporary folder, or start again the cluster
    an earlier run left in `root` (a benchmark keeping the databases it built)."""
    as_postgres = os.geteuid() == 0
    again = root is not None and (root / "data" / "PG_VERSION").is_file()
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="ewo-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(bin_dir, root, _free_port(), as_postgres)
    cluster.socket_dir.mkdir(exist_ok=True)
    if as_postgres:
        root.chmod(0o755)
        shutil.chown(cluster.socket_dir, "postgres", "postgres")
        shutil.chown(root, "postgres", "postgres")
    if not again:
        cluster.run("initdb", "-D", str(cluster.data), "--auth-local=trust",
                    "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                    "--no-sync")
    for attempt in range(3):  # a port free a moment ago may be taken by now
        options = (f"-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
                   f" -c listen_addresses=127.0.0.1 -p {cluster.port}"
                   f" -k {cluster.socket_dir} -c max_connections=200"
                   # Deadlock tests wait for detection: 1 s by default.
                   " -c deadlock_timeout=100ms")
        try:
            cluster.run("pg_ctl", "-D", str(cluster.data), "-l", str(root / "log"),
                        "-o", options, "-w", "-t", "30", "start")
            break
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            cluster.port = _free_port()
    if not again:
        with cluster.admin() as admin:
            admin.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            admin.execute(f"GRANT pg_checkpoint TO {ROLE}")
    return cluster


def stop_cluster(cluster: Cluster, *, keep: bool = False) -> None:
    """Stop the cluster and remove its folder (or, `keep`, stop it cleanly and leave
    its databases for `start_cluster(bin_dir, root)`)."""
    mode = "fast" if keep else "immediate"
    with contextlib.suppress(subprocess.SubprocessError):
        cluster.run("pg_ctl", "-D", str(cluster.data), "-m", mode, "-w", "stop")
    if not keep:
        shutil.rmtree(cluster.root, ignore_errors=True)


def settings_for(tmp_path: Path, url: str, **overrides: Any) -> Any:
    """Test settings (tests/conftest.make_settings) on PostgreSQL."""
    from tests.conftest import make_settings
    values: dict[str, Any] = {"database_url": url, "pin_pepper": "p" * 43}
    values.update(overrides)
    return make_settings(tmp_path, **values)


def _migrate_template(cluster: Cluster, tmp: Path) -> None:
    from bot.storage.postgres import PostgresDatabase

    async def migrate() -> None:
        database = await PostgresDatabase.open(settings_for(tmp, cluster.url(TEMPLATE)))
        await database.close()

    with cluster.admin() as admin:
        # A linguistic default collation, as a provider's server may well have: only the
        # schema's own COLLATE "C" then keeps text in byte order (a test shows it does).
        try:
            admin.execute(f"CREATE DATABASE {TEMPLATE} OWNER {ROLE} TEMPLATE template0"
                          " LOCALE_PROVIDER icu ICU_LOCALE 'en-GB' LOCALE 'C.UTF-8'")
        except psycopg.Error:  # a server built without ICU (Debian's has it)
            admin.execute(f"CREATE DATABASE {TEMPLATE} OWNER {ROLE}")
    asyncio.run(migrate())


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The session's cluster, with the template database migrated once."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no PostgreSQL binaries under /usr/lib/postgresql/*/bin: "
                        "the PostgreSQL tests must run in CI")
        _skipped_for_missing.append(MISSING)
        pytest.skip(MISSING)
    try:
        cluster = start_cluster(bin_dir)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"the throwaway PostgreSQL cluster did not start: {exc.cmd[-1]!r} said "
                    f"{(exc.stderr or exc.stdout or '').strip()[-500:]}")
    try:
        _migrate_template(cluster, tmp_path_factory.mktemp("pg-template"))
        _running.append(cluster)
        yield cluster
    finally:
        _running.clear()
        stop_cluster(cluster)


_numbers = itertools.count(1)
_running: list[Cluster] = []  # the session's cluster once started, for database_files


def database_files(settings: Any) -> list[Path]:
    """The files a test's database keeps its rows in, for canary tests: SQLite's file
    and its WAL, or the PostgreSQL database's own folder in the cluster (base/OID; the
    cluster's WAL is what the README names as kept elsewhere)."""
    if settings.database_url is None:
        database = settings.database
        return [path for path in (database, database.with_name(database.name + "-wal"))
                if path.exists()]
    name = urlsplit(settings.database_url.get_secret_value()).path.lstrip("/")
    cluster = _running[-1]
    with cluster.admin() as admin:
        admin.execute("CHECKPOINT")  # what is committed is in the files, not only in memory
        row = admin.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert row is not None, name
    return sorted(path for path in (cluster.data / "base" / str(row[0])).iterdir()
                  if path.is_file())


def database_dump(settings: Any) -> str:
    """Every row of every table as text, for tests that look for a value in clear."""
    if settings.database_url is None:
        raw = sqlite3.connect(settings.database)
        try:
            return "\n".join(raw.iterdump())
        finally:
            raw.close()
    with psycopg.connect(settings.database_url.get_secret_value()) as pg:
        tables = [row[0] for row in pg.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        return "\n".join(str(row[0]) for table in tables for row in pg.execute(
            psycopg.sql.SQL("SELECT t::text FROM {} AS t").format(psycopg.sql.Identifier(table))))


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh database for this test, already migrated (a copy of the template)."""
    name = f"ewo_test_{os.getpid()}_{next(_numbers)}"
    with pg_cluster.admin() as admin:
        # FILE_COPY (PostgreSQL 15+) copies the template's files: about 60 ms, where
        # WAL_LOG, the default, writes every block through the WAL (about 300 ms).
        strategy = " STRATEGY FILE_COPY" if admin.info.server_version >= 150000 else ""
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} OWNER {ROLE}{strategy}")
    try:
        yield pg_cluster.url(name)
    finally:
        with pg_cluster.admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_empty_url(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh database with no schema at all, for migration tests."""
    name = f"ewo_empty_{os.getpid()}_{next(_numbers)}"
    with pg_cluster.admin() as admin:
        admin.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
    try:
        yield pg_cluster.url(name)
    finally:
        with pg_cluster.admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def pg_db(pg_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """An open PostgresDatabase on a fresh database."""
    from bot.storage.postgres import PostgresDatabase
    database = await PostgresDatabase.open(settings_for(tmp_path, pg_url),
                                           attempts=3, wait_seconds=2)
    try:
        yield database
    finally:
        await database.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line at the end of the run when the PostgreSQL half did not run."""
    if _skipped_for_missing:
        terminalreporter.write_line(MISSING, yellow=True)


BACKENDS = ("sqlite", "postgres")
# What each backend raises, for tests that run on both.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)
READ_ONLY_ERRORS = (sqlite3.OperationalError, psycopg.errors.ReadOnlySqlTransaction)
SQLITE_ONLY = "sqlite_only"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend a test of a doubled suite runs on (tests/storage, tests/e2e): once on
    each, `test_x[sqlite]` and `test_x[postgres]`."""
    return str(request.param)


def backend_settings(request: pytest.FixtureRequest, tmp_path: Path, backend: str,
                     **overrides: Any) -> Any:
    """Test settings on either backend: how a suite runs on both, e.g. in its conftest

        @pytest.fixture
        def settings(request, tmp_path, backend):
            return backend_settings(request, tmp_path, backend)

    The PostgreSQL case takes a fresh database (and so the session's cluster, skipped
    or failed as `pg_cluster` says) only when asked for."""
    from tests.conftest import make_settings
    if backend == "postgres":
        return settings_for(tmp_path, request.getfixturevalue("pg_url"), **overrides)
    return make_settings(tmp_path, **overrides)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{SQLITE_ONLY}(reason): a test of what only SQLite has (its files, "
        "PRAGMAs, its backup); it runs on the SQLite backend alone")


def on_postgres(item: pytest.Item) -> bool:
    """The test is the PostgreSQL run of a doubled test."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("backend") == "postgres"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL runs of SQLite-only tests are not collected at all."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker(SQLITE_ONLY)
        if marker is not None and not (marker.args or marker.kwargs.get("reason")):
            raise pytest.UsageError(f"{item.nodeid}: sqlite_only needs a reason")
        (dropped if marker is not None and on_postgres(item) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
