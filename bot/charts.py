"""Chart images for the chat: numbers in, PNG bytes out (no I/O, no display).

matplotlib is imported on first use only (it adds tens of MB to the process) and
drawn with the Agg canvas on a Figure of its own, never through pyplot's global
state; one chart is drawn at a time because matplotlib is not thread-safe. Every text
is drawn as it is: a `$` (in an officer's reference, say) is never mathtext.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


@contextmanager
def _literal_texts() -> Iterator[None]:
    """Texts made (tick labels are made as late as the drawing) are kept as they are:
    two `$` would make mathtext of what lies between, garbled, and a backslash there can
    fail the drawing. rcParams are matplotlib's global state: held only while drawing."""
    from matplotlib import rc_context

    with rc_context({"text.parse_math": False}):
        yield


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
    with _drawing, _literal_texts():
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
    with _literal_texts():
        return _caseload_figure(bars, band_labels, title)


def _caseload_figure(bars: Sequence[tuple[str, Sequence[int]]], band_labels: Sequence[str],
                     title: str) -> Figure:
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


# --- school reports (printed, so drawn at print resolution) ------------------------------

REPORT_DPI = 150


def weekly_attendance_chart(weeks: Sequence[tuple[str, float | None]], *, title: str,
                            pa_threshold: int) -> bytes:
    """A line of attendance % week by week (None: no sessions that week), with the PA
    threshold drawn across; 16 × 7 cm at REPORT_DPI."""
    with _drawing, _literal_texts():
        return _draw_weekly(list(weeks), title, pa_threshold)


def _draw_weekly(weeks: list[tuple[str, float | None]], title: str, pa_threshold: int) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16 / 2.54, 7 / 2.54), dpi=REPORT_DPI)
    FigureCanvasAgg(figure)
    try:
        figure.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.22)
        axes = figure.add_subplot()
        positions = [n for n, (_, value) in enumerate(weeks) if value is not None]
        values = [value for _, value in weeks if value is not None]
        axes.plot(positions, values, color="#2c7bb6", marker="o", markersize=3, linewidth=1.5)
        axes.axhline(pa_threshold, color="#d73027", linewidth=0.8, linestyle="--")
        axes.text(0, pa_threshold + 1, f"persistent absence (≤ {pa_threshold} %)",
                  fontsize=6, color="#d73027")
        step = max(1, len(weeks) // 10)
        ticks = list(range(0, len(weeks), step))
        axes.set_xticks(ticks, [weeks[n][0] for n in ticks], fontsize=6, rotation=45)
        axes.set_ylim(0, 100)
        axes.set_ylabel("attendance %", fontsize=7)
        axes.tick_params(axis="y", labelsize=6)
        axes.set_title(title, fontsize=8)
        axes.spines[["top", "right"]].set_visible(False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=REPORT_DPI, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()
    finally:
        figure.clear()


def band_mix_chart(before: Sequence[int], after: Sequence[int], band_labels: Sequence[str],
                   *, title: str, names: tuple[str, str] = ("at referral", "now")) -> bytes:
    """Two stacked bars (before and after), one segment per band, with the counts."""
    with _drawing, _literal_texts():
        return _draw_band_mix(list(before), list(after), band_labels, title, names)


def _draw_band_mix(before: list[int], after: list[int], band_labels: Sequence[str],
                   title: str, names: tuple[str, str]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16 / 2.54, 6 / 2.54), dpi=REPORT_DPI)
    FigureCanvasAgg(figure)
    try:
        figure.subplots_adjust(left=0.14, right=0.98, top=0.86, bottom=0.3)
        axes = figure.add_subplot()
        left = [0, 0]
        for entry in legend_entries([("", before), ("", after)], band_labels):
            widths = [before[entry.band], after[entry.band]]
            bars = axes.barh([0, 1], widths, left=left, color=entry.colour, label=entry.label,
                             height=0.6)
            axes.bar_label(bars, labels=[str(w) if w else "" for w in widths],
                           label_type="center", fontsize=6)
            left = [start + width for start, width in zip(left, widths, strict=True)]
        axes.set_yticks([0, 1], list(names), fontsize=7)
        axes.invert_yaxis()
        axes.set_xlabel("pupils", fontsize=7)
        axes.tick_params(axis="x", labelsize=6)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_title(title, fontsize=8)
        axes.spines[["top", "right"]].set_visible(False)
        figure.legend(loc="lower center", ncol=5, frameon=False, fontsize=6)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=REPORT_DPI, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()
    finally:
        figure.clear()
