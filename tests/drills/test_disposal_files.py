"""Found by the disposal drill: secure_delete and a checkpoint alone left an old copy of
a disposed pupil's row in a page's free space (rows moved by earlier inserts and
deletes). Disposal now scrubs the files: nothing disposed of can be read back."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.drills.common import found_in_files
from bench.drills.stage import Service, made_up_pupil, made_up_word
from bot.storage import retention
from bot.storage.db import Conn
from bot.storage.officers import officer_by_ref
from bot.usecases.retention import clean_up_after_disposals

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))


async def test_sixty_disposals_in_a_row_leave_nothing_readable(tmp_path: Path) -> None:
    service = await Service.open(tmp_path, NOW)
    try:
        await service.add_officer("EWO1")
        await service.add_officer("DPO1", "controller")
        long_ago = NOW.date().replace(year=NOW.year - 3)
        # Every other last name of two words: the later one is held on its own too, for
        # the search (pupil_name_tails), and must go as well.
        pupils = await service.add_pupils(
            [made_up_pupil(n, "EWO1", last_name=None if n % 2 else
                           f"{made_up_word(n * 104729 + 5, 8)}-{made_up_word(n * 7717 + 9, 7)}")
             for n in range(1, 121)], imported_on=long_ago)
        policy = retention.policy_for(service.settings, NOW)
        controller = await service.db.read(officer_by_ref, "DPO1")
        assert controller is not None
        for pupil in pupils[:60]:
            assert await service.db.write(retention.dispose, pupil.id, by=controller,
                                          policy=policy, now=NOW)
            await service.db.scrub()
        database = service.settings.database
        files = [database, database.with_name(database.name + "-wal")]
        disposed = [text for pupil in pupils[:60]
                    for text in (*pupil.last_name.split("-"), pupil.upn)]
        kept = [text for pupil in pupils[60:] for text in (*pupil.last_name.split("-"), pupil.upn)]
        assert await found_in_files(files, disposed) == []
        assert await found_in_files(files, kept) == kept  # the search does find what is held
        assert await clean_up_after_disposals(service.db, service.settings.export_dir)  # owed
        async def _snapshot(conn: Conn) -> None:
            assert await retention.clean_up_owed(conn) is None
        await service.db.read(_snapshot)
    finally:
        await service.close()
