"""The caseload chart is a valid PNG of a fixed size, whatever the numbers."""

from __future__ import annotations

import struct
import zlib

from bot.charts import (
    HEIGHT_PX,
    MAX_BARS,
    WIDTH_PX,
    band_mix_chart,
    caseload_chart,
    caseload_figure,
    legend_entries,
    weekly_attendance_chart,
)
from bot.domain.caseload import band_labels

LABELS = band_labels(pa_threshold=90, sa_threshold=50)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the signature and its CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16:16 + length]
    (crc,) = struct.unpack(">I", data[16 + length:20 + length])
    assert zlib.crc32(kind + body) == crc
    assert data.endswith(b"IEND\xaeB`\x82")
    width, height = struct.unpack(">II", body[:8])
    return width, height


def test_chart_is_a_png_of_the_expected_size() -> None:
    data = caseload_chart([("EWO1", (3, 2, 4, 1, 0)), ("EWO2", (0, 0, 0, 0, 2)),
                           ("SUP1 (you)", (1, 0, 0, 0, 0))], LABELS, title="Team")
    assert (WIDTH_PX, HEIGHT_PX) == (800, 500)
    assert png_size(data) == (800, 500)


def test_many_officers_and_empty_caseloads_keep_the_size() -> None:
    many = [(f"EWO{n:03d}", (n, n % 3, n % 5, n % 2, 1)) for n in range(MAX_BARS + 15)]
    assert png_size(caseload_chart(many, LABELS, title="Team")) == (800, 500)
    empty = [("EWO1", (0, 0, 0, 0, 0))]
    assert png_size(caseload_chart(empty, LABELS, title="Team")) == (800, 500)


def test_the_legend_lists_only_bands_with_pupils_and_their_totals() -> None:
    bars = [("EWO1", (3, 2, 0, 1, 0)), ("EWO2", (1, 0, 0, 4, 0))]
    figure = caseload_figure(bars, LABELS, "Team")
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == [
        "≥ 95 % (4)", "> 90 % and < 95 % (2)", "severe: ≤ 50 % (5)"]
    assert [entry.total for entry in legend_entries(bars, LABELS)] == [4, 2, 5]


def test_each_segment_shows_its_count() -> None:
    figure = caseload_figure([("EWO1", (3, 2, 0, 1, 0)), ("EWO2", (1, 0, 0, 4, 0))],
                             LABELS, "Team")
    (axes,) = figure.axes
    # Per band drawn, one label per bar (blank where that bar has none of the band).
    assert [text.get_text() for text in axes.texts] == ["3", "1", "2", "", "1", "4"]


def test_nothing_to_draw_has_no_legend() -> None:
    figure = caseload_figure([("EWO1", (0, 0, 0, 0, 0))], LABELS, "Team")
    assert list(figure.legends) == [] and list(figure.axes[0].texts) == []


# Two dollar signs would make matplotlib's mathtext of what lies between (spaces dropped,
# letters in italics), and a backslash there can fail the whole drawing.
DOLLARS = r"EWO$1 and $2"
BAD_MATHS = r"EWO$\frac$"


def test_a_dollar_sign_in_a_label_is_drawn_as_it_is() -> None:
    figure = caseload_figure([(DOLLARS, (3, 2, 0, 1, 0)), (BAD_MATHS, (1, 0, 0, 4, 0))],
                             [f"{label} $x$" for label in LABELS], f"Team {DOLLARS}")
    (axes,) = figure.axes
    (legend,) = figure.legends
    texts = [*axes.get_yticklabels(), axes.title, *legend.get_texts()]
    assert [text.get_text() for text in texts[:3]] == [DOLLARS, BAD_MATHS, f"Team {DOLLARS}"]
    assert [text.get_parse_math() for text in texts] == [False] * len(texts)


def test_every_chart_with_dollar_signs_in_its_texts_renders() -> None:
    bars = [(BAD_MATHS, (1, 0, 0, 4, 0)), (f"{BAD_MATHS} (you)", (0, 1, 0, 0, 0))]
    assert png_size(caseload_chart(bars, LABELS, title=BAD_MATHS)) == (800, 500)
    labels = [f"{label} {BAD_MATHS}" for label in LABELS]
    assert weekly_attendance_chart([(BAD_MATHS, 92.0), ("$1/9$", None), ("8/9", 81.5)],
                                   title=BAD_MATHS, pa_threshold=90).startswith(b"\x89PNG")
    assert band_mix_chart([1, 2, 0, 1, 0], [2, 1, 1, 0, 0], labels, title=BAD_MATHS,
                          names=(BAD_MATHS, DOLLARS)).startswith(b"\x89PNG")
