"""Pupil queries: who may see which pupil, search, the list's order, card figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from bot.domain.attendance import Rule, Tally
from bot.domain.dates import academic_year_bounds, academic_year_of
from bot.domain.text import name_matches
from bot.storage import pupils, rights
from bot.storage.db import Conn, Database, stamp
from bot.storage.officers import Officer
from tests.held import held_write
from tests.storage.pupil_rows import NOW, TODAY, YEAR_END, Service

# Valid UPNs (check letters computed by bot.domain.upn).
UPNS = ("H801200001001", "G80120000101A", "B801200005001")


@pytest.fixture
async def service(db: Database) -> AsyncIterator[Service]:
    async with held_write(db) as conn:
        yield Service(conn)


async def _find(conn: Conn, officer: Officer, query: str, **kw: object) -> list[str]:
    found = await pupils.find_pupils(conn, officer, query, today=TODAY, year_end=YEAR_END,
                                     **kw)  # type: ignore[arg-type]
    return [pupil.name for pupil in found]


async def test_an_officer_finds_only_their_own_pupils(service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    await service.pupil("Amelia", "Hughes", officer=ann)
    await service.pupil("Amelia", "Hurst", officer=bob)
    await service.pupil("Amelia", "Hale", officer=None)  # unallocated: nobody's
    assert await _find(service.conn, ann, "amelia") == ["Amelia Hughes"]
    assert await _find(service.conn, bob, "Amelia") == ["Amelia Hurst"]


async def test_search_ignores_case_and_accents_and_matches_prefixes(service: Service) -> None:
    ann = await service.officer("EWO1")
    await service.pupil("Zoë", "Łukasiewicz", officer=ann)
    await service.pupil("Seán", "O’Brien", officer=ann)
    await service.pupil("Zoe", "Smith-Jones", officer=ann)
    conn = service.conn
    assert await _find(conn, ann, "ZOE") == ["Zoë Łukasiewicz", "Zoe Smith-Jones"]
    assert await _find(conn, ann, "zoë ł") == ["Zoë Łukasiewicz"]
    assert await _find(conn, ann, "lukas") == ["Zoë Łukasiewicz"]
    assert await _find(conn, ann, "o'bri") == ["Seán O’Brien"]
    assert await _find(conn, ann, "  sean   o'b ") == ["Seán O’Brien"]
    assert await _find(conn, ann, "smith-j") == ["Zoe Smith-Jones"]
    # A prefix of the first name, of the last name, or of "first last" — nothing else.
    assert await _find(conn, ann, "brien") == []
    assert await _find(conn, ann, "o'brien sean") == []
    assert await _find(conn, ann, "zoe x") == []


async def test_search_ignores_apostrophes_hyphens_and_spaces_inside_names(
        service: Service) -> None:
    ann = await service.officer("EWO1")
    await service.pupil("Dylan", "O’Brien", officer=ann)
    await service.pupil("Mary-Jane", "Van der Berg", officer=ann)
    conn = service.conn
    for typed in ("obrien", "O'Brien", "o brien", "dylan o brien", "dylanob", "DYLAN O’BRIEN"):
        assert await _find(conn, ann, typed) == ["Dylan O’Brien"], typed
    for typed in ("vanderberg", "van derb", "maryjane", "mary jane van", "mary-jane-v"):
        assert await _find(conn, ann, typed) == ["Mary-Jane Van der Berg"], typed
    assert await _find(conn, ann, "brien") == []  # still a prefix, not any part


async def test_a_later_word_of_the_last_name_finds_the_pupil(service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    await service.pupil("Amelia", "Smith-Jones", officer=ann)
    await service.pupil("Mateo", "García López", officer=ann)
    await service.pupil("Rosa", "De La Cruz", officer=ann)
    await service.pupil("Joan", "Hill", officer=ann)
    await service.pupil("Dylan", "O’Brien", officer=ann)
    await service.pupil("Amelia", "Jones", officer=bob)  # another officer's
    await service.pupil("Carys", "Ap Jones", officer=bob)  # another officer's
    conn = service.conn
    for typed in ("Jones", "JONES", "jon", "Amelia Jones", "amelia jo", "amelia-jones",
                  "Amelia Smith-Jones", "smith j"):
        assert await _find(conn, ann, typed) == ["Amelia Smith-Jones"], typed
    for typed in ("Lopez", "lópez", "mateo lop", "Mateo López", "garcia l"):
        assert await _find(conn, ann, typed) == ["Mateo García López"], typed
    for typed in ("Cruz", "la cruz", "La", "rosa cruz", "Rosa La Cruz", "de la c"):
        assert await _find(conn, ann, typed) == ["Rosa De La Cruz"], typed
    # Ordered by last name as before, however each was found: Hill before Smith-Jones.
    assert await _find(conn, ann, "jo") == ["Joan Hill", "Amelia Smith-Jones"]
    assert await _find(conn, ann, "jo", by_index=True) == ["Joan Hill", "Amelia Smith-Jones"]
    # A word's start only, in order, and never across an apostrophe.
    for typed in ("ones", "jones amelia", "rosa de cruz", "brien", "dylan brien", "pez"):
        assert await _find(conn, ann, typed) == [], typed
    # Another officer's pupils are theirs alone, found by a later word or not.
    assert await _find(conn, bob, "Jones") == ["Carys Ap Jones", "Amelia Jones"]
    assert await _find(conn, bob, "amelia jones") == ["Amelia Jones"]
    assert await _find(conn, bob, "cruz") == []


async def test_name_matches_says_what_the_search_finds(service: Service) -> None:
    """bot.domain.text.name_matches and the SQL agree, name for name (no UPN or case
    reference among these queries)."""
    ann = await service.officer("EWO1")
    names = [("Amelia", "Smith-Jones"), ("Amelia", "Jones"), ("Rosa", "De La Cruz"),
             ("Mary Ann", "Van der Berg"), ("Seán", "O’Brien"), ("Jo", "Jo Jo"),
             ("Zoë", "Łukasiewicz-Nowak"), ("Ann", "Smith")]
    for first, last in names:
        await service.pupil(first, last, officer=ann)
    queries = {"amelia", "jones", "amelia jo", "smith", "smith jones", "la", "la cruz", "cruz",
               "rosa la", "van", "der", "mary ann b", "mary ann der", "brien", "o brien",
               "jo", "jojo", "jo jo jo", "jojojojo", "nowak", "zoe n", "zoe l", "ann s", "a"}
    for typed in sorted(queries):
        for by_index in (True, False):
            found = await _find(service.conn, ann, typed, limit=50, by_index=by_index)
            expected = [f"{first} {last}" for first, last in names
                        if name_matches(typed, first, last)]
            assert sorted(found) == sorted(expected), (typed, by_index)


async def test_near_misses_are_the_officers_own_pupils_only(service: Service) -> None:
    sup = await service.team()  # Amy Own (SUP1's), Amy Team (EWO1's), Amy Other (EWO2's)

    async def near(person: Officer, typed: str) -> list[str]:
        found = await pupils.near_misses(service.conn, person, typed, today=TODAY,
                                         year_end=YEAR_END)
        return [pupil.name for pupil in found]

    assert await near(sup["SUP1"], "Amy Ownn") == ["Amy Own"]
    assert await near(sup["SUP1"], "Amy Taem") == []  # the team's pupil: never offered
    assert await near(sup["EWO1"], "Amy Taem") == ["Amy Team"]
    assert await near(sup["EWO1"], "Amy Othr") == []  # another officer's
    assert await near(sup["CTL1"], "Amy Ownn") == []
    assert await near(sup["EWO1"], "Amt") == []  # too short to guess at


async def test_search_wildcards_are_literal(service: Service) -> None:
    ann = await service.officer("EWO1")
    await service.pupil("Amelia", "Hughes", officer=ann)
    for typed in ("%", "_melia", "a%", "\\", ""):
        assert await _find(service.conn, ann, typed) == []


async def test_exact_upn_and_case_reference(service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    await service.pupil("Amelia", "Hughes", officer=ann, upn=UPNS[0])
    await service.pupil("Noah", "Patel", officer=bob, upn=UPNS[1])
    conn = service.conn
    assert await _find(conn, ann, "h801 2000 01001") == ["Amelia Hughes"]
    assert await _find(conn, ann, UPNS[0][:-1]) == []  # a UPN is exact, never a prefix
    assert await _find(conn, ann, UPNS[1]) == []  # another officer's pupil
    assert await _find(conn, bob, UPNS[1].lower()) == ["Noah Patel"]
    assert await _find(conn, ann, "c00001") == ["Amelia Hughes"]
    assert await _find(conn, ann, "C00002") == []  # Noah's case reference, not Ann's pupil


async def test_the_indexes_find_what_reading_every_pupil_finds(service: Service) -> None:
    sup = await service.team()
    ann = sup["EWO1"]
    names = [("Amy", "Own"), ("Zoë", "Łukasiewicz"), ("Mary Ann", "Smith-Jones"),
             ("Mary", "Ann Smith"), ("Ann", "C00002"), ("T0000", "Hill"), ("50%", "Off_Cut"),
             ("Seán", "O’Brien"), ("Jo", "Jo Jo"), ("Åsa", "\\back"),
             ("Amelia", "Smith-Jones"), ("Rosa", "De La Cruz"), ("Mateo", "García López"),
             ("Amelia", "Jones"), ("Ann", "Smith Ann-Smith")]
    for number, (first, last) in enumerate(names):
        await service.pupil(first, last, officer=(ann, sup["SUP1"], sup["EWO2"])[number % 3])
    await service.conn.execute("UPDATE pupils SET case_ref = 'c-low1' WHERE id = 4")
    rows = await service.conn.fetchall("SELECT upn, case_ref, first_name, last_name FROM pupils")
    queries = {"", " ", "%", "_", "\\", "mary a", "mary ann s", "jo jo j", "sean o'", "zoe l",
               "obrien", "o brien", "seanob", "maryanns", "mary-ann", "jojoj", "annsmi"}
    for upn, case_ref, first, last in rows:
        words = last.replace("-", " ").split()
        tails = [" ".join(words[start:]) for start in range(1, len(words))]
        for text in (f"{first} {last}", last, upn, case_ref.lower(), *tails,
                     *(f"{first} {tail}" for tail in tails)):
            queries |= {text[:length] for length in range(1, len(text) + 1)}
    for person, team in ((ann, False), (sup["SUP1"], True), (sup["SUP1"], False)):
        for typed in sorted(queries):
            found = [await pupils.find_pupils(
                service.conn, person, typed, today=TODAY, year_end=YEAR_END,
                include_team=team, by_index=by_index) for by_index in (True, False)]
            assert found[0] == found[1], typed


async def test_a_refused_lookup_by_upn_or_case_reference_is_audited(
        service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    await service.pupil("Noah", "Patel", officer=bob, upn=UPNS[1])
    conn = service.conn
    for typed in (UPNS[1].lower(), " c00001 "):
        assert await pupils.record_refused_lookup(conn, ann, typed, via="pupil_command")
    for typed in ("Noah", "Patel", UPNS[0], "C00009", ""):  # names and misses are not
        assert not await pupils.record_refused_lookup(conn, ann, typed, via="search")
    entries = await conn.fetchall("SELECT actor, action, target, reason, detail FROM audit")
    assert [tuple(entry) for entry in entries] == [
        ("officer:EWO1", "refused:pupil_lookup", "pupil:1", "not_visible",
         '{"via":"pupil_command"}')] * 2


async def test_supervisor_sees_own_and_team_only_when_asked(service: Service) -> None:
    sup = await service.team()
    conn = service.conn
    assert await _find(conn, sup["SUP1"], "a") == ["Amy Own"]
    with_team = await pupils.find_pupils(conn, sup["SUP1"], "a", today=TODAY,
                                         year_end=YEAR_END, include_team=True)
    assert [(p.name, p.access, p.officer_ref) for p in with_team] == [
        ("Amy Own", "own", "SUP1"), ("Amy Team", "supervision", "EWO1")]
    # include_team means nothing to an officer.
    assert await _find(conn, sup["EWO1"], "a", include_team=True) == ["Amy Team"]


async def test_controller_sees_no_pupil_data(service: Service) -> None:
    people = await service.team()
    conn, ctl = service.conn, people["CTL1"]
    assert await _find(conn, ctl, "amy", include_team=True) == []
    assert await pupils.pupils_for_officer(conn, ctl, today=TODAY, year_end=YEAR_END,
                                           offset=0, limit=10) == ([], 0)
    for pupil_id in (1, 2, 3):
        assert await pupils.pupil_card(conn, ctl, pupil_id, today=TODAY,
                                       year_end=YEAR_END) is None
        assert await pupils.pupil_details(conn, ctl, pupil_id) is None


async def test_cards_and_details_follow_the_same_scope(service: Service) -> None:
    people = await service.team()  # pupils 1 (SUP1), 2 (EWO1), 3 (EWO2)
    conn = service.conn
    expected = {
        "SUP1": {1: "own", 2: "supervision"},
        "SUP2": {3: "supervision"},
        "EWO1": {2: "own"},
        "EWO2": {3: "own"},
        "CTL1": {},
    }
    for ref, visible in expected.items():
        for pupil_id in (1, 2, 3, 99):
            card = await pupils.pupil_card(conn, people[ref], pupil_id, today=TODAY,
                                           year_end=YEAR_END)
            details = await pupils.pupil_details(conn, people[ref], pupil_id)
            access = visible.get(pupil_id)
            assert (card.access if card else None) == access, (ref, pupil_id)
            assert (details.access if details else None) == access, (ref, pupil_id)


async def test_a_reallocated_pupil_leaves_the_old_officers_view(service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    pupil_id = await service.pupil("Amelia", "Hughes", officer=ann)
    await service.conn.execute("UPDATE allocations SET officer_id = ? WHERE pupil_id = ?",
                               (bob.id, pupil_id))
    assert await pupils.pupil_card(service.conn, ann, pupil_id, today=TODAY,
                                   year_end=YEAR_END) is None
    assert await _find(service.conn, ann, "amelia") == []


async def test_list_is_lowest_attendance_first_with_na_last(service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    figures = {"Ava": (181, 201), "Ben": None, "Cal": (72, 80), "Dan": (0, 10),
               "Eve": (10, 10), "Fay": (0, 0), "Gus": (9, 10)}
    for first, figure in figures.items():
        pupil_id = await service.pupil(first, "Test", officer=ann)
        if figure is not None:
            await service.figures(pupil_id, *figure)
    other = await service.pupil("Zed", "Other", officer=bob)
    await service.figures(other, 0, 10)
    page, total = await pupils.pupils_for_officer(service.conn, ann, today=TODAY,
                                                  year_end=YEAR_END, offset=0, limit=4)
    assert total == 7
    # 72/80 and 9/10 are exactly 90 % (then by name); 181/201 is just above it.
    assert [(p.first_name, p.attendance_text) for p in page] == [
        ("Dan", "0.0 %"), ("Cal", "90.0 %"), ("Gus", "90.0 %"), ("Ava", "90.0 %")]
    rest, total = await pupils.pupils_for_officer(service.conn, ann, today=TODAY,
                                                  year_end=YEAR_END, offset=4, limit=4)
    assert [(p.first_name, p.attendance_text) for p in rest] == [
        ("Eve", "100.0 %"), ("Ben", "n/a"), ("Fay", "n/a")]


async def test_last_years_figures_do_not_count_this_year(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil_id = await service.pupil("Amelia", "Hughes", officer=ann)
    await service.marks(pupil_id, [(date(2026, 6, 1), "AM", "N")])
    [summary] = await pupils.find_pupils(service.conn, ann, "amelia", today=TODAY,
                                         year_end=YEAR_END)
    assert (summary.possible, summary.attended, summary.attendance_text) == (0, 0, "n/a")


def _term_marks() -> list[tuple[date, str, str]]:
    """A term of weekday marks up to today, with lates, absences and a closure."""
    pattern = ["/", "L", "N", "/", "U", "/", "C", "#", "/", "O", "Y1", "/", "/"]
    first, _ = academic_year_bounds(academic_year_of(TODAY, YEAR_END), YEAR_END)
    marks = []
    day, index = first - timedelta(days=30), 0  # some of last year's marks too
    while day <= TODAY:
        if day.weekday() < 5:
            for session in ("AM", "PM"):
                marks.append((day, session, pattern[index % len(pattern)]))
                index += 1
        day += timedelta(days=1)
    return marks


async def test_card_figures_equal_the_domain_functions(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil_id = await service.pupil("Amelia", "Hughes", officer=ann, sen="K", health="Asthma")
    marks = _term_marks()
    await service.marks(pupil_id, marks)
    await service.conn.executemany(
        "INSERT INTO rule_states (pupil_id, academic_year, rule, holding, changed_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(pupil_id, 2027, Rule.PENALTY.value, 1, stamp(NOW)),
         (pupil_id, 2027, Rule.PUNCTUALITY.value, 0, stamp(NOW)),
         (pupil_id, 2026, Rule.CONTINUOUS.value, 1, stamp(NOW))])
    card = await pupils.pupil_card(service.conn, ann, pupil_id, today=TODAY, year_end=YEAR_END)
    assert card is not None
    first, _ = academic_year_bounds(2027, YEAR_END)
    assert card.year == Tally.of(code for day, _s, code in marks if day >= first)
    recent_from = TODAY - timedelta(days=27)
    assert card.recent_from == recent_from
    assert card.recent == Tally.of(code for day, _s, code in marks if day >= recent_from)
    assert card.summary.attendance_text == card.year.attendance_percent_text
    assert (card.year.lates_l, card.year.lates_u) == (
        sum(code == "L" for day, _s, code in marks if day >= first),
        sum(code == "U" for day, _s, code in marks if day >= first))
    assert card.rules == {Rule.PENALTY}  # last year's continuous absence does not carry
    assert (card.sen, card.health, card.access, card.allocated) == (True, True, "own", True)


async def test_band_flags_come_from_the_figures(service: Service) -> None:
    ann = await service.officer("EWO1")
    cases = {(72, 80): {Rule.PERSISTENT}, (181, 201): set(),
             (40, 80): {Rule.PERSISTENT, Rule.SEVERE}, (0, 0): set()}
    for (attended, possible), bands in cases.items():
        pupil_id = await service.pupil("Amelia", "Hughes", officer=ann)
        await service.figures(pupil_id, attended, possible)
        card = await pupils.pupil_card(service.conn, ann, pupil_id, today=TODAY,
                                       year_end=YEAR_END)
        assert card is not None
        assert card.bands(90, 50) == bands
        assert card.rules_holding(90, 50) == bands


async def test_card_lists_current_visits_and_the_open_follow_up(service: Service) -> None:
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    pupil_id = await service.pupil("Amelia", "Hughes", officer=ann)
    early = NOW - timedelta(days=20)
    await service.visit(pupil_id, bob, date(2026, 10, 1), saved=early)
    wrong = await service.visit(pupil_id, ann, date(2026, 11, 20), follow_up=date(2026, 12, 1),
                                saved=early + timedelta(days=1))
    await service.visit(pupil_id, ann, date(2026, 11, 2), type_="letter", contact=None,
                        saved=early + timedelta(days=2))
    fixed = await service.visit(pupil_id, ann, date(2026, 11, 19), follow_up=date(2026, 12, 3),
                                supersedes=wrong, saved=early + timedelta(days=3))
    await service.visit(pupil_id, ann, date(2026, 10, 5), saved=early + timedelta(days=4))
    card = await pupils.pupil_card(service.conn, ann, pupil_id, today=TODAY, year_end=YEAR_END)
    assert card is not None
    assert [(v.id, v.visit_date, v.type, v.contact, v.officer_ref) for v in card.visits] == [
        (fixed, date(2026, 11, 19), "home", "parent", "EWO1"),
        (3, date(2026, 11, 2), "letter", None, "EWO1"),
        (5, date(2026, 10, 5), "home", "parent", "EWO1")]
    # The latest saved visit set no follow-up: the earlier one is closed by it.
    assert card.next_follow_up is None
    await service.visit(pupil_id, ann, date(2026, 11, 24), follow_up=date(2026, 12, 8),
                        saved=NOW)
    card = await pupils.pupil_card(service.conn, ann, pupil_id, today=TODAY, year_end=YEAR_END)
    assert card is not None and card.next_follow_up == date(2026, 12, 8)


async def test_details_list_contacts_by_priority(service: Service) -> None:
    ann = await service.officer("EWO1")
    pupil_id = await service.pupil("Amelia", "Hughes", officer=ann, sen="E", health="Asthma")
    await service.conn.executemany(
        "INSERT INTO contacts (pupil_id, name, relationship, phone, parental_responsibility,"
        " priority) VALUES (?, ?, ?, ?, ?, ?)",
        [(pupil_id, "Grandma Hughes", "Grandmother", None, None, None),
         (pupil_id, "Dad Hughes", "Father", "07700 900002", 1, 2),
         (pupil_id, "Mum Hughes", "Mother", "07700 900001", 1, 1)])
    details = await pupils.pupil_details(service.conn, ann, pupil_id)
    assert details is not None
    assert [c.name for c in details.contacts] == ["Mum Hughes", "Dad Hughes", "Grandma Hughes"]
    assert details.contacts[0].parental_responsibility is True
    assert details.contacts[2].parental_responsibility is None
    assert (details.sen, details.health_needs, details.postcode) == ("E", "Asthma", "BS1 4AA")


async def test_queries_are_a_handful_of_statements(db: Database) -> None:
    async def _transaction(conn: Conn):
        service = Service(conn)
        ann = await service.officer("EWO1")
        ids = [await service.pupil(f"Pupil{n}", "Test", officer=ann) for n in range(30)]
        for pupil_id in ids:
            await service.visit(pupil_id, ann, date(2026, 11, 1))
        return ann, ids
    ann, ids = await db.write(_transaction)
    async def _snapshot(conn: Conn) -> None:
        for call in (
            pupils.find_pupils(conn, ann, "pupil", today=TODAY, year_end=YEAR_END, limit=30),
            pupils.pupils_for_officer(conn, ann, today=TODAY, year_end=YEAR_END, offset=0,
                                      limit=30),
            pupils.pupil_card(conn, ann, ids[0], today=TODAY, year_end=YEAR_END),
            pupils.pupil_details(conn, ann, ids[0]),
        ):
            before = db.counter.count
            await call
            assert db.counter.count - before <= 4
    await db.read(_snapshot)


class _Together:
    """A Conn that keeps what each `fetchall_together` answered (and passes on the rest)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self.answered: list[list[list[object]]] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)

    async def fetchall_together(self, *queries: tuple[str, object]) -> list[list[object]]:
        rows = await self._conn.fetchall_together(*queries)  # type: ignore[arg-type]
        self.answered.append(rows)
        return rows


async def test_a_cards_reads_each_check_the_pupil_is_to_be_seen(service: Service) -> None:
    """A card's four reads go together: each one finds nothing about a pupil the card
    would not show (someone else's, or restricted), not only the first."""
    ann, bob = await service.officer("EWO1"), await service.officer("EWO2")
    pupil_id = await service.pupil("Amelia", "Hughes", officer=ann)
    await service.marks(pupil_id, [(TODAY - timedelta(days=1), "AM", "O")])
    await service.visit(pupil_id, ann, TODAY - timedelta(days=2))
    await service.conn.execute(
        "INSERT INTO rule_states (pupil_id, academic_year, rule, holding, changed_at)"
        " VALUES (?, ?, ?, 1, ?)",
        (pupil_id, academic_year_of(TODAY, YEAR_END), Rule.CONTINUOUS.value, stamp(NOW)))
    conn = _Together(service.conn)
    card = await pupils.pupil_card(conn, ann, pupil_id, today=TODAY,  # type: ignore[arg-type]
                                   year_end=YEAR_END)
    assert card is not None and card.visits and card.rules
    assert all(conn.answered[-1])  # the owner: every read has rows
    assert await pupils.pupil_card(conn, bob, pupil_id, today=TODAY,  # type: ignore[arg-type]
                                   year_end=YEAR_END) is None
    assert conn.answered[-1] == [[], [], [], []]
    await rights.record(service.conn, pupil_id, "restriction", TODAY, actor="os:dpo", now=NOW)
    with pytest.raises(rights.Restricted):
        await pupils.pupil_card(conn, ann, pupil_id, today=TODAY,  # type: ignore[arg-type]
                                year_end=YEAR_END)
    assert conn.answered[-1][1:] == [[], [], []]  # only the row saying it is restricted
