"""/case and the card's Case button: where a pupil's attendance case stands (CASEWORK.md §1).

`/case NAME-OR-UPN-OR-REF` finds the pupil as the card does (an officer's own pupils; a
supervisor's team read-only), through the same scoped lookup, so whatever keeps a card
from someone keeps the case from them too. Buttons: `case:<pupil_id>` opens the case
(the card's Case button, a choice among several matches), `case:<pupil_id>:<page>`
pages the chronology; `al:case:<pupil_id>` on a pushed reminder comes here too
(handlers/alerts.py). The officer's own steps and outcomes saved within 7 days carry
/step's Correct (`stc:<step|outcome>:<id>`, bot/handlers/step/correct.py). Every
press is re-authorised by the query, and every view is audited before it shows
(`case_view`, target `pupil:<id>`, a fixed reason: how it was reached, or
`supervision`). Parents are named in the counts, so the case is sent like contact
details: deleted from the chat after EWO_SENSITIVE_MESSAGE_MINUTES.
"""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest

from bot.chat.case import PAGE_SIZE, case_buttons, case_text
from bot.chat.render import ack
from bot.handlers.common import (
    STALE_BUTTON,
    Context,
    answer,
    button_data,
    edit_sensitive,
    keyboard,
    parse_id,
    send_sensitive,
)
from bot.handlers.pupils import LONGEST_QUERY, NOT_FOUND, SEARCH_LIMIT, show_choices
from bot.storage import pathway as pathway_store
from bot.storage import pathway_corrections as corrections
from bot.storage import pupils as pupil_store
from bot.storage.db import Conn
from bot.usecases.pupils import view_entry

CASE_HINT = "Send /case with a name, UPN or case reference, e.g. /case Amelia"
VIEW = "case_view"
# Fixed audit reason codes: how the person came to the case.
CASE_COMMAND, CASE_BUTTON, PAGE_BUTTON = "case_command", "case_button", "case_page"
PREFIX = "case"


async def case_command(update: Update, context: Context) -> None:
    """/case NAME-OR-UPN-OR-REF — one match: the case; several: a choice; none: not found."""
    typed = " ".join(context.args or ())
    if not typed.strip():
        await answer(update, CASE_HINT)
        return
    officer = context.officer
    svc = context.services
    found: list[pupil_store.PupilSummary] = []
    if len(typed) <= LONGEST_QUERY:
        found, _card = await svc.db.read(
            pupil_store.find_with_card, officer, typed, today=svc.clock.today(),
            year_end=svc.settings.academic_year_end, limit=SEARCH_LIMIT + 1)
    if not found:
        if len(typed) <= LONGEST_QUERY:
            await svc.db.write(pupil_store.record_refused_lookup, officer, typed,
                               via=CASE_COMMAND)
        await answer(update, NOT_FOUND)
    elif len(found) == 1:
        await show_case(update, context, found[0].id, CASE_COMMAND)
    else:
        await show_choices(update, context, found, CASE_COMMAND, button=PREFIX)


async def case_button(update: Update, context: Context) -> None:
    """`case:<pupil_id>` opens a case; `case:<pupil_id>:<page>` shows another page of it
    in the same message."""
    parts = button_data(update)
    pupil_id = parse_id(parts[1]) if len(parts) in (2, 3) else None
    page = parse_id(parts[2]) if len(parts) == 3 else 1
    if pupil_id is None or not page:
        await answer(update, STALE_BUTTON)
        return
    if len(parts) == 2:
        await show_case(update, context, pupil_id, CASE_BUTTON)
    else:
        await show_case(update, context, pupil_id, PAGE_BUTTON, page=page, edit=True)


async def show_case(update: Update, context: Context, pupil_id: int, reason: str, *,
                    page: int = 1, edit: bool = False) -> bool:
    """Send (or, paging, edit in) the case of a pupil this person may see, audited with
    `reason` (or `supervision`); NOT_FOUND otherwise, audited as refused. For other
    features' buttons too (a reminder's passes ALERT_BUTTON)."""
    officer = context.officer
    svc = context.services
    today = svc.clock.today()

    async def _snapshot(conn: Conn):
        card = await pupil_store.pupil_card(conn, officer, pupil_id, today=today,
                                            year_end=svc.settings.academic_year_end)
        if card is None:
            return None, None, frozenset()
        case = await pathway_store.case_file(conn, officer, pupil_id, today=today,
                                             offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        correctable = await corrections.correctable_entries(conn, officer, pupil_id,
                                                            now=svc.clock.now())
        return card, case, correctable
    card, case, correctable = await svc.db.read(_snapshot)
    # Shown only once its audit entry is committed; a refusal is audited the same way.
    await svc.audit_trail.append(view_entry(officer, VIEW, pupil_id,
                                             None if case is None else case.access, reason))
    chat = update.effective_chat
    if card is None or case is None or chat is None:
        await answer(update, NOT_FOUND)
        return False
    text = case_text(card.summary, case, minutes=svc.settings.sensitive_message_minutes)
    markup = keyboard(case_buttons(case, correctable))
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        try:
            await edit_sensitive(context, chat.id, query.message.message_id, text,
                                 markup=markup)
        except BadRequest:  # too old to edit, or gone: the page comes as a new message
            await send_sensitive(context, chat.id, text, markup=markup)
    else:
        await send_sensitive(context, chat.id, text, markup=markup)
    await ack(update)
    return True
