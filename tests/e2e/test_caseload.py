"""/caseload through the stand-in and the real bot: scoping, paging, chart, refusals."""

from __future__ import annotations

import json
from datetime import date

from bot.chat import caseload as caseload_chat
from bot.handlers import caseload as caseload_handlers
from bot.handlers import pupils as pupil_handlers
from bot.handlers.common import NOT_ALLOWED, STALE_BUTTON
from bot.harness import RunningBot
from bot.sandbox import FakeUser
from bot.storage import audit
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.storage.pathway import NewOutcome, NewStep
from tests.e2e.conftest import People
from tests.e2e.test_case import officer, outcome, parent, step
from tests.storage import caseload_seed as seed
from tests.test_charts import png_size

SEPT = date(2026, 9, 1)


async def officer_id(db: Database, ref: str) -> int:
    found = await db.read(officer_store.officer_by_ref, ref)
    assert found is not None
    return found.id


async def caseload_audit(db: Database) -> list[tuple[str, str, str | None, str, dict | None]]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT actor, action, target, reason, detail FROM audit"
            " WHERE action = 'caseload' ORDER BY seq")
    rows = await db.read(_snapshot)
    return [(row["actor"], row["action"], row["target"], row["reason"],
             None if row["detail"] is None else json.loads(row["detail"])) for row in rows]


async def two_teams(people: People, db: Database) -> FakeUser:
    """SUP1 leads EWO1 and EWO2; SUP2 leads EWO9. Returns SUP1's chat."""
    sup = await people.enrolled("SUP1", "supervisor")
    await people.add("EWO1", "officer", "SUP1")
    await people.add("EWO2", "officer", "SUP1")
    await people.add("SUP2", "supervisor")
    await people.add("EWO9", "officer", "SUP2")
    ewo1, ewo2, ewo9 = [await officer_id(db, ref) for ref in ("EWO1", "EWO2", "EWO9")]
    async def _transaction(conn: Conn) -> None:
        await seed.pupil(conn, 1, officer_id=ewo1, allocated=SEPT, attended=40, possible=100,
                         first_name="Amelia", last_name="Hughes")
        await seed.pupil(conn, 2, officer_id=ewo1, allocated=SEPT, attended=99, possible=100)
        await seed.visit(conn, pupil_id=2, officer_id=ewo1, on=date(2026, 11, 20))
        await seed.pupil(conn, 3, officer_id=ewo2, allocated=SEPT, attended=80, possible=100)
        await seed.visit(conn, pupil_id=3, officer_id=ewo2, on=date(2026, 11, 2),
                         follow_up=date(2026, 11, 9))
        await seed.pupil(conn, 9, officer_id=ewo9, allocated=SEPT, attended=10, possible=100,
                         first_name="Secret", last_name="Otherteam")
        await seed.outbox_row(conn, audience=f"officer:{ewo9}")
    await db.write(_transaction)
    return sup


async def test_a_supervisor_gets_their_team_summary_and_chart(running: RunningBot,
                                                              people: People,
                                                              db: Database) -> None:
    sup = await two_teams(people, db)
    await sup.send("/caseload")
    summary = await sup.next_message()
    assert summary.text.splitlines() == [
        "Caseload of your team, 25/11/2026",
        caseload_chat.LEGEND,
        "",
        "Team total: 3 pupils · 2 in persistent absence · 1 in severe absence · "
        "2 visits in the last 28 days · 1 follow-up overdue · 1 not visited for 28 days · "
        "0 undelivered alerts · 0 open notices",
        "Your own caseload (SUP1): 0 pupils · 0 in persistent absence · 0 in severe absence · "
        "0 visits in the last 28 days · 0 follow-ups overdue · 0 not visited for 28 days · "
        "0 undelivered alerts · 0 open notices",
        "",
        "Officer EWO1 (EWO1): 2 pupils · 1 in persistent absence · 1 in severe absence · "
        "1 visit in the last 28 days · 0 follow-ups overdue · 1 not visited for 28 days · "
        "0 undelivered alerts · 0 open notices",
        "Officer EWO2 (EWO2): 1 pupil · 1 in persistent absence · 0 in severe absence · "
        "1 visit in the last 28 days · 1 follow-up overdue · 0 not visited for 28 days · "
        "0 undelivered alerts · 0 open notices",
        "",
        caseload_chat.FOOTER,
    ]
    assert summary.protect_content and summary.buttons == []
    chart = await sup.next_message()
    assert chart.photo is not None and chart.caption == caseload_handlers.CHART_CAPTION
    assert png_size(chart.photo.content) == (800, 500)
    assert await caseload_audit(db) == [
        ("officer:SUP1", "caseload", None, "supervision", {"view": "team", "page": 0})]


async def test_another_teams_officer_is_answered_like_an_unknown_ref(running: RunningBot,
                                                                     people: People,
                                                                     db: Database) -> None:
    sup = await two_teams(people, db)
    await sup.send("/caseload EWO9")
    other_team = await sup.next_message()
    await sup.send("/caseload NOPE")
    unknown = await sup.next_message()
    assert other_team.text == unknown.text == caseload_handlers.UNKNOWN_OFFICER
    assert other_team.buttons == unknown.buttons == []
    # A forged button for the other team's officer gets the same answer.
    press = await sup.press_data("cl:pupils:EWO9:0", message_id=unknown.message_id)
    assert await sup.answer_to(press) == caseload_handlers.UNKNOWN_OFFICER
    press = await sup.press_data("cl:bogus", message_id=unknown.message_id)
    assert await sup.answer_to(press) == STALE_BUTTON
    # Nothing about the other team ever reached this chat.
    assert not any("Otherteam" in (message.text or "") or "EWO9" in (message.text or "")
                   for message in sup.history)
    found = [entry for entry in await caseload_audit(db) if entry[4] == {
        "view": "officer", "found": False}]
    assert len(found) == 3


async def test_one_officer_in_detail_pages_through_pupils_in_need(running: RunningBot,
                                                                  people: People,
                                                                  db: Database) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    await people.add("EWO1", "officer", "SUP1")
    ewo1 = await officer_id(db, "EWO1")
    async def _transaction(conn: Conn) -> None:
        for number in range(1, 11):  # ten pupils in severe absence, 1 % to 10 %
            await seed.pupil(conn, number, officer_id=ewo1, allocated=SEPT, attended=number,
                             possible=100, first_name=f"Pupil{number:02d}", last_name="Test")
        await seed.visit(conn, pupil_id=1, officer_id=ewo1, on=date(2026, 11, 20),
                         follow_up=date(2026, 11, 24))
        await seed.pupil(conn, 11, officer_id=ewo1, allocated=SEPT, attended=99, possible=100)
        await seed.visit(conn, pupil_id=11, officer_id=ewo1, on=date(2026, 11, 20))
    await db.write(_transaction)
    await sup.send("/caseload ewo1")
    first = await sup.next_message()
    lines = first.text.splitlines()
    assert lines[:9] == [
        "Officer EWO1 (EWO1) — caseload on 25/11/2026",
        "Pupils allocated: 11",
        "In persistent absence (severe included): 10",
        "In severe absence: 10",
        "Visits in the last 28 days: 2",
        "Follow-ups overdue: 1",
        "Not visited for 28 days: 9",
        "Undelivered alerts: 0",
        "Open notices (improvement periods running, notices awaiting an outcome): 0",
    ]
    assert lines[10] == "Pupils in need, most in need first (1–8 of 10):"
    assert lines[11] == ("1. Pupil01 Test (C00001) — 1.0 %; severe absence; follow-up overdue "
                         "since 24/11/2026; last visit 20/11/2026")
    assert lines[12] == ("2. Pupil02 Test (C00002) — 2.0 %; severe absence; not visited for "
                         "28 days; never visited (allocated 01/09/2026)")
    assert len(lines) == 19
    assert first.labels()[:2] == ["1. Pupil01 Test", "2. Pupil02 Test"]
    assert first.button("1. Pupil01 Test").data == "card:1"
    assert first.labels()[-1] == caseload_handlers.NEXT
    press = await sup.press(caseload_handlers.NEXT)
    assert await sup.answer_to(press) is None
    second = sup.last()
    assert second.message_id == first.message_id and second.edited
    assert second.text.splitlines()[10] == "Pupils in need, most in need first (9–10 of 10):"
    assert second.labels() == ["9. Pupil09 Test", "10. Pupil10 Test",
                               caseload_handlers.PREVIOUS]
    # The card button opens the pupil's read-only card (supervision).
    press = await sup.press("9. Pupil09 Test")
    card = await sup.next_message()
    assert pupil_handlers.READ_ONLY.format(ref="EWO1") in card.text
    assert "Pupil09 Test (C00009)" in card.text
    details = [entry[4] for entry in await caseload_audit(db)]
    assert details == [
        {"view": "officer", "page": 0, "targets": [f"pupil:{n}" for n in range(1, 9)]},
        {"view": "officer", "page": 1, "targets": ["pupil:9", "pupil:10"]}]
    # Each entry names the pupils it listed: pupil 9's entries (its subject-access
    # export) show the supervisor saw it on page 2 of EWO1's caseload.
    about_nine = await db.read(audit.entries, targets=("pupil:9",))
    assert [(e.actor, e.action, e.target) for e in about_nine][:1] == [
        ("officer:SUP1", "caseload", "officer:EWO1")]


async def test_a_large_team_is_paged_past_one_message(running: RunningBot, people: People,
                                                      db: Database) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    await db.write(seed.volume, await officer_id(db, "SUP1"), officers=120, pupils=1200,
                   today=date(2026, 11, 25))
    await sup.send("/caseload")
    first = await sup.next_message()
    title = first.text.splitlines()[0]
    assert title.startswith("Caseload of your team, 25/11/2026 — page 1 of ")
    pages = int(title.rsplit(" ", 1)[1])
    assert pages > 1 and first.labels() == [caseload_handlers.NEXT]
    chart = await sup.next_message()
    assert chart.caption.endswith(caseload_handlers.CHART_SOME.format(count=20))
    seen = [line for line in first.text.splitlines() if line.startswith("Officer V")]
    for page in range(2, pages + 1):
        press = await sup.press(caseload_handlers.NEXT, message_id=first.message_id)
        await sup.answer_to(press)
        shown = sup.history[0]
        assert shown.text.splitlines()[0].endswith(f"page {page} of {pages}")
        seen += [line for line in shown.text.splitlines() if line.startswith("Officer V")]
    assert len(seen) == len(set(seen)) == 120
    assert sup.history[0].labels() == [caseload_handlers.PREVIOUS]


async def test_officers_and_controllers_are_refused_politely(running: RunningBot,
                                                             people: People,
                                                             db: Database) -> None:
    await people.add("SUP1", "supervisor")
    officer = await people.enrolled("EWO1", "officer", "SUP1")
    controller = await people.enrolled("DPO1", "controller")
    for user in (officer, controller):
        await user.send("/caseload")
        assert (await user.next_message()).text == NOT_ALLOWED
        await user.send("/caseload EWO1")
        assert (await user.next_message()).text == NOT_ALLOWED
    press = await officer.press_data("cl:page:0", message_id=officer.last().message_id)
    assert await officer.answer_to(press) == NOT_ALLOWED
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT actor, action, reason FROM audit WHERE action LIKE 'refused:%' ORDER BY seq")
    rows = await db.read(_snapshot)
    assert [tuple(row) for row in rows] == [
        ("officer:EWO1", "refused:caseload", "role"),
        ("officer:EWO1", "refused:caseload", "role"),
        ("officer:DPO1", "refused:caseload", "role"),
        ("officer:DPO1", "refused:caseload", "role"),
        ("officer:EWO1", "refused:button", "role"),
    ]
    assert await caseload_audit(db) == []


async def test_never_visited_pupils_count_from_allocation_as_the_list_says(
        running: RunningBot, people: People, db: Database) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    await people.add("EWO1", "officer", "SUP1")
    ewo1 = await officer_id(db, "EWO1")
    async def _transaction(conn: Conn) -> None:
        await seed.pupil(conn, 1, officer_id=ewo1, allocated=SEPT, attended=10,
                         possible=100, first_name="Long", last_name="Allocated")
        await seed.pupil(conn, 2, officer_id=ewo1, allocated=date(2026, 11, 20), attended=20,
                         possible=100, first_name="Newly", last_name="Allocated")
    await db.write(_transaction)
    await sup.send("/caseload EWO1")
    lines = (await sup.next_message()).text.splitlines()
    assert "Not visited for 28 days: 1" in lines
    assert lines[-2:] == [
        "1. Long Allocated (C00001) — 10.0 %; severe absence; not visited for 28 days; "
        "never visited (allocated 01/09/2026)",
        "2. Newly Allocated (C00002) — 20.0 %; severe absence; "
        "never visited (allocated 20/11/2026)",
    ]


async def test_open_notices_per_officer(running: RunningBot, people: People,
                                        db: Database) -> None:
    sup = await two_teams(people, db)

    async def _transaction(conn: Conn) -> None:
        ewo1, ewo9 = await officer(conn, "EWO1"), await officer(conn, "EWO9")
        mum = await parent(conn, 1, "Jo Hughes")
        # Pupil 1 (EWO1's): an improvement period running and a notice awaiting an outcome.
        referral = await step(conn, ewo1, NewStep(1, "pn_referral", date(2026, 11, 2), (mum,),
                                                  reason="holiday"))
        await outcome(conn, ewo1, NewOutcome(referral, "issued", date(2026, 11, 3), mum))
        await step(conn, ewo1, NewStep(1, "nti", date(2026, 11, 16), (mum,), period_weeks=3))
        # Pupil 2 (EWO1's): a notice paid is not open.
        dad = await parent(conn, 2, "Al Other")
        paid = await step(conn, ewo1, NewStep(2, "pn_referral", date(2026, 10, 1), (dad,),
                                              reason="holiday"))
        await outcome(conn, ewo1, NewOutcome(paid, "issued", date(2026, 10, 2), dad))
        await outcome(conn, ewo1, NewOutcome(paid, "paid", date(2026, 10, 9), dad))
        # Another team's notice is not counted anywhere in this team.
        other = await parent(conn, 9, "Pat Otherteam")
        await step(conn, ewo9, NewStep(9, "nti", date(2026, 11, 16), (other,), period_weeks=6))
    await db.write(_transaction)
    await sup.send("/caseload")
    lines = (await sup.next_message()).text.splitlines()
    assert lines[3].startswith("Team total: 3 pupils") and lines[3].endswith(" · 2 open notices")
    [ewo1] = [line for line in lines if line.startswith("Officer EWO1 (EWO1)")]
    [ewo2] = [line for line in lines if line.startswith("Officer EWO2 (EWO2)")]
    assert ewo1.endswith("0 undelivered alerts · 2 open notices")
    assert ewo2.endswith("0 undelivered alerts · 0 open notices")
    await sup.next_message()  # the chart
    await sup.send("/caseload EWO1")
    detail = (await sup.next_message()).text.splitlines()
    assert ("Open notices (improvement periods running, notices awaiting an outcome): 2"
            in detail)
