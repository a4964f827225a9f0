"""The audit trail: chained, append-only, tamper-evident."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.settings import Settings
from bot.storage import audit
from bot.storage.db import Conn, Database
from tests.pg import INTEGRITY_ERRORS


async def write_entries(db: Database, count: int) -> None:
    for number in range(count):
        await db.write(audit.append, actor="os:admin", action="officers_add",
                       target=f"officer:EWO{number}", reason="admin_command",
                       detail={"n": number})


async def _run(conn: Conn, sql: str) -> None:
    await conn.execute(sql)


async def test_chain_verifies_and_reports_head(db: Database) -> None:
    await write_entries(db, 5)
    result = await db.read(audit.verify)
    assert result.ok
    assert result.head.count == 5
    assert len(result.head.short().split(":")[1]) == 12


async def test_database_refuses_update_and_delete(db: Database) -> None:
    await write_entries(db, 2)
    for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
        with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
            await db.write(_run, statement)


@pytest.mark.sqlite_only("tampers with the file through sqlite3, past the triggers")
async def test_tampering_is_found_at_that_entry(db: Database, settings: Settings) -> None:
    await write_entries(db, 6)
    raw = sqlite3.connect(settings.database)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE audit SET target = 'officer:EVIL' WHERE seq = 4")
    raw.commit()
    raw.close()
    result = await db.read(audit.verify)
    assert not result.ok
    assert result.first_bad_seq == 4


@pytest.mark.sqlite_only("tampers with the file through sqlite3, past the triggers")
async def test_deleted_entry_is_found(db: Database, settings: Settings) -> None:
    await write_entries(db, 6)
    raw = sqlite3.connect(settings.database)
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute("DELETE FROM audit WHERE seq = 3")
    raw.commit()
    raw.close()
    result = await db.read(audit.verify)
    assert not result.ok
    assert result.first_bad_seq == 3


@pytest.mark.sqlite_only("tampers with the file through sqlite3, past the triggers")
async def test_shortened_trail_is_found_against_a_kept_head(db: Database,
                                                            settings: Settings) -> None:
    await write_entries(db, 6)
    async def _snapshot2(conn: Conn):
        return (await audit.verify(conn)).head
    kept = await db.read(_snapshot2)
    raw = sqlite3.connect(settings.database)
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute("DELETE FROM audit WHERE seq >= 5")
    raw.commit()
    raw.close()
    async def _snapshot(conn: Conn):
        assert (await audit.verify(conn)).ok  # what is left is consistent…
        return await audit.verify(conn, expected=audit.Head(kept.count, kept.hash[:12]))
    result = await db.read(_snapshot)
    assert not result.ok  # …but shorter than the head kept outside


def cut_back(settings: Settings, keep: int) -> None:
    """What someone with write access to the file (and no key) can do: drop the guard
    and delete the last entries."""
    raw = sqlite3.connect(settings.database)
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute("DELETE FROM audit WHERE seq > ?", (keep,))
    raw.commit()
    raw.close()


@pytest.mark.sqlite_only("tampers with the file through sqlite3, past the triggers")
async def test_a_trail_cut_back_and_grown_again_fails_the_kept_head(
        db: Database, settings: Settings) -> None:
    await write_entries(db, 6)
    async def _snapshot2(conn: Conn):
        return (await audit.verify(conn)).head
    kept = await db.read(_snapshot2)
    cut_back(settings, keep=3)
    await write_entries(db, 5)  # normal work: now 8 entries, past the kept count
    async def _snapshot(conn: Conn):
        assert (await audit.verify(conn)).ok  # the regrown trail chains…
        return await audit.verify(conn, expected=audit.Head(kept.count, kept.hash[:12]))
    result = await db.read(_snapshot)
    assert not result.ok  # …but entry 6 no longer carries the hash noted
    assert result.first_bad_seq == 6
    assert result.problem == "entry 6 differs from the recorded head"


async def test_a_kept_head_still_holds_however_many_entries_follow(db: Database) -> None:
    await write_entries(db, 3)
    async def _snapshot2(conn: Conn):
        return (await audit.verify(conn)).head
    kept = await db.read(_snapshot2)
    await write_entries(db, 4)
    async def _snapshot(conn: Conn) -> None:
        assert (await audit.verify(conn, expected=audit.Head(3, kept.hash[:12]))).ok
        assert (await audit.verify(conn, expected=kept)).ok
    await db.read(_snapshot)


async def test_a_wrong_hash_at_a_smaller_count_fails(db: Database) -> None:
    await write_entries(db, 5)
    result = await db.read(audit.verify, expected=audit.Head(2, "0123456789ab"))
    assert not result.ok and result.first_bad_seq == 2


@pytest.mark.sqlite_only("tampers with the file through sqlite3, past the triggers")
async def test_a_trail_shorter_than_the_head_names_its_last_entry(
        db: Database, settings: Settings) -> None:
    await write_entries(db, 5)
    cut_back(settings, keep=2)
    result = await db.read(audit.verify, expected=audit.Head(5, "0123456789ab"))
    assert not result.ok and result.first_bad_seq is None
    assert result.problem == "the trail ends at entry 2 but the recorded head is entry 5"


@pytest.mark.sqlite_only("the generated audit key file beside the SQLite database")
async def test_a_different_key_fails_verification(db: Database, settings: Settings) -> None:
    await write_entries(db, 2)
    other = await Database.open(settings.model_copy(update={"audit_key": None}))
    try:
        result = await other.read(audit.verify)
        assert not result.ok and result.first_bad_seq == 1
    finally:
        await other.close()


async def test_entries_filter_by_target_and_actor(db: Database) -> None:
    await write_entries(db, 3)
    async def _snapshot(conn: Conn):
        found = await audit.entries(conn, targets=("officer:EWO1",))
        by_actor = await audit.entries(conn, actor="os:admin")
        return by_actor, found
    by_actor, found = await db.read(_snapshot)
    assert [entry.seq for entry in found] == [2]
    assert found[0].detail == {"n": 1}
    assert len(by_actor) == 3


# --- the appender: entries of many chats, committed a group at a time -----------------


def view(number: int, **detail: object) -> audit.NewEntry:
    return audit.NewEntry(actor=f"officer:EWO{number}", action="pupil_card",
                          reason="search", target=f"pupil:{number}", detail=detail or None)


async def trail(db: Database) -> list[tuple[str, str | None]]:
    async def _snapshot(conn: Conn):
        rows = await conn.fetchall("SELECT actor, target FROM audit ORDER BY seq")
        assert (await audit.verify(conn)).ok
        return rows
    rows = await db.read(_snapshot)
    return [(row["actor"], row["target"]) for row in rows]


async def test_entries_handed_in_together_are_committed_together_in_order(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    transactions = 0
    write = db.write

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal transactions
        transactions += 1
        return await write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "write", counted)
    appender = audit.Appender(db)
    first = asyncio.ensure_future(appender.append(view(0)))
    await asyncio.sleep(0)  # its group is on its way to the writer: the rest gather
    await asyncio.gather(*(appender.append(view(number)) for number in range(1, 30)))
    await first

    assert await trail(db) == [(f"officer:EWO{n}", f"pupil:{n}") for n in range(30)]
    assert transactions == 2


async def test_a_failed_group_fails_each_of_its_callers_and_leaves_nothing(
        db: Database) -> None:
    appender = audit.Appender(db)
    results = await asyncio.gather(appender.append(view(1)),
                                   appender.append(view(2, unwritable=object())),
                                   return_exceptions=True)

    assert [type(result) for result in results] == [TypeError, TypeError]
    assert await trail(db) == []
    await appender.append(view(3))  # the next group is written as usual
    assert await trail(db) == [("officer:EWO3", "pupil:3")]


async def test_a_caller_that_gives_up_still_has_its_entry_written(db: Database) -> None:
    appender = audit.Appender(db)
    waiting = asyncio.ensure_future(appender.append(view(1)))
    await asyncio.sleep(0)
    waiting.cancel()
    await appender.append(view(2))

    assert await trail(db) == [("officer:EWO1", "pupil:1"), ("officer:EWO2", "pupil:2")]
