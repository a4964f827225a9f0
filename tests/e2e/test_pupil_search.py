"""Finding a pupil through the stand-in: names match whatever the apostrophes, hyphens
and spaces inside them, and a near miss offers up to five of the officer's own pupils
("Did you mean"), never another officer's."""

from __future__ import annotations

from bot.handlers import pupils as pupil_handlers
from bot.harness import RunningBot
from bot.sandbox import BotMessage, FakeUser
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from tests.e2e.conftest import People
from tests.e2e.retention_files import upn
from tests.storage.pupil_rows import Service

NOT_FOUND, DID_YOU_MEAN = pupil_handlers.NOT_FOUND, pupil_handlers.DID_YOU_MEAN


async def officer(db: Database, ref: str) -> Officer:
    found = await db.read(officer_store.officer_by_ref, ref)
    assert found is not None
    return found


async def reply(user: FakeUser, text: str) -> BotMessage:
    await user.send(text)
    return await user.next_message()


async def caseload(people: People, db: Database) -> FakeUser:
    """EWO1's pupils, and EWO2's Amelia Ahmed and Sam Walkden that EWO1 must never see."""
    user = await people.enrolled("EWO1")
    await people.enrolled("EWO2")
    ann, bob = await officer(db, "EWO1"), await officer(db, "EWO2")
    async def _transaction(conn: Conn) -> None:
        service = Service(conn)
        await service.pupil("Dylan", "O’Brien", officer=ann)  # C00001, a curly apostrophe
        await service.pupil("Amelia", "Ahmed", officer=ann)  # C00002
        await service.pupil("Jack", "Walker", officer=ann)  # C00003
        await service.pupil("Mary-Jane", "Van der Berg", officer=ann)  # C00004
        await service.pupil("Amelia", "Ahmad", officer=bob)  # C00005, another officer's
        await service.pupil("Sam", "Walkden", officer=bob)  # C00006, another officer's
    await db.write(_transaction)
    return user


async def test_names_match_without_their_apostrophes_hyphens_and_spaces(
        running: RunningBot, people: People, db: Database) -> None:
    user = await caseload(people, db)
    for typed in ("obrien", "O'Brien", "o brien", "dylan o brien", "Dylan O’B", "dylanobrien",
                  "/pupil obrien"):
        assert (await reply(user, typed)).text.startswith("Dylan O’Brien (C00001)"), typed
    for typed in ("vanderberg", "van der b", "mary jane", "maryjane van", "Mary-Jane V"):
        assert (await reply(user, typed)).text.startswith(
            "Mary-Jane Van der Berg (C00004)"), typed


async def test_a_near_miss_offers_the_officers_own_pupils(running: RunningBot,
                                                         people: People, db: Database) -> None:
    user = await caseload(people, db)
    walker = await reply(user, "Walkr")
    assert walker.text == DID_YOU_MEAN
    assert walker.labels() == ["Jack Walker (C00003), Yr 5"]  # not EWO2's Sam Walkden
    assert walker.button("Jack Walker (C00003), Yr 5").data == "pick:3"
    await user.press("Jack Walker (C00003), Yr 5")
    assert (await user.next_message()).text.startswith("Jack Walker (C00003)")

    amelia = await reply(user, "Amelia Ahmd")
    assert amelia.text == DID_YOU_MEAN
    assert amelia.labels() == ["Amelia Ahmed (C00002), Yr 5"]  # not EWO2's Amelia Ahmad
    assert (await reply(user, "/pupil Amelia Ahmd")).labels() == amelia.labels()


async def later_word_caseload(people: People, db: Database) -> FakeUser:
    """EWO1's Amelia Smith-Jones (C00001) and Rosa De La Cruz (C00002), and EWO2's Carys
    Jones (C00003) that EWO1 must never see."""
    user = await people.enrolled("EWO1")
    await people.enrolled("EWO2")
    ann, bob = await officer(db, "EWO1"), await officer(db, "EWO2")
    async def _transaction(conn: Conn) -> None:
        service = Service(conn)
        await service.pupil("Amelia", "Smith-Jones", officer=ann)
        await service.pupil("Rosa", "De La Cruz", officer=ann)
        await service.pupil("Carys", "Jones", officer=bob)
    await db.write(_transaction)
    return user


async def test_a_near_miss_of_a_later_word_of_the_last_name_is_offered(
        running: RunningBot, people: People, db: Database) -> None:
    # "Jones" finds Amelia Smith-Jones, so "Jnoes" is a slip of her name as "Walkr" is
    # of Walker's; EWO2's Carys Jones, as near, is never offered.
    user = await later_word_caseload(people, db)
    for typed in ("Jnoes", "Amelia Jnoes", "/pupil jnoes"):
        shown = await reply(user, typed)
        assert shown.text == DID_YOU_MEAN, typed
        assert shown.labels() == ["Amelia Smith-Jones (C00001), Yr 5"], typed
    assert (await reply(user, "Rosa Crzu")).labels() == ["Rosa De La Cruz (C00002), Yr 5"]
    assert (await reply(user, "Carys Jnoes")).text == NOT_FOUND


async def test_another_officers_pupil_is_never_offered(running: RunningBot, people: People,
                                                       db: Database) -> None:
    user = await caseload(people, db)
    for typed in ("Walkden", "Sam Walkdn", "Amelia Ahmad", "C00006", "Zebedee", "Wal k"):
        shown = await reply(user, typed)
        assert "Walkden" not in shown.text and "Ahmad" not in shown.text, typed
        assert not any("Walkden" in label or "Ahmad" in label for label in shown.labels())
    assert (await reply(user, "Sam Walkdn")).text == NOT_FOUND
    assert (await reply(user, "Zebedee")).text == NOT_FOUND
    # "Amelia Ahmad" is one slip from EWO1's own Amelia Ahmed: that is the one offered.
    assert (await reply(user, "Amelia Ahmad")).labels() == ["Amelia Ahmed (C00002), Yr 5"]


async def test_at_most_five_near_misses_nearest_first(running: RunningBot, people: People,
                                                      db: Database) -> None:
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn) -> None:
        service = Service(conn)
        for last in ("Marson", "Mason", "Macon", "Zola", "Madsen", "Bason", "Masin"):
            await service.pupil("Kit", last, officer=ann)
    await db.write(_transaction)
    shown = await reply(user, "Kit Masen")  # eight letters: two slips allowed
    assert shown.text == DID_YOU_MEAN
    # One slip (by name), then two (by name): Marson, two slips too, is the sixth.
    assert [label.split(" (")[0] for label in shown.labels()] == [
        "Kit Madsen", "Kit Masin", "Kit Mason", "Kit Bason", "Kit Macon"]


async def test_a_did_you_mean_list_is_audited_naming_the_pupils_offered(
        running: RunningBot, people: People, db: Database) -> None:
    from bot.storage import audit

    user = await caseload(people, db)
    offered = await reply(user, "Walkr")
    assert offered.text == DID_YOU_MEAN

    async def _snapshot(conn: Conn):
        return [entry for entry in await audit.entries(conn)
                   if entry.action == audit.LISTING]
    entries = await db.read(_snapshot)
    assert [(e.actor, e.reason, e.detail["targets"]) for e in entries] == [
        ("officer:EWO1", "search", ["pupil:3"])]


async def test_a_upn_typed_in_groups_or_lower_case_finds_the_pupil(
        running: RunningBot, people: People, db: Database) -> None:
    # Import files remove the spaces from UPNs (PRODUCT.md, Import files): every command
    # that takes NAME-OR-UPN-OR-REF, and a typed search, find the pupil by a UPN typed
    # as on a form; words that are a name stay a name.
    user = await people.enrolled("EWO1")
    ann = await officer(db, "EWO1")
    async def _transaction(conn: Conn) -> None:
        await Service(conn).pupil("Dylan", "O’Brien", officer=ann, upn=upn(1))  # C00001
    await db.write(_transaction)
    spaced = f"{upn(1)[:4]} {upn(1)[4:8]} {upn(1)[8:]}".lower()
    for command, shown in (("", "Dylan O’Brien (C00001)"), ("/pupil ", "Dylan O’Brien (C00001)"),
                           ("/case ", "C00001"), ("/visit ", "Visit for D.O. (C00001)"),
                           ("/step ", "Pathway step for D.O. (C00001)"),
                           ("/share ", "Sharing decision for D.O. (C00001)")):
        answered = await reply(user, f"{command}{spaced}")
        if command == "/case ":  # "One moment…", then the case
            answered = await user.edited(answered)
        assert shown in answered.text, (command, answered.text)
        await reply(user, "/cancel")
    assert (await reply(user, "dylan o brien")).text.startswith("Dylan O’Brien (C00001)")


async def test_a_later_word_of_a_last_name_finds_the_officers_pupil(
        running: RunningBot, people: People, db: Database) -> None:
    """An officer who types "Jones" gets the card of their Amelia Smith-Jones, never
    another officer's Jones."""
    user = await later_word_caseload(people, db)
    for typed in ("Jones", "amelia jones", "Amelia Jo", "/pupil jones"):
        card = await reply(user, typed)
        assert card.text.startswith("Amelia Smith-Jones (C00001)"), typed
        assert "Carys" not in card.text, typed
    assert (await reply(user, "la cruz")).text.startswith("Rosa De La Cruz (C00002)")
    assert (await reply(user, "Carys Jones")).text.startswith(NOT_FOUND)
