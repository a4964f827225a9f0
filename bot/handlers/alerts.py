"""Alert messages in the chat: a digest's buttons, `al:card:<pupil_id>` (open the card,
audited as reached from an alert), `al:case:<pupil_id>` (a pathway reminder's: open the
case) and `al:more:<outbox_id>:<page>` (the next page)."""

from __future__ import annotations

from telegram import Update

from bot.chat.render import ack, grid
from bot.domain.alerts import BUTTON_COLUMNS, more_button
from bot.handlers.case import show_case
from bot.handlers.common import STALE_BUTTON, Context, answer, button_data, parse_id, refuse
from bot.handlers.pupils import ALERT_BUTTON, show_card
from bot.storage import alerts as alert_store
from bot.storage.db import Conn


async def on_button(update: Update, context: Context) -> None:
    """Any `al:` button; the data is untrusted and re-checked here."""
    parts = button_data(update)
    if len(parts) == 3 and parts[1] in ("card", "case"):
        pupil_id = parse_id(parts[2])
        if pupil_id is not None:
            # Either answers "not found" for a pupil this person may not see.
            show = show_card if parts[1] == "card" else show_case
            await show(update, context, pupil_id, ALERT_BUTTON)
            return
    elif len(parts) == 4 and parts[1] == "more":
        await _more(update, context, parse_id(parts[2]), parse_id(parts[3]))
        return
    await answer(update, STALE_BUTTON)


async def _more(update: Update, context: Context, outbox_id: int | None,
                page: int | None) -> None:
    """The next page of a digest, only for the person it was sent to."""
    officer = context.officer
    pages = None
    if outbox_id is not None and page is not None:
        async def _snapshot(conn: Conn) -> None:
            nonlocal pages
            pages = await alert_store.digest_pages(conn, outbox_id, recipient_id=officer.id)
        await context.services.db.read(_snapshot)
    if outbox_id is None or page is None or pages is None or page >= len(pages):
        target = f"outbox:{outbox_id}" if outbox_id is not None else None
        await refuse(update, context, officer, reason="stale_button", target=target,
                     text=STALE_BUTTON)
        return
    shown = pages[page]
    last = more_button(outbox_id, page + 1) if page + 1 < len(pages) else None
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await ack(update)
    await update.effective_chat.send_message(
        shown["text"], reply_markup=grid(shown["buttons"], BUTTON_COLUMNS, last))
