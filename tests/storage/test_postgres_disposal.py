"""Disposal on PostgreSQL leaves no trace of the pupil in the cluster's data directory:
the rows go in one transaction, the tables that held them are rewritten and the
cluster checkpointed; personal columns never reach pg_statistic."""

from __future__ import annotations

import functools
import secrets
from datetime import date
from pathlib import Path

import psycopg
import pytest

from bot.domain.dates import YearEnd
from bot.domain.retention import RetentionPolicy
from bot.domain.text import search_key
from bot.storage import officers as officer_store
from bot.storage.db import Conn
from bot.storage.imports import save_name_tails
from bot.storage.officers import Officer
from bot.storage.postgres import PostgresDatabase
from bot.usecases import retention as retention_use
from tests.pg import ROLE, Cluster
from tests.storage.retention_seed import NOW, Seed

# Unique to this file: other tests' databases share the cluster's data directory. A last
# name of two words: its later word is held on its own too (pupil_name_tails).
FIRST, LAST = "Quillonius", "Vexmarrow-Quindlebeck"
CANARY = f"{FIRST} {LAST}"
WORDS = (FIRST, *LAST.split("-"))  # searched for in the files, in any case
POLICY = RetentionPolicy(date(2026, 11, 25), YearEnd(8, 31), 30)


def traces(cluster: Cluster, *words: str) -> dict[str, int]:
    """Where under the data directory each of `words` appears (any case): file → count.
    The files are the postgres user's; the tests run as root (or as that user)."""
    needles = [word.lower().encode() for word in words]
    found: dict[str, int] = {}
    for path in cluster.data.rglob("*"):
        if not path.is_file():
            continue
        try:
            content = path.read_bytes().lower()
        except OSError:  # a file removed while the folder is walked
            continue
        hits = sum(content.count(needle) for needle in needles)
        if hits:
            found[str(path.relative_to(cluster.data))] = hits
    return found


def run_sql(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as raw:
        raw.execute(sql)


async def seed(db: PostgresDatabase) -> tuple[Officer, int]:
    async def _transaction(conn: Conn) -> tuple[Officer, int]:
        controller = await officer_store.add_officer(
            conn, ref="DPO1", name="Officer DPO1", role="controller", supervisor_ref=None,
            now=NOW)
        officer = await officer_store.add_officer(
            conn, ref="EWO1", name="Officer EWO1", role="officer", supervisor_ref=None,
            now=NOW)
        await conn.execute("INSERT INTO schools (urn, name) VALUES ('100001', 'Hillside')"
                           " ON CONFLICT DO NOTHING")
        pupil = await conn.insert(
            "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
            " search_last, date_of_birth, year_group, school_urn, address, postcode,"
            " first_imported, last_imported) VALUES ('T000000000001', 'C00001', ?, ?, ?,"
            " ?, '2014-03-01', '7', '100001', ?, 'BS1 4AA', '2024-03-01', '2024-03-01')",
            (FIRST, LAST, search_key(FIRST), search_key(LAST), f"1 {LAST} Lane"))
        await save_name_tails(conn, [(pupil, LAST)], fresh=True)
        # A kept pupil, so the tables are not simply empty afterwards.
        await conn.insert(
            "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
            " search_last, date_of_birth, year_group, school_urn, first_imported,"
            " last_imported) VALUES ('T000000000002', 'C00002', 'Ada', 'Kept', 'ada',"
            " 'kept', '2014-03-01', '7', '100001', '2026-09-01', '2026-09-01')")
        # A long note that does not compress: kept out of line, in the TOAST table.
        await conn.execute(
            "INSERT INTO visits (pupil_id, officer_id, visit_date, type, contact, notes,"
            " saved_at) VALUES (?, ?, '2024-05-21', 'home', 'parent', ?, ?)",
            (pupil, officer.id, f"{CANARY} " + secrets.token_urlsafe(6000), NOW.isoformat()))
        return controller, officer, pupil
    controller, officer, pupil = await db.write(_transaction)
    # A row about the pupil in every table that holds one, the name in each free text.
    await Seed(db).full_record(pupil, officer, CANARY)
    return controller, pupil


async def dispose_and_trace(db: PostgresDatabase, cluster: Cluster, url: str,
                            export_dir: Path) -> dict[str, int]:
    """Seed the canary pupil, show the files hold it, dispose of it: where it is left."""
    # The seed starts a fresh WAL segment, so it cannot straddle a segment boundary
    # left wherever earlier tests stopped writing: the checkpoint below would remove
    # a filled segment holding it (wal_recycle off) and the control would miss it.
    with cluster.admin() as admin:
        admin.execute("SELECT pg_switch_wal()")
    controller, pupil = await seed(db)
    # Statistics taken while the pupil is there: its names must not be kept in them.
    run_sql(url, "ANALYZE")
    await db.checkpoint()
    before = traces(cluster, *WORDS)
    # The control: the files held the names before disposal, the notes' TOAST table too,
    # and the later word of the last name in the search's table and its index.
    toast = await db.read(lambda conn: conn.fetchval(
        "SELECT pg_relation_filepath(reltoastrelid) FROM pg_class WHERE relname = 'visits'"))
    assert toast in before, before
    for relation in ("pupil_name_tails", "pupil_name_tails_search"):
        path = await db.read(lambda conn, name=relation: conn.fetchval(
            "SELECT pg_relation_filepath(?)", (name,)))
        assert path in before, (relation, before)
    assert len([name for name in before if name.startswith("base/")]) > 5, before
    assert any(name.startswith("pg_wal/") for name in before), before

    async def statistics_naming(conn: Conn, word: str) -> int:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_stats WHERE most_common_vals::text ILIKE ?"
            " OR histogram_bounds::text ILIKE ?", (f"%{word}%", f"%{word}%")))
    for word in WORDS:
        assert await db.read(statistics_naming, word) == 0, word

    outcome = await retention_use.dispose_records(
        db, controller, POLICY, [pupil], now=NOW, export_dir=export_dir)
    assert (outcome.disposed, outcome.cleaned) == (1, True)
    return traces(cluster, *WORDS)


async def test_a_disposed_pupil_is_not_in_the_data_files(
        pg_db: PostgresDatabase, pg_cluster: Cluster, pg_url: str, tmp_path: Path) -> None:
    """With the role as the README creates it: tables, indexes, TOAST, statistics and
    catalogues are clean; the WAL segment being written may still hold the rows."""
    after = await dispose_and_trace(pg_db, pg_cluster, pg_url, tmp_path)
    assert [name for name in after if not name.startswith("pg_wal/")] == [], after


async def test_with_wal_switching_the_whole_data_directory_is_clean(
        pg_db: PostgresDatabase, pg_cluster: Cluster, pg_url: str, tmp_path: Path) -> None:
    """Granted pg_switch_wal, on a server with wal_recycle off (the README's optional
    settings), the disposal's segment is switched out and removed: nothing anywhere."""
    database = pg_url.rsplit("/", 1)[1]
    with pg_cluster.admin(database) as admin:
        admin.execute(f"GRANT EXECUTE ON FUNCTION pg_switch_wal() TO {ROLE}")
        admin.execute("ALTER SYSTEM SET wal_recycle = off")
        admin.execute("SELECT pg_reload_conf()")
    try:
        after = await dispose_and_trace(pg_db, pg_cluster, pg_url, tmp_path)
    finally:
        with pg_cluster.admin() as admin:
            admin.execute("ALTER SYSTEM RESET wal_recycle")
            admin.execute("SELECT pg_reload_conf()")
    assert after == {}


async def test_scrub_reports_tables_held_by_another_transaction(
        pg_db: PostgresDatabase, pg_url: str) -> None:
    """A table locked by a long transaction: scrub gives up with a DatabaseError (the
    retention job tries again) rather than queue every chat behind it."""
    from bot.storage.db import DatabaseError
    with psycopg.connect(pg_url) as other:
        other.execute("LOCK TABLE contacts IN ACCESS SHARE MODE")
        with pytest.raises(DatabaseError, match="busy"):
            await pg_db.scrub(attempts=2)


@pytest.mark.parametrize("whose", ["the service's role", "a superuser"])
async def test_a_snapshot_older_than_the_disposal_does_not_leave_the_pupil_in_the_files(
        pg_db: PostgresDatabase, pg_cluster: Cluster, pg_url: str, tmp_path: Path,
        whose: str) -> None:
    """A transaction that began before the disposal (a report, a session left open in
    a transaction, a long import) can still see the deleted rows, so VACUUM FULL copies
    them into the new files: the clean-up is not done while it lasts (whoever's it is),
    and is done once it has ended."""
    database = pg_url.rsplit("/", 1)[1]
    connect = (functools.partial(psycopg.connect, pg_url) if whose == "the service's role"
               else functools.partial(pg_cluster.admin, database))
    with connect() as other:
        other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        other.execute("SELECT count(*) FROM schools").fetchone()
        controller, pupil = await seed(pg_db)
        outcome = await retention_use.dispose_records(
            pg_db, controller, POLICY, [pupil], now=NOW, export_dir=tmp_path)
        assert outcome.disposed == 1
        left = [name for name in traces(pg_cluster, *WORDS)
                if not name.startswith("pg_wal/")]
        assert not outcome.cleaned or left == [], left
        other.execute("COMMIT")
    await retention_use.clean_up_after_disposals(pg_db, tmp_path)
    after = traces(pg_cluster, *WORDS)
    assert [name for name in after if not name.startswith("pg_wal/")] == [], after
