"""A percentage on stderr while a long import file is read, only when it is a terminal."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """One line redrawn in place (`\\r`) at each whole per cent; silent unless the
    stream is a terminal, so logs and pipes never see it."""

    def __init__(self, label: str, total_bytes: int, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._label = label
        self._total = total_bytes
        self._shown = -1
        self._active = self._is_terminal(self._stream) and total_bytes > 0

    @staticmethod
    def _is_terminal(stream: TextIO | None) -> bool:
        try:
            return stream is not None and stream.isatty()
        except (AttributeError, ValueError):  # no isatty, or already closed
            return False

    def advance_to(self, done_bytes: int) -> None:
        """Redraw when the whole percentage has changed since the last drawing."""
        if not self._active:
            return
        percent = min(100, done_bytes * 100 // self._total)
        if percent != self._shown:
            self._shown = percent
            self._stream.write(f"\r{self._label} {percent} %")
            self._stream.flush()

    def finish(self) -> None:
        """Clear the line, so what is written next starts on a clean line."""
        if self._active and self._shown >= 0:
            width = len(self._label) + 6
            self._stream.write("\r" + " " * width + "\r")
            self._stream.flush()
            self._shown = -1
