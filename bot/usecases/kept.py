"""The request made while locked, kept (as references, never the words typed) to go on
once the PIN is given: one write transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage import conversations, sessions
from bot.storage import messages as message_store
from bot.storage import pupils as pupil_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, Database
from bot.storage.officers import Officer

KEPT_ANSWER = "kept_answer"  # the draft's key for an answer typed while locked


@dataclass(frozen=True, slots=True)
class Kept:
    """What is kept of a request: references only, the pupils it names, and a lookup
    to audit as refused (what was typed, and how), which is never stored."""

    request: dict[str, Any] | None
    pupils: tuple[int, ...] = ()
    refused: tuple[str, str] | None = None
    answer: str | None = None  # an answer to the open conversation, kept in its draft


@dataclass(frozen=True, slots=True)
class AnswerMessage:
    """The chat message holding an answer kept in a draft, and when it is deleted."""

    chat_id: int
    message_id: int
    delete_at: datetime


async def keep_request(db: Database, officer: Officer, talk: Conversation | None, kept: Kept,
                       *, now: datetime, until: datetime,
                       answer_message: AnswerMessage | None) -> None:
    """Keep `kept` until `until` (replacing any request kept before); a lookup it made
    that found nothing is audited now; an answer to the open conversation `talk` waits
    in its draft (or one kept before is dropped, a later request replacing it)."""
    await db.write(_keep, officer, talk, kept, now, until, answer_message)


async def _keep(conn: Conn, officer: Officer, talk: Conversation | None, kept: Kept,
                now: datetime, until: datetime, answer_message: AnswerMessage | None) -> None:
    if kept.refused is not None:  # the lookup was made now, so it is audited now
        await pupil_store.record_refused_lookup(conn, officer, kept.refused[0],
                                                via=kept.refused[1])
    if talk is not None and (kept.answer is not None or KEPT_ANSWER in talk.data):
        data = {key: value for key, value in talk.data.items() if key != KEPT_ANSWER}
        if kept.answer is not None:
            data[KEPT_ANSWER] = kept.answer
            if answer_message is not None:
                await message_store.schedule_deletion(conn, answer_message.chat_id,
                                                      answer_message.message_id,
                                                      answer_message.delete_at)
        await conversations.advance(conn, talk, step=talk.step, now=now, data=data)
    await sessions.keep_pending(
        conn, officer.id, None if kept.request is None else json.dumps(kept.request),
        pupil_ids=kept.pupils, until=until)
