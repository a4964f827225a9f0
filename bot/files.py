"""Files the service hands to people (exports, reports): written whole, mode 0600, never
over an existing file unless asked."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_private(path: Path, data: bytes, *, force: bool) -> None:
    """Write `data` to `path` with mode 0600.

    Without `force` an existing file is refused (FileExistsError, nothing written); with
    it the file is replaced whole through a temporary file beside it, so a reader never
    sees half of it. OSError for a path that cannot be written.
    """
    if not force:
        _fill(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), path, data)
        return
    temporary = path.with_name(f".{path.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    _fill(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), temporary, data)
    os.replace(temporary, path)


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
