"""School reports: the figures equal the domain rules on the same marks, only the
school's referred pupils appear, the PDF reads back and renders, disposal removes."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from bot.domain.attendance import Tally
from bot.domain.school_report import Period, ReferredPupil, SchoolReport
from bot.domain.upn import check_letter
from bot.importing.service import run_import
from bot.reports.pdf import FOOTER_WARNING
from bot.reports.service import build_report, write_school_report
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage import pathway, sharing
from bot.storage import reports as report_store
from bot.storage import retention as retention_store
from bot.storage.db import Conn, Database
from tests.conftest import make_settings
from tests.pg import settings_for

LONDON = ZoneInfo("Europe/London")
TODAY = date(2025, 12, 5)
ACTOR = "os:test"
HILLSIDE, RIVERSIDE = "100001", "100002"


def upn(serial: int) -> str:
    tail = f"801200{serial:06d}"
    return check_letter("A" + tail) + tail


PUPILS = {  # key: (UPN, first, last, school)
    "referred": (upn(1), "Amelia", "Hughes", HILLSIDE),
    "before": (upn(2), "Oscar", "Pemberton", HILLSIDE),  # allocated only before the period
    "unallocated": (upn(3), "Ivy", "Lancaster", HILLSIDE),
    "elsewhere": (upn(4), "Nadia", "Okonkwo", RIVERSIDE),
    "old": (upn(5), "Rufus", "Treadwell", HILLSIDE),  # referred years ago, past due now
}


def at(day: date) -> datetime:
    return datetime.combine(day, time(10), LONDON)


def school_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)
            if (first + timedelta(days=n)).weekday() < 5]


def code_for(key: str, day: date, session: str) -> str:
    """Attendance that worsens for the referred pupil after October starts."""
    if key == "referred":
        return "O" if day >= date(2025, 10, 1) and session == "PM" else "/"
    return "N" if (day.day + (session == "PM")) % 5 == 0 else "/"


class Service:
    def __init__(self, tmp_path: Path, db: Database, settings: Settings) -> None:
        self.tmp, self.db, self.settings = tmp_path, db, settings
        self.files = 0

    async def load(self, kind: str, header: str, rows: list[str], *, on: date) -> None:
        self.files += 1
        path = self.tmp / f"{kind}-{self.files}.csv"
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        await run_import(self.db, kind, path, actor=ACTOR, today=on, now=at(on),
                         settings=self.settings, progress=None)

    def marks(self, key: str, first: date, last: date) -> list[tuple[date, str]]:
        return [(day, code_for(key, day, session)) for day in school_days(first, last)
                for session in ("AM", "PM")]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    settings = make_settings(tmp_path)
    db = await Database.open(settings)
    try:
        yield await seeded_service(tmp_path, db, settings)
    finally:
        await db.close()


@pytest.fixture
async def pg_service(tmp_path: Path, pg_url: str) -> AsyncIterator[Service]:
    """The same service on PostgreSQL, without marks (the casework figures read none)."""
    settings = settings_for(tmp_path, pg_url)
    db = await Database.open(settings)
    try:
        yield await seeded_service(tmp_path, db, settings, marks=False)
    finally:
        await db.close()


async def seeded_service(tmp_path: Path, db: Database, settings: Settings, *,
                         marks: bool = True) -> Service:
    seeded = Service(tmp_path, db, settings)
    async def _transaction(conn: Conn) -> None:
        await officer_store.add_officer(conn, ref="EWO1", name="Officer One", role="officer",
                                        supervisor_ref=None, now=at(date(2023, 9, 1)))
        await officer_store.add_officer(conn, ref="EWO2", name="Officer Two", role="officer",
                                        supervisor_ref=None, now=at(date(2023, 9, 1)))
        await officer_store.add_officer(conn, ref="DPO1", name="Controller", role="controller",
                                        supervisor_ref=None, now=at(date(2023, 9, 1)))
    await db.write(_transaction)
    schools = {HILLSIDE: "Hillside Primary", RIVERSIDE: "Riverside Academy"}
    await seeded.load(
        "pupils", "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name",
        [f"{u},{f},{last},2015-05-01,5,{s},{schools[s]}" for u, f, last, s in PUPILS.values()],
        on=date(2023, 9, 4))
    # Rufus: a record from 2023-24, allocated then, visited then, gone quiet since.
    await seeded.load("allocations", "upn,officer_ref", [f"{PUPILS['old'][0]},EWO2"],
                      on=date(2023, 10, 2))
    if marks:
        await seeded.load("attendance", "upn,date,session,code",
                          [f"{PUPILS['old'][0]},{d},{s},{code_for('old', d, s)}"
                           for d in school_days(date(2023, 9, 4), date(2024, 5, 31))
                           for s in ("AM", "PM")], on=date(2024, 6, 1))
    await seeded.load("visits", "upn,officer_ref,date,type,outcome",
                      [f"{PUPILS['old'][0]},EWO2,2023-11-06,Home visit,Parent/carer seen"],
                      on=date(2023, 11, 6))
    await seeded.load("allocations", "upn,officer_ref", [f"{PUPILS['old'][0]},"],
                      on=date(2024, 6, 3))
    # This year.
    await seeded.load("allocations", "upn,officer_ref", [f"{PUPILS['before'][0]},EWO2"],
                      on=date(2025, 9, 3))
    await seeded.load("allocations", "upn,officer_ref", [f"{PUPILS['before'][0]},"],
                      on=date(2025, 9, 20))
    await seeded.load("allocations", "upn,officer_ref",
                      [f"{PUPILS['referred'][0]},EWO1", f"{PUPILS['elsewhere'][0]},EWO2"],
                      on=date(2025, 10, 1))
    rows = []
    for key in ("referred", "before", "unallocated", "elsewhere"):
        for day in school_days(date(2025, 9, 1), date(2025, 12, 4)):
            for session in ("AM", "PM"):
                rows.append(f"{PUPILS[key][0]},{day},{session},{code_for(key, day, session)}")
    if marks:
        await seeded.load("attendance", "upn,date,session,code", rows, on=TODAY)
    await seeded.load("visits", "upn,officer_ref,date,type,outcome", [
        f"{PUPILS['referred'][0]},EWO1,2025-10-08,Home visit,No reply – card left",
        f"{PUPILS['referred'][0]},EWO1,2025-10-15,Home visit,Parent/carer seen",
        f"{PUPILS['referred'][0]},EWO1,2025-11-03,School meeting,Child seen",
        f"{PUPILS['before'][0]},EWO2,2025-09-10,Phone call,Parent/carer seen",
    ], on=TODAY)
    return seeded


PERIOD = Period(date(2025, 10, 1), TODAY)


async def report_of(service: Service, urn: str = HILLSIDE, period: Period = PERIOD):
    found = await service.db.read(report_store.school, urn)
    assert found is not None
    return await build_report(service.db, service.settings, found, period, at(TODAY))


async def test_figures_are_the_domain_rules_on_the_same_marks(service: Service) -> None:
    report = await report_of(service)

    year = (date(2025, 9, 1), TODAY)
    before = [c for d, c in service.marks("referred", *year) if d < date(2025, 10, 1)]
    now = [c for _, c in service.marks("referred", year[0], date(2025, 12, 4))]
    assert [pupil.name for pupil in report.pupils] == ["Amelia Hughes"]
    pupil = report.pupils[0]
    assert (pupil.referred_on, pupil.officer_ref) == (date(2025, 10, 1), "EWO1")
    assert pupil.at_referral == Tally.of(before)
    assert pupil.now == Tally.of(now)
    assert pupil.at_referral.attendance_percent_text == "100.0 %"
    assert report.headline.referred == 1
    assert (report.headline.persistent_at_referral, report.headline.persistent_now) == (0, 1)
    assert report.interventions.by_type == {"Home visit": 2, "School meeting": 1}
    assert report.interventions.by_contact == {
        "Child seen": 1, "Parent/carer seen": 1, "No reply – card left": 1}
    weeks = dict(report.weeks)
    assert weeks[date(2025, 10, 6)] == Tally.of(
        code_for("referred", d, s) for d in school_days(date(2025, 10, 6), date(2025, 10, 10))
        for s in ("AM", "PM"))


async def test_only_pupils_referred_in_the_period_at_that_school(service: Service) -> None:
    whole_term = Period(date(2025, 9, 1), TODAY)

    hillside = await report_of(service, HILLSIDE, whole_term)
    october = await report_of(service, HILLSIDE)
    riverside = await report_of(service, RIVERSIDE)

    assert [p.name for p in hillside.pupils] == ["Amelia Hughes", "Oscar Pemberton"]
    assert [p.referred_on for p in hillside.pupils] == [date(2025, 10, 1), date(2025, 9, 3)]
    assert "Oscar Pemberton" not in [p.name for p in october.pupils]  # allocation ended
    assert [p.name for p in riverside.pupils] == ["Nadia Okonkwo"]
    assert hillside.interventions.visits == 4


def embedded(font: dict) -> bool:
    """A font whose file is inside the PDF (the standard PDF fonts are not)."""
    if "/DescendantFonts" in font:
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(
        key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


async def test_the_pdf_reads_back_with_the_figures_and_a_footer_on_every_page(
        service: Service, tmp_path: Path) -> None:
    out = tmp_path / "hillside.pdf"
    written = await write_school_report(service.db, service.settings, HILLSIDE, PERIOD, out,
                                        force=False, actor=ACTOR, now=at(TODAY))

    pages = pdf_text(out)
    text = "\n".join(pages)
    pupil = written.report.pupils[0]
    assert out.stat().st_mode & 0o777 == 0o600
    assert "Hillside Primary (URN 100001)" in text
    assert "1 October 2025 to 5 December 2025" in text
    assert "Amelia Hughes" in text and pupil.case_ref in text
    assert pupil.now.attendance_percent_text in text
    assert "01/10/2025" in text
    for name in ("Nadia Okonkwo", "Oscar Pemberton", "Ivy Lancaster", "Rufus Treadwell"):
        assert name not in text
    assert len(pages) >= 2
    for page in pages:
        assert FOOTER_WARNING in page
        assert "made 05/12/2025 10:00" in page
    fonts = [font.get_object() for page in PdfReader(out).pages
             for font in page["/Resources"]["/Font"].values()]
    assert fonts and all(embedded(font) for font in fonts), [f["/BaseFont"] for f in fonts]


async def test_a_long_table_breaks_across_pages_with_its_header_repeated(
        service: Service, tmp_path: Path) -> None:
    rows = []
    for n in range(60):
        number = upn(100 + n)
        rows.append(f"{number},Pupil,Surname{n:02d},2015-05-01,5,{HILLSIDE},Hillside Primary")
    await service.load("pupils", "upn,first_name,last_name,date_of_birth,year_group,"
                       "school_urn,school_name", rows, on=date(2025, 10, 2))
    await service.load("allocations", "upn,officer_ref",
                       [f"{upn(100 + n)},EWO1" for n in range(60)], on=date(2025, 10, 2))
    out = tmp_path / "long.pdf"
    await write_school_report(service.db, service.settings, HILLSIDE, PERIOD, out,
                              force=False, actor=ACTOR, now=at(TODAY))

    pages = [page for page in pdf_text(out) if "Surname" in page]
    assert len(pages) >= 2
    for page in pages:
        assert "Case ref" in page and "At referral" in page


async def test_a_page_renders_to_a_non_blank_a4_png(service: Service, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have pdftoppm: .ci/run installs poppler-utils")
        pytest.skip("pdftoppm (poppler-utils) is not installed: the PNG rendering is not "
                    "checked here (CI installs it)")
    out = tmp_path / "hillside.pdf"
    await write_school_report(service.db, service.settings, HILLSIDE, PERIOD, out,
                              force=False, actor=ACTOR, now=at(TODAY))

    await asyncio.to_thread(subprocess.run, ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1",
                                             str(out), str(tmp_path / "page")],
                            check=True, timeout=60)

    png = next(tmp_path.glob("page*.png")).read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (math.ceil(210 / 25.4 * 50), math.ceil(297 / 25.4 * 50))  # A4
    assert len(png) > 5000  # text, numbers and colour: not a blank page


async def test_a_disposed_pupil_is_gone_from_the_next_report(service: Service) -> None:
    old_year = Period(date(2023, 9, 1), date(2024, 7, 31))
    assert [p.name for p in (await report_of(service, period=old_year)).pupils] == [
        "Rufus Treadwell"]
    async def _transaction(conn: Conn) -> None:
        controller = await officer_store.officer_by_ref(conn, "DPO1")
        assert controller is not None
        policy = retention_store.policy_for(service.settings, at(TODAY))
        pupil_id = await conn.fetchval("SELECT id FROM pupils WHERE upn = ?",
                                       (PUPILS["old"][0],))
        assert await retention_store.dispose(conn, pupil_id, by=controller, policy=policy,
                                             now=at(TODAY))
    await service.db.write(_transaction)

    after = await report_of(service, period=old_year)

    assert after.pupils == ()
    assert after.interventions.visits == 0


# --- pathway steps and outcomes, sharing decisions, current stage -------------------------

TYPED_OTHERS = ("Acme Mentoring Ltd", "Bramble Family Trust")


async def seed_casework(service: Service) -> None:
    """Amelia's pathway and sharing this term, with corrections and entries on either side
    of October; Nadia's (another school's) in the period too."""
    now = at(TODAY)

    async def _transaction(conn: Conn) -> None:
        one = await officer_store.officer_by_ref(conn, "EWO1")
        two = await officer_store.officer_by_ref(conn, "EWO2")
        assert one is not None and two is not None
        amelia = await pupil_id(conn, "referred")
        nadia = await pupil_id(conn, "elsewhere")

        async def step(officer, pupil: int, kind: str, on: date, **fields) -> int:  # noqa: ANN001
            saved = await pathway.record_step(conn, officer, pathway.NewStep(
                pupil, kind, on, **fields), today=TODAY, now=now)
            assert saved.id is not None, saved.problem
            return saved.id

        async def outcome(step_id: int, what: str, on: date, **fields) -> int:
            saved = await pathway.record_outcome(conn, one, pathway.NewOutcome(
                step_id, what, on, **fields), now=now)
            assert saved.id is not None, saved.problem
            return saved.id

        await step(one, amelia, "support_plan", date(2025, 9, 20))  # before the period
        wrong = await step(one, amelia, "support_plan", date(2025, 10, 20))
        await step(one, amelia, "support_plan", date(2025, 10, 21), supersedes=wrong)
        prosecution = await step(one, amelia, "prosecution", date(2025, 11, 10),
                                 section="444(1)")
        await outcome(prosecution, "hearing", date(2025, 11, 24), detail="Adjourned")
        eso = await step(one, amelia, "eso", date(2025, 11, 12))
        refused = await outcome(eso, "refused", date(2025, 11, 19))
        await outcome(eso, "refused", date(2025, 11, 20), supersedes=refused)
        await step(two, nadia, "support_plan", date(2025, 10, 15))

        async def share(officer, pupil: int, recipient: str, decision: str, on: date,  # noqa: ANN001
                        *, other: str | None = None, supersedes: int | None = None) -> int:
            shared = decision == "shared"
            saved = await sharing.record(conn, officer, sharing.NewSharing(
                pupil, recipient, other, decision, ("attendance",),
                "public_task" if shared else None, None, "barrier", on, None, supersedes),
                draft_token=f"t{on}{recipient}{decision}{supersedes}", now=now)
            assert saved is not None
            return saved

        await share(one, amelia, "social_care", "shared", date(2025, 9, 25))  # before
        await share(one, amelia, "school", "shared", date(2025, 10, 10))
        await share(one, amelia, "police", "not_shared", date(2025, 10, 12))
        camhs = await share(one, amelia, "camhs", "shared", date(2025, 10, 14))
        await share(one, amelia, "health", "shared", date(2025, 10, 14), supersedes=camhs)
        await share(one, amelia, "other", "shared", date(2025, 11, 1), other=TYPED_OTHERS[0])
        await share(one, amelia, "other", "not_shared", date(2025, 11, 2),
                    other=TYPED_OTHERS[1])
        await share(two, nadia, "school", "shared", date(2025, 10, 16))

    await service.db.write(_transaction)


async def pupil_id(conn: Conn, key: str) -> int:
    found = await conn.fetchval("SELECT id FROM pupils WHERE upn = ?", (PUPILS[key][0],))
    assert found is not None
    return int(found)


def lines_of(path: Path) -> list[str]:
    return [line.strip() for page in pdf_text(path) for line in page.splitlines()]


def row(lines: list[str], *cells: str) -> bool:
    """Whether a table row reads back: its cells come out one a line, in order."""
    return any(lines[n:n + len(cells)] == list(cells) for n in range(len(lines)))


async def test_pathway_and_sharing_of_the_period_in_the_pdf(service: Service,
                                                             tmp_path: Path) -> None:
    await seed_casework(service)
    out = tmp_path / "hillside.pdf"

    written = await write_school_report(service.db, service.settings, HILLSIDE, PERIOD, out,
                                        force=False, actor=ACTOR, now=at(TODAY))

    done = written.report.interventions
    assert done.steps == {"Support plan": 1, "Prosecution referral": 1,
                          "Education supervision order applied for": 1}
    assert done.outcomes == {"Prosecution hearing outcome": 1,
                             "Education supervision order refused": 1}
    lines = lines_of(out)
    for cells in (("Pathway steps", "Number", "Support plan", "1", "Prosecution referral", "1",
                   "Education supervision order applied for", "1"),
                  ("Pathway outcomes", "Number", "Prosecution hearing outcome", "1",
                   "Education supervision order refused", "1"),
                  ("Sharing decisions by recipient", "Shared", "Not shared", "School", "1", "0",
                   "School nurse or health", "1", "0", "Police", "0", "1", "Other", "1", "1",
                   "Referred pupils")):
        assert row(lines, *cells), cells
    text = "\n".join(lines)
    for absent in ("Children's social care", "CAMHS", *TYPED_OTHERS, "Acme", "Bramble"):
        assert absent not in text
    case_ref = written.report.pupils[0].case_ref
    assert row(lines, "Amelia Hughes", "5", case_ref, "01/10/2025", "100.0 %", "65.9 %",
               "Enforcement", "EWO1")
    counts = written.report.counts()
    assert (counts["pathway_steps"], counts["pathway_outcomes"],
            counts["sharing_decisions"]) == (3, 2, 5)


async def test_the_stage_is_the_one_at_the_period_end(service: Service) -> None:
    await seed_casework(service)
    october = Period(date(2025, 10, 1), date(2025, 10, 31))

    report = await report_of(service, period=october)
    riverside = await report_of(service, RIVERSIDE)

    assert [pupil.stage for pupil in report.pupils] == ["Support"]
    assert report.interventions.steps == {"Support plan": 1}
    assert report.interventions.outcomes == {}
    assert riverside.interventions.steps == {"Support plan": 1}
    assert {recipient: (one.shared, one.not_shared)
            for recipient, one in riverside.interventions.sharing.items()} == {"School": (1, 0)}


async def test_a_pupil_with_no_step_has_a_dash_and_the_sections_say_none(
        service: Service, tmp_path: Path) -> None:
    whole_term = Period(date(2025, 9, 1), TODAY)
    out = tmp_path / "term.pdf"

    written = await write_school_report(service.db, service.settings, HILLSIDE, whole_term,
                                        out, force=False, actor=ACTOR, now=at(TODAY))

    lines = lines_of(out)
    oscar = written.report.pupils[1]
    assert oscar.name == "Oscar Pemberton" and oscar.stage is None
    start = lines.index("Oscar Pemberton")
    assert lines[start + 6:start + 8] == ["—", "EWO2"]
    for line in ("No pathway step was recorded in the period.",
                 "No pathway outcome was recorded in the period.",
                 "No sharing decision was recorded in the period."):
        assert line in lines


async def test_the_same_casework_figures_on_postgresql(pg_service: Service) -> None:
    await seed_casework(pg_service)

    report = await report_of(pg_service)

    done = report.interventions
    assert (done.pathway_steps, done.pathway_outcomes) == (3, 2)
    assert {recipient: (one.shared, one.not_shared) for recipient, one in done.sharing.items()
            } == {"School": (1, 0), "School nurse or health": (1, 0), "Police": (0, 1),
                  "Other": (1, 1)}
    assert [pupil.stage for pupil in report.pupils] == ["Enforcement"]


async def test_a_restricted_record_is_left_out_of_the_report(service: Service) -> None:
    """CASEWORK.md §3: a restricted record is stored and nothing else; a report handed to
    the school is processing it (its name, attendance and stage disclosed)."""
    from bot.storage import rights

    whole_term = Period(date(2025, 9, 1), TODAY)
    async def _restrict(conn: Conn) -> None:
        await rights.add(conn, PUPILS["before"][0], "restriction", TODAY, actor=ACTOR,
                         now=at(TODAY))
    await service.db.write(_restrict)

    report = await report_of(service, HILLSIDE, whole_term)

    assert [p.name for p in report.pupils] == ["Amelia Hughes"]
    assert report.headline.referred == 1
    assert report.interventions.visits == 3  # Oscar's phone call is not counted
    assert report.headline.now == report.pupils[0].now
    assert sum(tally.possible for _, tally in report.weeks) == report.pupils[0].now.possible


@pytest.mark.parametrize("school", ["St Mary & St John CE Primary", "Ash&Oak",
                                    "Oak <Academy>", "St Mary <b", "Elm &amp; Yew"])
async def test_a_school_name_with_markup_characters_reads_back_as_it_is(
        service: Service, tmp_path: Path, school: str) -> None:
    """reportlab's Paragraph parses markup: a name from the data is text, never markup."""
    urn, pupil = "100009", "Rosa <i>Marsh & Co"
    await service.load("pupils", "upn,first_name,last_name,date_of_birth,year_group,"
                       "school_urn,school_name",
                       [f"{upn(90)},Rosa,<i>Marsh & Co,2015-05-01,5,{urn},{school}"],
                       on=date(2025, 10, 2))
    await service.load("allocations", "upn,officer_ref", [f"{upn(90)},EWO1"],
                       on=date(2025, 10, 2))
    out = tmp_path / "school.pdf"

    await write_school_report(service.db, service.settings, urn, PERIOD, out, force=False,
                              actor=ACTOR, now=at(TODAY))

    lines = lines_of(out)
    assert f"{school} (URN {urn})" in lines
    assert pupil in lines
    assert all(line.startswith(f"{school} (URN {urn}) · ") for line in lines
               if "· made" in line)


# --- a pupil who moves school --------------------------------------------------------------

MOVED = date(2025, 11, 3)  # Amelia's first day at Riverside: the pupils file that said so


async def move_amelia(service: Service) -> None:
    """A later pupils file has Amelia at Riverside from MOVED."""
    number, first, last, _ = PUPILS["referred"]
    await service.load(
        "pupils", "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name",
        [f"{number},{first},{last},2015-05-01,5,{RIVERSIDE},Riverside Academy"], on=MOVED)


def amelia(report: SchoolReport) -> ReferredPupil:
    return next(pupil for pupil in report.pupils if pupil.name == "Amelia Hughes")


async def test_a_pupil_who_moved_counts_for_each_school_only_while_there(
        service: Service) -> None:
    await move_amelia(service)

    hillside = await report_of(service, HILLSIDE)
    riverside = await report_of(service, RIVERSIDE)

    year = date(2025, 9, 1)
    before = [c for d, c in service.marks("referred", year, MOVED) if d < date(2025, 10, 1)]
    at_hillside = [c for d, c in service.marks("referred", year, MOVED) if d < MOVED]
    at_riverside = [c for _, c in service.marks("referred", MOVED, date(2025, 12, 4))]
    left = amelia(hillside)
    assert (left.referred_on, left.officer_ref, left.left_on) == (date(2025, 10, 1), "EWO1",
                                                                  MOVED)
    assert left.at_referral == Tally.of(before)
    assert left.now == Tally.of(at_hillside)
    assert hillside.interventions.by_type == {"Home visit": 2}  # 8 and 15 October
    weeks = dict(hillside.weeks)
    assert weeks[date(2025, 10, 27)].possible == 10 and weeks[MOVED].possible == 0
    joined = amelia(riverside)
    assert [pupil.name for pupil in riverside.pupils] == ["Amelia Hughes", "Nadia Okonkwo"]
    assert (joined.referred_on, joined.officer_ref, joined.left_on) == (MOVED, "EWO1", None)
    assert joined.at_referral == Tally()  # nothing of Hillside's registers
    assert joined.now == Tally.of(at_riverside)
    assert riverside.interventions.by_type == {"School meeting": 1}  # 3 November


async def test_the_old_schools_pdf_says_when_the_pupil_left(service: Service,
                                                           tmp_path: Path) -> None:
    await seed_casework(service)
    await move_amelia(service)
    out = tmp_path / "hillside.pdf"

    written = await write_school_report(service.db, service.settings, HILLSIDE, PERIOD, out,
                                        force=False, actor=ACTOR, now=at(TODAY))

    pupil = amelia(written.report)
    lines = lines_of(out)
    assert row(lines, "Amelia Hughes", "5", pupil.case_ref, "01/10/2025", "100.0 %",
               pupil.now.attendance_percent_text, "Support", "left 03/11/2025", "EWO1")
    assert pupil.now.attendance_percent_text != "65.9 %"  # not her Riverside weeks


async def moved_casework(service: Service) -> tuple[SchoolReport, SchoolReport]:
    """Amelia's casework, then her move to Riverside: both schools' reports of PERIOD."""
    await seed_casework(service)
    await move_amelia(service)
    return await report_of(service, HILLSIDE), await report_of(service, RIVERSIDE)


def casework(report: SchoolReport) -> tuple:
    done = report.interventions
    return (done.steps, done.outcomes,
            {recipient: (one.shared, one.not_shared) for recipient, one in done.sharing.items()},
            [(pupil.name, pupil.stage) for pupil in report.pupils])


# Before the move (Hillside's): the corrected support plan, four decisions; after it
# (Riverside's): the prosecution and supervision order with their outcomes, and Nadia's.
HILLSIDE_CASEWORK = (
    {"Support plan": 1}, {},
    {"School": (1, 0), "School nurse or health": (1, 0), "Police": (0, 1), "Other": (1, 1)},
    [("Amelia Hughes", "Support")])
RIVERSIDE_CASEWORK = (
    {"Support plan": 1, "Prosecution referral": 1,
     "Education supervision order applied for": 1},
    {"Prosecution hearing outcome": 1, "Education supervision order refused": 1},
    {"School": (1, 0)},
    [("Amelia Hughes", "Enforcement"), ("Nadia Okonkwo", "Support")])


async def test_casework_before_the_move_is_the_old_schools_and_after_it_the_new(
        service: Service) -> None:
    hillside, riverside = await moved_casework(service)

    assert casework(hillside) == HILLSIDE_CASEWORK
    assert casework(riverside) == RIVERSIDE_CASEWORK


async def test_casework_follows_the_move_on_postgresql(pg_service: Service) -> None:
    hillside, riverside = await moved_casework(pg_service)

    assert casework(hillside) == HILLSIDE_CASEWORK
    assert casework(riverside) == RIVERSIDE_CASEWORK


async def test_a_pupil_allocated_only_after_leaving_is_not_the_old_schools(
        service: Service) -> None:
    """Ivy, never allocated at Hillside, moves to Riverside and is allocated there."""
    number, first, last, _ = PUPILS["unallocated"]
    await service.load(
        "pupils", "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name",
        [f"{number},{first},{last},2015-05-01,5,{RIVERSIDE},Riverside Academy"], on=MOVED)
    await service.load("allocations", "upn,officer_ref", [f"{number},EWO2"],
                       on=date(2025, 11, 10))

    hillside = await report_of(service, HILLSIDE)
    riverside = await report_of(service, RIVERSIDE)

    assert [pupil.name for pupil in hillside.pupils] == ["Amelia Hughes"]
    assert [(pupil.name, pupil.referred_on) for pupil in riverside.pupils] == [
        ("Ivy Lancaster", date(2025, 11, 10)), ("Nadia Okonkwo", date(2025, 10, 1))]


async def test_what_was_held_from_before_a_pupils_first_import_is_their_first_schools(
        service: Service) -> None:
    """A pupil first imported in October with September's marks counts them at the school
    first named; one moved the day they were first imported, at the school named next."""
    header = "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name"
    joined = date(2025, 10, 2)
    await service.load("pupils", header, [
        f"{upn(91)},Rosa,Marsh,2015-05-01,5,{HILLSIDE},Hillside Primary",
        f"{upn(92)},Theo,Marsh,2015-05-01,5,{HILLSIDE},Hillside Primary"], on=joined)
    await service.load("pupils", header,
                       [f"{upn(92)},Theo,Marsh,2015-05-01,5,{RIVERSIDE},Riverside Academy"],
                       on=joined)
    await service.load("attendance", "upn,date,session,code",
                       [f"{number},{day},{session},/" for number in (upn(91), upn(92))
                        for day in school_days(date(2025, 9, 1), TODAY - timedelta(days=1))
                        for session in ("AM", "PM")], on=TODAY)
    await service.load("allocations", "upn,officer_ref", [f"{upn(91)},EWO1", f"{upn(92)},EWO1"],
                       on=joined)

    hillside = await report_of(service, HILLSIDE)
    riverside = await report_of(service, RIVERSIDE)

    september = 2 * len(school_days(date(2025, 9, 1), date(2025, 9, 30)))
    before_joining = september + 2  # and 1 October
    assert [(p.name, p.referred_on, p.at_referral.possible) for p in hillside.pupils] == [
        ("Amelia Hughes", date(2025, 10, 1), september),
        ("Rosa Marsh", joined, before_joining)]
    assert [(p.name, p.referred_on, p.at_referral.possible) for p in riverside.pupils] == [
        ("Nadia Okonkwo", date(2025, 10, 1), september),
        ("Theo Marsh", joined, before_joining)]
