"""Attendance codes, figures and the five rules, as ATTENDANCE.md states them."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.domain.attendance import (
    CODES,
    RULE_LABELS,
    CodeGroup,
    Rule,
    Tally,
    UnknownCode,
    continuous_absence_holds,
    covers_recent_window,
    in_band,
    is_attended,
    is_late,
    is_possible,
    is_unauthorised,
    normalise_code,
    penalty_notice_holds,
    percent_text,
    punctuality_holds,
    recent_window_start,
    rules_holding,
)
from bot.domain.dates import school_week_start

GROUPS = {
    CodeGroup.PRESENT: ["/", "\\", "L"],
    CodeGroup.APPROVED: ["K", "V", "P", "W", "B"],
    CodeGroup.AUTHORISED: ["C", "C1", "C2", "M", "J1", "S", "I", "R", "T", "E"],
    CodeGroup.UNAUTHORISED: ["G", "N", "O", "U"],
    CodeGroup.UNAVOIDABLE: ["Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"],
    CodeGroup.ADMINISTRATIVE: ["D", "X", "Z", "#"],
}
RETIRED = {"H": CodeGroup.AUTHORISED, "J": CodeGroup.APPROVED, "F": CodeGroup.AUTHORISED,
           "Y": CodeGroup.UNAVOIDABLE}  # fmt: skip

# A school week of five weekdays starting Monday 2 September 2024.
MONDAY = date(2024, 9, 2)


# --- codes ---------------------------------------------------------------------------


def test_every_code_is_in_its_group_and_nothing_else_is_a_code() -> None:
    expected = {code: group for group, codes in GROUPS.items() for code in codes} | RETIRED
    assert dict(CODES) == expected


@pytest.mark.parametrize(
    ("group", "possible", "attended", "unauthorised"),
    [
        (CodeGroup.PRESENT, True, True, False),
        (CodeGroup.APPROVED, True, True, False),
        (CodeGroup.AUTHORISED, True, False, False),
        (CodeGroup.UNAUTHORISED, True, False, True),
        (CodeGroup.UNAVOIDABLE, False, False, False),
        (CodeGroup.ADMINISTRATIVE, False, False, False),
    ],
)
def test_each_group_counts_as_stated(
    group: CodeGroup, possible: bool, attended: bool, unauthorised: bool
) -> None:
    for code in GROUPS[group]:
        assert (is_possible(code), is_attended(code), is_unauthorised(code)) == (
            possible,
            attended,
            unauthorised,
        ), code


@pytest.mark.parametrize(
    ("code", "tally"),
    [
        ("H", Tally(possible=1, authorised=1)),
        ("J", Tally(possible=1, attended=1)),
        ("F", Tally(possible=1, authorised=1)),
        ("Y", Tally()),
    ],
)
def test_retired_codes_count_as_stated(code: str, tally: Tally) -> None:
    assert Tally.of([code]) == tally


def test_lates_are_l_and_u_only() -> None:
    assert [code for code in CODES if is_late(code)] == ["L", "U"]
    assert Tally.of(["L", "U", "/"]) == Tally(
        possible=3, attended=2, unauthorised=1, lates_l=1, lates_u=1
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [("/", "/"), ("\\", "\\"), (" l ", "L"), ("c1", "C1"), ("y7", "Y7"), ("#", "#"),
     ("h", "H")],
)  # fmt: skip
def test_normalise_code_trims_and_upper_cases(raw: str, code: str) -> None:
    assert normalise_code(raw) == code


@pytest.mark.parametrize("raw", ["-", "", "   ", " - "])
def test_no_mark_is_none(raw: str) -> None:
    assert normalise_code(raw) is None


@pytest.mark.parametrize("raw", ["A", "Y8", "C3", "//", "--", "0", "L/", "PRESENT"])
def test_unknown_codes_are_refused_without_echoing_them(raw: str) -> None:
    with pytest.raises(UnknownCode) as caught:
        normalise_code(raw)
    assert isinstance(caught.value, ValueError)
    assert raw not in str(caught.value)


def test_unknown_code_is_refused_by_the_counting_functions_too() -> None:
    for check in (is_possible, is_attended, is_unauthorised, is_late):
        with pytest.raises(UnknownCode):
            check("A")
    with pytest.raises(UnknownCode):
        Tally.of(["/", "l"])  # counting takes normalised codes only


# --- figures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "text"),
    [
        (0, 0, "n/a"),
        (0, 10, "0.0 %"),
        (10, 10, "100.0 %"),
        (1, 8, "12.5 %"),
        (2, 3, "66.7 %"),
        (1, 3, "33.3 %"),
        (181, 201, "90.0 %"),
        (72, 80, "90.0 %"),
        (17, 20, "85.0 %"),
        (1, 16, "6.3 %"),  # 6.25 rounds half up
        (1, 2000, "0.1 %"),  # 0.05 rounds half up
        (1, 2001, "0.0 %"),
        (1999, 2000, "100.0 %"),  # 99.95 rounds up to 100.0
    ],
)
def test_percent_text(numerator: int, denominator: int, text: str) -> None:
    assert percent_text(numerator, denominator) == text


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_percent_text_agrees_with_exact_half_up_rounding(numerator: int, denominator: int) -> None:
    exact = Fraction(numerator * 1000, denominator)
    tenths = int(exact + Fraction(1, 2))  # floor for non-negative values
    assert percent_text(numerator, denominator) == f"{Decimal(tenths).scaleb(-1):.1f} %"


def test_no_possible_sessions_is_never_zero_nor_a_hundred() -> None:
    tally = Tally.of(["#", "Q", "X"])
    assert tally.possible == 0
    assert tally.attendance_percent_text == "n/a"
    assert tally.absence_percent_text == "n/a"


def test_tally_figures() -> None:
    codes = ["/"] * 14 + ["K"] * 3 + ["C"] * 2 + ["N"] + ["#"] * 5 + ["Y1"]
    tally = Tally.of(codes)
    assert (tally.possible, tally.attended, tally.authorised, tally.unauthorised) == (20, 17, 2, 1)
    assert tally.attendance_percent_text == "85.0 %"
    assert tally.absence_percent_text == "15.0 %"


@pytest.mark.parametrize(
    ("attended", "possible", "threshold", "inside"),
    [
        (72, 80, 90, True),  # exactly 90.0 %
        (181, 201, 90, False),  # shows 90.0 % but is just above
        (180, 201, 90, True),
        (10, 20, 50, True),  # exactly 50 %
        (11, 20, 50, False),
        (0, 0, 90, False),  # no possible sessions: no band
        (0, 1, 50, True),
    ],
)
def test_in_band_compares_whole_numbers(
    attended: int, possible: int, threshold: int, inside: bool
) -> None:
    assert in_band(attended, possible, threshold) is inside


codes_lists = st.lists(st.sampled_from(sorted(CODES)), max_size=40)


@given(codes_lists, st.sampled_from(sorted(CODES)))
def test_with_code_then_without_code_round_trips(codes: list[str], code: str) -> None:
    tally = Tally.of(codes)
    assert tally.with_code(code).without_code(code) == tally
    assert tally.with_code(code) == Tally.of([*codes, code])


@given(codes_lists)
def test_tally_of_counted_codes_is_the_tally_of_the_codes(codes: list[str]) -> None:
    assert Tally.of_counts(Counter(codes)) == Tally.of(codes)


@given(codes_lists, codes_lists)
def test_tallies_add_up(first: list[str], second: list[str]) -> None:
    assert Tally.of(first) + Tally.of(second) == Tally.of(first + second)


@given(codes_lists, st.sampled_from(sorted(CODES)), st.sampled_from(sorted(CODES)))
def test_replacing_a_mark_is_remove_old_add_new(codes: list[str], old: str, new: str) -> None:
    before = Tally.of([*codes, old])
    assert before.without_code(old).with_code(new) == Tally.of([*codes, new])


def test_taking_away_a_mark_never_added_is_refused() -> None:
    with pytest.raises(ValueError):
        Tally.of(["/"]).without_code("N")
    assert Tally().without_code("#") == Tally()  # not counted, nothing to take away


# --- rules ---------------------------------------------------------------------------


def test_rule_values_and_labels() -> None:
    assert [rule.value for rule in Rule] == [
        "persistent_absence",
        "severe_absence",
        "penalty_notice",
        "continuous_absence",
        "punctuality",
    ]
    assert Rule("penalty_notice") is Rule.PENALTY
    assert Rule.SEVERE == "severe_absence"
    assert RULE_LABELS == {
        Rule.PERSISTENT: "persistent absence",
        Rule.SEVERE: "severe absence",
        Rule.PENALTY: "penalty-notice consideration",
        Rule.CONTINUOUS: "continuous absence (possible CME — check)",
        Rule.PUNCTUALITY: "punctuality concern",
    }


def week(monday: date, codes: str) -> list[tuple[date, str]]:
    """Marks of one week: `codes` lists the sessions AM, PM, AM, PM… from Monday,
    space-separated; `.` is a session with no mark."""
    marks = []
    for index, code in enumerate(codes.split()):
        if code != ".":
            marks.append((monday + timedelta(days=index // 2), code))
    return marks


def sessions_of(monday: date, codes: str) -> list[tuple[date, str, str]]:
    """Like `week`, with the session named."""
    marks = []
    for index, code in enumerate(codes.split()):
        if code != ".":
            marks.append((monday + timedelta(days=index // 2), ("AM", "PM")[index % 2], code))
    return marks


FULL_WEEK = "/ / / / / / / / / /"


def weeks_with_one_unauthorised(first_monday: date, count: int) -> list[tuple[date, str]]:
    marks = []
    for n in range(count):
        marks += week(first_monday + timedelta(weeks=n), "N / / / / / / / / /")
    return marks


def test_penalty_exactly_ten_unauthorised_in_ten_weeks_holds_nine_does_not() -> None:
    marks = weeks_with_one_unauthorised(MONDAY, 10)
    assert penalty_notice_holds(marks)
    # The same ten weeks with one N fewer.
    marks.remove((MONDAY, "N"))
    marks.append((MONDAY, "/"))
    assert not penalty_notice_holds(marks)


def test_penalty_counts_any_mix_of_g_n_o_u() -> None:
    marks = week(MONDAY, "G N O U G N O U G N")
    assert penalty_notice_holds(marks)
    assert not penalty_notice_holds(week(MONDAY, "G N O U G N O U G /"))


def test_penalty_window_is_the_ten_most_recent_school_weeks() -> None:
    # Eleven weeks with one N each: the oldest week falls outside the window.
    marks = weeks_with_one_unauthorised(MONDAY, 11)
    marks.remove((MONDAY + timedelta(weeks=10), "N"))
    marks.append((MONDAY + timedelta(weeks=10), "/"))
    assert not penalty_notice_holds(marks)


def test_penalty_window_reaches_across_a_holiday_gap() -> None:
    # Five school weeks, a half-term with no marks and one week all '#', five more.
    before = weeks_with_one_unauthorised(MONDAY, 5)
    closure = week(MONDAY + timedelta(weeks=5), "# # # # # # # # # #")
    after = weeks_with_one_unauthorised(MONDAY + timedelta(weeks=7), 5)
    assert penalty_notice_holds(before + closure + after)
    # With a sixth week before, the first week drops out of the window.
    earlier = week(MONDAY - timedelta(weeks=1), FULL_WEEK)
    assert penalty_notice_holds(earlier + before + closure + after)
    assert not penalty_notice_holds(before[1:] + closure + after + earlier)


def test_a_week_with_one_other_mark_is_a_school_week() -> None:
    # One weekday '#' and one 'X' make week 2 a school week; week 1's N drops out.
    marks = week(MONDAY, "N N") + week(MONDAY + timedelta(weeks=1), "# X")
    marks += [m for n in range(9) for m in week(MONDAY + timedelta(weeks=n + 2), "N /")]
    assert not penalty_notice_holds(marks)  # 9 N in the ten most recent school weeks
    only_closure = week(MONDAY, "N N") + week(MONDAY + timedelta(weeks=1), "# #")
    only_closure += [m for n in range(9) for m in week(MONDAY + timedelta(weeks=n + 2), "N /")]
    assert penalty_notice_holds(only_closure)  # week 2 is not a school week: 11 N


def test_penalty_window_spans_an_academic_year() -> None:
    # Six weeks to 18 July 2025, the summer holiday, four weeks from 1 September.
    summer_term = weeks_with_one_unauthorised(date(2025, 6, 9), 6)
    autumn_term = weeks_with_one_unauthorised(date(2025, 9, 1), 4)
    assert penalty_notice_holds(summer_term + autumn_term)
    assert not penalty_notice_holds(summer_term[1:] + autumn_term)


def test_weeks_run_monday_to_sunday() -> None:
    marks = week(MONDAY + timedelta(weeks=1), FULL_WEEK)
    marks += weeks_with_one_unauthorised(MONDAY + timedelta(weeks=2), 9)
    # A Sunday mark belongs to the week of the Monday before it: this one makes an
    # eleventh school week, outside the window.
    first_sunday = MONDAY + timedelta(days=6)
    assert not penalty_notice_holds([*marks, (first_sunday, "N")])
    last_sunday = MONDAY + timedelta(weeks=10, days=6)
    assert penalty_notice_holds([*marks, (first_sunday, "N"), (last_sunday, "N")])


def test_punctuality_counts_l_and_u_in_four_school_weeks() -> None:
    lates = week(MONDAY, "L / U / L / U / L /")
    lates += week(MONDAY + timedelta(weeks=1), "U / L / U / L / U /")
    assert punctuality_holds(lates)  # 5 + 5
    assert not punctuality_holds(lates[1:])
    # Other unauthorised codes are not lates.
    assert not punctuality_holds(week(MONDAY, "N N N N N N N N N U"))


def test_punctuality_window_is_four_school_weeks() -> None:
    marks = week(MONDAY, "L L L L L L L L L L")
    for n in range(1, 4):
        marks += week(MONDAY + timedelta(weeks=n), FULL_WEEK)
    assert punctuality_holds(marks)
    marks += week(MONDAY + timedelta(weeks=4), FULL_WEEK)
    assert not punctuality_holds(marks)


def test_no_marks_no_rules() -> None:
    assert not penalty_notice_holds([])
    assert not punctuality_holds([])
    assert not continuous_absence_holds([], 20)


def test_continuous_absence_twenty_n_or_o_sessions() -> None:
    marks = sessions_of(MONDAY, "N O N O N O N O N O")
    marks += sessions_of(MONDAY + timedelta(weeks=1), "N N N N N N N N N N")
    assert continuous_absence_holds(marks, 20)
    assert not continuous_absence_holds(marks[1:], 20)
    assert continuous_absence_holds(marks[1:], 19)


def test_continuous_absence_other_unauthorised_codes_break_the_run() -> None:
    for breaker in ("G", "U", "/", "L", "C", "K"):
        marks = sessions_of(MONDAY, f"N N N {breaker} N N N N")
        assert not continuous_absence_holds(marks, 5), breaker
        assert continuous_absence_holds(marks, 4), breaker


def test_continuous_absence_not_possible_sessions_neither_break_nor_extend() -> None:
    marks = sessions_of(MONDAY, "N N # # Q Y1 N N D X Z N")
    assert continuous_absence_holds(marks, 5)
    assert not continuous_absence_holds(marks, 6)  # and they do not count


def test_continuous_absence_missing_mark_breaks_the_run() -> None:
    # Tuesday afternoon has no mark while Tuesday morning has one.
    marks = sessions_of(MONDAY, "N N N . N N N N")
    assert not continuous_absence_holds(marks, 5)
    assert continuous_absence_holds(marks, 4)
    # A morning missing on a day whose afternoon is marked breaks it too.
    marks = sessions_of(MONDAY, "N N . N N N")
    assert not continuous_absence_holds(marks, 4)
    assert continuous_absence_holds(marks, 3)


def test_continuous_absence_latest_afternoon_not_marked_yet() -> None:
    marks = sessions_of(MONDAY, "N N N N N .")
    assert continuous_absence_holds(marks, 5)


def test_continuous_absence_days_without_marks_are_not_missing() -> None:
    # Friday to the next Tuesday: the weekend and a bank holiday Monday carry no marks.
    friday = MONDAY + timedelta(days=4)
    marks = [(friday, "AM", "N"), (friday, "PM", "O")]
    marks += sessions_of(MONDAY + timedelta(weeks=1), ". . N N")
    assert continuous_absence_holds(marks, 4)


def test_continuous_absence_a_later_mark_replaces_an_earlier_one() -> None:
    marks = sessions_of(MONDAY, "N N N N") + [(MONDAY, "AM", "/")]
    assert not continuous_absence_holds(marks, 4)
    assert continuous_absence_holds(marks, 3)


def test_rules_holding_reads_a_run_from_the_end_and_refuses_marks_out_of_order() -> None:
    run = sessions_of(MONDAY, "N N N N")
    later = sessions_of(MONDAY + timedelta(weeks=1), "/ /")

    def rules(marks: list[tuple[date, str, str]]) -> frozenset[Rule]:
        return rules_holding(year_tally=Tally(), marks_recent=marks, pa_threshold=90,
                             sa_threshold=50, continuous_sessions=4)

    assert rules(run) == {Rule.CONTINUOUS}
    assert rules(run + later) == frozenset()
    with pytest.raises(ValueError, match="chronological"):
        rules(later + run)


def test_rules_holding_bands_from_the_year_tally() -> None:
    def rules(attended: int, possible: int) -> frozenset[Rule]:
        tally = Tally(possible=possible, attended=attended)
        return rules_holding(
            year_tally=tally,
            marks_recent=[],
            pa_threshold=90,
            sa_threshold=50,
            continuous_sessions=20,
        )

    assert rules(72, 80) == {Rule.PERSISTENT}
    assert rules(181, 201) == frozenset()
    assert rules(10, 20) == {Rule.PERSISTENT, Rule.SEVERE}
    assert rules(11, 20) == {Rule.PERSISTENT}
    assert rules(0, 0) == frozenset()


def test_severe_absence_brings_persistent_absence_whatever_the_thresholds() -> None:
    # Settings forbid SA >= PA; the rules stay nested even so.
    tally = Tally(possible=100, attended=60)
    holding = rules_holding(
        year_tally=tally, marks_recent=[], pa_threshold=50, sa_threshold=70, continuous_sessions=20
    )
    assert holding == {Rule.PERSISTENT, Rule.SEVERE}


def test_rules_holding_all_five() -> None:
    marks = []
    for n in range(2):
        marks += sessions_of(MONDAY + timedelta(weeks=n), "U U U U U U U U U U")
    marks += sessions_of(MONDAY + timedelta(weeks=2), "N N N N N N N N N N")
    marks += sessions_of(MONDAY + timedelta(weeks=3), "O O O O O O O O O O")
    year_tally = Tally.of(code for _day, _session, code in marks)
    holding = rules_holding(
        year_tally=year_tally,
        marks_recent=marks,
        pa_threshold=90,
        sa_threshold=50,
        continuous_sessions=20,
    )
    assert holding == set(Rule)


def test_recent_window_start_is_a_monday_before_ten_school_weeks() -> None:
    latest = date(2025, 11, 5)  # a Wednesday after October half-term
    start = recent_window_start(latest)
    assert start.weekday() == 0
    # Ten school weeks back from here reach into July, past the summer holiday.
    assert start <= date(2025, 7, 7)


def test_covers_recent_window() -> None:
    since = MONDAY
    ten_weeks = [m for n in range(10) for m in sessions_of(since + timedelta(weeks=n), FULL_WEEK)]
    assert covers_recent_window(ten_weeks, since=since, continuous_sessions=20)
    # Nine school weeks: an earlier week could still be in the window.
    assert not covers_recent_window(ten_weeks[10:], since=since, continuous_sessions=20)
    # Ten weeks of N/O but the run is not yet 120 sessions long: earlier marks decide.
    absent = [(day, session, "N") for day, session, _code in ten_weeks]
    assert not covers_recent_window(absent, since=since, continuous_sessions=120)
    assert covers_recent_window(absent, since=since, continuous_sessions=100)
    with pytest.raises(ValueError):
        covers_recent_window(ten_weeks, since=since + timedelta(days=1), continuous_sessions=20)


# Runs of one code, so that long absences (a continuous run, ten unauthorised sessions)
# happen as often as their absence.
CODE_RUNS = st.lists(st.tuples(st.sampled_from(["/", "N", "O", "U", "L", "#", "Q"]),
                               st.integers(1, 120)), min_size=1, max_size=12)


@given(runs=CODE_RUNS, weeks_back=st.integers(0, 24), continuous=st.integers(1, 150))
def test_a_covered_window_gives_the_same_rules_as_the_whole_history(
        runs: list[tuple[str, int]], weeks_back: int, continuous: int) -> None:
    """Whichever Monday the window starts on, when `covers_recent_window` says its
    marks are enough, they give the rules the whole history gives."""
    # One mark per session on weekdays, from Monday 2 September 2024 on.
    codes = [code for code, length in runs for _ in range(length)]
    marks = []
    day = MONDAY
    for index, code in enumerate(codes):
        marks.append((day, ("AM", "PM")[index % 2], code))
        if index % 2:
            day += timedelta(days=3 if day.weekday() == 4 else 1)
    since = school_week_start(marks[-1][0]) - timedelta(weeks=weeks_back)
    recent = [mark for mark in marks if mark[0] >= since]

    def rules(window: list[tuple[date, str, str]]) -> frozenset[Rule]:
        return rules_holding(
            year_tally=Tally(),
            marks_recent=window,
            pa_threshold=90,
            sa_threshold=50,
            continuous_sessions=continuous,
        )

    assume(covers_recent_window(recent, since=since, continuous_sessions=continuous))
    assert rules(recent) == rules(marks)
