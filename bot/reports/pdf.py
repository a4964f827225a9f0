"""A school's report as an A4 PDF: a title page with the headline figures, the charts,
the interventions (visits, pathway steps and outcomes, sharing decisions) and the table
of referred pupils with their current stage (and the day a pupil who moved to another
school left), the footer on every page.

reportlab lays it out (tables split across pages with their header repeated); the
fonts are DejaVu Sans from matplotlib's own data, embedded, so every reader shows the
same letters (the standard PDF fonts are not embedded and lack some characters).
"""

from __future__ import annotations

import io
from datetime import date
from functools import cache
from pathlib import Path

from bot.charts import band_mix_chart, weekly_attendance_chart
from bot.domain.school_report import ReferredPupil, SchoolReport

FOOTER_WARNING = "Contains personal data — handle under your data-protection policy"
TITLE = "Education welfare service report"
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
NO_VISITS = "No visits or contacts were recorded in the period."
NO_STEPS = "No pathway step was recorded in the period."
NO_OUTCOMES = "No pathway outcome was recorded in the period."
NO_SHARING = "No sharing decision was recorded in the period."
NO_STAGE = "—"  # no pathway step on record by the period's end
LEFT = "left"  # under the stage of a pupil who moved to another school: "left DD/MM/YYYY"
_GREY = "#5a5a5a"
_HEADLINE_BLUE = "#1f4e79"


def british(day: date) -> str:
    """`4 December 2026`."""
    return f"{day.day} {day:%B %Y}"


def period_text(report: SchoolReport) -> str:
    return f"{british(report.period.start)} to {british(report.period.end)}"


@cache
def _register_fonts() -> None:
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "DejaVuSans-Bold.ttf")))


def render(report: SchoolReport) -> bytes:
    """The whole PDF, as bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    _register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
        bottomMargin=22 * mm, initialFontName=FONT, title=f"{TITLE}: {report.school}",
        author="EWO Bot", subject=period_text(report))
    footer = _footer(report)
    document.build(_story(report), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _footer(report: SchoolReport):  # noqa: ANN202 - reportlab's page callback
    from reportlab.lib.units import mm

    left = f"{report.school} (URN {report.urn}) · {period_text(report)} · made {report.made_at}"

    def draw(canvas, document) -> None:  # noqa: ANN001 - reportlab's types
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(_GREY)
        width = document.pagesize[0]
        canvas.drawString(18 * mm, 12 * mm, left)
        canvas.drawString(18 * mm, 8 * mm, FOOTER_WARNING)
        canvas.drawRightString(width - 18 * mm, 8 * mm, f"page {canvas.getPageNumber()}")
        canvas.restoreState()

    return draw


def _paragraph(text: str, style):  # noqa: ANN001, ANN202 - reportlab's types
    """A Paragraph of `text` as it is: reportlab parses a Paragraph's text as markup, so a
    school named "Ash&Oak" or "St Mary <b" would read "Ash&Oak;" or fail to build. Every
    Paragraph of the report is made here; none of them carries markup of its own."""
    from xml.sax.saxutils import escape

    from reportlab.platypus import Paragraph

    return Paragraph(escape(text), style)


def _styles():  # noqa: ANN202
    from reportlab.lib.styles import ParagraphStyle

    return {
        "title": ParagraphStyle("title", fontName=BOLD, fontSize=22, leading=28,
                                textColor=_HEADLINE_BLUE, spaceAfter=6),
        "school": ParagraphStyle("school", fontName=BOLD, fontSize=16, leading=20),
        "h2": ParagraphStyle("h2", fontName=BOLD, fontSize=13, leading=17, spaceBefore=10,
                             spaceAfter=6, textColor=_HEADLINE_BLUE),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12),
        "note": ParagraphStyle("note", fontName=FONT, fontSize=8, leading=10,
                               textColor=_GREY),
        "big": ParagraphStyle("big", fontName=BOLD, fontSize=26, leading=30, alignment=1,
                              textColor=_HEADLINE_BLUE),
        "caption": ParagraphStyle("caption", fontName=FONT, fontSize=8, leading=10,
                                  alignment=1, textColor=_GREY),
    }


def _story(report: SchoolReport) -> list:
    from reportlab.platypus import PageBreak, Spacer

    styles = _styles()
    story = [
        _paragraph(TITLE, styles["title"]),
        _paragraph(f"{report.school} (URN {report.urn})", styles["school"]),
        _paragraph(period_text(report), styles["body"]),
        Spacer(1, 14),
        *_headline(report, styles),
        Spacer(1, 10),
        _paragraph(
            "A pupil is counted as referred when allocated to an education welfare officer at "
            "any time in the period. Attendance is for the academic year, at referral (before "
            "the referral date) and now (to the end of the period). A pupil who moved to "
            "another school counts only while at this one: for them, now is their last day "
            "here, and the table gives the day they left.", styles["note"]),
    ]
    if report.pupils:
        story += _charts(report, styles)
    story += [PageBreak(), *_interventions(report, styles), *_pupil_table(report, styles)]
    return story


def _headline(report: SchoolReport, styles: dict) -> list:
    from reportlab.platypus import Table, TableStyle

    figures = report.headline
    cells = [
        (str(figures.referred), "pupils referred"),
        (figures.at_referral.attendance_percent_text, "attendance at referral"),
        (figures.now.attendance_percent_text, "attendance now"),
        (f"{figures.persistent_at_referral} → {figures.persistent_now}",
         "in persistent absence, at referral → now"),
        (f"{figures.severe_at_referral} → {figures.severe_now}",
         "in severe absence, at referral → now"),
        (str(report.interventions.visits), "visits and contacts delivered"),
    ]
    rows = []
    for start in (0, 3):
        chunk = cells[start:start + 3]
        rows.append([_paragraph(value, styles["big"]) for value, _ in chunk])
        rows.append([_paragraph(label, styles["caption"]) for _, label in chunk])
    table = Table(rows, colWidths=["33%"] * 3)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 9),  # cells' own font, or the standard Helvetica
        ("BOX", (0, 0), (-1, -1), 0.5, "#c8d3e0"),
        ("BACKGROUND", (0, 0), (-1, -1), "#f2f6fa"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 6),
        ("BOTTOMPADDING", (0, 1), (-1, 1), 10),
        ("BOTTOMPADDING", (0, 3), (-1, 3), 10),
    ]))
    return [table]


def _charts(report: SchoolReport, styles: dict) -> list:
    from reportlab.lib.units import cm
    from reportlab.platypus import Image

    weeks = [(f"{week.day}/{week.month}",
              None if tally.possible == 0 else 100 * tally.attended / tally.possible)
             for week, tally in report.weeks]
    weekly = weekly_attendance_chart(weeks, title="Referred pupils' attendance, week by week",
                                     pa_threshold=report.thresholds.pa)
    before, after = report.band_mix
    mix = band_mix_chart(before, after, report.band_labels,
                         title="Attendance bands of referred pupils")
    return [
        _paragraph("Attendance", styles["h2"]),
        Image(io.BytesIO(weekly), width=16 * cm, height=7 * cm),
        Image(io.BytesIO(mix), width=16 * cm, height=6 * cm),
    ]


def _interventions(report: SchoolReport, styles: dict) -> list:
    from reportlab.platypus import Spacer

    done = report.interventions
    tally = (110, 30)
    sections = [
        _counted([("Visits by type", "Number"), *done.by_type.items()], tally, NO_VISITS,
                 styles),
        _counted([("Pathway steps", "Number"), *done.steps.items()], tally, NO_STEPS, styles),
        _counted([("Pathway outcomes", "Number"), *done.outcomes.items()], tally, NO_OUTCOMES,
                 styles),
        _counted([("Sharing decisions by recipient", "Shared", "Not shared"),
                  *((recipient, one.shared, one.not_shared)
                    for recipient, one in done.sharing.items())], (90, 25, 25), NO_SHARING,
                 styles),
    ]
    if done.visits:
        sections.insert(1, _table([("Visits by who was seen", "Number"),
                                   *done.by_contact.items()], widths=tally))
    story: list = [_paragraph("Interventions delivered", styles["h2"])]
    for section in sections:
        story += [section, Spacer(1, 8)]
    return story[:-1]


def _counted(rows: list, widths: tuple[int, ...], empty: str, styles: dict):  # noqa: ANN202
    """The table of counts, or the line saying there was nothing to count."""
    return _table(rows, widths=widths) if len(rows) > 1 else _paragraph(empty, styles["body"])


def _pupil_table(report: SchoolReport, styles: dict) -> list:
    story = [_paragraph("Referred pupils", styles["h2"])]
    if not report.pupils:
        return [*story, _paragraph("No pupil of this school was referred in the period.",
                                   styles["body"])]
    header = ("Name", "Year", "Case ref", "Referred", "At referral", "Now", "Stage", "Officer")
    rows = [(pupil.name, pupil.year_group, pupil.case_ref,
             f"{pupil.referred_on:%d/%m/%Y}", pupil.at_referral.attendance_percent_text,
             pupil.now.attendance_percent_text, _stage_cell(pupil), pupil.officer_ref)
            for pupil in report.pupils]
    story.append(_table([header, *rows], widths=(39, 10, 22, 20, 20, 16, 29, 18)))
    return story


def _stage_cell(pupil: ReferredPupil) -> str:
    """The stage on the pupil's last day counted, over the day they left the school."""
    stage = pupil.stage or NO_STAGE
    return stage if pupil.left_on is None else f"{stage}\n{LEFT} {pupil.left_on:%d/%m/%Y}"


def _table(rows: list, *, widths: tuple[int, ...]):  # noqa: ANN202
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    table = Table([[str(cell) for cell in row] for row in rows],
                  colWidths=[width * mm for width in widths], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("FONT", (0, 0), (-1, 0), BOLD, 8),
        ("BACKGROUND", (0, 0), (-1, 0), "#dde6f0"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), ["#ffffff", "#f5f7fa"]),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, "#8fa7c0"),
        ("ALIGN", (1, 0), (-1, -1), "LEFT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table

