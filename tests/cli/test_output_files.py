"""Files the command line writes (`sar`, `ropa`, `report`, `backup`) where they cannot
be: one line on stderr, exit 1, and nothing left behind (no hidden `.partial` copy of
an export beside the target, no half-written backup)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import bot.files
import bot.storage.sqlite
from tests.cli.test_records import Records, trail
from tests.conftest import make_settings
from tests.e2e.retention_files import upn

# Each writer, with the arguments that send its output to a path given after --out.
WRITERS = {
    "sar": ["sar", upn(1)],
    "ropa": ["ropa"],
    "report": ["report", "school", "100001"],
}


@pytest.fixture
def records(tmp_path: Path) -> Records:
    return Records(make_settings(tmp_path))


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("force", [False, True])
def test_a_folder_given_as_the_file_is_refused_and_nothing_is_left(
        records: Records, tmp_path: Path, writer: str, force: bool) -> None:
    folder = tmp_path / "outdir"
    folder.mkdir()
    before = names_in(tmp_path)

    result = records(*WRITERS[writer], "--out", str(folder), *(["--force"] if force else []))

    assert result.code == 1 and result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith(f"{folder} is a folder; ")
    assert names_in(tmp_path) == before  # no .outdir.partial holding the export
    assert folder.is_dir() and names_in(folder) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_a_failed_replace_leaves_the_old_file_and_no_hidden_copy(
        records: Records, tmp_path: Path, writer: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "mine.out"
    out.write_text("earlier")
    before = names_in(tmp_path)

    def replace(source: object, target: object) -> None:
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(target))
    monkeypatch.setattr(bot.files.os, "replace", replace)
    result = records(*WRITERS[writer], "--out", str(out), "--force")

    assert (result.code, result.out) == (1, "")
    assert result.err == f"cannot write {out}: {os.strerror(errno.EBUSY)}\n"
    assert out.read_text() == "earlier"
    assert names_in(tmp_path) == before


@pytest.fixture
def read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that cannot be written, as a read-only mount (the tests run as root,
    so a mode cannot stand in for it): creating a file there fails with EROFS."""
    folder = tmp_path / "mnt"
    folder.mkdir()
    real_open = os.open

    def guarded_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if Path(os.fsdecode(path)).parent == folder and flags & os.O_CREAT:  # type: ignore[arg-type]
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))  # type: ignore[arg-type]
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(os, "open", guarded_open)
    return folder


@pytest.mark.parametrize("writer", [*WRITERS, "backup"])
def test_a_read_only_folder_is_one_line_and_exit_1(
        records: Records, read_only: Path, writer: str) -> None:
    out = read_only / "x.out"
    argv = ["backup"] if writer == "backup" else WRITERS[writer]
    before = trail(records)

    result = records(*argv, "--out", str(out))

    assert (result.code, result.out) == (1, "")
    assert result.err == f"cannot write {out}: Read-only file system\n"
    assert names_in(read_only) == []
    # Nothing was recorded or audited for an export that was never written.
    assert trail(records) == before


def test_a_backup_that_fails_midway_leaves_no_half_copy(
        records: Records, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "backup.sqlite3"

    real_connector = bot.storage.sqlite._connector

    def connector(path: Path, key: str | None):  # type: ignore[no-untyped-def]
        make = real_connector(path, key)
        if path != out:
            return make

        def full():  # type: ignore[no-untyped-def]
            conn = make()
            conn.execute("PRAGMA max_page_count = 1")  # the disk is full after one page
            return conn
        return full
    monkeypatch.setattr(bot.storage.sqlite, "_connector", connector)

    result = records("backup", "--out", str(out))

    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"cannot write {out}: ") and result.err.count("\n") == 1
    assert not out.exists()
    assert not out.with_name(out.name + "-journal").exists()
    assert "backup" not in records("audit", "show").out


@pytest.mark.parametrize("writer", [*WRITERS, "backup"])
def test_a_file_name_too_long_is_one_line(records: Records, tmp_path: Path,
                                          writer: str) -> None:
    out = tmp_path / ("x" * 300)
    argv = ["backup"] if writer == "backup" else WRITERS[writer]

    result = records(*argv, "--out", str(out))

    assert (result.code, result.out) == (1, "")
    assert result.err == f"cannot write {out}: {os.strerror(errno.ENAMETOOLONG)}\n"
