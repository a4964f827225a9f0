"""A PIN hash made at an older cost keeps working and is upgraded at the next right PIN."""

from __future__ import annotations

from bot.handlers import access
from bot.harness import RunningBot
from bot.settings import Settings
from bot.storage import sessions
from bot.storage.db import Conn, Database, load_pepper
from tests.conftest import TEST_PIN_COST
from tests.domain.test_pinhash import first_build_hash
from tests.e2e.conftest import PIN, People


async def stored_hash(db: Database, ref: str) -> str:
    async def _snapshot(conn: Conn):
        return str(await conn.fetchval("SELECT pin_hash FROM officers WHERE ref = ?", (ref,)))
    return await db.read(_snapshot)


async def test_an_old_hash_unlocks_and_is_upgraded(running: RunningBot, people: People,
                                                   db: Database, settings: Settings) -> None:
    user = await people.enrolled("EWO1")
    old = first_build_hash(PIN, load_pepper(settings))
    async def _transaction(conn: Conn) -> None:
        officer_id = await conn.fetchval("SELECT id FROM officers WHERE ref = 'EWO1'")
        await conn.execute("UPDATE officers SET pin_hash = ? WHERE id = ?", (old, officer_id))
        await sessions.lock(conn, officer_id)
    await db.write(_transaction)
    await user.send("1111")  # a wrong PIN leaves the old hash alone
    assert (await user.next_message()).text != access.UNLOCKED
    assert await stored_hash(db, "EWO1") == old
    await user.send(PIN)
    assert (await user.next_message()).text == access.UNLOCKED
    upgraded = await stored_hash(db, "EWO1")
    assert upgraded.split("$")[1] == str(TEST_PIN_COST.n)
    await user.send("/lock")
    assert (await user.next_message()).text == access.LOCKED_NOW
    await user.send(PIN)  # the new hash works, and stays
    assert (await user.next_message()).text == access.UNLOCKED
    assert await stored_hash(db, "EWO1") == upgraded
