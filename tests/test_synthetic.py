"""The synthetic service: deterministic, valid for every import, realistic attendance."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.domain.attendance import Rule, Tally, in_band, rules_holding
from bot.domain.retention import COMING, PAST, RetentionPolicy
from bot.importing.allocations import parse_allocations
from bot.importing.attendance import parse_attendance
from bot.importing.contacts import parse_contacts
from bot.importing.pupils import parse_pupils
from bot.importing.visits import parse_visits
from bot.synthetic import IMPORT_ORDER, SyntheticService, generate, school_days
from tests.conftest import make_settings

TODAY = date(2025, 3, 14)  # a Friday


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> SyntheticService:
    return generate(tmp_path_factory.mktemp("synthetic"), seed=7, pupils=300, today=TODAY)


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", seed=3, pupils=60, today=TODAY)
    again = generate(tmp_path / "b", seed=3, pupils=60, today=TODAY)
    other = generate(tmp_path / "c", seed=4, pupils=60, today=TODAY)
    for kind in IMPORT_ORDER:
        assert first.files[kind].read_bytes() == again.files[kind].read_bytes()
    assert first.files["attendance"].read_bytes() != other.files["attendance"].read_bytes()
    assert first.officers == again.officers


def test_every_file_parses_cleanly_and_the_counts_agree(service: SyntheticService) -> None:
    assert list(service.files) == list(IMPORT_ORDER)
    pupils = parse_pupils(service.files["pupils"], today=TODAY)
    contacts = parse_contacts(service.files["contacts"], today=TODAY)
    attendance = parse_attendance(service.files["attendance"], today=TODAY)
    allocations = parse_allocations(service.files["allocations"], today=TODAY)
    visits = parse_visits(service.files["visits"], today=TODAY)
    assert len(pupils.rows) == service.pupils == 300
    assert len(contacts.rows) == service.contacts + service.contacts_not_held
    assert len(attendance.rows) == service.marks + service.marks_not_held
    assert attendance.no_mark == service.no_mark > 0  # this afternoon, not marked yet
    assert len(allocations.rows) == service.allocations > 0
    assert len(visits.rows) == service.visits > 0
    held = {row.upn for row in pupils.rows}
    assert {row.upn for row in allocations.rows} <= held
    assert {row.upn for row in visits.rows} <= held
    assert {row.upn for row in contacts.rows} - held  # some rows for pupils not held
    assert set(attendance.rows.by_pupil) - held  # type: ignore[attr-defined]


def test_small_and_odd_services_parse_too(tmp_path: Path) -> None:
    for number, options in enumerate(
        [
            {"schools": 1, "pupils": 25, "officers": 0, "supervisors": 0, "controllers": 0},
            {"schools": 9, "pupils": 40, "officers": 7, "supervisors": 3, "weeks": 3},
            {"pupils": 0},
        ]
    ):
        made = generate(tmp_path / str(number), today=date(2025, 3, 16), **options)  # Sunday
        assert made.no_mark == 0  # no school today
        parse_pupils(made.files["pupils"], today=made.today)
        parse_attendance(made.files["attendance"], today=made.today)
        parse_allocations(made.files["allocations"], today=made.today)
        parse_visits(made.files["visits"], today=made.today)
        parse_contacts(made.files["contacts"], today=made.today)


def test_officers_are_split_into_teams(service: SyntheticService) -> None:
    roles = Counter(person.role for person in service.officers)
    assert roles == {"officer": 4, "supervisor": 1, "controller": 1}
    supervisors = {p.ref for p in service.officers if p.role == "supervisor"}
    for person in service.officers:
        expected = supervisors if person.role == "officer" else {None}
        assert person.supervisor_ref in expected
    allocations = parse_allocations(service.files["allocations"], today=TODAY)
    caseloads = Counter(row.officer_ref for row in allocations.rows)
    assert 1 <= caseloads["SUP01"] <= 5  # a few pupils of their own
    assert all(caseloads[f"EWO0{n}"] > 5 for n in range(1, 5))
    assert "DPO01" not in caseloads


def test_pupils_look_like_a_real_service(service: SyntheticService) -> None:
    pupils = list(parse_pupils(service.files["pupils"], today=TODAY).rows)
    years = Counter(row.year_group for row in pupils)
    compulsory = sum(years[y] for y in ("R", *map(str, range(1, 12))))
    assert compulsory > 0.85 * len(pupils)
    assert years["N1"] + years["N2"] > 0 and years["12"] + years["13"] > 0
    assert any(not row.first_name.isascii() for row in pupils)  # Zoë, Siân, José…
    assert len({row.school_urn for row in pupils}) == 3
    assert any(row.upn[-1].isalpha() for row in pupils)  # a temporary UPN
    for row in pupils:  # dates of birth fit the year group (September to August)
        offset = {"N1": -2, "N2": -1, "R": 0}.get(row.year_group)
        offset = int(row.year_group) if offset is None else offset
        assert row.date_of_birth.year in (2019 - offset, 2020 - offset)


def test_school_days_are_weekdays_with_a_half_term_gap() -> None:
    days = school_days(TODAY, 12)
    assert len(days) == 60 and days[-1] == TODAY
    assert all(day.weekday() < 5 for day in days)
    gaps = [later - earlier for earlier, later in zip(days, days[1:], strict=False)]
    assert gaps.count(timedelta(days=10)) == 1  # the half-term week
    assert timedelta(days=17) in gaps  # Christmas
    assert len(school_days(date(2025, 2, 5), 3)) == 13  # Wednesday: the week so far


def test_the_autumn_term_starts_on_the_first_of_september_whatever_its_weekday() -> None:
    # 1 September 2026 is a Tuesday: its week is a school week from the Tuesday, and
    # the August weeks before it are holiday, not school weeks.
    assert school_days(date(2026, 9, 4), 1) == [date(2026, 9, d) for d in (1, 2, 3, 4)]
    days = school_days(date(2026, 9, 8), 3)
    assert days[:5] == [date(2026, 7, d) for d in range(27, 32)]  # the summer term's end
    assert [day for day in days if day.month > 7] == [
        date(2026, 9, d) for d in (1, 2, 3, 4, 7, 8)]


def tallies(service: SyntheticService) -> dict[str, tuple[Tally, list[str]]]:
    attendance = parse_attendance(service.files["attendance"], today=TODAY)
    held = {row.upn for row in parse_pupils(service.files["pupils"], today=TODAY).rows}
    result = {}
    for upn, marks in attendance.rows.by_pupil.items():  # type: ignore[attr-defined]
        if upn in held:
            codes = [code for _, _, code in sorted(marks.marks())]
            result[upn] = (Tally.of(codes), codes)
    return result


def test_attendance_is_spread_like_a_real_service(service: SyntheticService) -> None:
    pupils = tallies(service)
    assert len(pupils) == 300
    share = {
        "persistent": sum(in_band(t.attended, t.possible, 90) for t, _ in pupils.values()),
        "severe": sum(in_band(t.attended, t.possible, 50) for t, _ in pupils.values()),
        "95 or more": sum(t.attended * 100 >= 95 * t.possible for t, _ in pupils.values()),
        "10 lates": sum(t.lates >= 10 for t, _ in pupils.values()),
    }
    assert 0.08 * 300 <= share["persistent"] <= 0.30 * 300
    assert 0.01 * 300 <= share["severe"] <= 0.08 * 300
    assert share["95 or more"] > 0.5 * 300
    assert share["10 lates"] >= 3


def test_attendance_has_the_codes_rules_need(service: SyntheticService) -> None:
    pupils = tallies(service)
    used = Counter(code for _, codes in pupils.values() for code in codes)
    assert {"/", "\\", "L", "U", "N", "O", "I", "M", "#"} <= set(used)
    assert used["V"] + used["B"] > 0 and used["C"] > 0
    continuous = [
        upn
        for upn, (_, codes) in pupils.items()
        if all(code in "NO" for code in [c for c in codes if c != "#"][-20:])
    ]
    assert 1 <= len(continuous) <= 30


def test_closures_are_shared_by_a_school(service: SyntheticService) -> None:
    pupils = {
        row.upn: row.school_urn for row in parse_pupils(service.files["pupils"], today=TODAY).rows
    }
    attendance = parse_attendance(service.files["attendance"], today=TODAY)
    closed: dict[str, set[tuple[date, str]]] = defaultdict(set)
    for row in attendance.rows:
        if row.code == "#" and row.upn in pupils:
            closed[pupils[row.upn]].add((row.date, row.upn))
    for urn in set(pupils.values()):
        by_day = Counter(day for day, _ in closed[urn])
        school_size = sum(1 for school in pupils.values() if school == urn)
        assert by_day and all(count == school_size for count in by_day.values())


def test_visits_have_follow_ups_after_them(service: SyntheticService) -> None:
    visits = list(parse_visits(service.files["visits"], today=TODAY).rows)
    assert all(visit.date < TODAY for visit in visits)
    with_follow_up = [visit for visit in visits if visit.follow_up]
    assert with_follow_up and all(v.follow_up >= v.date for v in with_follow_up)  # type: ignore[operator]
    assert any(v.follow_up <= TODAY for v in with_follow_up)  # type: ignore[operator]
    assert {v.type for v in visits} >= {"home", "phone"}


def test_the_showcase_adds_rows_and_changes_none(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain", seed=3, pupils=60, today=TODAY)
    shown = generate(tmp_path / "shown", seed=3, pupils=60, today=TODAY, showcase=True)
    assert plain.showcase is None and shown.showcase is not None
    assert shown.files["attendance"].read_bytes() == plain.files["attendance"].read_bytes()
    for kind in ("pupils", "contacts", "allocations", "visits"):
        before, after = plain.files[kind].read_bytes(), shown.files[kind].read_bytes()
        assert after.startswith(before) and len(after) > len(before)
    pupils = parse_pupils(shown.files["pupils"], today=TODAY)
    # alert cases, due records, pathway cases
    assert len(pupils.rows) == shown.pupils == 60 + 5 + 5 + 3
    assert len(parse_contacts(shown.files["contacts"], today=TODAY).rows) == \
        shown.contacts + shown.contacts_not_held
    assert len(parse_allocations(shown.files["allocations"], today=TODAY).rows) == \
        shown.allocations
    assert len(parse_visits(shown.files["visits"], today=TODAY).rows) == shown.visits
    assert len({row.upn for row in pupils.rows}) == len(pupils.rows)  # UPNs stay unique
    assert all(len(upns) <= 5 for upns in shown.allocated.values())
    assert set(shown.allocated) == {"SUP01", "EWO01", "EWO02", "EWO03", "EWO04"}


def test_each_alert_case_makes_its_rule_hold(tmp_path: Path) -> None:
    made = generate(tmp_path, seed=1, pupils=20, today=TODAY, showcase=True)
    assert made.showcase is not None
    late = parse_attendance(made.showcase.late_attendance, today=TODAY)
    by_pupil = late.rows.by_pupil  # type: ignore[attr-defined]
    assert set(by_pupil) == set(made.showcase.alert_cases.values())
    expected = {
        Rule.PERSISTENT: {Rule.PERSISTENT},
        Rule.SEVERE: {Rule.SEVERE, Rule.PERSISTENT},
        Rule.PENALTY: {Rule.PENALTY},
        # A long unauthorised absence brings persistent absence and a penalty notice.
        Rule.CONTINUOUS: {Rule.CONTINUOUS, Rule.PERSISTENT, Rule.PENALTY},
        Rule.PUNCTUALITY: {Rule.PUNCTUALITY},
    }
    for rule, upn in made.showcase.alert_cases.items():
        marks = sorted(by_pupil[upn].marks())
        holding = rules_holding(year_tally=Tally.of([code for _, _, code in marks]),
                                marks_recent=marks, pa_threshold=90, sa_threshold=50,
                                continuous_sessions=20)
        assert holding == expected[Rule(rule)], rule
    allocations = parse_allocations(made.files["allocations"], today=TODAY)
    officer = {row.upn: row.officer_ref for row in allocations.rows}
    assert {officer[upn] for upn in made.showcase.alert_cases.values()} == \
        {made.showcase.officer_ref} == {"EWO01"}


def test_the_due_records_are_past_due_and_coming_due(tmp_path: Path) -> None:
    made = generate(tmp_path, seed=1, pupils=20, today=TODAY, showcase=True)
    assert made.showcase is not None
    visits = parse_visits(made.files["visits"], today=TODAY).rows
    last = {row.upn: row.date for row in visits}
    year_end = make_settings(tmp_path).academic_year_end
    demo = RetentionPolicy(TODAY, year_end, 366)
    usual = RetentionPolicy(TODAY, year_end, 30)
    assert made.showcase.held in made.showcase.past_due
    assert [demo.stage(last[upn]) for upn in made.showcase.past_due] == [PAST] * 3
    assert [demo.stage(last[upn]) for upn in made.showcase.coming_due] == [COMING] * 2
    assert [usual.stage(last[upn]) for upn in made.showcase.coming_due] == [None] * 2
    allocated = {row.upn for row in parse_allocations(made.files["allocations"],
                                                      today=TODAY).rows}
    assert not allocated & {*made.showcase.past_due, *made.showcase.coming_due}  # left


def test_the_pathway_cases_are_the_officers_with_a_parent_and_marks(tmp_path: Path) -> None:
    made = generate(tmp_path, seed=1, pupils=20, today=TODAY, showcase=True)
    assert made.showcase is not None and made.showcase.pathway_attendance is not None
    cases = made.showcase.pathway_cases
    assert set(cases) == {"support_plan", "nti", "penalty_notice"}
    assert set(made.showcase.shared) <= set(cases.values()) and len(made.showcase.shared) == 2
    allocations = parse_allocations(made.files["allocations"], today=TODAY)
    officer = {row.upn: row.officer_ref for row in allocations.rows}
    assert {officer[upn] for upn in cases.values()} == {"EWO01"}
    contacts = parse_contacts(made.files["contacts"], today=TODAY).rows
    for upn in cases.values():
        mine = [row for row in contacts if row.upn == upn]
        assert any(row.parental_responsibility for row in mine), upn
    marks = parse_attendance(made.showcase.pathway_attendance, today=TODAY).rows
    assert set(marks.by_pupil) == set(cases.values())  # type: ignore[attr-defined]
