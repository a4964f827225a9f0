"""Key files and database files open to others are refused, never used silently; a
database that only reads is never created."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from bot.storage.db import Database, DatabaseError, load_audit_key, load_pepper
from tests.conftest import make_settings

PEPPER = "p" * 43


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def make_database(settings: Settings) -> None:
    await (await Database.open(settings)).close()


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604, 0o666])
async def test_a_key_file_others_can_read_is_refused_by_name(tmp_path: Path, loose: int) -> None:
    settings = make_settings(tmp_path, audit_key=None)
    await make_database(settings)
    settings.audit_key_path.chmod(loose)
    with pytest.raises(DatabaseError) as refused:
        await Database.open(settings)
    assert str(refused.value) == (f"refused: key file {settings.audit_key_path} can be read "
                                  f"by group or others (mode {loose:04o}); chmod 600 it")


@pytest.mark.parametrize("content", [b"", b"  \n"])
def test_an_empty_key_file_is_refused_not_taken_as_an_empty_key(tmp_path: Path,
                                                                 content: bytes) -> None:
    settings = make_settings(tmp_path)
    settings.database.parent.mkdir(mode=0o700)
    settings.pepper_path.write_bytes(content)
    settings.pepper_path.chmod(0o600)
    with pytest.raises(DatabaseError, match=r"^refused: key file .*\.pepper is empty$"):
        load_pepper(settings)


def test_keys_from_settings_need_no_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, pin_pepper=PEPPER, audit_key="from-settings")
    assert load_pepper(settings) == PEPPER.encode()
    assert load_audit_key(settings) == b"from-settings"
    assert not settings.database.parent.exists()


def test_keys_from_named_files(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "credentials"
    secrets_dir.mkdir(mode=0o700)
    for name, text in (("pepper", PEPPER), ("audit", "audit-from-file")):
        (secrets_dir / name).write_text(text + "\n")
        (secrets_dir / name).chmod(0o400)
    settings = make_settings(tmp_path, audit_key=None, pin_pepper_file=secrets_dir / "pepper",
                             audit_key_file=secrets_dir / "audit")
    assert load_pepper(settings) == PEPPER.encode()
    assert load_audit_key(settings) == b"audit-from-file"
    assert not settings.database.with_name("ewo.sqlite3.pepper").exists()


def test_a_byte_order_mark_is_not_part_of_a_key_file(tmp_path: Path) -> None:
    """A key saved by an editor that writes a mark is the same key as in the settings."""
    secrets_dir = tmp_path / "credentials"
    secrets_dir.mkdir(mode=0o700)
    for name, text in (("pepper", PEPPER), ("audit", "audit-from-file")):
        (secrets_dir / name).write_bytes(b"\xef\xbb\xbf" + text.encode() + b"\r\n")
        (secrets_dir / name).chmod(0o600)
    from_files = make_settings(tmp_path, audit_key=None, pin_pepper_file=secrets_dir / "pepper",
                               audit_key_file=secrets_dir / "audit")
    from_settings = make_settings(tmp_path, pin_pepper=PEPPER, audit_key="audit-from-file")
    assert load_pepper(from_files) == load_pepper(from_settings) == PEPPER.encode()
    assert load_audit_key(from_files) == load_audit_key(from_settings) == b"audit-from-file"


def test_an_audit_key_with_surrounding_whitespace_is_the_same_key_as_its_file(
        tmp_path: Path) -> None:
    """As the pepper is: the setting's surrounding whitespace is not the key's."""
    key = tmp_path / "audit"
    key.write_text("audit-from-file\n")
    key.chmod(0o600)
    from_file = make_settings(tmp_path, audit_key=None, audit_key_file=key)
    from_setting = make_settings(tmp_path, audit_key=" audit-from-file\n")
    assert load_audit_key(from_file) == load_audit_key(from_setting) == b"audit-from-file"


async def test_the_generated_keys_may_be_given_as_files(tmp_path: Path) -> None:
    """Moving to PostgreSQL, the README says to give the SQLite service's generated
    `<database>.pepper` and `<database>.audit-key`: they pass the settings' rules."""
    generated = make_settings(tmp_path, audit_key=None)
    await make_database(generated)
    pepper = load_pepper(generated)
    named = make_settings(tmp_path, audit_key=None, pin_pepper_file=generated.pepper_path,
                          audit_key_file=generated.audit_key_path)
    assert load_pepper(named) == pepper
    assert load_audit_key(named) == load_audit_key(generated)


def test_a_key_file_holding_only_a_byte_order_mark_is_empty(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.database.parent.mkdir(mode=0o700)
    settings.pepper_path.write_bytes(b"\xef\xbb\xbf\n")
    settings.pepper_path.chmod(0o600)
    with pytest.raises(DatabaseError, match=r"^refused: key file .*\.pepper is empty$"):
        load_pepper(settings)


def test_a_named_key_file_that_is_missing_is_never_generated(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "pepper"
    with pytest.raises(SettingsError, match=f"^EWO_PIN_PEPPER_FILE: no such file {missing}$"):
        make_settings(tmp_path, pin_pepper_file=missing)
    assert not missing.parent.exists()


def test_a_generated_key_file_is_private_and_kept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = load_pepper(settings)
    assert len(first) == 64 and mode(settings.pepper_path) == 0o600
    assert load_pepper(settings) == first
    assert [p.name for p in settings.pepper_path.parent.iterdir()] == ["ewo.sqlite3.pepper"]


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
async def test_a_database_file_open_to_others_is_refused(tmp_path: Path, suffix: str) -> None:
    settings = make_settings(tmp_path)
    await make_database(settings)
    loose = settings.database.with_name(settings.database.name + suffix)
    loose.touch()
    loose.chmod(0o666)
    with pytest.raises(DatabaseError) as refused:
        await Database.open(settings)
    assert str(refused.value) == (f"refused: {loose} is open to group or others (mode 0666); "
                                  "chmod 600 it")


async def test_a_data_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    await make_database(settings)
    os.chmod(settings.database.parent, 0o777)
    with pytest.raises(DatabaseError, match=r"^refused: the data folder .* can be written by "
                                            r"group or others \(mode 0777\); chmod 700 it$"):
        await Database.open(settings)
    assert mode(settings.database) == 0o600


async def test_opening_to_read_only_never_creates_a_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, audit_key=None)
    with pytest.raises(DatabaseError, match="^no database at .*ewo.sqlite3: check EWO_DATABASE"):
        await Database.open(settings, create=False)
    assert not settings.database.parent.exists()


async def test_opening_to_read_only_never_generates_the_audit_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, audit_key=None)
    await make_database(settings)
    settings.audit_key_path.unlink()
    with pytest.raises(DatabaseError, match="^no key file .*audit-key"):
        await Database.open(settings, create=False)
    assert not settings.audit_key_path.exists()
