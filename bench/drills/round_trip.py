"""Drill 5c, text round trips: names with emoji, right-to-left scripts and joiners, and
SQL metacharacters in every field, imported from CSV and seen again on the card, in
the details, in a search; a visit note of 4,096 characters with all of them seen in
the summary, in the database and in the subject-access export, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.chat import next_reply, visit_up_to
from bench.drills.common import Drill, NoRateLimit, Size, rows
from bench.drills.stage import Service, upn
from bot.clock import FixedClock
from bot.domain import visit_flow as flow
from bot.domain.text import pupil_name
from bot.handlers import pupils as pupil_handlers
from bot.handlers import visit
from bot.harness import RunningBot
from bot.importing.csvfile import ImportRejected
from bot.sandbox import BotApiStandIn, BotMessage, FakeUser

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
ANSWER = 10.0
SQL = "'); DROP TABLE pupils;-- %_\\\" OR '1'='1"
# (first name, last name): what a school's file may hold.
NAMES = {
    "emoji": ("Zoë 🌟", "Ó Briain"),
    "Arabic": ("نور", "الهدى"),
    "Hebrew": ("אביגיל", "כהן"),
    "Persian with a zero-width non-joiner": ("مهر\u200cانگیز", "رستمی"),
    "an emoji joined by zero-width joiners": ("Astra 👩\u200d🚀", "Nova"),
    "SQL metacharacters": (f"Robert{SQL}", f"%_{SQL}"),
}
PUPILS_HEADER = ("upn", "first_name", "last_name", "date_of_birth", "year_group",
                 "school_urn", "school_name", "address", "postcode", "health_needs")
CONTACTS_HEADER = ("upn", "name", "relationship", "phone", "email", "address")


def long_note() -> str:
    """A note as long as Telegram lets a person send (4,096 UTF-16 units): emoji,
    right-to-left text, joiners and SQL metacharacters."""
    piece = f"Seen 🌟 مع الأم · אמא בבית · مهر\u200cانگیز · {SQL} · "
    note = ""
    while len((note + piece).encode("utf-16-le")) // 2 <= 4096:
        note += piece
    while len((note + "x").encode("utf-16-le")) // 2 <= 4096:
        note += "x"
    return note


async def round_trip_drill(folder: Path, size: Size, *,
                           out: Callable[[str], None] = print) -> Drill:
    """The same names and notes at any size: what it proves does not grow with numbers."""
    drill = Drill("text round trips", out)
    clock = FixedClock(MORNING)
    service = await Service.open(folder, MORNING)
    try:
        await service.add_officer("EWO1")
        await service.add_officer("CON1", "controller")
        await service.enrol("EWO1", 9_101)
        await service.enrol("CON1", 9_102)
        held = await _import_names(drill, service)
        async with BotApiStandIn() as standin:
            officer = standin.user(9_101, "EWO1")
            controller = standin.user(9_102, "CON1")
            async with RunningBot(service.settings, standin, clock=clock, db=service.db,
                                  rate_limiter=NoRateLimit()):
                await _cards(drill, officer, held)
                await _searches(drill, officer, held)
                await _notes(drill, service, officer, controller, held["emoji"])
    finally:
        await service.close()
    return drill


async def _import_names(drill: Drill, service: Service) -> dict[str, str]:
    """Each pupil in a file of its own, so one refusal does not hide the others; every
    field of the SQL one full of metacharacters. Returns label -> UPN of those held."""
    held = {}
    for number, (label, (first, last)) in enumerate(NAMES.items(), start=1):
        sql = label == "SQL metacharacters"
        row = (upn(number), first, last, "2014-03-01", "7", "100666" if sql else "100001",
               f"St O'Neil's{SQL}" if sql else "Hillside Primary",
               f"1 {SQL} Lane" if sql else "1 Mill Lane", "ZZ1 1ZZ",
               f"Asthma {SQL}" if sql else "")
        path = service.write_csv(f"pupil-{number}.csv", PUPILS_HEADER, [row])
        drill.tried(f"a pupil named with {label}")
        try:
            await service.import_file("pupils", path)
        except ImportRejected as rejected:
            drill.check(False, "", f"the name with {label} was refused: {rejected.reason}; "
                        f"{[str(p) for p in rejected.problems]}")
        allocation = service.write_csv(f"allocation-{number}.csv", ("upn", "officer_ref"),
                                       [(upn(number), "EWO1")])
        await service.import_file("allocations", allocation)
        stored = rows(service.settings.database, "SELECT first_name, last_name, address,"
                      " health_needs FROM pupils WHERE upn = ?", (upn(number),))
        drill.check(stored == [row[1:3] + (row[7], row[9] or None)],
                    "stored exactly as written", f"stored as {stored}")
        held[label] = upn(number)
    contacts = service.write_csv("contacts.csv", CONTACTS_HEADER, [
        (upn(6), f"Bobby{SQL}", f"Mother{SQL}", "07700 900123", "a'b@example.org",
         f"2 {SQL} Road")])
    await service.import_file("contacts", contacts)
    stored = rows(service.settings.database, "SELECT name, relationship, email, address"
                  " FROM contacts")
    drill.check(stored == [(f"Bobby{SQL}", f"Mother{SQL}", "a'b@example.org",
                            f"2 {SQL} Road")],
                "a contact with SQL metacharacters in every field stored as text",
                f"the contact was stored as {stored}")
    tables = rows(service.settings.database, "SELECT count(*) FROM sqlite_master"
                  " WHERE name IN ('pupils', 'contacts', 'visits', 'officers')")
    drill.check(tables == [(4,)], "every table still there", f"tables left: {tables}")
    return held


async def _cards(drill: Drill, user: FakeUser, held: dict[str, str]) -> None:
    for label, number in held.items():
        first, last = NAMES[label]
        await user.send(f"/pupil {number}")
        card = await next_reply(user, ANSWER)
        drill.check(pupil_name(first, last) in (card.text or "").splitlines()[0],
                    f"the card shows the name with {label} intact",
                    f"the card with {label} reads {(card.text or '')[:80]!r}")
    [(_, number)] = [(label, n) for label, n in held.items() if label == "SQL metacharacters"]
    await user.send(f"/pupil {number}")
    card = await next_reply(user, ANSWER)
    await user.press(pupil_handlers.DETAILS_BUTTON, message_id=card.message_id)
    details = await next_reply(user, ANSWER)
    drill.check(f"Bobby{SQL}" in (details.text or "") and f"1 {SQL} Lane" in (details.text or ""),
                "the details show the contact and address with SQL metacharacters intact",
                f"the details read {(details.text or '')[:200]!r}")


async def _searches(drill: Drill, user: FakeUser, held: dict[str, str]) -> None:
    for label in ("Arabic", "Hebrew", "emoji"):
        first, last = NAMES[label]
        await user.send(first.split()[0])
        card = await next_reply(user, ANSWER)
        drill.check(pupil_name(first, last) in (card.text or ""),
                    f"typing the first name in {label} finds the pupil",
                    f"typing {first!r} gave {(card.text or '')[:80]!r}")
    await user.send("_")
    found = await next_reply(user, ANSWER)
    drill.check(found.text == pupil_handlers.NOT_FOUND,
                "a search for _ is a character, not a wildcard: no match",
                f"a search for _ gave {(found.text or '')[:80]!r}")


async def _notes(drill: Drill, service: Service, officer: FakeUser, controller: FakeUser,
                 number: str) -> None:
    short = f"Seen 🌟 مع الأم; אמא בבית; {SQL}"
    summary = await _note_to_summary(officer, number, short)
    drill.check(short in (summary.text or ""), "a short note with emoji, right-to-left text "
                "and SQL metacharacters shows intact in the summary",
                f"the summary reads {(summary.text or '')[-200:]!r}")
    note = long_note()
    summary = await _note_to_summary(officer, number, note)
    shown = (summary.text or "").split("Notes: ", 1)[-1]
    kept = shown.split("… (", 1)[0]
    drill.check(note.startswith(kept) and len(kept) > 1000,
                f"a note of {len(note):,} characters ({len(note.encode('utf-16-le')) // 2:,} "
                "UTF-16 units) shows its first part intact in the summary",
                f"the summary shows {kept[:80]!r}")
    press = await officer.press(visit.LABEL_SAVE, message_id=summary.message_id)
    await officer.answer_to(press, timeout=ANSWER)
    stored = rows(service.settings.database, "SELECT notes FROM visits ORDER BY id DESC"
                  " LIMIT 1")
    drill.check(stored == [(note,)], "the note is stored whole, byte for byte",
                "the stored note differs from the one typed")
    await controller.send(f"/sar {number}")
    reply = await next_reply(controller, ANSWER)
    exports = sorted(service.settings.export_dir.glob("*.json"))
    document = json.loads(exports[-1].read_text(encoding="utf-8")) if exports else {}
    first, last = NAMES["emoji"]
    values = set(_strings(document))
    drill.check({note, first, last} <= values,
                "the subject-access export holds the note and the name intact",
                f"the export ({reply.text!r:.80}) lacks the note or the name")


def _strings(value: object) -> list[str]:
    """Every string anywhere in a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


async def _note_to_summary(user: FakeUser, number: str, note: str) -> BotMessage:
    await user.send("/cancel")
    await next_reply(user, ANSWER)
    await visit_up_to(user, number, flow.NOTES)
    await user.send(note)
    return await next_reply(user, ANSWER)
