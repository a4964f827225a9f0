"""The PostgreSQL backend on a throwaway cluster: transactions, rows, ids, locks, retries,
and a password that never shows."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.settings import DatabaseUrl, SettingsError
from bot.storage import audit
from bot.storage.db import Conn, Database, DatabaseBusy, DatabaseError, one_statement
from bot.storage.postgres import DatabaseUnavailable, PgConn, PostgresDatabase, connection_info
from tests.pg import PASSWORD, Cluster, settings_for

NOW = "2026-01-05T09:00:00+00:00"


async def add_school(conn: PgConn, urn: str = "100001") -> None:
    await conn.execute("INSERT INTO schools (urn, name) VALUES (?, ?)", (urn, "Oak Primary"))


async def add_pupil(conn: PgConn, upn: str, last: str = "Smith") -> int:
    return await conn.insert(
        "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first, search_last,"
        " date_of_birth, year_group, school_urn, first_imported, last_imported)"
        " VALUES (?, ?, 'Ada', ?, 'ada', ?, '2015-03-01', '5', '100001', ?, ?)",
        (upn, f"C-{upn}", last, last.lower(), NOW, NOW))


async def count(conn: PgConn, table: str) -> int:
    return int(await conn.fetchval(f"SELECT COUNT(*) FROM {table}"))


async def test_write_commits_and_read_sees_it_with_arguments_passed_on(
        pg_db: PostgresDatabase) -> None:
    await pg_db.write(add_school)
    first = await pg_db.write(add_pupil, "A1", last="Jones")
    assert await pg_db.read(count, "pupils") == 1
    row = await pg_db.read(lambda conn: conn.fetchone(
        "SELECT id, last_name FROM pupils WHERE upn = :upn", {"upn": "A1"}))
    assert (row["id"], row["last_name"]) == (first, "Jones")


async def test_an_error_rolls_the_whole_write_back(pg_db: PostgresDatabase) -> None:
    async def half_then_fail(conn: PgConn) -> None:
        await add_school(conn)
        await add_pupil(conn, "A1")
        raise LookupError("stop")

    with pytest.raises(LookupError, match="stop"):
        await pg_db.write(half_then_fail)
    assert await pg_db.read(count, "schools") == 0
    # A failed statement rolls back too, and the pool's connection stays usable.
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        await pg_db.write(add_pupil, "A1")
    assert await pg_db.read(count, "pupils") == 0


async def test_errors_carry_no_row_values(pg_db: PostgresDatabase) -> None:
    await pg_db.write(add_school)
    await pg_db.write(add_pupil, "A1", last="Canaryson")
    with pytest.raises(psycopg.errors.UniqueViolation) as twice:
        await pg_db.write(add_pupil, "A1", last="Canaryson")
    with pytest.raises(psycopg.errors.CheckViolation) as unchecked:
        await pg_db.write(lambda conn: conn.execute("UPDATE pupils SET sen = 'Q'"))
    for caught in (twice, unchecked):
        assert "A1" not in str(caught.value) and "Canaryson" not in str(caught.value)
    assert twice.value.diag.message_detail is not None  # still there for code


async def test_reads_cannot_write(pg_db: PostgresDatabase) -> None:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        await pg_db.read(add_school)

    async def writable(conn: PgConn) -> tuple[bool, str]:
        return conn.writable, conn.dialect

    assert await pg_db.read(writable) == (False, "postgres")
    assert await pg_db.write(writable) == (True, "postgres")


async def test_a_read_is_one_snapshot(pg_db: PostgresDatabase) -> None:
    read_once, written = asyncio.Event(), asyncio.Event()

    async def twice(conn: PgConn) -> tuple[int, int]:
        before = await count(conn, "schools")
        read_once.set()
        await written.wait()
        return before, await count(conn, "schools")

    reading = asyncio.create_task(pg_db.read(twice))
    await read_once.wait()
    await pg_db.write(add_school)
    written.set()
    assert await reading == (0, 0)
    assert await pg_db.read(count, "schools") == 1


@one_statement
async def alone_in_its_transaction(conn: PgConn) -> bool:
    """True when the statement is the first of its transaction: no BEGIN before it."""
    return bool(await conn.fetchval("SELECT statement_timestamp() = transaction_timestamp()"))


async def test_a_one_statement_read_runs_with_no_transaction_around_it(
        pg_db: PostgresDatabase) -> None:
    assert await pg_db.read(alone_in_its_transaction)
    before = pg_db.counter.count
    await pg_db.read(alone_in_its_transaction)
    assert pg_db.counter.count == before + 1


async def test_a_one_statement_read_refuses_a_second_statement_or_a_write(
        pg_db: PostgresDatabase) -> None:
    @one_statement
    async def twice(conn: PgConn) -> None:
        await count(conn, "schools")
        await count(conn, "schools")

    @one_statement
    async def writes(conn: PgConn) -> None:
        await add_school(conn)

    @one_statement
    async def locks(conn: PgConn) -> None:
        await conn.lock("name")
        await count(conn, "schools")

    for fn in (twice, writes, locks):
        with pytest.raises(RuntimeError, match="one SELECT and nothing else"):
            await pg_db.read(fn)
    assert await pg_db.read(count, "schools") == 0
    # The connections went back to the pool in a usable state.
    assert await pg_db.read(alone_in_its_transaction)


def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """From now on, each round trip to the server: the first word of each statement it
    carried (a pipeline is one trip; a statement outside one, a trip of its own)."""
    trips: list[list[str]] = []
    pipeline, execute = psycopg.AsyncConnection.pipeline, psycopg.AsyncConnection.execute

    def counted_pipeline(raw: psycopg.AsyncConnection[Any]) -> Any:
        trips.append([])
        return pipeline(raw)

    async def counted_execute(raw: psycopg.AsyncConnection[Any], sql: Any,
                              params: Any = None, **kwargs: Any) -> Any:
        if raw._pipeline is None:  # noqa: SLF001 - outside a pipeline: a trip of its own
            trips.append([])
        trips[-1].append(str(sql).split()[0].upper())
        return await execute(raw, sql, params, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "pipeline", counted_pipeline)
    monkeypatch.setattr(psycopg.AsyncConnection, "execute", counted_execute)
    return trips


async def test_queries_sent_together_go_in_one_round_trip_with_what_waits(
        pg_db: PostgresDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    await pg_db.write(add_school)
    trips = round_trips(monkeypatch)

    async def together(conn: PgConn) -> list[list[Any]]:
        await conn.lock("digest")
        return await conn.fetchall_together(
            ("SELECT urn FROM schools", ()),
            ("SELECT urn FROM schools WHERE urn = ?", ("none",)),
            ("SELECT count(*) FROM schools WHERE name = :name", {"name": "Oak Primary"}))

    rows = await pg_db.read(together)
    monkeypatch.undo()
    assert [[tuple(row) for row in got] for got in rows] == [[("100001",)], [], [(1,)]]
    # BEGIN, the lock and the three queries in one trip; the end of the read after.
    assert trips[0] == ["BEGIN", "SELECT", "SELECT", "SELECT", "SELECT"]
    assert len(trips) <= 2


async def test_an_audit_entry_goes_with_the_commit(
        pg_db: PostgresDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    trips = round_trips(monkeypatch)
    await pg_db.write(audit.append, actor="officer:EWO1", action="view:pupil_card",
                      reason="search", target="pupil:1")
    monkeypatch.undo()
    # BEGIN, the chain's lock and its head in one trip; the entry with the COMMIT.
    assert trips == [["BEGIN", "SELECT", "SELECT"], ["INSERT", "COMMIT"]]
    assert (await pg_db.read(audit.verify)).ok


async def test_rows_sent_with_the_next_are_committed_seen_and_fail_the_whole_write(
        pg_db: PostgresDatabase) -> None:
    async def only_deferred(conn: PgConn, urn: str) -> None:
        await conn.executemany_with_next(
            "INSERT INTO schools (urn, name) VALUES (?, ?)", [(urn, "Oak Primary")])

    await pg_db.write(only_deferred, "100001")  # nothing else sent: still committed
    assert await pg_db.read(count, "schools") == 1

    async def then_read(conn: PgConn) -> int:
        await only_deferred(conn, "100002")
        return await count(conn, "schools")  # sent after them, in the same trip

    assert await pg_db.write(then_read) == 2

    async def twice(conn: PgConn) -> None:
        await only_deferred(conn, "100003")
        await only_deferred(conn, "100001")  # already there: fails at the COMMIT

    with pytest.raises(psycopg.errors.UniqueViolation):
        await pg_db.write(twice)
    assert await pg_db.read(count, "schools") == 2  # 100003 went with it
    assert await pg_db.read(alone_in_its_transaction)  # the connections are usable


async def test_queries_sent_together_fail_as_any_query_would_and_count_one_statement_each(
        pg_db: PostgresDatabase) -> None:
    async def broken(conn: PgConn) -> Any:
        return await conn.fetchall_together(("SELECT 1", ()), ("SELECT nope FROM schools", ()))

    with pytest.raises(psycopg.errors.UndefinedColumn, match='column "nope" does not exist'):
        await pg_db.read(broken)

    @one_statement
    async def two(conn: PgConn) -> Any:
        return await conn.fetchall_together(("SELECT 1", ()), ("SELECT 2", ()))

    with pytest.raises(RuntimeError, match="one SELECT and nothing else"):
        await pg_db.read(two)
    assert await pg_db.read(alone_in_its_transaction)


async def test_a_read_returns_before_its_transaction_ends_and_close_waits_for_the_end(
        pg_db: PostgresDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    await pg_db.write(add_school)
    sent: list[tuple[str, str]] = []  # (the task that sent it, the statement's first word)
    execute = psycopg.AsyncConnection.execute

    async def noted(raw: psycopg.AsyncConnection[Any], sql: Any, params: Any = None,
                    **kwargs: Any) -> Any:
        task = asyncio.current_task()
        sent.append((task.get_name() if task else "", str(sql).split()[0].upper()))
        return await execute(raw, sql, params, **kwargs)

    async def two_reads(conn: PgConn) -> tuple[int, int]:
        return await count(conn, "schools"), await count(conn, "pupils")

    monkeypatch.setattr(psycopg.AsyncConnection, "execute", noted)
    reader = asyncio.current_task()
    assert reader is not None
    assert await pg_db.read(two_reads) == (1, 0)
    mine = [word for task, word in sent if task == reader.get_name()]
    assert mine == ["BEGIN", "SELECT", "SELECT"]  # no COMMIT waited for
    await pg_db.close()  # waits for the transaction's end
    assert [word for task, word in sent if task != reader.get_name()] == ["COMMIT"]


async def test_a_lock_taken_in_a_read_is_had_by_the_next_write(
        pg_db: PostgresDatabase) -> None:
    async def locked(conn: PgConn) -> int:
        await conn.lock("digest")
        return await count(conn, "schools")

    async def locked_write(conn: PgConn, urn: str) -> None:
        await conn.lock("digest")
        await add_school(conn, urn)

    async with asyncio.timeout(10):
        for n in range(20):  # each read's end comes, so the write after it has the lock
            assert await pg_db.read(locked) == n
            await pg_db.write(locked_write, f"1000{n:02}")
    assert await pg_db.read(count, "schools") == 20


async def test_insert_ids_grow_and_a_deleted_pupils_id_is_never_reused(
        pg_db: PostgresDatabase) -> None:
    await pg_db.write(add_school)
    first = await pg_db.write(add_pupil, "A1")
    second = await pg_db.write(add_pupil, "A2")
    assert second > first > 0
    await pg_db.write(lambda conn: conn.execute("DELETE FROM pupils WHERE id = ?", (second,)))
    assert await pg_db.write(add_pupil, "A3") > second

    async def officer(conn: PgConn) -> int:
        return await conn.insert("INSERT INTO officers (ref, name, role, created_at)"
                                 " VALUES ('EWO1', 'Sam', 'officer', ?) ON CONFLICT DO NOTHING",
                                 (NOW,))
    assert await pg_db.write(officer) > 0
    assert await pg_db.write(officer) == 0  # nothing inserted, no id
    # An INSERT that returns its own column gives that.
    seq = await pg_db.write(lambda conn: conn.insert(
        "INSERT INTO audit (seq, at, actor, action, reason, prev_hash, hash)"
        " VALUES (41, ?, 'system', 'test', 'r', 'p', 'h') RETURNING seq", (NOW,)))
    assert seq == 41


async def test_rows_by_name_and_index_and_changed_counts(pg_db: PostgresDatabase) -> None:
    await pg_db.write(add_school)
    await pg_db.write(add_pupil, "A1")

    async def rename(conn: PgConn) -> int:
        return await conn.execute("UPDATE pupils SET year_group = ? WHERE upn IN (?, ?)",
                                  ("6", "A1", "A9"))
    assert await pg_db.write(rename) == 1
    rows = await pg_db.read(lambda conn: conn.fetchall(
        "SELECT upn, year_group AS yearGroup FROM pupils ORDER BY id"))
    assert [dict(row) for row in rows] == [{"upn": "A1", "yeargroup": "6"}]
    assert rows[0][0] == "A1" and rows[0]["yearGroup"] == "6" and list(rows[0]) == ["A1", "6"]
    assert await pg_db.read(lambda conn: conn.fetchone("SELECT 1 WHERE false")) is None
    assert await pg_db.read(lambda conn: conn.fetchval("SELECT 1 WHERE false")) is None


async def test_percent_signs_and_placeholders_in_literals(pg_db: PostgresDatabase) -> None:
    async def audit_rows(conn: PgConn) -> None:
        await conn.executemany(
            "INSERT INTO audit (seq, at, actor, action, target, reason, prev_hash, hash)"
            " VALUES (?, ?, ?, 'view', ?, 'why?', 'p', 'h')",
            [(1, NOW, "officer:1", "pupil:1"), (2, NOW, "system", "pupil:2")])
    await pg_db.write(audit_rows)
    found = await pg_db.read(lambda conn: conn.fetchall(
        "SELECT seq, reason, 'x%y' AS odd FROM audit WHERE actor LIKE 'officer:%'"))
    assert [tuple(row) for row in found] == [(1, "why?", "x%y")]
    with_params = await pg_db.read(lambda conn: conn.fetchval(
        "SELECT COUNT(*) FROM audit WHERE target LIKE 'pupil:%' AND seq >= ?", (1,)))
    assert with_params == 2


async def test_bigint_telegram_ids_and_sums_come_back_as_int(pg_db: PostgresDatabase) -> None:
    user, chat = 2**52 + 12345, -1001234567890123

    async def officer(conn: PgConn) -> int:
        return await conn.insert(
            "INSERT INTO officers (ref, name, role, telegram_user_id, chat_id, created_at)"
            " VALUES ('EWO1', 'Sam', 'officer', ?, ?, ?)", (user, chat, NOW))
    await pg_db.write(officer)
    row = await pg_db.read(lambda conn: conn.fetchone(
        "SELECT telegram_user_id, chat_id, SUM(telegram_user_id) AS total,"
        " AVG(failed_pins) AS mean FROM officers GROUP BY telegram_user_id, chat_id"))
    assert (row[0], row[1], row["total"]) == (user, chat, user)
    assert type(row["total"]) is int and type(row["mean"]) is float
    # True and False go into the schema's integer flags as 1 and 0.
    flag = await pg_db.read(lambda conn: conn.fetchval("SELECT ? + 0", (True,)))
    assert flag == 1
    # Dates and moments go into the schema's text columns as sqlite3 writes them.
    moment = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    texts = await pg_db.read(lambda conn: conn.fetchone(
        "SELECT ? || '', ? || ''", (date(2026, 1, 5), moment)))
    assert tuple(texts) == ("2026-01-05", "2026-01-05 09:30:00+00:00")


async def test_lock_serialises_two_read_then_write_transactions(
        pg_db: PostgresDatabase, pg_cluster: Cluster) -> None:
    await pg_db.write(lambda conn: conn.execute(
        "INSERT INTO meta (key, value) VALUES ('counter', '0')"))
    first_read, release = asyncio.Event(), asyncio.Event()

    async def bump(conn: PgConn, hold: bool) -> None:
        await conn.lock("audit")
        value = int(await conn.fetchval("SELECT value FROM meta WHERE key = 'counter'"))
        if hold:
            first_read.set()
            await release.wait()
        await conn.execute("UPDATE meta SET value = ? WHERE key = 'counter'", (str(value + 1),))

    first = asyncio.create_task(pg_db.write(bump, True))
    await first_read.wait()
    second = asyncio.create_task(pg_db.write(bump, False))
    # The second writer must be waiting for the lock inside the database, not reading.
    await pg_cluster.lock_waiter("advisory")
    release.set()
    await asyncio.gather(first, second)
    assert await pg_db.read(lambda conn: conn.fetchval(
        "SELECT value FROM meta WHERE key = 'counter'")) == "2"


async def test_many_locked_increments_lose_none(pg_db: PostgresDatabase) -> None:
    await pg_db.write(lambda conn: conn.execute(
        "INSERT INTO meta (key, value) VALUES ('counter', '0')"))

    async def bump(conn: PgConn) -> None:
        await conn.lock("counter")
        value = int(await conn.fetchval("SELECT value FROM meta WHERE key = 'counter'"))
        await conn.execute("UPDATE meta SET value = ? WHERE key = 'counter'", (str(value + 1),))

    await asyncio.gather(*(pg_db.write(bump) for _ in range(40)))
    assert await pg_db.read(lambda conn: conn.fetchval(
        "SELECT value FROM meta WHERE key = 'counter'")) == "40"


async def test_a_deadlock_victim_runs_again(pg_db: PostgresDatabase) -> None:
    await pg_db.write(lambda conn: conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, '0')", [("a",), ("b",)]))
    holding = {"a": asyncio.Event(), "b": asyncio.Event()}
    runs = {"a": 0, "b": 0}

    async def cross(conn: PgConn, mine: str, other: str) -> None:
        runs[mine] += 1
        await conn.execute("UPDATE meta SET value = value || ? WHERE key = ?", (mine, mine))
        holding[mine].set()
        await holding[other].wait()
        await conn.execute("UPDATE meta SET value = value || ? WHERE key = ?", (mine, other))

    await asyncio.gather(pg_db.write(cross, "a", "b"), pg_db.write(cross, "b", "a"))
    assert sorted(runs.values()) == [1, 2]  # one was chosen as the victim and ran again
    values = await pg_db.read(lambda conn: conn.fetchall("SELECT value FROM meta ORDER BY key"))
    assert sorted(len(row[0]) for row in values) == [3, 3]  # each wrote both rows once


async def test_a_lost_connection_before_commit_is_retried_once_applied(
        pg_db: PostgresDatabase, pg_cluster: Cluster) -> None:
    runs = 0

    async def insert_then_lose(conn: PgConn) -> None:
        nonlocal runs
        runs += 1
        await add_school(conn)
        if runs == 1:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await asyncio.to_thread(_terminate, pg_cluster, pid)
        await conn.execute("UPDATE schools SET name = 'Elm' WHERE urn = '100001'")

    await pg_db.write(insert_then_lose)
    assert runs == 2
    assert await pg_db.read(lambda conn: conn.fetchall("SELECT name FROM schools")) == [
        await pg_db.read(lambda conn: conn.fetchone("SELECT 'Elm' AS name"))]


def _terminate(cluster: Cluster, pid: int) -> None:
    with cluster.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


async def test_a_database_that_stays_away_is_a_clear_error_and_nothing_saved(
        pg_db: PostgresDatabase, pg_cluster: Cluster, pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    with pg_cluster.admin() as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE datname = %s", (name,))
    try:
        with pytest.raises(DatabaseUnavailable) as failed:
            await pg_db.write(add_school)
        assert "attempts" in str(failed.value) and "\n" not in str(failed.value)
        assert isinstance(failed.value, DatabaseBusy)  # what the bot says "try again" to
        assert PASSWORD not in str(failed.value)
    finally:
        with pg_cluster.admin() as admin:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    assert await pg_db.read(count, "schools") == 0
    await pg_db.write(add_school)  # and it recovers once the database is back
    assert await pg_db.read(count, "schools") == 1


async def test_a_connection_lost_during_commit_is_never_reported_saved(
        pg_db: PostgresDatabase) -> None:
    class CommitLost:
        """A connection whose COMMIT never comes back."""

        broken = False
        rowcount = 1

        def __init__(self) -> None:
            self.sent: list[str] = []

        def pipeline(self) -> contextlib.AbstractAsyncContextManager[None]:
            return contextlib.nullcontext()  # type: ignore[return-value]

        async def execute(self, sql: str, params: Any = None) -> CommitLost:
            self.sent.append(sql)
            if sql == "COMMIT":
                self.broken = True
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            return self

    async def change(conn: PgConn) -> str:
        await conn.execute("UPDATE schools SET name = name")
        return "saved"

    lost = CommitLost()
    with pytest.raises(DatabaseUnavailable, match="may not have been saved"):
        conn = PgConn(lost, b"key", True, pg_db.counter, "BEGIN")  # type: ignore[arg-type]
        await pg_db._transaction(lost, conn, change)  # type: ignore[arg-type]
    assert lost.sent == ["BEGIN", "UPDATE schools SET name = name", "COMMIT"]


async def test_the_password_never_shows(pg_cluster: Cluster, pg_url: str,
                                        tmp_path: Path) -> None:
    wrong = pg_url.replace(PASSWORD, "not-the-pw-5521")
    with pytest.raises(DatabaseError) as refused:
        await PostgresDatabase.open(settings_for(tmp_path, wrong))
    message = str(refused.value)
    assert "not-the-pw-5521" not in message and "\n" not in message
    assert "password authentication failed" in message and ":***@" in message
    closed = pg_url.replace(f":{pg_cluster.port}/", ":1/")
    with pytest.raises(DatabaseError) as unreachable:
        await PostgresDatabase.open(settings_for(tmp_path, closed))
    assert PASSWORD not in str(unreachable.value)
    settings = settings_for(tmp_path, pg_url)
    database = await PostgresDatabase.open(settings)
    try:
        for text in (repr(database), str(database), repr(settings), str(settings.database_url)):
            assert PASSWORD not in text
    finally:
        await database.close()


def test_the_pepper_file_is_checked_before_open(tmp_path: Path) -> None:
    """Read with the settings, so nothing is opened with a pepper file that is missing."""
    with pytest.raises(SettingsError, match="^EWO_PIN_PEPPER_FILE: no such file"):
        settings_for(tmp_path, "postgresql://ewo@127.0.0.1:1/ewo", pin_pepper=None,
                     pin_pepper_file=tmp_path / "absent")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_settings_for_either_backend(request: pytest.FixtureRequest, tmp_path: Path,
                                     backend: str) -> None:
    from tests.pg import backend_settings
    settings = backend_settings(request, tmp_path, backend)
    assert (settings.database_url is not None) == (backend == "postgres")


async def test_a_lock_may_be_taken_in_a_read(pg_db: PostgresDatabase) -> None:
    async def locked(conn: PgConn) -> int:
        await conn.lock("digest")
        return await count(conn, "schools")
    assert await pg_db.read(locked) == 0


async def test_a_cancelled_write_saves_nothing_and_leaves_the_pool_usable(
        pg_db: PostgresDatabase) -> None:
    inside, never = asyncio.Event(), asyncio.Event()

    async def stuck(conn: PgConn) -> None:
        await add_school(conn)
        inside.set()
        await never.wait()

    writing = asyncio.create_task(pg_db.write(stuck))
    await inside.wait()
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    assert await pg_db.read(count, "schools") == 0
    before = pg_db.counter.count
    await pg_db.write(add_school)
    assert await pg_db.read(count, "schools") == 1
    assert pg_db.counter.count == before + 2  # one statement each, counted


async def test_stream_yields_every_row_by_name_and_is_the_same_interface(
        pg_db: PostgresDatabase) -> None:
    assert isinstance(pg_db, Database)
    await pg_db.write(add_school)
    for upn, last in (("A1", "Jones"), ("A2", "Khan"), ("A3", "Lee")):
        await pg_db.write(add_pupil, upn, last=last)

    async def streamed(conn: Conn) -> list[tuple[str, str]]:
        return [(row["upn"], row[1]) async for row in conn.stream(
            "SELECT upn, last_name FROM pupils WHERE upn <> ? ORDER BY upn", ("A2",))]

    assert await pg_db.read(streamed) == [("A1", "Jones"), ("A3", "Lee")]


async def test_database_open_picks_the_backend_the_settings_name(pg_url: str,
                                                                  tmp_path: Path) -> None:
    on_postgres = await Database.open(settings_for(tmp_path / "pg", pg_url))
    from tests.conftest import make_settings
    on_sqlite = await Database.open(make_settings(tmp_path / "lite"))
    try:
        assert (on_postgres.dialect, on_sqlite.dialect) == ("postgres", "sqlite")
        assert await on_postgres.read(count, "pupils") == 0
    finally:
        await on_postgres.close()
        await on_sqlite.close()


async def test_sessions_keep_one_plan_per_prepared_statement_and_no_parallel_workers(
        pg_db: PostgresDatabase) -> None:
    async def planner(conn: PgConn) -> tuple[str, str]:
        mode = await conn.fetchval("SELECT current_setting('plan_cache_mode')")
        workers = await conn.fetchval(
            "SELECT current_setting('max_parallel_workers_per_gather')")
        return mode, workers
    assert await pg_db.read(planner) == ("force_generic_plan", "0")


def test_a_urls_own_planner_options_win() -> None:
    url = DatabaseUrl("postgresql://ewo@127.0.0.1/ewo?options=-c%20work_mem%3D8MB")
    given = psycopg.conninfo.conninfo_to_dict(connection_info(url))
    assert given["options"] == "-c work_mem=8MB"
