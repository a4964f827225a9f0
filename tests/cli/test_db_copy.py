"""`ewobot db copy --to URL`: a demo service (synthetic data, enrolled officers, an audit
trail) copied into an empty PostgreSQL database, row for row, and still working there."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.cli import db_copy
from bot.clock import Clock
from bot.demo import build_service, demo_settings
from bot.settings import DatabaseUrl, Settings
from tests.cli.conftest import Cli
from tests.conftest import make_settings
from tests.pg import PASSWORD, Cluster


@pytest.fixture
async def service(tmp_path: Path) -> Settings:
    """A small demo service on SQLite, closed: what `db copy` reads."""
    folder = tmp_path / "service"
    folder.mkdir(mode=0o700)
    settings = demo_settings(make_settings(tmp_path), folder)
    demo = await build_service(settings, folder, Clock(settings.timezone), pupils=40,
                               schools=2)
    await demo.db.close()
    return settings


@pytest.fixture
def copy_cli(tmp_path: Path, service: Settings) -> Cli:
    cli = Cli(tmp_path)
    cli.settings = service
    return cli


def tables_of(url: str) -> dict[str, list[str]]:
    """The PostgreSQL schema's tables and their columns (the schema version aside)."""
    with psycopg.connect(url) as raw:
        rows = raw.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
            " ORDER BY table_name, ordinal_position").fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def fingerprint(rows: list[tuple[Any, ...]]) -> tuple[int, str]:
    """(count, a checksum of the rows in a stable order)."""
    digest = hashlib.sha256()
    for row in sorted(repr(tuple(row)) for row in rows):
        digest.update(row.encode())
    return len(rows), digest.hexdigest()


def source_prints(path: Path, tables: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    raw = sqlite3.connect(path)
    try:
        return {table: fingerprint(raw.execute(
            f"SELECT {', '.join(columns)} FROM {table}").fetchall())
            for table, columns in tables.items()}
    finally:
        raw.close()


def target_prints(url: str, tables: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    with psycopg.connect(url) as raw:
        return {table: fingerprint(raw.execute(
            f"SELECT {', '.join(columns)} FROM {table}").fetchall())
            for table, columns in tables.items()}


def on_postgres(cli: Cli, url: str) -> Cli:
    """The same service's command line, now on the copy."""
    moved = Cli(Path(cli.settings.database).parent)
    moved.settings = cli.settings.model_copy(update={"database_url": DatabaseUrl(url)})
    return moved


def test_every_row_is_copied_ids_and_audit_chain_intact(
        copy_cli: Cli, pg_empty_url: str, service: Settings) -> None:
    # An officer moved to a supervisor added after them: a row referring to a later one.
    assert copy_cli("officers", "add", "SUP9", "--name", "Late Supervisor",
                    "--role", "supervisor").code == 0
    with sqlite3.connect(service.database) as raw:
        raw.execute("UPDATE officers SET supervisor_id = (SELECT id FROM officers"
                    " WHERE ref = 'SUP9') WHERE id = (SELECT min(id) FROM officers"
                    " WHERE role = 'officer')")
    raw.close()
    with sqlite3.connect(service.database) as raw:
        entries_before = raw.execute("SELECT count(*) FROM audit").fetchone()[0]
    raw.close()
    result = copy_cli("db", "copy", "--to", pg_empty_url)
    assert result.code == 0, result.err
    assert "audit verify on the copy: OK" in result.out
    assert PASSWORD not in result.out + result.err
    assert "ewo_service:***@" in result.out
    # The copy is audited (every record left for another database), in the source and
    # so in the copy: its last entry, naming the target without its password.
    with sqlite3.connect(service.database) as raw:
        last = raw.execute("SELECT seq, action, reason, actor, detail FROM audit"
                           " ORDER BY seq DESC LIMIT 1").fetchone()
    raw.close()
    assert last[0] == entries_before + 1
    assert last[1:3] == ("db_copy", "admin_command") and last[3].startswith("os:")
    assert "ewo_service:***@" in last[4] and PASSWORD not in last[4]
    with psycopg.connect(pg_empty_url) as copied:
        assert copied.execute("SELECT seq, action FROM audit ORDER BY seq DESC LIMIT 1"
                              ).fetchone() == (last[0], "db_copy")

    tables = tables_of(pg_empty_url)
    expected = source_prints(service.database, tables)
    # The service really had rows to copy, the audit trail among them.
    assert expected["audit"][0] > 3 and expected["marks"][0] > 1000
    assert expected["officers"][0] > 1 and expected["pupils"][0] >= 40
    assert target_prints(pg_empty_url, tables) == expected

    moved = on_postgres(copy_cli, pg_empty_url)
    verified = moved("audit", "verify")
    assert verified.code == 0 and verified.out.startswith("OK "), verified.err
    # The next officer gets an id past every copied one, and the chain goes on.
    with sqlite3.connect(service.database) as raw:
        last_officer = raw.execute("SELECT max(id) FROM officers").fetchone()[0]
    added = moved("officers", "add", "NEW1", "--name", "New Officer", "--role", "officer")
    assert added.code == 0, added.err
    with psycopg.connect(pg_empty_url) as raw:
        new_id = raw.execute("SELECT id FROM officers WHERE ref = 'NEW1'").fetchone()[0]
    assert new_id == last_officer + 1
    assert moved("audit", "verify").code == 0


def test_a_target_that_holds_rows_is_refused_with_one_line(
        copy_cli: Cli, pg_empty_url: str) -> None:
    assert copy_cli("db", "copy", "--to", pg_empty_url).code == 0
    tables = tables_of(pg_empty_url)
    before = target_prints(pg_empty_url, tables)

    again = copy_cli("db", "copy", "--to", pg_empty_url)
    assert again.code == 1
    assert again.err.count("\n") == 1 and again.err.startswith("refused: ")
    assert "is not empty" in again.err and PASSWORD not in again.err
    assert target_prints(pg_empty_url, tables) == before


def test_a_migrated_but_empty_target_is_accepted(
        copy_cli: Cli, pg_url: str, service: Settings) -> None:
    """`ewobot init` run on the new database first: its tables are there, still empty."""
    result = copy_cli("db", "copy", "--to", pg_url)
    assert result.code == 0, result.err
    assert "audit verify on the copy: OK" in result.out
    tables = tables_of(pg_url)
    assert target_prints(pg_url, tables) == source_prints(service.database, tables)


def test_a_bad_url_is_one_line_and_the_password_never_shows(
        copy_cli: Cli, pg_cluster: Cluster) -> None:
    bad = copy_cli("db", "copy", "--to", f"mysql://ewo:{PASSWORD}@127.0.0.1/ewo")
    assert (bad.code, bad.err) == (1, db_copy.URL_SHAPE + "\n")
    wrong = copy_cli("db", "copy", "--to", pg_cluster.url("postgres", "not-the-password"))
    assert wrong.code == 1 and wrong.err.count("\n") == 1, wrong.err
    assert "not-the-password" not in wrong.err and "cannot connect" in wrong.err
    closed = copy_cli("db", "copy", "--to",
                      f"postgresql://ewo:{PASSWORD}@127.0.0.1:1/ewo?connect_timeout=2")
    assert closed.code == 1 and closed.err.count("\n") == 1, closed.err
    assert PASSWORD not in closed.err


def test_a_service_already_on_postgresql_is_not_a_source(
        copy_cli: Cli, pg_url: str, pg_empty_url: str) -> None:
    moved = on_postgres(copy_cli, pg_url)
    result = moved("db", "copy", "--to", pg_empty_url)
    assert result.code == 1 and "unset EWO_DATABASE_URL" in result.err


@pytest.mark.parametrize("query", ["bogus=1", "password=query-canary-55%ZZ"])
def test_a_url_libpq_cannot_read_is_one_line_and_no_password_shows(
        copy_cli: Cli, query: str) -> None:
    """A URL with a password in both places and a bad %-escape in the second: libpq's
    message quotes the escape, which neither password may show in."""
    result = copy_cli("db", "copy", "--to", f"postgresql://ewo:{PASSWORD}@127.0.0.1:1/ewo?{query}")
    assert (result.code, result.out) == (1, "")
    assert result.err.count("\n") == 1, result.err
    assert PASSWORD not in result.err and "query-canary-55" not in result.err


def test_a_disposed_pupils_id_is_not_given_again_on_the_copy(
        copy_cli: Cli, pg_empty_url: str, service: Settings) -> None:
    """SQLite never gives a disposed pupil's id again (AUTOINCREMENT), so the audit
    entries naming `pupil:<id>` stay that pupil's: the copy's sequence starts past it,
    not past the largest id still held."""
    with sqlite3.connect(service.database) as raw:
        raw.execute("INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
                    " search_last, date_of_birth, year_group, school_urn, first_imported,"
                    " last_imported) SELECT 'Z999999999999', 'GONE-1', 'Gone', 'Pupil',"
                    " 'gone', 'pupil', date_of_birth, year_group, school_urn, first_imported,"
                    " last_imported FROM pupils LIMIT 1")
        disposed = raw.execute("SELECT max(id) FROM pupils").fetchone()[0]
        raw.execute("DELETE FROM pupils WHERE id = ?", (disposed,))
    raw.close()
    assert copy_cli("db", "copy", "--to", pg_empty_url).code == 0
    with psycopg.connect(pg_empty_url) as raw:
        new_id = raw.execute(
            "INSERT INTO pupils (upn, case_ref, first_name, last_name, search_first,"
            " search_last, date_of_birth, year_group, school_urn, first_imported,"
            " last_imported) SELECT 'Z888888888888', 'NEW-1', 'New', 'Pupil', 'new',"
            " 'pupil', date_of_birth, year_group, school_urn, first_imported,"
            " last_imported FROM pupils LIMIT 1 RETURNING id").fetchone()[0]
    assert new_id > disposed
