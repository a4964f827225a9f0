"""The files beside the database: the audit key, the PIN pepper, and the private modes
every database file and folder must keep (as ssh's strict modes)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from bot.files import os_reason
from bot.settings import OpenToOthers, Settings, read_private_file
from bot.storage.base import DatabaseError


def create_private_file(path: Path) -> None:
    """Create the data folder 0700 and an empty file 0600 before SQLite does (umask);
    DatabaseError (one line) when the path cannot be made."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError as exc:
        if exc.filename == str(path):
            return  # another process made it meanwhile
        raise DatabaseError(f"cannot create the database {path}: "
                            f"{exc.filename} is not a folder") from None
    except OSError as exc:
        raise DatabaseError(f"cannot create the database {path}: "
                            f"{os_reason(exc)}") from None


def load_audit_key(settings: Settings, *, create: bool = True) -> bytes:
    """The audit chain's key: EWO_AUDIT_KEY (or the file EWO_AUDIT_KEY_FILE names, read
    into it with the settings), else a key generated once into a 0600 file beside the
    database (when `create`)."""
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode()
    return _key_file(settings.audit_key_path, create=create)


def load_pepper(settings: Settings, *, create: bool = True) -> bytes:
    """The PIN pepper: EWO_PIN_PEPPER (or the file EWO_PIN_PEPPER_FILE names, read into it
    with the settings), else one generated once into a 0600 file beside the database
    (when `create`)."""
    if settings.pin_pepper is not None:
        return settings.pin_pepper.get_secret_value().encode()
    return _key_file(settings.pepper_path, create=create)


def check_private_files(path: Path) -> None:
    """Refuse a database whose folder group or others can write, or whose file (or -wal,
    -shm) they can read or write, as ssh's strict modes do: never used silently."""
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise DatabaseError(f"{path} is {kind}, not a database file: check EWO_DATABASE")
    folder = path.parent
    if folder.is_dir() and folder.stat().st_mode & 0o022:
        raise DatabaseError(f"refused: the data folder {folder} can be written by group or "
                            f"others (mode {_mode(folder)}); chmod 700 it")
    for file in (path, *(path.with_name(path.name + tail) for tail in ("-wal", "-shm"))):
        if file.exists() and file.stat().st_mode & 0o077:
            raise DatabaseError(f"refused: {file} is open to group or others "
                                f"(mode {_mode(file)}); chmod 600 it")


def _mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def _key_file(path: Path, *, create: bool) -> bytes:
    """A key read from a private, non-empty file beside the database, made when missing
    (and `create`)."""
    try:
        value = read_private_file(path).strip()
    except FileNotFoundError:
        if not create:
            raise DatabaseError(f"no key file {path}: the database's keys are kept there "
                                "(`ewobot init` creates it)") from None
        return _generate_key_file(path)
    except OpenToOthers as refused:
        raise DatabaseError(f"refused: key file {path} can be read by group or others "
                            f"(mode {refused.mode:04o}); chmod 600 it") from None
    except OSError as exc:  # a folder, or a file it may not read
        raise DatabaseError(f"cannot read key file {path}: "
                            f"{os_reason(exc)}") from None
    if not value:
        raise DatabaseError(f"refused: key file {path} is empty")
    return value


def _generate_key_file(path: Path) -> bytes:
    """A new random key in a 0600 file, which appears whole or not at all (a process
    starting meanwhile never reads it empty)."""
    value = secrets.token_hex(32).encode()
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(value)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(draft, path)
            except FileExistsError:  # another process made it first: theirs is the key
                return _key_file(path, create=False)
        finally:
            draft.unlink()
    except OSError as exc:
        raise DatabaseError(f"cannot create the key file {path}: "
                            f"{os_reason(exc)}") from None
    return value
