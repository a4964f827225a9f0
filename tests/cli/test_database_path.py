"""An EWO_DATABASE that cannot be a database (a folder, a path through a file, a folder
that cannot be written): one line on stderr, exit 1, no traceback, nothing created."""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.storage.db import DatabaseError
from bot.storage.sqlite import _connect
from tests.cli.conftest import Cli
from tests.conftest import make_settings

WRITERS = [["init"], ["officers", "add", "EWO1", "--name", "Ann", "--role", "officer"]]


def use_database(cli: Cli, tmp_path: Path, database: Path) -> None:
    cli.settings = make_settings(tmp_path, database=database, audit_key=None)


@pytest.mark.parametrize("argv", WRITERS)
def test_a_path_through_a_file_is_one_line(cli: Cli, tmp_path: Path, argv: list[str]) -> None:
    pupils = tmp_path / "pupils.csv"
    pupils.write_text("upn\n")
    database = pupils / "ewo.sqlite3"
    use_database(cli, tmp_path, database)

    result = cli(*argv)

    assert (result.code, result.out) == (1, "")
    assert result.err == f"cannot create the database {database}: {pupils} is not a folder\n"
    assert pupils.read_text() == "upn\n"


@pytest.fixture
def read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on a read-only mount (the tests run as root: a mode cannot stand in):
    making anything inside it fails with EROFS."""
    folder = tmp_path / "mnt"
    folder.mkdir()
    real_open, real_mkdir = os.open, os.mkdir

    def refuse(path: object) -> None:
        if folder in Path(os.fsdecode(path)).parents:  # type: ignore[arg-type]
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))  # type: ignore[arg-type]

    def guarded_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_CREAT:
            refuse(path)
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    def guarded_mkdir(path: object, *args: object, **kwargs: object) -> None:
        refuse(path)
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)
    return folder


@pytest.mark.parametrize("argv", WRITERS)
@pytest.mark.parametrize("inside", ["ewo.sqlite3", "new/ewo.sqlite3"])
def test_a_folder_that_cannot_be_written_is_one_line(
        cli: Cli, tmp_path: Path, read_only: Path, argv: list[str], inside: str) -> None:
    database = read_only / inside
    use_database(cli, tmp_path, database)

    result = cli(*argv)

    assert (result.code, result.out) == (1, "")
    assert result.err == f"cannot create the database {database}: Read-only file system\n"
    assert list(read_only.iterdir()) == []


@pytest.mark.parametrize("argv", [*WRITERS, ["audit", "verify"], ["officers", "list"]])
def test_a_folder_named_as_the_database_is_refused_in_one_line(
        cli: Cli, tmp_path: Path, argv: list[str]) -> None:
    folder = tmp_path / "data" / "dir.sqlite3"
    folder.mkdir(mode=0o700, parents=True)
    use_database(cli, tmp_path, folder)

    result = cli(*argv)

    assert (result.code, result.out) == (1, "")
    assert result.err == (f"{folder} is a folder, not a database file: check EWO_DATABASE\n")
    assert list(folder.iterdir()) == [] and sorted(p.name for p in folder.parent.iterdir()) == [
        "dir.sqlite3"]  # no key files beside it


def test_a_key_file_that_is_a_folder_is_one_line(cli: Cli, tmp_path: Path) -> None:
    database = tmp_path / "data" / "ewo.sqlite3"
    use_database(cli, tmp_path, database)
    key = database.with_name(database.name + ".audit-key")
    key.mkdir(mode=0o700, parents=True)

    result = cli("init")

    assert (result.code, result.out) == (1, "")
    assert result.err == f"cannot read key file {key}: Is a directory\n"


def test_a_connection_that_fails_leaves_no_worker_thread() -> None:
    """The aiosqlite thread is ended before the error goes up: left running, it reports
    to the closed event loop later (a thread traceback after the one clean line)."""
    def unopenable() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")
    before = set(threading.enumerate())

    with pytest.raises(DatabaseError, match="unable to open database file"):
        asyncio.run(_connect(unopenable))

    assert set(threading.enumerate()) - before == set()


def beside(database: Path) -> list[str]:
    return sorted(path.name for path in database.parent.iterdir())


@pytest.mark.parametrize("argv", [*WRITERS, ["audit", "verify"]])
@pytest.mark.parametrize("version", [0, 3])
def test_another_applications_database_is_never_adopted(
        cli: Cli, tmp_path: Path, argv: list[str], version: int) -> None:
    other = tmp_path / "bad" / "other.db"
    other.parent.mkdir(mode=0o700)
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE foo (a)")
    raw.execute(f"PRAGMA user_version = {version}")
    raw.commit()
    raw.close()
    other.chmod(0o600)
    use_database(cli, tmp_path, other)

    result = cli(*argv)

    assert (result.code, result.out) == (1, "")
    assert result.err == (f"{other} is an SQLite database of something else, not EWO Bot's:"
                          " check EWO_DATABASE\n")
    raw = sqlite3.connect(other)
    assert [row[0] for row in raw.execute("SELECT name FROM sqlite_master")] == ["foo"]
    raw.close()
    assert beside(other) == ["other.db"]  # no .audit-key or .pepper generated for it


def test_a_file_that_is_not_a_database_gets_no_key_files(cli: Cli, tmp_path: Path) -> None:
    junk = tmp_path / "bad" / "x.sqlite3"
    junk.parent.mkdir(mode=0o700)
    junk.write_text("junk\n")
    junk.chmod(0o600)
    use_database(cli, tmp_path, junk)

    result = cli("init")

    assert (result.code, result.out) == (1, "")
    assert result.err == ("cannot open the database: wrong EWO_DATABASE_KEY, or the file is "
                          "not an EWO database\n")
    assert beside(junk) == ["x.sqlite3"]
