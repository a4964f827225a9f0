"""What officers and supervisors see in place of a restricted record (CASEWORK.md §3),
and how the refusal is answered and audited wherever a lookup raised it."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.chat.render import answer_press
from bot.storage import audit
from bot.storage.db import Database
from bot.storage.rights import RESTRICTED_REASON, Restricted

RESTRICTED = "This record is restricted — ask the controller"
# A list line's or a search result's marker in place of the school and figures.
RESTRICTED_MARK = "restricted"


async def refuse_restricted(update: object, db: Database, error: Restricted) -> None:
    """Audit the refused view (`refused:<view>`, reason `restricted`), then say so."""
    detail: dict[str, Any] = {} if error.access is None else {"access": error.access}
    await db.write(audit.append, actor=error.actor, action=f"refused:{error.view}",
                   target=error.target, reason=RESTRICTED_REASON, detail=detail or None)
    if not isinstance(update, Update):
        return
    query = update.callback_query
    if query is not None and await answer_press(query, RESTRICTED, alert=True):
        return
    if update.effective_chat is not None:  # a message, or a press that cannot be answered
        await update.effective_chat.send_message(RESTRICTED)
