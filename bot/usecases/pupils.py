"""Reading a pupil's record: each view audited, a refused one the same as a shown one
to the person asking (nothing shows which)."""

from __future__ import annotations

from bot.storage import audit
from bot.storage import pupils as pupil_store
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer
from bot.storage.pupils import PupilDetails

SUPERVISION = "supervision"


def view_entry(officer: Officer, action: str, pupil_id: int, access: str | None,
               reason: str) -> audit.NewEntry:
    """A view, or (same answer to the person) a view refused: nothing shows which."""
    target = f"pupil:{pupil_id}"
    if access is None:
        return audit.NewEntry(actor=officer.actor, action=f"refused:{action}", target=target,
                              reason="not_visible", detail={"via": reason})
    if access == pupil_store.SUPERVISION:
        return audit.NewEntry(actor=officer.actor, action=action, target=target,
                              reason=SUPERVISION, detail={"via": reason})
    return audit.NewEntry(actor=officer.actor, action=action, target=target, reason=reason)


async def read_details(db: Database, officer: Officer, pupil_id: int, *,
                       via: str) -> PupilDetails | None:
    """Contacts, SEN and health details of a pupil this person may see (None: not
    theirs), read and audited in one transaction: nothing is shown unaudited."""
    return await db.write(_audited_details, officer, pupil_id, via)


async def _audited_details(conn: Conn, officer: Officer, pupil_id: int,
                           via: str) -> PupilDetails | None:
    details = await pupil_store.pupil_details(conn, officer, pupil_id)
    await audit.append_many(conn, [view_entry(officer, "pupil_details", pupil_id,
                                              None if details is None else details.access,
                                              via)])
    return details
