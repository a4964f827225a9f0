"""/case through the stand-in and the real bot: an officer's case, paging, the card's Case
button, a choice among several matches, a supervisor's read-only case for their team and
the refusal for another team's pupil; every view audited (issue 19)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from bot.chat import case as case_chat
from bot.chat.restriction import RESTRICTED
from bot.clock import FixedClock
from bot.domain import penalty_notices as rules
from bot.handlers import access
from bot.handlers import case as case_handlers
from bot.handlers import pupils as pupil_handlers
from bot.harness import RunningBot
from bot.sandbox import FakeUser
from bot.storage import officers as officer_store
from bot.storage import pathway, rights
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.pathway import NewOutcome, NewStep
from tests.e2e.conftest import PIN, People
from tests.storage.pupil_rows import NOW, Service

TODAY = date(2026, 11, 25)  # the e2e clock's day
NOT_FOUND = pupil_handlers.NOT_FOUND


async def officer(conn: Conn, ref: str) -> Officer:
    found = await officer_store.officer_by_ref(conn, ref)
    assert found is not None
    return found


async def parent(conn: Conn, pupil_id: int, name: str) -> int:
    return await conn.insert(
        "INSERT INTO contacts (pupil_id, name, relationship, parental_responsibility, priority)"
        " VALUES (?, ?, 'Mother', 1, 1)", (pupil_id, name))


async def step(conn: Conn, who: Officer, new: NewStep) -> int:
    saved = await pathway.record_step(conn, who, new, today=new.step_date, now=NOW)
    assert saved.id is not None, saved.problem
    return saved.id


async def outcome(conn: Conn, who: Officer, new: NewOutcome) -> int:
    saved = await pathway.record_outcome(conn, who, new, now=NOW)
    assert saved.id is not None, saved.problem
    return saved.id


async def amelias_case(conn: Conn, service: Service | None = None) -> tuple[int, int]:
    """Amelia (EWO1's): a support plan, a Notice to Improve to her mother, a penalty
    notice issued to her; returns the pupil and the mother."""
    ewo = await officer(conn, "EWO1")
    amelia = await (service or Service(conn)).pupil("Amelia", "Hughes", officer=ewo)
    mum = await parent(conn, amelia, "Jo Hughes")
    await step(conn, ewo, NewStep(amelia, "support_plan", date(2026, 9, 14)))
    await step(conn, ewo, NewStep(amelia, "nti", date(2026, 10, 12), (mum,), period_weeks=3))
    referral = await step(conn, ewo, NewStep(amelia, "pn_referral", date(2026, 11, 9), (mum,),
                                             reason="holiday"))
    await outcome(conn, ewo, NewOutcome(referral, "issued", date(2026, 11, 10), mum))
    return amelia, mum


async def case_audit(db: Database) -> list[tuple[str, str, str | None, str, dict | None]]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT actor, action, target, reason, detail FROM audit"
            " WHERE action LIKE '%case_view' ORDER BY seq")
    return [(row["actor"], row["action"], row["target"], row["reason"],
             None if row["detail"] is None else json.loads(row["detail"]))
            for row in await db.read(_snapshot)]


async def shown(user: FakeUser) -> str:
    """The text of the case just sent: a placeholder first, then edited into the text."""
    return (await user.edited(await user.next_message())).text


async def test_an_officer_sees_where_the_case_stands(running: RunningBot, people: People,
                                                    db: Database) -> None:
    user = await people.enrolled("EWO1")
    amelia, _mum = await db.write(amelias_case)
    await user.send("/case amelia")
    text = await shown(user)
    assert text.splitlines() == [
        "Case: Amelia Hughes (C00001)",
        "Current stage: Enforcement — Penalty-notice referral, 09/11/2026",
        "Open items:",
        "• Payment window closes: 08/12/2026 (Jo Hughes)",
        "Penalty notices per parent (last 3 years):",
        f"• Jo Hughes: 1 — {rules.SECOND_NOTICE_TEXT}",
        "Chronology, newest first (1–4 of 4):",
        "• 10/11/2026 — Penalty notice issued (EWO1)",
        "• 09/11/2026 — Penalty-notice referral (EWO1)",
        "• 12/10/2026 — Notice to Improve (EWO1)",
        "• 14/09/2026 — Support plan (EWO1)",
        "",
        "This message is deleted after 15 minutes.",
    ]
    # Correct under EWO1's own recent entries (not the referral: it has its outcome).
    assert user.last().protect_content and user.last().labels() == [
        "Correct: Penalty notice issued, 10/11/2026", "Correct: Notice to Improve, 12/10/2026",
        "Correct: Support plan, 14/09/2026"]
    await user.send("/case")
    assert (await user.next_message()).text == case_handlers.CASE_HINT
    await user.send("/case nobody")
    assert (await user.next_message()).text == NOT_FOUND
    assert await case_audit(db) == [
        ("officer:EWO1", "case_view", f"pupil:{amelia}", "case_command", None)]


async def test_the_chronology_pages_ten_at_a_time(running: RunningBot, people: People,
                                                 db: Database) -> None:
    user = await people.enrolled("EWO1")

    async def _transaction(conn: Conn) -> int:
        amelia, _ = await amelias_case(conn)
        ewo = await officer(conn, "EWO1")
        for number in range(8):  # 12 entries in all
            await Service(conn).visit(amelia, ewo, date(2026, 10, 1) + timedelta(days=number))
        return amelia
    amelia = await db.write(_transaction)
    await user.send("/case C00001")
    first = await user.edited(await user.next_message())
    lines = first.text.splitlines()
    assert "Chronology, newest first (1–10 of 12):" in lines
    assert lines[-3] == "• 02/10/2026 — Home visit (EWO1)"  # 01/10 is on the next page
    assert first.labels() == ["Correct: Penalty notice issued, 10/11/2026",
                              "Correct: Notice to Improve, 12/10/2026", case_chat.NEXT]
    press = await user.press(case_chat.NEXT, message_id=first.message_id)
    assert await user.answer_to(press) is None
    second = await user.edited(first)
    assert second.message_id == first.message_id
    assert "Chronology, newest first (11–12 of 12):" in second.text
    assert "• 14/09/2026 — Support plan (EWO1)" in second.text
    assert second.labels() == ["Correct: Support plan, 14/09/2026", case_chat.PREVIOUS]
    # A page past the end (the chronology shrank, or forged) shows the last page.
    press = await user.press_data(f"case:{amelia}:9", message_id=first.message_id)
    assert await user.answer_to(press) is None
    assert "(11–12 of 12)" in (await user.edited(second)).text
    press = await user.press_data(f"case:{amelia}:x", message_id=first.message_id)
    assert await user.answer_to(press) == case_handlers.STALE_BUTTON
    # A page of a message that can no longer be edited comes as a new message.
    press = await user.press_data(f"case:{amelia}:1", message_id=9999)
    assert "(1–10 of 12)" in (await shown(user))
    assert await user.answer_to(press) is None
    reasons = [entry[3] for entry in await case_audit(db)]
    assert reasons == ["case_command", "case_page", "case_page", "case_page"]


async def test_the_cards_case_button_and_a_choice_among_several(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")

    async def _transaction(conn: Conn) -> tuple[int, int]:
        service = Service(conn)
        amelia, _ = await amelias_case(conn, service)
        noah = await service.pupil("Noah", "Hughes", officer=await officer(conn, "EWO1"))
        return amelia, noah
    amelia, noah = await db.write(_transaction)
    await user.send("/pupil amelia")
    card = await user.next_message()
    assert card.button("Case").data == f"case:{amelia}"
    await user.press("Case", message_id=card.message_id)
    assert (await shown(user)).startswith("Case: Amelia Hughes (C00001)")

    await user.send("/case hughes")
    choice = await user.next_message()
    assert choice.text == pupil_handlers.CHOOSE.format(count=2)
    assert sorted(button.data for row in choice.buttons for button in row) == sorted(
        [f"case:{amelia}", f"case:{noah}"])
    await user.press("Noah Hughes (C00002), Yr 5", message_id=choice.message_id)
    noahs = await shown(user)
    assert noahs.splitlines()[:5] == ["Case: Noah Hughes (C00002)", case_chat.NO_STAGE,
                                      case_chat.NO_OPEN_ITEMS, case_chat.NO_PARENTS,
                                      case_chat.NO_ENTRIES]
    assert [entry[3] for entry in await case_audit(db)] == ["case_button", "case_button"]


async def test_a_supervisor_reads_their_teams_case_and_not_another_teams(
        running: RunningBot, people: People, db: Database) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    other = await people.enrolled("SUP2", "supervisor")
    await people.add("EWO1", supervisor="SUP1")
    amelia, _ = await db.write(amelias_case)
    await sup.send("/case amelia")
    text = await shown(sup)
    assert text.splitlines()[:2] == ["Read only: allocated to EWO1",
                                     "Case: Amelia Hughes (C00001)"]
    assert "Jo Hughes: 1" in text

    await other.send("/case amelia")
    assert (await other.next_message()).text == NOT_FOUND
    await other.send("/case C00001")
    assert (await other.next_message()).text == NOT_FOUND
    for data in (f"case:{amelia}", f"case:{amelia}:2", f"al:case:{amelia}"):
        press = await other.press_data(data, message_id=1)
        assert await other.answer_to(press) == NOT_FOUND
    assert not any("Hughes" in (message.text or "") for message in other.history)
    assert await case_audit(db) == [
        ("officer:SUP1", "case_view", f"pupil:{amelia}", "supervision",
         {"via": "case_command"}),
        ("officer:SUP2", "refused:case_view", f"pupil:{amelia}", "not_visible",
         {"via": "case_button"}),
        ("officer:SUP2", "refused:case_view", f"pupil:{amelia}", "not_visible",
         {"via": "case_page"}),
        ("officer:SUP2", "refused:case_view", f"pupil:{amelia}", "not_visible",
         {"via": "alert_button"}),
    ]


async def test_case_typed_while_locked_goes_on_after_the_pin(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")
    amelia, _ = await db.write(amelias_case)

    async def _kept(conn: Conn) -> list[str]:
        rows = await conn.fetchall("SELECT pending_update FROM sessions")
        return [row["pending_update"] for row in rows if row["pending_update"]]
    await user.send("/lock")
    assert (await user.next_message()).text == access.LOCKED_NOW
    await user.send("/case amelia")
    assert (await user.next_message()).text == access.LOCKED_PROMPT
    # Kept as the Case button's press for the one match, never the words typed.
    [kept] = await db.read(_kept)
    assert json.loads(kept)["data"] == f"case:{amelia}" and "amelia" not in kept.lower()
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert (await shown(user)).startswith("Case: Amelia Hughes (C00001)")
    assert [entry[3] for entry in await case_audit(db)] == ["case_button"]


async def test_a_restricted_record_gets_the_fixed_text_in_place_of_the_case(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    user = await people.enrolled("EWO1", supervisor="SUP1")
    amelia, _ = await db.write(amelias_case)
    await user.send("/case amelia")
    case = await user.edited(await user.next_message())  # before the restriction

    async def _restrict(conn: Conn) -> int:
        return await rights.record(conn, amelia, "restriction", clock.today(), actor="os:dpo",
                                   now=clock.now())
    await db.write(_restrict)
    for who in (user, sup):
        await who.send("/case amelia")
        assert (await who.next_message()).text == RESTRICTED
    for data in (f"case:{amelia}", f"case:{amelia}:2", f"al:case:{amelia}"):
        press = await user.press_data(data, message_id=case.message_id)
        assert await user.answer_to(press) == RESTRICTED

    async def _refused(conn: Conn) -> list[tuple[str, str]]:
        rows = await conn.fetchall("SELECT actor, action FROM audit WHERE reason = 'restricted'"
                                   " ORDER BY seq")
        return [(row["actor"], row["action"]) for row in rows]
    refused = await db.read(_refused)
    assert len(refused) == 5 and {actor for actor, _ in refused} == {
        "officer:EWO1", "officer:SUP1"}
