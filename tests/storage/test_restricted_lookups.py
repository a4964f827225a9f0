"""The restriction check at the pupil lookups (CASEWORK.md §3): what every view built on
them inherits, and the helper a view with its own query uses."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.dates import YearEnd
from bot.storage import audit, pupils, rights, visits
from bot.storage.db import Conn, Database
from tests.held import held_write
from tests.storage.pupil_rows import Service

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
TODAY = NOW.date()
YEAR_END = YearEnd(8, 31)


@pytest.mark.parametrize(("kind", "status", "restricted"), [
    ("restriction", "open", True), ("restriction", "upheld", True),
    ("restriction", "lifted", False), ("restriction", "rejected", False),
    ("objection", "open", True), ("objection", "upheld", True),
    ("objection", "rejected", False), ("erasure", "open", False),
    ("rectification", "upheld", False)])
async def test_each_lookup_raises_for_a_restricted_record_only_in_scope(
        db: Database, kind: str, status: str, restricted: bool) -> None:
    async with held_write(db) as conn:
        service = Service(conn)
        ann = await service.officer("EWO1")
        bob = await service.officer("EWO2")
        pupil = await service.pupil("Amelia", "Hughes", officer=ann)
        request = await rights.record(conn, pupil, kind, date(2026, 11, 1), actor="os:dpo",
                                      now=NOW)
        await conn.execute("UPDATE rights_requests SET status = ? WHERE id = ?",
                           (status, request))
        assert await rights.is_restricted(conn, pupil) is restricted
        lookups = {
            "pupil_card": pupils.pupil_card(conn, ann, pupil, today=TODAY, year_end=YEAR_END),
            "pupil_details": pupils.pupil_details(conn, ann, pupil),
            "visit": visits.visit_pupil(conn, ann, pupil),
            "view": rights.refuse_if_restricted(conn, pupil, view="view", actor=ann.actor),
        }
        for view, lookup in lookups.items():
            if not restricted:
                await lookup
                continue
            with pytest.raises(rights.Restricted) as raised:
                await lookup
            assert (raised.value.view, raised.value.target, raised.value.actor) == (
                view, f"pupil:{pupil}", "officer:EWO1")
        # Out of scope, the answer is "no such pupil", restricted or not.
        assert await pupils.pupil_card(conn, bob, pupil, today=TODAY, year_end=YEAR_END) is None
        assert await pupils.pupil_details(conn, bob, pupil) is None
        [listed] = await pupils.find_pupils(conn, ann, "amelia", today=TODAY,
                                            year_end=YEAR_END)
        assert listed.restricted is restricted


async def test_the_same_lookups_hold_on_postgresql(pg_db: object,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The audit trail is not wired to PostgreSQL yet: this checks the SQL.
    async def no_audit(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(audit, "append", no_audit)
    monkeypatch.setattr(audit, "append_many", no_audit)

    async def scenario(conn: Conn) -> tuple[object, ...]:
        service = Service(conn)
        ann = await service.officer("EWO1")
        amelia = await service.pupil("Amelia", "Hughes", officer=ann)
        noah = await service.pupil("Noah", "Hughes", officer=ann)
        await rights.record(conn, amelia, "restriction", date(2026, 11, 1), actor="os:dpo",
                            now=NOW)
        fixed = await rights.record(conn, noah, "rectification", date(2026, 11, 1),
                                    actor="os:dpo", now=NOW)
        await rights.decide(conn, fixed, uphold=True, reason="data_inaccurate",
                            statement="Corrected.", actor="os:dpo", now=NOW)
        listed = await pupils.find_pupils(conn, ann, "hughes", today=TODAY, year_end=YEAR_END)
        try:
            await pupils.pupil_card(conn, ann, amelia, today=TODAY, year_end=YEAR_END)
            refused = None
        except rights.Restricted as error:
            refused = error.view
        card = await pupils.pupil_card(conn, ann, noah, today=TODAY, year_end=YEAR_END)
        assert card is not None
        return [p.restricted for p in listed], refused, card.statement

    assert await pg_db.write(scenario) == (  # type: ignore[attr-defined]
        [True, False], "pupil_card", True)
