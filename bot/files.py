"""Files the service hands to people (exports, reports): written whole, mode 0600, never
over an existing file unless asked."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path


def write_private(path: Path, data: bytes, *, force: bool) -> None:
    """Write `data` to `path` with mode 0600.

    Without `force` an existing file is refused (FileExistsError, nothing written); with
    it the file is replaced whole through a temporary file beside it, so a reader never
    sees half of it. A folder (IsADirectoryError) or any other thing that is not a
    regular file (OSError) is refused either way, before anything is written. OSError
    for a path that cannot be written; nothing is left behind then, not even the
    temporary file (it holds the whole document).
    """
    _refuse_unless_regular(path)
    if not force:
        _fill(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), path, data)
        return
    temporary = path.with_name(f".{path.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    _fill(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), temporary, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def os_reason(exc: OSError) -> str:
    """Why a file could not be read or written, in the system's words ("Read-only file
    system"), for a one-line error."""
    return exc.strerror or type(exc).__name__


def _refuse_unless_regular(path: Path) -> None:
    """A folder, device or pipe at `path` is never written to nor replaced (`--force`
    over /dev/full or a folder given by mistake)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file", str(path))


def _fill(fd: int, path: Path, data: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
