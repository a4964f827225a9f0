"""The outbox: pushed messages written in the transaction that causes them.

Nothing waits in memory: the running bot (bot/jobs/outbox.py) delivers these rows,
resolving recipients from `audience` at delivery time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.storage.db import Conn, stamp

AUDIENCE_FORMS = ("officer:<id>", "supervisor_of:<officer_id>", "supervisor:<id>",
                  "controllers", "chat:<chat_id>")


async def enqueue(conn: Conn, *, kind: str, audience: str, payload: dict[str, Any],
                  now: datetime, pupil_ids: Sequence[int] = (),
                  not_before: datetime | None = None) -> int:
    """Queue one pushed message; `payload` is {"text": str, "buttons": [[label, data], …]}.

    `pupil_ids` links the message to the pupils it is about, so disposing of a pupil
    also removes the messages still waiting about them.
    """
    outbox_id = await conn.insert(
        "INSERT INTO outbox (kind, audience, payload, not_before, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (kind, audience, json.dumps(payload, ensure_ascii=False),
         stamp(not_before or now), stamp(now)))
    if pupil_ids:
        await conn.executemany(
            "INSERT OR IGNORE INTO outbox_pupils (outbox_id, pupil_id) VALUES (?, ?)",
            [(outbox_id, pupil_id) for pupil_id in pupil_ids])
    return outbox_id
