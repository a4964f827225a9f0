"""`ewobot init` leaves every key file a running bot needs, private, beside the database;
key files and database files open to others stop a command with one line."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.cli.conftest import Cli
from tests.conftest import make_settings


def test_init_creates_the_pepper_and_audit_key_files(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.settings = make_settings(tmp_path, audit_key=None)
    assert cli("init").code == 0
    for path in (cli.settings.pepper_path, cli.settings.audit_key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(path.read_bytes()) == 64


def test_a_loose_key_file_stops_a_command_in_one_line(cli: Cli) -> None:
    assert cli("init").code == 0
    cli.settings.pepper_path.chmod(0o644)
    result = cli("officers", "list")  # a command that never uses the pepper stops too
    assert result.code == 1
    assert result.err == (f"refused: key file {cli.settings.pepper_path} can be read by group "
                          "or others (mode 0644); chmod 600 it\n")


def test_a_loose_database_stops_a_command_in_one_line(cli: Cli) -> None:
    assert cli("init").code == 0
    cli.settings.database.chmod(0o666)
    result = cli("audit", "verify")
    assert result.code == 1
    assert result.err == (f"refused: {cli.settings.database} is open to group or others "
                          "(mode 0666); chmod 600 it\n")


def test_init_with_the_keys_given_as_files_generates_none(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    folder.mkdir(mode=0o700)
    for name in ("pepper", "audit-key"):
        (folder / name).write_text("k" * 43 + "\n")
        (folder / name).chmod(0o400)
    cli = Cli(tmp_path)
    cli.settings = make_settings(tmp_path, audit_key=None, pin_pepper_file=folder / "pepper",
                                 audit_key_file=folder / "audit-key")
    assert cli("init").code == 0
    assert sorted(p.name for p in cli.settings.database.parent.iterdir()) == ["ewo.sqlite3"]
