"""/pupils, /pupil, typed names, cards and details, through the stand-in and the real bot."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from bot.clock import FixedClock
from bot.domain.attendance import RULE_LABELS, Rule, Tally, rules_holding
from bot.handlers import pupils as pupil_handlers
from bot.handlers.common import NOT_ALLOWED
from bot.harness import RunningBot
from bot.importing.service import run_import
from bot.sandbox import FakeUser
from bot.settings import Settings
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.e2e.conftest import People
from tests.storage.pupil_rows import Service

NOT_FOUND = pupil_handlers.NOT_FOUND
FIRST_DAY = date(2026, 9, 1)


async def officer(db: Database, ref: str) -> Officer:
    found = await db.read(officer_store.officer_by_ref, ref)
    assert found is not None
    return found


def term_marks(pattern: str, until: date) -> list[tuple[date, str, str]]:
    """Weekday marks from 1 September to `until`, codes cycling through `pattern`."""
    codes = pattern.split()
    marks, day = [], FIRST_DAY
    while day <= until:
        if day.weekday() < 5:
            for session in ("AM", "PM"):
                marks.append((day, session, codes[len(marks) % len(codes)]))
        day += timedelta(days=1)
    return marks


async def audit_rows(db: Database) -> list[tuple[str, str, str | None, str, str | None]]:
    async def _snapshot(conn: Conn):
        return await conn.fetchall(
            "SELECT actor, action, target, reason, detail FROM audit ORDER BY seq")
    rows = await db.read(_snapshot)
    return [(row["actor"], row["action"], row["target"], row["reason"], row["detail"])
            for row in rows]


async def marker(user: FakeUser) -> None:
    """Shows the bot sent nothing more: /help is always answered, in order."""
    await user.send("/help")
    assert "/pupil" in (await user.next_message()).text


async def test_an_officer_lists_searches_and_opens_a_card_and_details(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    marks = term_marks("/ / L / N / / U / C / / /", clock.today())
    async def _transaction(conn: Conn):
        service = Service(conn)
        amelia = await service.pupil("Amelia", "Hughes", officer=ann, sen="K", health="Asthma")
        await service.marks(amelia, marks)
        noah = await service.pupil("Noah", "Hughes", officer=ann)
        await service.marks(noah, term_marks("N N / /", clock.today()))
        await service.pupil("Zoë", "Łukasiewicz", officer=ann)
        await conn.execute(
            "INSERT INTO contacts (pupil_id, name, relationship, phone, parental_responsibility,"
            " priority) VALUES (?, 'Mum Hughes', 'Mother', '07700 900001', 1, 1)", (amelia,))
        return amelia, noah
    amelia, noah = await db.write(_transaction)

    await user.send("/pupils")
    listing = await user.next_message()
    assert listing.text.splitlines() == [
        "My pupils (3), lowest attendance first — page 1 of 1",
        "1. Noah Hughes (C00002) — Hillside Primary School, Yr 5 — 50.0 %",
        f"2. Amelia Hughes (C00001) — Hillside Primary School, Yr 5 — "
        f"{Tally.of(code for _d, _s, code in marks).attendance_percent_text}",
        "3. Zoë Łukasiewicz (C00003) — Hillside Primary School, Yr 5 — n/a",
    ]
    assert listing.protect_content
    await user.press("2. Amelia Hughes")
    card = await user.next_message()
    assert card.text.splitlines()[:2] == ["Amelia Hughes (C00001)",
                                          "Hillside Primary School, Year 5"]
    assert "SEN: yes · Health needs: yes" in card.text
    assert "Asthma" not in card.text and "2016" not in card.text  # flags only, no DOB
    assert card.labels() == ["Contacts & needs", "Case", "Record visit"]
    assert card.button("Record visit").data == f"v:new:{amelia}"

    await user.send("LUKAS")  # typed text: accents and case ignored
    assert (await user.next_message()).text.startswith("Zoë Łukasiewicz (C00003)")
    await user.send("hughes")
    choice = await user.next_message()
    assert choice.text == "2 pupils match — choose one:"
    assert [b.data for row in choice.buttons for b in row] == [f"pick:{amelia}", f"pick:{noah}"]
    await user.press(choice.labels()[1])
    assert (await user.next_message()).text.startswith("Noah Hughes (C00002)")
    await user.send("/pupil c00001")
    assert (await user.next_message()).text.startswith("Amelia Hughes (C00001)")
    await user.send("/pupil nobody")
    assert (await user.next_message()).text == NOT_FOUND
    await user.send("/pupil")
    assert (await user.next_message()).text == pupil_handlers.PUPIL_HINT

    press = await user.press("Contacts & needs")
    details = await user.edited(await user.next_message())
    assert await user.answer_to(press) is None
    assert "Mum Hughes — Mother, parental responsibility" in details.text
    assert "07700 900001" in details.text and "SEN: SEN support" in details.text
    assert "Health needs: Asthma" in details.text
    assert details.protect_content

    views = [row for row in await audit_rows(db) if row[1] in ("pupil_card", "pupil_details")]
    assert views == [
        ("officer:EWO1", "pupil_card", f"pupil:{amelia}", "list_button", None),
        ("officer:EWO1", "pupil_card", "pupil:3", "search", None),
        ("officer:EWO1", "pupil_card", f"pupil:{noah}", "search", None),
        ("officer:EWO1", "pupil_card", f"pupil:{amelia}", "pupil_command", None),
        ("officer:EWO1", "pupil_details", f"pupil:{amelia}", "card_button", None),
    ]
    assert not [row for row in await audit_rows(db) if "Hughes" in str(row)]


async def test_another_officers_pupil_is_answered_like_a_missing_one(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")
    await people.enrolled("EWO2")
    ann, bob = await officer(db, "EWO1"), await officer(db, "EWO2")
    async def _transaction(conn: Conn):
        service = Service(conn)
        own = await service.pupil("Amelia", "Hughes", officer=ann)
        theirs = await service.pupil("Bella", "Jones", officer=bob, upn="H801200001001")
        unallocated = await service.pupil("Cara", "Jones", officer=None)
        return own, theirs, unallocated
    own, theirs, unallocated = await db.write(_transaction)
    missing = 999

    async def reply_to(text: str) -> str | None:
        await user.send(text)
        return (await user.next_message()).text

    for typed in ("Bella", "bella jones", "H801 2000 01001", "C00002", "Cara", "Zed"):
        assert await reply_to(typed) == NOT_FOUND
        assert await reply_to(f"/pupil {typed}") == NOT_FOUND
    listing = await reply_to("/pupils")
    assert listing is not None and "Bella" not in listing and "Amelia" in listing

    for kind in ("card", "pick", "det"):
        answers = set()
        for pupil_id in (theirs, unallocated, missing):
            press = await user.press_data(f"{kind}:{pupil_id}", message_id=1)
            answers.add(await user.answer_to(press))
        assert answers == {NOT_FOUND}
    await marker(user)  # and nothing else was sent
    assert all(message.text is None or "Bella" not in message.text
               for message in user.history)
    refused = [row for row in await audit_rows(db) if row[1].startswith("refused:")]
    assert {row[2] for row in refused} == {f"pupil:{theirs}", f"pupil:{unallocated}",
                                           f"pupil:{missing}"}
    assert {row[3] for row in refused} == {"not_visible"}
    # Own pupil by button: fine.
    await user.press_data(f"card:{own}", message_id=1)
    assert (await user.next_message()).text.startswith("Amelia Hughes")


async def test_bad_button_data_is_refused_as_stale(running: RunningBot, people: People) -> None:
    user = await people.enrolled("EWO1")
    for data in ("card:", "card:abc", "card:1:2", "det:-1", "pg:0", "pg:x", "pick:1e3"):
        press = await user.press_data(data, message_id=1)
        assert await user.answer_to(press) == pupil_handlers.STALE_BUTTON, data


async def test_supervisor_reads_their_teams_cards_only(
        running: RunningBot, people: People, db: Database) -> None:
    sup = await people.enrolled("SUP1", "supervisor")
    await people.add("SUP2", "supervisor")
    await people.add("EWO1", supervisor="SUP1")
    await people.add("EWO2", supervisor="SUP2")
    async def _transaction(conn: Conn):
        service = Service(conn)
        own = await service.pupil("Olive", "Own", officer=await officer_store.officer_by_ref(
            conn, "SUP1"))
        team = await service.pupil("Tess", "Team", officer=await officer_store.officer_by_ref(
            conn, "EWO1"))
        other = await service.pupil("Oona", "Other", officer=await officer_store.officer_by_ref(
            conn, "EWO2"))
        return other, own, team
    other, own, team = await db.write(_transaction)

    await sup.send("/pupils")  # my own pupils only
    assert (await sup.next_message()).text.splitlines()[1:] == [
        "1. Olive Own (C00001) — Hillside Primary School, Yr 5 — n/a"]
    await sup.send("tess")
    card = await sup.next_message()
    assert card.text.splitlines()[:2] == ["Read only: allocated to EWO1", "Tess Team (C00002)"]
    assert card.labels() == ["Contacts & needs", "Case"]  # no visit for someone else's pupil
    await sup.press("Contacts & needs")
    assert (await sup.edited(await sup.next_message())).text.startswith(
        "Tess Team (C00002) — contacts")
    await sup.send("Olive")
    assert (await sup.next_message()).labels() == ["Contacts & needs", "Case", "Record visit"]
    await sup.send("oona")
    assert (await sup.next_message()).text == NOT_FOUND
    press = await sup.press_data(f"card:{other}", message_id=1)
    assert await sup.answer_to(press) == NOT_FOUND

    views = [row for row in await audit_rows(db) if row[1] in ("pupil_card", "pupil_details")]
    assert views == [
        ("officer:SUP1", "pupil_card", f"pupil:{team}", "supervision", '{"via":"search"}'),
        ("officer:SUP1", "pupil_details", f"pupil:{team}", "supervision",
         '{"via":"card_button"}'),
        ("officer:SUP1", "pupil_card", f"pupil:{own}", "search", None),
    ]


async def test_controller_gets_the_polite_refusal(running: RunningBot, people: People,
                                                  db: Database) -> None:
    user = await people.enrolled("CTL1", "controller")
    await user.send("/pupils")
    assert (await user.next_message()).text == NOT_ALLOWED
    await user.send("/pupil Amelia")
    assert (await user.next_message()).text == NOT_ALLOWED
    press = await user.press_data("card:1", message_id=1)
    assert await user.answer_to(press) == NOT_ALLOWED
    refused = [row for row in await audit_rows(db) if row[1].startswith("refused:")]
    assert [(row[1], row[3]) for row in refused] == [
        ("refused:pupils", "role"), ("refused:pupil", "role"), ("refused:button", "role")]


async def test_card_figures_equal_the_domain_functions(
        running: RunningBot, people: People, db: Database, clock: FixedClock,
        settings: Settings, tmp_path: Path) -> None:
    """Through the real imports, which keep the figures as marks arrive and are replaced."""
    user = await people.enrolled("EWO1")
    upn = "H801200001001"
    marks = term_marks("/ L C / U / C # / M Y1 / / C", clock.today())
    replaced = [(day, "AM", "/") for day in sorted({day for day, _s, _c in marks})[-10:]]
    files = {
        "pupils": "upn,first_name,last_name,date_of_birth,year_group,school_urn,school_name\n"
                  f"{upn},Amelia,Hughes,2016-05-01,5,100001,Hillside Primary School\n",
        "allocations": f"upn,officer_ref\n{upn},EWO1\n",
        "attendance": "upn,date,session,code\n" + "".join(
            f"{upn},{day.isoformat()},{session},{code}\n" for day, session, code in marks),
        "corrections": "upn,date,session,code\n" + "".join(
            f"{upn},{day.isoformat()},{session},{code}\n" for day, session, code in replaced),
        "visits": "upn,officer_ref,date,type,outcome,follow_up\n"
                  f"{upn},EWO1,2026-11-20,Home visit,Parent/carer seen,2026-12-02\n",
    }
    for name, text in files.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        kind = "attendance" if name == "corrections" else name
        await run_import(db, kind, path, actor="os:test", today=clock.today(),
                         settings=settings, now=clock.now())
    final = {(day, session): code for day, session, code in marks + replaced}
    ordered = [(day, session, final[day, session]) for day, session in sorted(final)]

    await user.send("/pupil Amelia")
    card = (await user.next_message()).text.splitlines()
    year = Tally.of(code for _d, _s, code in ordered)
    recent = Tally.of(code for day, _s, code in ordered
                      if day >= clock.today() - timedelta(days=27))
    rules = rules_holding(year_tally=year, marks_recent=ordered,
                          pa_threshold=settings.pa_threshold, sa_threshold=settings.sa_threshold,
                          continuous_sessions=settings.continuous_absence_sessions)
    flags = [RULE_LABELS[rule] for rule in Rule if rule in rules
             and not (rule is Rule.PERSISTENT and Rule.SEVERE in rules)]
    assert flags == ["persistent absence"]  # a band the card reads from the figures
    assert card[2:] == [
        f"Attendance this year: {year.attendance_percent_text} "
        f"({year.attended} of {year.possible} sessions)",
        f"Last four weeks: {recent.attendance_percent_text} "
        f"({recent.attended} of {recent.possible} sessions)",
        f"Lates this year: L {year.lates_l}, U {year.lates_u}",
        f"Flags: {', '.join(flags)}",
        "SEN: no · Health needs: no",
        "Last visits:",
        "• 20/11/2026 — Home visit — Parent/carer seen (EWO1)",
        "Next follow-up: 02/12/2026",
    ]
    assert user.last().labels() == ["Contacts & needs", "Case", "Record visit",
                                    "Correct 20/11/2026"]


async def test_a_long_list_pages_and_a_broad_search_asks_for_more(
        running: RunningBot, people: People, db: Database) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn) -> None:
        service = Service(conn)
        for number in range(23):
            pupil_id = await service.pupil(f"Pupil{number:02d}", "Test", officer=ann)
            await service.figures(pupil_id, attended=number, possible=40)
    await db.write(_transaction)
    await user.send("/pupils")
    first = await user.next_message()
    assert first.text.splitlines()[0] == "My pupils (23), lowest attendance first — page 1 of 3"
    assert first.text.splitlines()[1].startswith("1. Pupil00 Test") and len(
        first.text.splitlines()) == 11
    assert first.labels()[-1] == pupil_handlers.NEXT
    press = await user.press(pupil_handlers.NEXT)
    assert await user.answer_to(press) is None  # answered once the message was edited
    second = user.last()
    assert second.message_id == first.message_id and second.edited
    assert second.text.splitlines()[0].endswith("page 2 of 3")
    assert second.text.splitlines()[1].startswith("11. Pupil10 Test")
    assert second.labels()[-2:] == [pupil_handlers.PREVIOUS, pupil_handlers.NEXT]
    press = await user.press_data("pg:9", message_id=first.message_id)  # past the end
    await user.answer_to(press)
    assert user.history[0].text.splitlines()[0].endswith("page 3 of 3")

    await user.send("pupil")
    many = await user.next_message()
    assert many.text == pupil_handlers.TOO_MANY
    assert len(many.labels()) == 10
    await user.send("pupil2")
    assert (await user.next_message()).text == "3 pupils match — choose one:"


async def test_details_are_deleted_after_the_configured_minutes(
        running: RunningBot, people: People, db: Database, clock: FixedClock) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn) -> None:
        await Service(conn).pupil("Amelia", "Hughes", officer=ann)
    await db.write(_transaction)
    await user.send("/pupil amelia")
    card = await user.next_message()
    press = await user.press("Contacts & needs")
    details = await user.edited(await user.next_message())
    await user.answer_to(press)  # answered once the deletion is due in the database
    minutes = running.settings.sensitive_message_minutes
    assert details.text.endswith(pupil_handlers.DELETED_AFTER.format(minutes=minutes))
    application = running.application
    assert application is not None and application.job_queue is not None
    [sweep] = application.job_queue.get_jobs_by_name("sensitive-messages")
    clock.advance(timedelta(minutes=minutes - 1))
    await sweep.run(application)
    assert details.message_id not in user.deleted
    clock.advance(timedelta(minutes=1))
    await sweep.run(application)
    assert details.message_id in user.deleted
    assert card.message_id not in user.deleted  # the card names flags only: it stays
