"""Chart images for the chat: numbers in, PNG bytes out (no I/O, no display).

matplotlib is imported on first use only (it adds tens of MB to the process) and
drawn with the Agg canvas on a Figure of its own, never through pyplot's global
state; one chart is drawn at a time because matplotlib is not thread-safe.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

WIDTH_PX, HEIGHT_PX = 800, 500
MAX_BARS = 20
_DPI = 100
# Good to severe, then n/a; readable for the common colour-vision deficiencies.
_BAND_COLOURS = ("#1a9850", "#a6d96a", "#fdae61", "#d73027", "#bdbdbd")
_drawing = threading.Lock()


def caseload_chart(bars: Sequence[tuple[str, Sequence[int]]], band_labels: Sequence[str],
                   *, title: str) -> bytes:
    """Stacked horizontal bars, one per label (first at the top), one segment per band.

    At most MAX_BARS bars are drawn; the caller says so when it passes more.
    """
    if len(band_labels) > len(_BAND_COLOURS):
        raise ValueError("more bands than colours")
    bars = list(bars)[:MAX_BARS]
    with _drawing:
        return _draw(bars, band_labels, title)


def _draw(bars: list[tuple[str, Sequence[int]]], band_labels: Sequence[str],
          title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_PX / _DPI, HEIGHT_PX / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    try:
        # Fixed margins (never a "tight" box) keep the image exactly WIDTH_PX × HEIGHT_PX.
        figure.subplots_adjust(left=0.16, right=0.97, top=0.9, bottom=0.2)
        axes = figure.add_subplot()
        names = [name for name, _ in bars]
        positions = list(range(len(bars)))
        left = [0] * len(bars)
        for band, (label, colour) in enumerate(zip(band_labels, _BAND_COLOURS, strict=False)):
            widths = [counts[band] for _, counts in bars]
            axes.barh(positions, widths, left=left, color=colour, label=label, height=0.7)
            left = [start + width for start, width in zip(left, widths, strict=True)]
        axes.set_yticks(positions, names, fontsize=8 if len(bars) > 12 else 10)
        axes.invert_yaxis()
        axes.set_xlabel("pupils")
        axes.set_title(title, fontsize=12)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.spines[["top", "right"]].set_visible(False)
        figure.legend(loc="lower center", ncol=len(band_labels), frameon=False, fontsize=9)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=_DPI)
        return buffer.getvalue()
    finally:
        figure.clear()
