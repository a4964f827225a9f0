"""A correction takes the place of the visit it corrects in the order visits were saved,
through a chain of corrections: correcting an older visit never reopens the follow-up a
later visit closed, and correcting the latest one to add a follow-up opens it. The
same for /due, the card's next follow-up and /caseload's overdue count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from bot.settings import Settings
from bot.storage import caseload, pupils
from bot.storage import visits as visit_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.visits import NewVisit
from tests.held import held_write
from tests.storage.pupil_rows import NOW, TODAY, YEAR_END, Service

MONDAY = NOW - timedelta(days=9)  # Monday 16 November
OVERDUE = date(2026, 11, 23)
ADDED = date(2026, 11, 24)


@dataclass(frozen=True, slots=True)
class Caseload:
    conn: Conn
    supervisor: Officer
    officer: Officer
    older: int    # A, then B closing A's follow-up, then A corrected
    chain: int    # the same, then the correction corrected
    latest: int   # A, then B, then B corrected to add a follow-up


class Visits:
    """Visits saved the way the chat saves them, each at its own moment."""

    def __init__(self, service: Service, officer: Officer) -> None:
        self.service, self.officer, self.saved = service, officer, 0

    async def save(self, pupil_id: int, *, days: int, follow_up: date | None = None,
                   notes: str = "Seen at home.", supersedes: int | None = None) -> int:
        self.saved += 1
        visit = NewVisit(pupil_id, date(2026, 11, 16) + timedelta(days=days), "home",
                         "parent", "illness", "followup", follow_up, notes, supersedes)
        visit_id = await visit_store.record_visit(
            self.service.conn, self.officer, visit, draft_token=f"draft-{self.saved}",
            now=MONDAY + timedelta(days=days))
        assert visit_id is not None
        return visit_id


@pytest.fixture
async def team(db: Database) -> AsyncIterator[Caseload]:
    async with held_write(db) as conn:
        service = Service(conn)
        supervisor = await service.officer("SUP1", "supervisor")
        officer = await service.officer("EWO1", supervisor="SUP1")
        visits = Visits(service, officer)
        older = await service.pupil("Olly", "Older", officer=officer)
        first = await visits.save(older, days=0, follow_up=OVERDUE)
        await visits.save(older, days=2)  # closes A's follow-up
        await visits.save(older, days=4, follow_up=OVERDUE, notes="Seen at home, typo fixed.",
                          supersedes=first)
        chain = await service.pupil("Cora", "Chain", officer=officer)
        first = await visits.save(chain, days=0, follow_up=OVERDUE)
        await visits.save(chain, days=2)
        again = await visits.save(chain, days=3, follow_up=OVERDUE, supersedes=first)
        await visits.save(chain, days=5, follow_up=OVERDUE, notes="Seen with Mum.",
                          supersedes=again)
        latest = await service.pupil("Lia", "Latest", officer=officer)
        await visits.save(latest, days=0, follow_up=OVERDUE)
        second = await visits.save(latest, days=2)
        await visits.save(latest, days=4, follow_up=ADDED, supersedes=second)
        yield Caseload(conn, supervisor, officer, older, chain, latest)


async def test_due_lists_only_the_follow_up_the_latest_visit_set(team: Caseload) -> None:
    due = await visit_store.open_follow_ups(team.conn, team.officer, today=TODAY)
    assert [(item.pupil_id, item.follow_up) for item in due] == [(team.latest, ADDED)]


async def test_the_card_shows_the_follow_up_the_latest_visit_set(team: Caseload) -> None:
    shown: dict[int, date | None] = {}
    for pupil_id in (team.older, team.chain, team.latest):
        card = await pupils.pupil_card(team.conn, team.officer, pupil_id, today=TODAY,
                                       year_end=YEAR_END)
        assert card is not None
        shown[pupil_id] = card.next_follow_up
    assert shown == {team.older: None, team.chain: None, team.latest: ADDED}


async def test_caseload_counts_only_the_follow_up_the_latest_visit_set(
        team: Caseload, settings: Settings) -> None:
    terms = caseload.Terms.of(settings, NOW)
    summary = await caseload.team_caseload(team.conn, team.supervisor, terms=terms)
    assert [(line.ref, line.figures.overdue) for line in summary.officers] == [("EWO1", 1)]
    detail = await caseload.officer_caseload(team.conn, team.supervisor, "EWO1", terms=terms)
    assert detail is not None and detail.line.figures.overdue == 1
