"""Chart images for the chat: numbers in, PNG bytes out (no I/O, no display).

matplotlib is imported on first use only (it adds tens of MB to the process) and
drawn with the Agg canvas on a Figure of its own, never through pyplot's global
state; one chart is drawn at a time because matplotlib is not thread-safe.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_PX, HEIGHT_PX = 800, 500
MAX_BARS = 20
LEGEND_COLUMNS = 3
_DPI = 100
# Good to severe, then n/a; readable for the common colour-vision deficiencies.
_BAND_COLOURS = ("#1a9850", "#a6d96a", "#fdae61", "#d73027", "#bdbdbd")
_drawing = threading.Lock()


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One band the chart draws: its position among the bands, label, colour, total."""

    band: int
    label: str
    colour: str
    total: int


def legend_entries(bars: Sequence[tuple[str, Sequence[int]]],
                   band_labels: Sequence[str]) -> list[LegendEntry]:
    """The bands that hold at least one pupil of the bars drawn, in band order: an
    empty band is neither drawn nor listed."""
    entries = []
    for band, (label, colour) in enumerate(zip(band_labels, _BAND_COLOURS, strict=False)):
        total = sum(counts[band] for _, counts in bars)
        if total:
            entries.append(LegendEntry(band, label, colour, total))
    return entries


def caseload_chart(bars: Sequence[tuple[str, Sequence[int]]], band_labels: Sequence[str],
                   *, title: str) -> bytes:
    """Stacked horizontal bars, one per label (first at the top), one segment per band,
    each segment showing its count.

    At most MAX_BARS bars are drawn; the caller says so when it passes more.
    """
    if len(band_labels) > len(_BAND_COLOURS):
        raise ValueError("more bands than colours")
    bars = list(bars)[:MAX_BARS]
    with _drawing:
        figure = caseload_figure(bars, band_labels, title)
        try:
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=_DPI)
            return buffer.getvalue()
        finally:
            figure.clear()


def caseload_figure(bars: Sequence[tuple[str, Sequence[int]]], band_labels: Sequence[str],
                    title: str) -> Figure:
    """The chart as a matplotlib Figure (on an Agg canvas), not yet rendered."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_PX / _DPI, HEIGHT_PX / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    # Fixed margins (never a "tight" box) keep the image exactly WIDTH_PX × HEIGHT_PX.
    figure.subplots_adjust(left=0.16, right=0.97, top=0.9, bottom=0.24)
    axes = figure.add_subplot()
    positions = list(range(len(bars)))
    left = [0] * len(bars)
    entries = legend_entries(bars, band_labels)
    for entry in entries:
        widths = [counts[entry.band] for _, counts in bars]
        drawn = axes.barh(positions, widths, left=left, color=entry.colour,
                          label=f"{entry.label} ({entry.total})", height=0.7)
        # A count on each segment; none on a segment of nothing.
        axes.bar_label(drawn, labels=[str(width) if width else "" for width in widths],
                       label_type="center", fontsize=8)
        left = [start + width for start, width in zip(left, widths, strict=True)]
    axes.set_yticks(positions, [name for name, _ in bars],
                    fontsize=8 if len(bars) > 12 else 10)
    axes.invert_yaxis()
    axes.set_xlabel("pupils")
    axes.set_title(title, fontsize=12)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    if entries:
        figure.legend(loc="lower center", ncol=min(len(entries), LEGEND_COLUMNS),
                      frameon=False, fontsize=9)
    return figure
