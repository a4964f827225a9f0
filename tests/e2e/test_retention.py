"""/retention and /sar through the stand-in: the overview, Hold, Dispose, refused presses,
and subject-access exports written on the server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.handlers import retention, retention_texts, router, sar
from bot.handlers.common import NOT_ALLOWED, STALE_BUTTON
from bot.harness import RunningBot
from bot.sandbox import BotApiStandIn, BotMessage, FakeUser
from bot.settings import Settings
from bot.storage import audit
from bot.storage import retention as retention_store
from bot.storage.db import Conn, Database
from bot.storage.sar import export_subject_access
from tests.e2e.conftest import People
from tests.e2e.retention_files import CANARY_FIRST, CANARY_LAST, import_service, upn
from tests.pg import database_files


@pytest.fixture
async def controller(running: RunningBot, people: People, db: Database, settings: Settings,
                     tmp_path: Path) -> FakeUser:
    await people.add("EWO1")
    await import_service(db, settings, tmp_path)
    return await people.enrolled("DPO1", "controller")


async def edited(user: FakeUser) -> BotMessage:
    """The next message the bot edited in this chat (after the press that edits it)."""
    while (event := await user.next_event()).kind != "edited":
        pass
    assert event.message is not None
    return event.message


async def pupils_left(db: Database) -> list[str]:
    async def _snapshot(conn: Conn):
        return [row["case_ref"] for row in
                await conn.fetchall("SELECT case_ref FROM pupils ORDER BY id")]
    return await db.read(_snapshot)


async def test_the_overview_shows_references_and_dates_only(controller: FakeUser) -> None:
    await controller.send("/retention")
    overview = await controller.next_message()
    assert overview.text.splitlines()[:3] == [
        "Retention on 25/11/2026: 2 past due, 0 coming due, 0 on hold.",
        "Hillside Primary: 1 past due, 0 coming due, 0 on hold",
        "Riverside Academy: 1 past due, 0 coming due, 0 on hold",
    ]
    assert ("C00001 · Hillside Primary · deadline 31/08/2025 (past due) · last intervention "
            "none · allocated · latest mark none") in overview.text
    assert "C00002 · Riverside Academy" in overview.text and "C00003" not in overview.text
    assert CANARY_FIRST not in overview.text and CANARY_LAST not in overview.text
    assert "Amelia" not in overview.text
    assert overview.labels() == ["Hold C00001", "Dispose C00001", "Hold C00002",
                                 "Dispose C00002", "Dispose all 2 past due"]
    assert overview.protect_content


async def test_dispose_asks_once_then_leaves_no_trace(controller: FakeUser, db: Database,
                                                      settings: Settings, tmp_path: Path,
                                                      clock: FixedClock) -> None:
    def traces() -> int:
        """The canary's last name, and each of its words, in any case (search keys and
        tails are folded: "vimbleton" alone is the search's)."""
        words = [CANARY_LAST, *CANARY_LAST.split("-")]
        return sum(path.read_bytes().lower().count(word.lower().encode())
                   for path in database_files(settings) for word in words)

    # Two exports: one in the export folder, one the administrator named after the child.
    exports = [await export_subject_access(db, settings, upn(1), actor="os:admin",
                                           now=clock.now(), out=out)
               for out in (None, tmp_path / f"{CANARY_FIRST}-{CANARY_LAST}-sar.json")]
    assert traces() > 0  # the name, address and a contact's name were written to the files
    await controller.send("/retention")
    await controller.next_message()
    await controller.press("Dispose C00001")
    confirm = await controller.next_message()
    assert confirm.text.startswith("Dispose of C00001 (Hillside Primary, deadline 31/08/2025)?")
    assert await pupils_left(db) == ["C00001", "C00002", "C00003"]  # nothing yet
    await controller.press("Yes, dispose")
    assert (await edited(controller)).text == "C00001 has been disposed of."
    assert await pupils_left(db) == ["C00002", "C00003"]
    # The same person, held as pupil 2's contact, stays there.
    async def _snapshot(conn: Conn):
        assert await conn.fetchval("SELECT name FROM contacts") == "Grace Shared"
        return (await audit.entries(conn, targets=("pupil:1",)))[-1]
    entry = await db.read(_snapshot)
    assert (entry.actor, entry.action, entry.reason) == ("officer:DPO1", "disposal",
                                                         "retention_due")
    assert traces() == 0  # the request naming the export after the child went too
    assert not exports[0].path.exists()  # the export folder's copy went with the record
    assert exports[1].path.exists()  # written with --out: the administrator's to remove


async def test_keep_disposes_of_nothing(controller: FakeUser, db: Database) -> None:
    await controller.send("/retention")
    await controller.next_message()
    await controller.press("Dispose C00002")
    confirm = await controller.next_message()
    await controller.press("No, keep", message_id=confirm.message_id)
    assert (await edited(controller)).text == retention_texts.KEPT
    assert await pupils_left(db) == ["C00001", "C00002", "C00003"]


async def test_dispose_all_behind_one_confirmation(controller: FakeUser, db: Database) -> None:
    await controller.send("/retention")
    await controller.next_message()
    await controller.press("Dispose all 2 past due")
    confirm = await controller.next_message()
    assert confirm.text.startswith("Dispose of all 2 past-due records not on hold?")
    assert confirm.labels() == ["Yes, dispose of 2", "No, keep"]
    await controller.press("Yes, dispose of 2")
    assert (await edited(controller)).text == "2 records have been disposed of."
    assert await pupils_left(db) == ["C00003"]


async def test_a_confirmation_for_another_list_is_refused(controller: FakeUser,
                                                          db: Database) -> None:
    await controller.send("/retention")
    overview = await controller.next_message()
    forged = retention.fingerprint([1])  # a list of one, when two are past due
    await controller.press_data(f"ret:aok:1:{forged}", overview.message_id)
    assert (await edited(controller)).text == retention_texts.CHANGED
    assert await pupils_left(db) == ["C00001", "C00002", "C00003"]


async def test_disposal_refused_to_others_and_for_forged_buttons(
        controller: FakeUser, people: People, db: Database) -> None:
    officer = await people.enrolled("EWO2")
    await officer.send("/help")
    shown = await officer.next_message()
    press = await officer.press_data("ret:dok:1", shown.message_id)
    assert await officer.answer_to(press) == NOT_ALLOWED
    press = await officer.press_data("ret:aok:2:0000", shown.message_id)
    assert await officer.answer_to(press) == NOT_ALLOWED

    await controller.send("/retention")
    overview = await controller.next_message()
    for forged in ("ret:dok:3", "ret:dok:999", "ret:dis:3"):  # not due, unknown
        press = await controller.press_data(forged, overview.message_id)
        assert await controller.answer_to(press) == retention_texts.CANNOT_DISPOSE
    press = await controller.press_data("ret:dok:one", overview.message_id)
    assert await controller.answer_to(press) == retention_texts.CANNOT_DISPOSE
    press = await controller.press_data("ret:nonsense", overview.message_id)
    assert await controller.answer_to(press) == STALE_BUTTON
    assert await pupils_left(db) == ["C00001", "C00002", "C00003"]
    async def _snapshot(conn: Conn):
        return [(e.actor, e.action, e.reason)
                    for e in await audit.entries(conn) if e.action.startswith("refused")]
    refusals = await db.read(_snapshot)
    assert refusals.count(("officer:EWO2", "refused:button", "role")) == 2
    assert ("officer:DPO1", "refused:button", "not_disposable") in refusals


async def test_hold_asks_a_reason_and_a_review_date(controller: FakeUser, db: Database) -> None:
    await controller.send("/retention")
    await controller.next_message()
    await controller.press("Hold C00001")
    ask = await controller.next_message()
    assert ask.text == "Hold C00001: why is it kept past its deadline?"
    assert ask.labels() == [*retention_texts.HOLD_REASON_LABELS.values(), "Cancel"]
    await controller.press("Legal proceedings")
    assert (await edited(controller)).text.startswith(
        "Hold C00001 (Legal proceedings): type the review date as DD/MM/YYYY.")
    await controller.send("31/02/2027")
    assert (await controller.next_message()).text == retention_texts.REVIEW_HINT.format(
        problem=retention_texts.REVIEW_FORMAT)
    await controller.send("24/11/2026")
    assert (await controller.next_message()).text == retention_texts.REVIEW_HINT.format(
        problem="after today")
    # Typed without a year, 15/01 is read as this year's, already past: the hint says
    # to type next year's (it said only "after today", of a date that was).
    await controller.send("15/01")
    assert (await controller.next_message()).text == retention_texts.REVIEW_NEXT_YEAR
    await controller.send("15/01/2027")
    assert (await controller.next_message()).text == (
        "C00001 is on hold until 15/01/2027 (Legal proceedings). "
        "No reminders about it until then.")

    await controller.send("/retention")
    overview = await controller.next_message()
    assert overview.text.startswith("Retention on 25/11/2026: 1 past due, 0 coming due, 1 on hold.")
    assert "· on hold until 15/01/2027" in overview.text
    assert "Dispose C00001" not in overview.labels() and "Hold C00001" in overview.labels()
    press = await controller.press_data("ret:dok:1", overview.message_id)
    assert await controller.answer_to(press) == retention_texts.CANNOT_DISPOSE
    async def _snapshot(conn: Conn):
        (entry,) = [e for e in await audit.entries(conn, targets=("pupil:1",))
                    if e.action == "hold"]
        return entry
    entry = await db.read(_snapshot)
    assert entry.reason == "retention_hold"
    assert entry.detail == {"hold_reason": "legal", "review_date": "2027-01-15"}


async def test_a_stale_hold_button_is_refused(controller: FakeUser) -> None:
    await controller.send("/retention")
    await controller.next_message()
    await controller.press("Hold C00001")
    first = await controller.next_message()
    await controller.press("Hold C00002")
    await controller.next_message()
    press = await controller.press("Legal proceedings", message_id=first.message_id)
    assert await controller.answer_to(press) == STALE_BUTTON


async def test_a_review_date_for_a_record_another_controller_disposed_of_says_so(
        controller: FakeUser, people: People, db: Database) -> None:
    # The disposal ends the hold conversation about the record (PRODUCT.md, Retention
    # rule): the date typed for it was answered "Send /help to see what you can do."
    other = await people.enrolled("DPO2", "controller")
    await controller.send("/retention")
    await controller.next_message()
    await controller.press("Hold C00001")
    await controller.next_message()
    await controller.press("Legal proceedings")
    await edited(controller)
    await other.send("/retention")
    await other.next_message()
    await other.press("Dispose C00001")
    await other.next_message()
    await other.press("Yes, dispose")
    assert (await edited(other)).text == "C00001 has been disposed of."
    await controller.send("15/01/2027")
    assert (await controller.next_message()).text == router.NO_HOLD_WAITING
    assert await pupils_left(db) == ["C00002", "C00003"]
    await controller.send("hello")  # not a date: nothing to say about a hold
    assert (await controller.next_message()).text == router.NOTHING_TO_DO


async def test_retention_is_for_controllers_only(controller: FakeUser, people: People) -> None:
    officer = await people.enrolled("EWO2")
    await officer.send("/retention")
    assert (await officer.next_message()).text == NOT_ALLOWED


async def test_sar_writes_the_export_on_the_server_and_replies_with_counts(
        controller: FakeUser, settings: Settings, db: Database) -> None:
    typed = await controller.send(f"/sar {upn(1)}")
    reply = await controller.next_message()
    lines = reply.text.splitlines()
    assert lines[0] == ("Subject-access export written on the server: "
                        "sar-C00001-20261125-100000.json")
    assert lines[1].startswith("Rows: pupil 1, allocation 1, contacts 2, marks 0,")
    assert lines[2] == "Request received 25/11/2026; response due by 25/12/2026."
    assert CANARY_FIRST not in reply.text and upn(1) not in reply.text
    assert reply.document is None  # the export never travels through Telegram
    assert typed in controller.deleted  # the UPN does not stay in the chat
    export = settings.export_dir / "sar-C00001-20261125-100000.json"
    assert export.exists() and '"Zebediah"' in export.read_text(encoding="utf-8")
    async def _snapshot(conn: Conn) -> None:
        assert await conn.fetchval("SELECT requested_by FROM subject_access_requests") == (
            "officer:DPO1")
    await db.read(_snapshot)


def spaced(typed: str) -> str:
    """A UPN as written on a form, in groups (`A000 0000 00001`) and lower-case."""
    return f"{typed[:4]} {typed[4:8]} {typed[8:]}".lower()


async def test_sar_takes_a_upn_typed_with_spaces_or_in_lower_case(
        controller: FakeUser, settings: Settings) -> None:
    # Import files remove the spaces from UPNs (PRODUCT.md, Import files); /sar answered
    # one typed in groups with its usage.
    typed = await controller.send(f"/sar {spaced(upn(1))}")
    reply = await controller.next_message()
    assert reply.text.splitlines()[0] == ("Subject-access export written on the server: "
                                          "sar-C00001-20261125-100000.json")
    assert typed in controller.deleted
    await controller.send("/sar Amelia Hughes")  # words that are not a UPN
    assert (await controller.next_message()).text == (
        "No export was made: that is not a valid UPN.")


async def test_sar_refuses_others_and_unknown_upns(controller: FakeUser, people: People,
                                                   settings: Settings) -> None:
    officer = await people.enrolled("EWO2")
    await officer.send(f"/sar {upn(1)}")
    assert (await officer.next_message()).text == NOT_ALLOWED
    await controller.send(f"/sar {upn(77)}")
    assert (await controller.next_message()).text == (
        "No export was made: no pupil with that UPN is held.")
    await controller.send("/sar")
    assert (await controller.next_message()).text == sar.USAGE
    assert not settings.export_dir.exists() or not any(settings.export_dir.iterdir())


async def test_a_check_missed_while_down_reminds_the_controller_at_start(
        db: Database, settings: Settings, standin: BotApiStandIn, clock: FixedClock,
        people: People, tmp_path: Path) -> None:
    await people.add("EWO1")
    await import_service(db, settings, tmp_path)
    user = await people.enrolled("DPO1", "controller")
    await db.write(retention_store.record_check, clock.now() - timedelta(days=3))
    quick = settings.model_copy(update={"outbox_poll_seconds": 0.1})
    async with RunningBot(quick, standin, clock=clock, db=db):
        reminder = await user.next_message()
        assert reminder.text.splitlines()[0] == (
            "Retention check 25/11/2026: 2 past due, 0 coming due by 25/12/2026, 0 on hold.")
        assert "Hillside Primary: 1 past due, 0 coming due" in reminder.text
        assert "C00001" not in reminder.text and CANARY_LAST not in reminder.text
        assert reminder.labels() == ["Open /retention"]
        await user.press("Open /retention")
        overview = await user.next_message()
        assert overview.text.startswith("Retention on 25/11/2026: 2 past due, 0 coming due")
        assert "Dispose C00001" in overview.labels()
