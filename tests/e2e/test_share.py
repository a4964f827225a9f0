"""/share through the stand-in and the real bot: the sharing log recorded by buttons,
its guarantees (draft at every step, restart, lock, double Save, stale and forged
buttons, /cancel), and the entry in the subject-access export and gone at disposal."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.domain import sharing as flow
from bot.domain.retention import RetentionPolicy
from bot.handlers import access
from bot.handlers.share import texts as share
from bot.harness import RunningBot, enrol_directly
from bot.sandbox import BotApiStandIn, BotMessage, FakeUser
from bot.settings import Settings
from bot.storage import retention, rights
from bot.storage.db import Conn, Database
from bot.storage.sar import export_subject_access
from tests.e2e.conftest import PIN, People
from tests.e2e.retention_files import upn as valid_upn
from tests.e2e.visit_helpers import (
    AMELIA,
    NOAH,
    Caseload,
    caseload,
    marker,
    message,
    officer,
    rows,
    tap,
)

HEADER = "Sharing decision for A.H. (C00001)"
# The presses of a decision to share SEN or health information with the police.
PRESSES = (
    (flow.PUPIL, AMELIA), (flow.RECIPIENT, "Police"), (flow.DECISION, "Shared"),
    (flow.WHAT_STEP, "Attendance"), (flow.WHAT_STEP, "SEN or health"), (flow.WHAT_STEP, "Done"),
    (flow.BASIS, "Public task"), (flow.CONDITION, "Safeguarding of children"),
    (flow.REASON, "Safeguarding"), (flow.DATE, "Yesterday"), (flow.NOTE, "Skip"),
)
STEPS = tuple(dict.fromkeys(step for step, _ in PRESSES))


@pytest.fixture
async def case(running: RunningBot, people: People, db: Database) -> Caseload:
    return await caseload(people, db)


async def start(user: FakeUser, typed: str = "") -> BotMessage:
    await user.send(f"/share {typed}".strip())
    return await user.next_message()


async def walk_to(user: FakeUser, step: str) -> BotMessage:
    """From /share, press the usual buttons until `step` is shown."""
    shown = await start(user)
    assert shown.text == share.CHOOSE_PUPIL
    for done, label in PRESSES:
        if done == step:
            break
        shown = await tap(user, label)
    return shown


def question(step: str) -> str:
    return f"{HEADER}\n\n{share.QUESTIONS[step]}"


async def entries(db: Database) -> list[dict]:
    found = await rows(db, "SELECT * FROM sharing_log ORDER BY id")
    return [dict(row) for row in found]


async def test_a_sharing_decision_recorded_by_pressing_buttons(case: Caseload,
                                                               db: Database) -> None:
    user = case.user
    first = await start(user)
    assert first.text == share.CHOOSE_PUPIL and first.labels() == [NOAH, AMELIA]
    assert first.protect_content
    expected = {
        AMELIA: (question(flow.RECIPIENT), [label for _, label in flow.RECIPIENTS]),
        "Police": (question(flow.DECISION), ["Shared", "Not shared"]),
        "Shared": (question(flow.WHAT_STEP), [*(label for _, label in flow.WHAT), "Done"]),
        "SEN or health": (question(flow.WHAT_STEP), [
            "✓ Attendance", "Contact details", "✓ SEN or health", "Visit records",
            "Pathway records", "Done"]),
        "Done": (question(flow.BASIS), [label for _, label in flow.BASES]),
        "Public task": (question(flow.CONDITION), [label for _, label in flow.CONDITIONS]),
        "Safeguarding of children": (question(flow.REASON),
                                     [label for _, label in flow.REASONS]),
        "Safeguarding": (question(flow.DATE), ["Today", "Yesterday"]),
        "Yesterday": (question(flow.NOTE), ["Skip"]),
    }
    for _, label in PRESSES[:-1]:
        shown = await tap(user, label)
        assert shown.message_id == first.message_id  # the same message, edited
        if label in expected:
            assert (shown.text, shown.labels()) == expected[label], label
    note_id = await user.send("Asked for by PC Jones after the strategy meeting.")
    summary = await user.edited(await user.next_message())
    assert summary.text == "\n".join([
        HEADER, "", "With: Police", "Decision: Shared",
        "What was shared: Attendance, SEN or health", "Lawful basis: Public task",
        "Special-category condition: Safeguarding of children", "Reason: Safeguarding",
        "Date: 24/11/2026", "Note: Asked for by PC Jones after the strategy meeting.", "",
        "Save this sharing decision?"])
    assert summary.labels() == ["Save", "Change", "Cancel"]
    press = await user.press("Save", message_id=summary.message_id)
    assert await user.answer_to(press) == "Saved"
    saved = message(user, summary.message_id)
    assert saved.text == "Saved: Shared — Police, for A.H., on 24/11/2026."
    assert saved.labels() == [share.LABEL_CORRECT]

    [row] = await entries(db)
    assert {key: row[key] for key in (
        "pupil_id", "officer_id", "recipient", "recipient_other", "decision", "items",
        "lawful_basis", "special_condition", "reason", "shared_on", "note", "supersedes")} == {
        "pupil_id": case.amelia, "officer_id": case.ann.id, "recipient": "police",
        "recipient_other": None, "decision": "shared", "items": "attendance,sen_health",
        "lawful_basis": "public_task", "special_condition": "safeguarding",
        "reason": "safeguarding", "shared_on": "2026-11-24",
        "note": "Asked for by PC Jones after the strategy meeting.", "supersedes": None}
    assert await rows(db, "SELECT * FROM conversations") == []
    audited = await rows(db, "SELECT actor, target, reason, detail FROM audit"
                             " WHERE action = 'sharing_saved'")
    assert [(a["actor"], a["target"], a["reason"]) for a in audited] == [
        ("officer:EWO1", f"pupil:{case.amelia}", "share_command")]
    assert json.loads(audited[0]["detail"]) == {"sharing_id": row["id"], "decision": "shared",
                                                "recipient": "police"}
    due = {r["message_id"] for r in await rows(db, "SELECT message_id FROM sensitive_messages")}
    assert {note_id, summary.message_id} <= due
    # The record's recipients, for a rights decision (Article 19).
    recipients = await db.read(rights.recipients_of, case.amelia)
    assert recipients == ["Police (last 24/11/2026)"]
    # And the case's chronology shows it, without the note.
    await user.send("/case C00001")
    shown = await user.edited(await user.next_message())  # "One moment…", then the case
    assert "• 24/11/2026 — Shared with Police (EWO1)" in shown.text.splitlines()
    assert "PC Jones" not in shown.text


async def test_no_condition_is_asked_unless_sen_or_health_is_shared(case: Caseload,
                                                                    db: Database) -> None:
    user = case.user
    await user.send("/share Amelia")
    shown = await user.next_message()
    assert shown.text == question(flow.RECIPIENT)  # one match: straight to the recipient
    for label in ("School", "Shared", "Attendance", "Visit records", "Done"):
        shown = await tap(user, label)
    shown = await tap(user, "Legitimate interests")
    assert shown.text == question(flow.REASON)  # no condition: nothing special-category
    for label in ("Remove a barrier to attendance", "Today", "Skip"):
        shown = await tap(user, label)
    assert "Special-category" not in shown.text and "Lawful basis: Legitimate interests" \
        in shown.text
    await tap(user, "Save")
    [row] = await entries(db)
    assert (row["items"], row["lawful_basis"], row["special_condition"]) == (
        "attendance,visits", "legitimate_interests", None)


async def test_not_shared_recorded_with_its_reason_and_bad_input_hinted(
        case: Caseload, db: Database) -> None:
    user = case.user
    shown = await start(user, "C00001")
    shown = await tap(user, "Other")
    assert shown.text == question(flow.OTHER) and shown.labels() == []
    await user.send("x" * 101)
    hinted = await user.next_message()
    assert hinted.text == f"{share.HINTS[flow.Problem.OTHER_TOO_LONG]}\n\n{question(flow.OTHER)}"
    await user.send("Westshire Youth Club")
    shown = await user.next_message()
    assert shown.text == question(flow.DECISION)
    await user.send("Maybe")  # not a button's label
    hinted = await user.next_message()
    assert hinted.text.startswith(share.HINTS[flow.Problem.CHOOSE])
    shown = await tap(user, "Not shared")
    assert shown.text == f"{HEADER}\n\n{share.NOT_SHARED_QUESTIONS[flow.WHAT_STEP]}"
    press = await user.press("Done", message_id=shown.message_id)
    assert await user.answer_to(press) == share.HINTS[flow.Problem.CHOOSE_SOME]
    await tap(user, "SEN or health")
    shown = await tap(user, "Done")  # no basis, no condition: nothing was shared
    assert shown.text == f"{HEADER}\n\n{share.NOT_SHARED_QUESTIONS[flow.REASON]}"
    shown = await tap(user, "Referral for support")
    await user.send("26/11/2026")
    hinted = await user.next_message()
    assert hinted.text == f"{share.HINTS[flow.Problem.FUTURE]}\n\n{question(flow.DATE)}"
    await user.send("20/11/2026")
    await user.next_message()
    await user.send("y" * 1001)
    hinted = await user.next_message()
    assert hinted.text == f"{share.HINTS[flow.Problem.NOTE_TOO_LONG]}\n\n{question(flow.NOTE)}"
    await user.send("Not necessary: the club does not need her health needs.")
    summary = await user.edited(await user.next_message())
    assert summary.text.splitlines()[2:8] == [
        "With: Other: Westshire Youth Club", "Decision: Not shared",
        "What was asked for: SEN or health", "Reason: Referral for support",
        "Date: 20/11/2026", "Note: Not necessary: the club does not need her health needs."]
    await tap(user, "Save")
    [row] = await entries(db)
    assert (row["recipient"], row["recipient_other"], row["decision"], row["items"],
            row["lawful_basis"], row["special_condition"], row["reason"], row["shared_on"]) == (
        "other", "Westshire Youth Club", "not_shared", "sen_health", None, None, "referral",
        "2026-11-20")
    # A decision not to share names no recipient for Article 19.
    assert await db.read(rights.recipients_of, case.amelia) == []


async def test_change_from_the_summary_asks_what_now_applies(case: Caseload,
                                                             db: Database) -> None:
    user = case.user
    await walk_to(user, flow.NOTE)
    summary = await tap(user, "Skip")
    shown = await tap(user, "Change")
    assert shown.labels() == ["With", "Decision", "What was shared", "Lawful basis",
                              "Special-category condition", "Reason", "Date", "Note",
                              "Back to the summary"]
    await tap(user, "Decision")
    shown = await tap(user, "Not shared")
    assert shown.text.startswith(HEADER) and "Save this sharing decision?" in shown.text
    assert "Lawful basis" not in shown.text and "What was asked for" in shown.text
    assert shown.message_id == summary.message_id
    await tap(user, "Save")
    [row] = await entries(db)
    assert (row["decision"], row["lawful_basis"], row["special_condition"]) == (
        "not_shared", None, None)


@pytest.mark.parametrize("step", STEPS)
async def test_a_restart_at_any_step_resumes_there(
        case: Caseload, db: Database, running: RunningBot, settings: Settings,
        standin: BotApiStandIn, clock: FixedClock, step: str) -> None:
    user = case.user
    await walk_to(user, step)
    await running.stop()
    async with RunningBot(settings, standin, clock=clock, db=db):
        at = [done for done, _ in PRESSES].index(step)
        for _, label in PRESSES[at:]:
            await tap(user, label)
        shown = await tap(user, "Save")
        assert shown.text == "Saved: Shared — Police, for A.H., on 24/11/2026."
    [row] = await entries(db)
    assert (row["items"], row["special_condition"]) == ("attendance,sen_health", "safeguarding")


async def test_a_lock_midway_keeps_the_draft(case: Caseload, db: Database) -> None:
    user = case.user
    shown = await walk_to(user, flow.BASIS)
    await user.send("/lock")
    assert (await user.next_message()).text == access.LOCKED_NOW
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    assert (await user.next_message()).text == share.DRAFT_OPEN.format(initials="A.H.")
    await user.send("/share")
    resume = await user.next_message()
    assert resume.text == share.RESUME.format(initials="A.H.")
    shown = await tap(user, "Continue")
    assert shown.text == question(flow.BASIS)
    for _, label in PRESSES[[s for s, _ in PRESSES].index(flow.BASIS):]:
        await tap(user, label)
    await tap(user, "Save")
    assert len(await entries(db)) == 1


async def test_double_save_records_one_entry(case: Caseload, db: Database) -> None:
    user = case.user
    await walk_to(user, flow.NOTE)
    summary = await tap(user, "Skip")
    first = await user.press("Save", message_id=summary.message_id)
    second = await user.press("Save", message_id=summary.message_id)
    assert await user.answer_to(first) == "Saved"
    assert await user.answer_to(second) == share.ALREADY_SAVED
    assert len(await entries(db)) == 1
    assert len(await rows(db, "SELECT * FROM audit WHERE action = 'sharing_saved'")) == 1


async def test_stale_and_forged_buttons_are_refused_and_cancel_saves_nothing(
        case: Caseload, db: Database) -> None:
    user = case.user
    shown = await start(user)
    data = shown.buttons[0][0].data
    assert data is not None and data.startswith("sh:")
    token = data.split(":")[1]
    for pupil in (case.other, 999, "x"):  # Amelia Hurst is EWO2's
        press = await user.press_data(f"sh:{token}:pupil:{pupil}", shown.message_id)
        assert await user.answer_to(press) == share.NO_MATCH
    for forged in ("sh:00000000:pupil:1", f"sh:{token}:to:police", f"sh:{token}:pupil",
                   "sh:", f"sh:{token}:resume:go:1"):
        press = await user.press_data(forged, shown.message_id)
        assert await user.answer_to(press) == share.STALE, forged
    await tap(user, AMELIA)
    shown = await tap(user, "Police")
    press = await user.press_data(f"sh:{token}:decision:maybe", shown.message_id)
    assert await user.answer_to(press) == share.HINTS[flow.Problem.CHOOSE]
    press = await user.press_data(f"sh:{token}:to:school", shown.message_id)  # earlier step
    assert await user.answer_to(press) == share.STALE
    await user.send("/cancel")
    assert (await user.next_message()).text == share.CANCELLED
    press = await user.press("Shared", message_id=shown.message_id)
    assert await user.answer_to(press) == share.STALE_ENDED
    assert await entries(db) == []
    assert await rows(db, "SELECT * FROM conversations") == []
    refused = await rows(db, "SELECT target, reason FROM audit WHERE action LIKE 'refused:%'")
    assert [tuple(row) for row in refused] == [
        (f"pupil:{case.other}", "not_allocated"), ("pupil:999", "not_allocated"),
        (None, "not_allocated")]


async def test_another_officers_pupil_is_never_offered(
        case: Caseload, people: People, db: Database) -> None:
    user = case.user
    reply = await start(user, "Hurst")  # EWO2's pupil
    assert reply.text == f"{share.NO_MATCH}\n\n{share.CHOOSE_PUPIL}"
    assert reply.labels() == [NOAH, AMELIA]
    await user.send("Hurst")
    assert (await user.next_message()).text == f"{share.NO_MATCH}\n\n{share.CHOOSE_PUPIL}"
    await user.send("/cancel")
    await user.next_message()
    # A supervisor records sharing for their own pupils only, not their team's.
    supervisor = people.user()
    await enrol_directly(db, people.settings, ref="SUP1", user_id=supervisor.user_id,
                         pin=PIN, now=people.clock.now())
    await supervisor.send("/share Amelia")
    assert (await supervisor.next_message()).text == share.NO_PUPILS
    assert await rows(db, "SELECT * FROM conversations WHERE pupil_id IS NOT NULL") == []


@pytest.mark.sqlite_only("reads the SQLite file's bytes")
async def test_in_the_export_and_gone_after_disposal(
        case: Caseload, people: People, db: Database, settings: Settings) -> None:
    user = case.user
    canary = "Sharing canary Quetzalcoatl"
    await walk_to(user, flow.NOTE)
    await user.send(canary)
    await user.edited(await user.next_message())
    await tap(user, "Save")
    upn = valid_upn(1)  # the caseload's made-up UPNs have no check letter
    await db.write(lambda conn: conn.execute("UPDATE pupils SET upn = ? WHERE id = ?",
                                             (upn, case.amelia)))
    export = await export_subject_access(db, settings, upn, actor="os:dpo",
                                         now=people.clock.now())
    document = json.loads(export.path.read_text(encoding="utf-8"))
    [entry] = document["recipients"]["sharing_log"]
    assert {key: entry[key] for key in ("date", "recipient", "decision", "information",
                                        "lawful_basis", "special_category_condition",
                                        "reason", "note", "recorded_by")} == {
        "date": "2026-11-24", "recipient": "Police", "decision": "Shared",
        "information": ["Attendance", "SEN or health"], "lawful_basis": "Public task",
        "special_category_condition": "Safeguarding of children", "reason": "Safeguarding",
        "note": canary, "recorded_by": "EWO1"}
    assert document["recipients"]["categories"]
    assert "1 sharing decision(s)" in document["summary"]
    export.path.unlink()

    await people.add("DPO1", "controller")
    controller = await officer(db, "DPO1")
    later = RetentionPolicy(date(2031, 1, 1), settings.academic_year_end, 0)
    files = [settings.database, settings.database.with_name(settings.database.name + "-wal")]

    def traces() -> int:
        return sum(path.read_bytes().count(canary.encode()) for path in files if path.exists())

    assert traces() > 0
    async def _dispose(conn: Conn) -> bool:
        return await retention.dispose(conn, case.amelia, by=controller, policy=later,
                                       now=datetime(2031, 1, 1, tzinfo=people.clock.now().tzinfo))
    assert await db.write(_dispose)
    await db.checkpoint()
    assert await entries(db) == []
    assert traces() == 0
    await marker(user)


async def test_a_sharing_decision_is_an_intervention(case: Caseload, db: Database,
                                                     settings: Settings) -> None:
    policy = RetentionPolicy(date(2026, 11, 25), settings.academic_year_end, 30)
    await db.write(lambda conn: conn.execute(
        "UPDATE pupils SET last_imported = '2024-03-01T09:00:00+00:00' WHERE id = ?",
        (case.amelia,)))
    before = await db.read(retention.deadline_of, case.amelia, policy)
    assert before == date(2025, 8, 31)  # past due: last imported in 2023/24
    await walk_to(case.user, flow.NOTE)
    await tap(case.user, "Skip")
    await tap(case.user, "Save")
    after = await db.read(retention.deadline_of, case.amelia, policy)
    assert after == date(2028, 8, 31)  # the year after that of 24/11/2026 ends


async def test_a_correction_supersedes_the_entry_by_its_author_within_7_days(
        case: Caseload, people: People, db: Database, clock: FixedClock) -> None:
    user = case.user
    await walk_to(user, flow.NOTE)
    await tap(user, "Skip")
    saved = await tap(user, "Save")
    press = await user.press(share.LABEL_CORRECT, message_id=saved.message_id)
    await user.answer_to(press)
    summary = await user.edited(await user.next_message())
    assert summary.text.splitlines()[:2] == [
        HEADER, share.CORRECTING.format(date="24/11/2026")]
    assert "Reason: Safeguarding" in summary.text
    await tap(user, "Change")
    await tap(user, "Reason")
    shown = await tap(user, "Referral for support")  # then straight back to the summary
    assert "Reason: Referral for support" in shown.text and shown.text.endswith(
        share.QUESTIONS[flow.SUMMARY])
    await tap(user, "Save")
    first, second = await entries(db)
    assert (second["supersedes"], second["reason"], second["recipient"]) == (
        first["id"], "referral", "police")
    audited = await rows(db, "SELECT reason FROM audit WHERE action = 'sharing_saved'"
                             " ORDER BY seq")
    assert [row["reason"] for row in audited] == ["share_command", "sharing_correction"]
    assert await db.read(rights.recipients_of, case.amelia) == ["Police (last 24/11/2026)"]
    # The corrected entry cannot be corrected again; nor anyone else's; nor after 7 days.
    press = await user.press_data(f"shc:{first['id']}", saved.message_id)
    assert await user.answer_to(press) == share.ALREADY_CORRECTED
    colleague = people.user()
    await enrol_directly(db, people.settings, ref="EWO2", user_id=colleague.user_id, pin=PIN,
                         now=clock.now())
    await colleague.send("/help")
    await colleague.next_message()
    press = await colleague.press_data(f"shc:{second['id']}", 1)
    assert await colleague.answer_to(press) == share.CANNOT_CORRECT
    week_ago = (clock.now() - timedelta(days=7)).isoformat()
    await db.write(lambda conn: conn.execute("UPDATE sharing_log SET saved_at = ?",
                                             (week_ago,)))
    press = await user.press_data(f"shc:{second['id']}", saved.message_id)
    assert await user.answer_to(press) == share.TOO_OLD
    assert len(await entries(db)) == 2
