"""The audit trail: chained, append-only, tamper-evident."""

from __future__ import annotations

import sqlite3

import pytest

from bot.settings import Settings
from bot.storage import audit
from bot.storage.db import Database


async def write_entries(db: Database, count: int) -> None:
    for number in range(count):
        async with db.write() as conn:
            await audit.append(conn, actor="os:admin", action="officers_add",
                               target=f"officer:EWO{number}", reason="admin_command",
                               detail={"n": number})


async def test_chain_verifies_and_reports_head(db: Database) -> None:
    await write_entries(db, 5)
    async with db.read() as conn:
        result = await audit.verify(conn)
    assert result.ok
    assert result.head.count == 5
    assert len(result.head.short().split(":")[1]) == 12


async def test_database_refuses_update_and_delete(db: Database) -> None:
    await write_entries(db, 2)
    for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with db.write() as conn:
                await conn.execute(statement)


async def test_tampering_is_found_at_that_entry(db: Database, settings: Settings) -> None:
    await write_entries(db, 6)
    raw = sqlite3.connect(settings.database)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE audit SET target = 'officer:EVIL' WHERE seq = 4")
    raw.commit()
    raw.close()
    async with db.read() as conn:
        result = await audit.verify(conn)
    assert not result.ok
    assert result.first_bad_seq == 4


async def test_deleted_entry_is_found(db: Database, settings: Settings) -> None:
    await write_entries(db, 6)
    raw = sqlite3.connect(settings.database)
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute("DELETE FROM audit WHERE seq = 3")
    raw.commit()
    raw.close()
    async with db.read() as conn:
        result = await audit.verify(conn)
    assert not result.ok
    assert result.first_bad_seq == 3


async def test_shortened_trail_is_found_against_a_kept_head(db: Database,
                                                            settings: Settings) -> None:
    await write_entries(db, 6)
    async with db.read() as conn:
        kept = (await audit.verify(conn)).head
    raw = sqlite3.connect(settings.database)
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute("DELETE FROM audit WHERE seq >= 5")
    raw.commit()
    raw.close()
    async with db.read() as conn:
        assert (await audit.verify(conn)).ok  # what is left is consistent…
        result = await audit.verify(conn, expected=audit.Head(kept.count, kept.hash[:12]))
    assert not result.ok  # …but shorter than the head kept outside


async def test_a_different_key_fails_verification(db: Database, settings: Settings) -> None:
    await write_entries(db, 2)
    other = await Database.open(settings.model_copy(update={"audit_key": None}))
    try:
        async with other.read() as conn:
            result = await audit.verify(conn)
        assert not result.ok and result.first_bad_seq == 1
    finally:
        await other.close()


async def test_entries_filter_by_target_and_actor(db: Database) -> None:
    await write_entries(db, 3)
    async with db.read() as conn:
        found = await audit.entries(conn, targets=("officer:EWO1",))
        by_actor = await audit.entries(conn, actor="os:admin")
    assert [entry.seq for entry in found] == [2]
    assert found[0].detail == {"n": 1}
    assert len(by_actor) == 3
