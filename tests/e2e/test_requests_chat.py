"""/requests for controllers: the list, extending and deciding by buttons, stale and
forged buttons refused, every action audited, officers refused (CASEWORK.md §3)."""

from __future__ import annotations

from datetime import date

from bot.chat.restriction import RESTRICTED
from bot.clock import FixedClock
from bot.handlers.common import NOT_ALLOWED
from bot.harness import RunningBot
from bot.sandbox import FakeUser
from bot.sandbox.models import BotMessage
from bot.storage import officers as officer_store
from bot.storage import rights
from bot.storage.db import Conn, Database
from tests.e2e.conftest import People
from tests.e2e.retention_files import upn
from tests.storage.pupil_rows import Service


async def edited(user: FakeUser) -> BotMessage:
    """The next message the bot edited in this chat (after the press that edits it)."""
    while (event := await user.next_event()).kind != "edited":
        pass
    assert event.message is not None
    return event.message


async def seed(db: Database, clock: FixedClock) -> dict[str, int]:
    """EWO1's pupils with a restriction (received 10 days ago) and a rectification."""
    async def _transaction(conn: Conn) -> dict[str, int]:
        ann = await officer_store.officer_by_ref(conn, "EWO1")
        service = Service(conn)
        amelia = await service.pupil("Amelia", "Hughes", officer=ann, upn=upn(1))
        noah = await service.pupil("Noah", "Hughes", officer=ann, upn=upn(2))
        restriction = await rights.record(conn, amelia, "restriction", date(2026, 11, 15),
                                          actor="os:dpo", now=clock.now())
        rectification = await rights.record(conn, noah, "rectification", date(2026, 11, 20),
                                            actor="os:dpo", now=clock.now())
        return {"amelia": amelia, "noah": noah, "restriction": restriction,
                "rectification": rectification}
    return await db.write(_transaction)


async def audit_actions(db: Database, actor: str) -> list[tuple[str, str, str | None]]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT action, reason, target FROM audit WHERE actor = ? ORDER BY seq", (actor,))
    return [(r["action"], r["reason"], r["target"]) for r in await db.read(_snapshot)]


async def test_a_controller_extends_and_decides_by_buttons(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    dpo = await people.enrolled("DPO1", role="controller")
    ewo = await people.enrolled("EWO1")
    ids = await seed(db, clock)

    await dpo.send("/requests")
    listing = await dpo.next_message()
    assert listing.text.splitlines() == [
        "Rights requests, earliest due first (2 open of 2):",
        "1  restriction  C00001  15/11/2026  15/12/2026  open",
        "2  rectification  C00002  20/11/2026  20/12/2026  open"]
    assert listing.labels() == ["1 restriction C00001", "2 rectification C00002"]
    assert "Amelia" not in listing.text and listing.protect_content

    await dpo.press("1 restriction C00001")
    screen = await edited(dpo)
    assert screen.text == ("Request 1: restriction for C00001\n"
                           "Received 15/11/2026 · due by 15/12/2026 · open")
    assert screen.labels() == ["Extend", "Uphold", "Reject", "All requests"]
    await dpo.press("Extend")
    assert (await edited(dpo)).labels() == ["Complex", "Numerous", "◀ Back"]
    await dpo.press("Complex")
    assert (await edited(dpo)).text == "Request 1 extended: due by 15/02/2027."

    await dpo.press("All requests")
    assert "1  restriction  C00001  15/11/2026  15/02/2027 (extended)  open" in (
        await edited(dpo)).text.splitlines()
    await dpo.press("1 restriction C00001")
    assert (await edited(dpo)).labels() == ["Uphold", "Reject", "All requests"]  # once only
    await dpo.press("Uphold")
    asked = await edited(dpo)
    assert asked.text == "Uphold request 1 — why?"
    await dpo.press("Request valid")
    assert (await edited(dpo)).text.splitlines() == [
        "Request 1 upheld: restriction for C00001.",
        "The restriction stays until `ewobot requests lift UPN`.",
        "Shared with: no sharing recorded"]
    # The upheld restriction holds in the officer's chat.
    await ewo.send("/pupil C00001")
    assert (await ewo.next_message()).text == RESTRICTED

    # A stale reason button (the request is decided now) and a forged id are refused.
    stale = await dpo.press_data(asked.button("Request valid").data, asked.message_id)
    assert await dpo.answer_to(stale) == "Request 1 is already decided."
    forged = await dpo.press_data("rq:999:u:request_valid", asked.message_id)
    assert await dpo.answer_to(forged) == "No request 999."
    wrong = await dpo.press_data(f"rq:{ids['rectification']}:u:legal_claims",
                                 asked.message_id)
    assert (await dpo.answer_to(wrong) or "").startswith("The reason must be one of:")

    assert [(action, reason) for action, reason, _ in await audit_actions(db, "officer:DPO1")
            if action.startswith("rights")] == [
        ("rights_requests_list", "requests_command"), ("rights_extend", "complex"),
        ("rights_requests_list", "requests_button"), ("rights_upheld", "request_valid")]


async def test_a_rectification_is_upheld_here_without_a_statement_and_says_so(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    dpo = await people.enrolled("DPO1", role="controller")
    await people.add("EWO1")
    await seed(db, clock)
    await dpo.send("/requests")
    await dpo.next_message()
    await dpo.press("2 rectification C00002")
    await edited(dpo)
    await dpo.press("Uphold")
    assert "only from the command line" in (await edited(dpo)).text
    await dpo.press("Data inaccurate")
    assert (await edited(dpo)).text.splitlines()[0] == (
        "Request 2 upheld: rectification for C00002.")
    await dpo.press("All requests")
    listing = await edited(dpo)
    assert "2  rectification  C00002  20/11/2026  20/12/2026  upheld" in listing.text
    assert listing.labels() == ["1 restriction C00001"]  # decided: no button
    await dpo.press("1 restriction C00001")
    await edited(dpo)
    await dpo.press("Reject")
    await edited(dpo)
    await dpo.press("Legal claims")
    assert (await edited(dpo)).text.splitlines()[:2] == [
        "Request 1 rejected: restriction for C00001.", "The restriction is lifted."]


async def test_officers_may_neither_list_nor_press(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    ewo = await people.enrolled("EWO1")
    await seed(db, clock)
    await ewo.send("/requests")
    assert (await ewo.next_message()).text == NOT_ALLOWED
    message = await ewo.send("/help")
    assert "/requests" not in (await ewo.next_message()).text
    press = await ewo.press_data("rq:1:u:request_valid", message)
    assert await ewo.answer_to(press) == NOT_ALLOWED
    async def _snapshot(conn: Conn) -> str:
        return str(await conn.fetchval("SELECT status FROM rights_requests WHERE id = 1"))
    assert await db.read(_snapshot) == "open"


async def test_no_requests_recorded(running: RunningBot, people: People) -> None:
    dpo = await people.enrolled("DPO1", role="controller")
    await dpo.send("/requests")
    assert (await dpo.next_message()).text == (
        "No rights requests are recorded. Record one with `ewobot requests add`.")


async def test_an_objection_upheld_by_button_is_past_due_in_retention(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    dpo = await people.enrolled("DPO1", role="controller")
    await people.add("EWO1")
    ids = await seed(db, clock)
    await dpo.send("/retention")
    before = (await dpo.next_message()).text
    await objection_shown(dpo, db, clock, ids)
    await dpo.press("Uphold")
    await edited(dpo)
    await dpo.press("No overriding grounds")
    assert (await edited(dpo)).text.splitlines()[1] == (
        "The record is restricted and past due: dispose of it in /retention.")
    await dpo.send("/retention")
    after = (await dpo.next_message()).text
    assert "C00002" not in before and "C00002" in after
    assert "1 past due" in after.splitlines()[0]


async def test_an_objection_is_rejected_only_on_its_own_grounds(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    """CASEWORK.md §3: rejected "with the reason code (compelling legitimate grounds,
    legal claims)": only those are offered, and a forged other code is refused."""
    dpo = await people.enrolled("DPO1", role="controller")
    await people.add("EWO1")
    ids = await seed(db, clock)
    objection = await objection_shown(dpo, db, clock, ids)
    await dpo.press("Reject")
    asked = await edited(dpo)
    assert asked.labels() == ["Compelling grounds", "Legal claims", "◀ Back"]
    forged = await dpo.press_data(f"rq:{objection}:r:data_accurate", asked.message_id)
    assert await dpo.answer_to(forged) == (
        "The reason must be one of: compelling_grounds, legal_claims.")
    await dpo.press("◀ Back")
    await edited(dpo)
    await dpo.press("All requests")
    await edited(dpo)
    await dpo.press(f"{ids['restriction']} restriction C00001")  # another kind: every code
    await edited(dpo)
    await dpo.press("Reject")
    assert "Data accurate" in (await edited(dpo)).labels()
    async def _status(conn: Conn) -> str:
        return str(await conn.fetchval("SELECT status FROM rights_requests WHERE id = ?",
                                       (objection,)))
    assert await db.read(_status) == "open"


async def test_all_requests_longer_than_one_message_still_shows(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    # Every /sar records an access request too, so the list outgrows one message in time;
    # "All requests" showed it by editing one message, which Telegram refuses past 4,096.
    dpo = await people.enrolled("DPO1", role="controller")
    await people.add("EWO1")
    ids = await seed(db, clock)
    async def _many(conn: Conn) -> None:
        for _ in range(90):
            request = await rights.record(conn, ids["noah"], "access", date(2026, 11, 1),
                                          actor="os:dpo", now=clock.now())
            await rights.decide(conn, request, uphold=True, reason="request_valid",
                                statement=None, actor="os:dpo", now=clock.now())
    await db.write(_many)
    await dpo.send("/requests")
    first = await dpo.next_message()
    parts = [first]
    while not parts[-1].labels():
        parts.append(await dpo.next_message())
    assert len(parts) > 1
    await dpo.press("1 restriction C00001")
    await edited(dpo)
    await dpo.press("All requests")
    shown = [await edited(dpo)]
    while not shown[-1].labels():
        shown.append(await dpo.next_message())
    assert [part.text for part in shown] == [part.text for part in parts]
    assert shown[-1].labels() == ["1 restriction C00001", "2 rectification C00002"]


async def objection_shown(dpo: FakeUser, db: Database, clock: FixedClock,
                          ids: dict[str, int]) -> int:
    """An objection about Noah (C00002) recorded today, opened from /requests by `dpo`."""
    async def _objection(conn: Conn) -> int:
        return await rights.record(conn, ids["noah"], "objection", clock.today(),
                                   actor="os:dpo", now=clock.now())
    objection = await db.write(_objection)
    await dpo.send("/requests")
    await dpo.next_message()
    await dpo.press(f"{objection} objection C00002")
    await edited(dpo)
    return objection
