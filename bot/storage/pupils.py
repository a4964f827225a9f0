"""What an officer may read about pupils: search, their list, a pupil's card and details.

Authorisation is part of every query: each takes the requesting officer and returns
only what that person may see. An officer sees the pupils allocated to them; a
supervisor also sees, read-only, the pupils allocated to the officers they supervise
(`access == "supervision"`, so the view is audited as such); a controller sees no
pupil data. A pupil nobody may show is answered exactly like one that does not exist.

A restricted record (a restriction or objection, CASEWORK.md §3) is stored and nothing
else: lists and search results carry it with `restricted` set (name and case
reference only are shown), and every lookup of the record itself (`pupil_card`,
`pupil_details`, and through them `find_with_card` and `among_with_card`) raises
`rights.Restricted` once the pupil is known to be in the person's scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.domain.attendance import Rule, Tally, in_band, percent_text
from bot.domain.dates import YearEnd, academic_year_of
from bot.domain.text import near_miss, pupil_name, search_key, search_tails, slips_allowed
from bot.domain.upn import normalise_upn
from bot.storage import audit
from bot.storage.db import Conn, quick
from bot.storage.officers import Officer
from bot.storage.rights import RESTRICTED_SQL, STATEMENT_SQL, Restricted
from bot.storage.visits import LATEST_FIRST

OWN = "own"
SUPERVISION = "supervision"
RECENT_DAYS = 28  # "last four weeks": the 28 calendar days ending today
LAST_VISITS = 3

# The three rules that need a pupil's recent marks; persistent and severe absence are
# computed from the year's figures whenever a card is read.
_MARK_RULES = (Rule.PENALTY, Rule.CONTINUOUS, Rule.PUNCTUALITY)


@dataclass(frozen=True, slots=True)
class PupilSummary:
    """One pupil as a list line or a search result shows them."""

    id: int
    case_ref: str
    first_name: str
    last_name: str
    school_name: str
    year_group: str
    possible: int  # this academic year
    attended: int  # this academic year
    access: str  # OWN or SUPERVISION
    officer_ref: str  # the officer the pupil is allocated to
    restricted: bool = False  # the record is restricted: listed by name and reference only

    @property
    def name(self) -> str:
        return pupil_name(self.first_name, self.last_name)

    @property
    def attendance_text(self) -> str:
        """Attendance this academic year as shown, e.g. `85.0 %` or `n/a`."""
        return percent_text(self.attended, self.possible)


@dataclass(frozen=True, slots=True)
class VisitLine:
    """A saved visit as the card lists it (superseded visits are never listed)."""

    id: int
    visit_date: date
    type: str  # a code of bot.domain.visits.VISIT_TYPES
    contact: str | None  # a code of CONTACT_OUTCOMES; None for a letter
    officer_id: int  # the author
    officer_ref: str
    saved_at: str


@dataclass(frozen=True, slots=True)
class PupilCard:
    """Everything a pupil card shows. Date of birth and details are not part of it."""

    summary: PupilSummary
    year: Tally  # this academic year, from pupil_stats
    recent: Tally  # the last four weeks, from marks
    recent_from: date
    rules: frozenset[Rule]  # penalty, continuous, punctuality holding (rule_states)
    sen: bool
    health: bool
    visits: tuple[VisitLine, ...]  # newest first, at most LAST_VISITS
    next_follow_up: date | None
    access: str
    allocated: bool
    statement: bool = False  # a rectification's supplementary statement is on file

    def bands(self, pa_threshold: int, sa_threshold: int) -> frozenset[Rule]:
        """Persistent / severe absence from this year's figures (severe within persistent)."""
        if in_band(self.year.attended, self.year.possible, sa_threshold):
            return frozenset({Rule.PERSISTENT, Rule.SEVERE})
        if in_band(self.year.attended, self.year.possible, pa_threshold):
            return frozenset({Rule.PERSISTENT})
        return frozenset()

    def rules_holding(self, pa_threshold: int, sa_threshold: int) -> frozenset[Rule]:
        """Band flags from the figures, and the other rules as the last import left them."""
        return self.bands(pa_threshold, sa_threshold) | self.rules


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    relationship: str
    phone: str | None
    email: str | None
    address: str | None
    parental_responsibility: bool | None
    priority: int | None


@dataclass(frozen=True, slots=True)
class PupilDetails:
    """What sits behind the card's details button: contacts, SEN and health details."""

    pupil_id: int
    case_ref: str
    first_name: str
    last_name: str
    address: str | None
    postcode: str | None
    sen: str  # N none, K SEN support, E EHC plan
    health_needs: str | None
    contacts: tuple[Contact, ...]  # by priority, first contact first
    access: str

    @property
    def name(self) -> str:
        return pupil_name(self.first_name, self.last_name)


# --- scope ----------------------------------------------------------------------------


def _scope(officer: Officer, *, include_team: bool) -> tuple[str, dict[str, Any]] | None:
    """SQL over `a` (allocations) for the pupils this person may see; None for none."""
    if officer.role == "controller" or not officer.active:
        return None
    params = {"me": officer.id}
    if officer.role == "supervisor" and include_team:
        # One IN list, not "= :me OR IN (…)": PostgreSQL reads every allocation for the
        # OR, and looks each of the team up in the index on officer_id for this.
        return ("a.officer_id IN (SELECT t.id FROM officers t"
                " WHERE t.id = :me OR t.supervisor_id = :me)", params)
    return "a.officer_id = :me", params


_SUMMARY_COLUMNS = f"""
    p.id, p.case_ref, p.first_name, p.last_name, s.name AS school_name, p.year_group,
    COALESCE(st.possible, 0) AS possible, COALESCE(st.attended, 0) AS attended,
    CASE WHEN a.officer_id = :me THEN 'own' ELSE 'supervision' END AS access,
    o.ref AS officer_ref, {RESTRICTED_SQL.format(pupil="p.id")} AS restricted
"""

_SUMMARY_FROM = """
    FROM pupils p
    JOIN allocations a ON a.pupil_id = p.id
    JOIN officers o ON o.id = a.officer_id
    JOIN schools s ON s.urn = p.school_urn
    LEFT JOIN pupil_stats st ON st.pupil_id = p.id AND st.academic_year = :year
"""


def _summary(row: Any) -> PupilSummary:
    return PupilSummary(row["id"], row["case_ref"], row["first_name"], row["last_name"],
                        row["school_name"], row["year_group"], row["possible"],
                        row["attended"], row["access"], row["officer_ref"],
                        bool(row["restricted"]))


# --- queries ----------------------------------------------------------------------------


@quick
async def find_pupils(conn: Conn, officer: Officer, query: str, *, today: date,
                      year_end: YearEnd, limit: int = 10, include_team: bool = False,
                      by_index: bool | None = None) -> list[PupilSummary]:
    """Pupils this person may see whose first name, last name or "first last" starts with
    `query` (ignoring case and accents), or whose last name from a later word on, or
    "first" and that, does ("Jones", "Amelia Jo": Amelia Smith-Jones), or whose UPN or
    case reference is `query` (bot.domain.text.name_matches says the same of names).

    Only the officer's own pupils unless `include_team` (a supervisor reading their
    team). Exact UPN or case-reference matches come first, then by name.

    `by_index` chooses how the matches are found (the answer is the same either way):
    through the indexes on UPN, case reference and names, or by reading every pupil in
    scope. By default the indexes are used for a query that names few pupils (one
    holding a digit, as a UPN or case reference does, or of three characters or more).
    """
    scope = _scope(officer, include_team=include_team)
    typed = " ".join(query.split())
    if scope is None or not typed or limit <= 0:
        return []
    where, params = scope
    key = search_key(typed)
    params = {**params, "year": academic_year_of(today, year_end), "upn": normalise_upn(typed),
              "ref": typed.upper(), "key": key or None, "length": len(key),
              "key_to": key + _AFTER_ALL if key else None, "limit": limit}
    if by_index is None:
        by_index = len(key) >= 3 or any(ch.isdigit() for ch in typed)
    candidates = ""
    if by_index:
        prefixes = _prefixes(key)
        params.update({f"cut{n}": prefix for n, prefix in enumerate(prefixes)})
        candidates = _CANDIDATES.format(
            prefixes=", ".join(f":cut{n}" for n in range(len(prefixes))))
    exact = "(p.upn = :upn OR upper(p.case_ref) = :ref)"
    # Prefixes are compared with substr, not LIKE: a LIKE pattern given as a parameter
    # makes SQLite prepare the statement again at every use.
    rows = await conn.fetchall(
        f"SELECT {_SUMMARY_COLUMNS} {_SUMMARY_FROM}"
        f" WHERE {where} {candidates} AND ({exact}"
        "   OR substr(p.search_last, 1, :length) = :key"
        "   OR substr(p.search_first || p.search_last, 1, :length) = :key"
        f"  OR {_BY_TAIL})"
        f" ORDER BY CASE WHEN {exact} THEN 0 ELSE 1 END,"
        "   p.search_last, p.search_first, p.id"
        " LIMIT :limit", params)
    return [_summary(row) for row in rows]


# The last name from a later word on (pupil_name_tails), or "first" and it, starts with
# the query: "Jones", "Amelia Jo" find Amelia Smith-Jones. A few rows a pupil, looked
# up by its primary key.
_BY_TAIL = """EXISTS (SELECT 1 FROM pupil_name_tails t WHERE t.pupil_id = p.id
    AND (substr(t.search_tail, 1, :length) = :key
         OR substr(p.search_first || t.search_tail, 1, :length) = :key))"""
# Sorts after any text a name holds: values from X up to X + this start with X.
_AFTER_ALL = "\U0010ffff"
# The pupils the search's conditions can match, found through the indexes: "first
# last" (and "first tail") starts with the query only if the first name starts with
# the query or is itself a prefix of it (names are compared without spaces, so both
# can happen). The prefixes are a list of parameters, which both backends look up in
# the index on first names (PostgreSQL read every pupil for prefixes made in SQL by a
# recursive CTE).
_CANDIDATES = """
    AND p.id IN (
        SELECT id FROM pupils WHERE upn = :upn
        UNION ALL SELECT id FROM pupils WHERE upper(case_ref) = :ref
        UNION ALL SELECT id FROM pupils WHERE search_last >= :key AND search_last < :key_to
        UNION ALL SELECT pupil_id FROM pupil_name_tails
            WHERE search_tail >= :key AND search_tail < :key_to
        UNION ALL SELECT id FROM pupils WHERE search_first >= :key AND search_first < :key_to
        UNION ALL SELECT id FROM pupils WHERE search_first IN ({prefixes}))
"""


def _prefixes(key: str) -> list[str]:
    """Every prefix of `key`, the whole key repeated to make up a count of 4, 8, 16, …
    (so a few statement texts serve every length, each prepared once)."""
    found = [key[:n] for n in range(1, len(key) + 1)] or [""]
    size = 4
    while size < len(found):
        size *= 2
    return found + [found[-1]] * (size - len(found))


async def near_misses(conn: Conn, officer: Officer, query: str, *, today: date,
                      year_end: YearEnd, limit: int = 5) -> list[PupilSummary]:
    """Up to `limit` of the officer's own pupils whose name the query nearly matches
    (a slip or two, bot.domain.text.near_miss), nearest first: for "Did you mean".

    Only pupils allocated to this person (never a supervisor's team, never another
    officer's); for the search's fallback when it found nothing, so it reads the
    officer's own caseload (a few hundred names at most) and compares them here.
    """
    scope = _scope(officer, include_team=False)
    wanted = search_key(query)
    if scope is None or not slips_allowed(wanted) or limit <= 0:
        return []
    where, params = scope
    names = await conn.fetchall(
        f"SELECT p.id, p.search_first, p.search_last, p.last_name FROM pupils p"
        f" JOIN allocations a ON a.pupil_id = p.id WHERE {where}", params)
    scored = sorted((slips, row["search_last"], row["search_first"], row["id"])
                    for row in names
                    if (slips := near_miss(wanted, row["search_first"], row["search_last"],
                                           search_tails(row["last_name"]))) is not None)
    chosen = [pupil_id for *_, pupil_id in scored[:limit]]
    if not chosen:
        return []
    return await pupils_among(conn, officer, chosen, today=today, year_end=year_end)


@quick
async def pupils_among(conn: Conn, officer: Officer, pupil_ids: Sequence[int], *,
                       today: date, year_end: YearEnd,
                       include_team: bool = False) -> list[PupilSummary]:
    """Those of `pupil_ids` this person may see now, in the order given: a search kept
    while locked names its matches by id, and they are read again in the person's scope
    when it goes on (an allocation may have changed meanwhile)."""
    scope = _scope(officer, include_team=include_team)
    if scope is None or not pupil_ids:
        return []
    where, params = scope
    wanted = {f"id{number}": pupil_id for number, pupil_id in enumerate(pupil_ids)}
    rows = await conn.fetchall(
        f"SELECT {_SUMMARY_COLUMNS} {_SUMMARY_FROM} WHERE {where}"
        f" AND p.id IN ({','.join(':' + name for name in wanted)})",
        {**params, **wanted, "year": academic_year_of(today, year_end)})
    found = {summary.id: summary for summary in map(_summary, rows)}
    return [found[pupil_id] for pupil_id in dict.fromkeys(pupil_ids) if pupil_id in found]


@quick
async def find_with_card(conn: Conn, officer: Officer, typed: str, *, today: date,
                         year_end: YearEnd, limit: int
                         ) -> tuple[list[PupilSummary], PupilCard | None]:
    """The search's matches (up to `limit`, the officer's team's too for a supervisor)
    and, when there is just one, its card: one snapshot."""
    found = await find_pupils(conn, officer, typed, today=today, year_end=year_end,
                              limit=limit, include_team=officer.role == "supervisor")
    if len(found) != 1:
        return found, None
    return found, await pupil_card(conn, officer, found[0].id, today=today, year_end=year_end)


@quick
async def among_with_card(conn: Conn, officer: Officer, pupil_ids: Sequence[int], *,
                          today: date, year_end: YearEnd
                          ) -> tuple[list[PupilSummary], PupilCard | None]:
    """`pupils_among` (a supervisor's team's too) and, when just one is left, its card."""
    found = await pupils_among(conn, officer, pupil_ids, today=today, year_end=year_end,
                               include_team=officer.role == "supervisor")
    if len(found) != 1:
        return found, None
    return found, await pupil_card(conn, officer, found[0].id, today=today, year_end=year_end)


async def case_ref_of(conn: Conn, pupil_id: int) -> str | None:
    """The case reference of a pupil held, or None: a `/step` or `/share` kept while
    locked keeps the id only, and goes on as the command with this reference (which the
    officer's own scoped lookup then finds, or not)."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT case_ref FROM pupils WHERE id = ?", (pupil_id,))


async def record_refused_lookup(conn: Conn, officer: Officer, query: str, *, via: str) -> bool:
    """Audit a lookup the person's own scoped query answered with nothing, when what was
    typed is the exact UPN or case reference of a pupil the service holds: a refused
    access like a forged card button (`refused:pupil_lookup`, `pupil:<id>`, reason
    `not_visible`, detail `via`). A name is not an identifier (a miss may be anyone's
    typo), so a name search is not. Returns whether an entry was written."""
    typed = " ".join(query.split())
    if not typed:
        return False
    pupil_id = await conn.fetchval(
        "SELECT id FROM pupils WHERE upn = ? OR upper(case_ref) = ?",
        (normalise_upn(typed), typed.upper()))
    if pupil_id is None:
        return False
    await audit.append(conn, actor=officer.actor, action="refused:pupil_lookup",
                       target=f"pupil:{pupil_id}", reason="not_visible", detail={"via": via})
    return True


async def pupils_for_officer(conn: Conn, officer: Officer, *, today: date, year_end: YearEnd,
                             offset: int, limit: int) -> tuple[list[PupilSummary], int]:
    """One page of the pupils allocated to this person, lowest attendance first (pupils
    with no possible sessions last), and how many there are in all."""
    scope = _scope(officer, include_team=False)
    if scope is None:
        return [], 0
    where, params = scope
    params = {**params, "year": academic_year_of(today, year_end),
              "offset": max(offset, 0), "limit": max(limit, 0)}
    # Ordering by a real ratio is exact enough here: equal fractions divide to equal
    # doubles, and the figures shown are computed with integers elsewhere.
    rows = await conn.fetchall(
        f"SELECT {_SUMMARY_COLUMNS} {_SUMMARY_FROM} WHERE {where}"
        " ORDER BY CASE WHEN COALESCE(st.possible, 0) = 0 THEN 1 ELSE 0 END,"
        "   CAST(COALESCE(st.attended, 0) AS REAL) / COALESCE(NULLIF(st.possible, 0), 1),"
        "   p.search_last, p.search_first, p.id"
        " LIMIT :limit OFFSET :offset", params)
    total = await conn.fetchval(f"SELECT count(*) FROM allocations a WHERE {where}", params)
    return [_summary(row) for row in rows], int(total or 0)


# A visit is current unless a later entry supersedes it; looked up within the pupil's
# own visits so the index on (pupil_id, …) keeps it cheap.
_CURRENT_VISIT = ("NOT EXISTS (SELECT 1 FROM visits c"
                  " WHERE c.pupil_id = v.pupil_id AND c.supersedes = v.id)")


@quick
async def pupil_card(conn: Conn, officer: Officer, pupil_id: int, *, today: date,
                    year_end: YearEnd) -> PupilCard | None:
    """The card of a pupil this person may see; None otherwise (as if it did not exist).
    Raises Restricted when the record is restricted."""
    scope = _scope(officer, include_team=True)
    if scope is None:
        return None
    where, params = scope
    year = academic_year_of(today, year_end)
    recent_from = today - timedelta(days=RECENT_DAYS - 1)
    params = {**params, "year": year, "pupil": pupil_id, "recent": recent_from.isoformat(),
              "today": today.isoformat(), "visits": LAST_VISITS}
    # The four reads go together (one round trip on PostgreSQL); each of the three
    # after the first checks for itself that the pupil is this person's to see and not
    # restricted, so nothing is read about a pupil the card would not show.
    visible = (f"EXISTS (SELECT 1 FROM allocations a WHERE a.pupil_id = :pupil AND {where})"
               f" AND NOT {RESTRICTED_SQL.format(pupil=':pupil')}")
    found, codes, rules, visits = await conn.fetchall_together(
        (f"SELECT {_SUMMARY_COLUMNS}, p.sen, p.health_needs,"
         " COALESCE(st.authorised, 0) AS authorised,"
         " COALESCE(st.unauthorised, 0) AS unauthorised,"
         " COALESCE(st.lates_l, 0) AS lates_l, COALESCE(st.lates_u, 0) AS lates_u,"
         " (SELECT v.follow_up FROM visits v WHERE v.pupil_id = p.id AND "
         f"   {_CURRENT_VISIT} ORDER BY {LATEST_FIRST} LIMIT 1) AS follow_up,"
         f" {STATEMENT_SQL.format(pupil='p.id')} AS statement"
         f" {_SUMMARY_FROM} WHERE p.id = :pupil AND {where}", params),
        # Counted in SQL: a few rows back instead of one per session.
        ("SELECT code, count(*) AS sessions FROM marks"
         f" WHERE pupil_id = :pupil AND date >= :recent AND date <= :today AND {visible}"
         " GROUP BY code", params),
        ("SELECT rule FROM rule_states WHERE pupil_id = :pupil AND academic_year = :year"
         f" AND holding = 1 AND {visible}", params),
        ("SELECT v.id, v.visit_date, v.type, v.contact, v.officer_id, o.ref, v.saved_at"
         " FROM visits v JOIN officers o ON o.id = v.officer_id"
         f" WHERE v.pupil_id = :pupil AND {_CURRENT_VISIT} AND {visible}"
         " ORDER BY v.visit_date DESC, v.saved_at DESC, v.id DESC LIMIT :visits", params))
    if not found:
        return None
    row = found[0]
    if row["restricted"]:
        raise Restricted(pupil_id, "pupil_card", officer.actor, row["access"])
    year_tally = Tally(row["possible"], row["attended"], row["authorised"],
                       row["unauthorised"], row["lates_l"], row["lates_u"])
    held = {str(rule["rule"]) for rule in rules}
    return PupilCard(
        summary=_summary(row),
        year=year_tally,
        recent=Tally.of_counts({code["code"]: code["sessions"] for code in codes}),
        recent_from=recent_from,
        rules=frozenset(rule for rule in _MARK_RULES if rule.value in held),
        sen=row["sen"] != "N",
        health=bool(row["health_needs"]),
        visits=tuple(_visit(visit) for visit in visits),
        next_follow_up=date.fromisoformat(row["follow_up"]) if row["follow_up"] else None,
        access=row["access"],
        allocated=True,  # the scope reads allocations: an unallocated pupil has no card
        statement=bool(row["statement"]),
    )


def _visit(row: Any) -> VisitLine:
    return VisitLine(row["id"], date.fromisoformat(row["visit_date"]), row["type"],
                     row["contact"], row["officer_id"], row["ref"], row["saved_at"])


async def pupil_details(conn: Conn, officer: Officer, pupil_id: int) -> PupilDetails | None:
    """Contacts, SEN and health details of a pupil this person may see; None otherwise.
    Raises Restricted when the record is restricted."""
    scope = _scope(officer, include_team=True)
    if scope is None:
        return None
    where, params = scope
    row = await conn.fetchone(
        "SELECT p.id, p.case_ref, p.first_name, p.last_name, p.address, p.postcode, p.sen,"
        " p.health_needs, CASE WHEN a.officer_id = :me THEN 'own' ELSE 'supervision' END"
        f" AS access, {RESTRICTED_SQL.format(pupil='p.id')} AS restricted"
        " FROM pupils p JOIN allocations a ON a.pupil_id = p.id"
        f" WHERE p.id = :pupil AND {where}", {**params, "pupil": pupil_id})
    if row is None:
        return None
    if row["restricted"]:
        raise Restricted(pupil_id, "pupil_details", officer.actor, row["access"])
    contacts = await conn.fetchall(
        "SELECT name, relationship, phone, email, address, parental_responsibility, priority"
        " FROM contacts WHERE pupil_id = ?"
        " ORDER BY CASE WHEN priority IS NULL THEN 1 ELSE 0 END, priority, name, id",
        (pupil_id,))
    return PupilDetails(
        row["id"], row["case_ref"], row["first_name"], row["last_name"], row["address"],
        row["postcode"], row["sen"], row["health_needs"],
        tuple(_contact(contact) for contact in contacts), row["access"])


def _contact(row: Any) -> Contact:
    responsibility = row["parental_responsibility"]
    return Contact(row["name"], row["relationship"], row["phone"], row["email"],
                   row["address"], None if responsibility is None else bool(responsibility),
                   row["priority"])
