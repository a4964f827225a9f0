"""/pupils, /pupil and typed names: an officer's list, search, pupil cards and details.

Every card and details view is audited (`pupil_card` / `pupil_details`, target
`pupil:<id>`, a fixed reason), and so is every list of pupils shown (`pupil_list`,
one entry naming each pupil listed). Buttons (`card:`, `det:`, `pg:`, `pick:`) are untrusted:
each press is decoded and answered from a query scoped to the person pressing, so a
forged button for someone else's pupil gets the same answer as a pupil that does not
exist. Supervisors see their team's pupils read-only, audited as `supervision`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.chat.render import ack, day, edit
from bot.chat.restriction import RESTRICTED_MARK
from bot.domain.attendance import RULE_LABELS, Rule, Tally
from bot.domain.corrections import correctable
from bot.domain.message_parts import clipped
from bot.domain.visits import CONTACT_OUTCOMES, VISIT_TYPES, label_of
from bot.handlers.common import (
    STALE_BUTTON,
    Context,
    answer,
    button_data,
    keyboard,
    parse_id,
    send_sensitive,
)
from bot.storage import audit
from bot.storage import pupils as pupil_store
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pupils import PupilCard, PupilDetails, PupilSummary
from bot.usecases import pupils as pupil_cases
from bot.usecases.pupils import view_entry

NOT_FOUND = "No pupil of yours matches"
DID_YOU_MEAN = "No pupil of yours matches. Did you mean:"
TOO_MANY = "More than 10 match — type more of the name"
CHOOSE = "{count} pupils match — choose one:"
PUPIL_HINT = "Send /pupil with a name, UPN or case reference, e.g. /pupil Amelia"
NO_PUPILS = "No pupils are allocated to you."
LIST_HEADER = "My pupils ({total}), lowest attendance first — page {page} of {pages}"
READ_ONLY = "Read only: allocated to {ref}"
DETAILS_BUTTON = "Contacts & needs"
CASE_BUTTON_LABEL = "Case"
VISIT_BUTTON = "Record visit"
CORRECT_BUTTON = "Correct {date}"
PREVIOUS = "◀ Previous"
NEXT = "Next ▶"
DELETED_AFTER = "This message is deleted after {minutes} minutes."
STATEMENT_ON_FILE = "Statement on file"

PAGE_SIZE = 10
LIST_FIELD_MAX = 80  # characters of a name or school on a list line: 10 lines fit a message
SEARCH_LIMIT = 10
NEAR_MISS_LIMIT = 5
LONGEST_QUERY = 100

# Fixed audit reason codes: how the person came to the record.
PUPIL_COMMAND, SEARCH, LIST_BUTTON, ALERT_BUTTON = (
    "pupil_command", "search", "list_button", "alert_button")
PUPILS_COMMAND = "pupils_command"
CARD_BUTTON, SUPERVISION = "card_button", "supervision"

SEN_LABELS = {"N": "none", "K": "SEN support", "E": "EHC plan"}


# --- /pupils -------------------------------------------------------------------------------


async def pupils_command(update: Update, context: Context) -> None:
    """/pupils — my allocated pupils, lowest attendance first, first page."""
    text, markup = await _list_page(context, context.officer, 1, PUPILS_COMMAND)
    await answer(update, text, markup=markup)


async def page_button(update: Update, context: Context) -> None:
    """`pg:<page>` — another page of /pupils, in the same message."""
    parts = button_data(update)
    page = parse_id(parts[1]) if len(parts) == 2 else None
    if not page:
        await answer(update, STALE_BUTTON)
        return
    text, markup = await _list_page(context, context.officer, page, LIST_BUTTON)
    await edit(update, text, markup)
    await ack(update)


async def _list_page(context: Context, officer: Officer, page: int,
                     reason: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of the list, audited (once committed) as naming each pupil on it."""
    svc = context.services
    today = svc.clock.today()
    async def _snapshot(conn: Conn):
        nonlocal page
        shown, total = await pupil_store.pupils_for_officer(
            conn, officer, today=today, year_end=svc.settings.academic_year_end,
            offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        if total and not shown:  # a page past the end (the list shrank): show the last
            page = pages
            shown, total = await pupil_store.pupils_for_officer(
                conn, officer, today=today, year_end=svc.settings.academic_year_end,
                offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        return pages, shown, total
    pages, shown, total = await svc.db.read(_snapshot)
    if not total:
        return NO_PUPILS, None
    await audit_listing(context, officer, shown, reason, detail={"page": page})
    first = (page - 1) * PAGE_SIZE + 1
    lines = [LIST_HEADER.format(total=total, page=page, pages=pages)]
    lines += [f"{number}. {list_line(pupil)}" for number, pupil in enumerate(shown, first)]
    buttons = [(f"{number}. {pupil.name}", f"card:{pupil.id}")
               for number, pupil in enumerate(shown, first)]
    rows = [buttons[index:index + 2] for index in range(0, len(buttons), 2)]
    paging = []
    if page > 1:
        paging.append((PREVIOUS, f"pg:{page - 1}"))
    if page < pages:
        paging.append((NEXT, f"pg:{page + 1}"))
    if paging:
        rows.append(paging)
    return "\n".join(lines), keyboard(rows)


def list_line(pupil: PupilSummary) -> str:
    """"Name (case ref) — School, Yr N — NN.N %" (a page of long names stays one message);
    a restricted record's line has its name, reference and the marker only."""
    if pupil.restricted:
        return f"{clipped(pupil.name, LIST_FIELD_MAX)} ({pupil.case_ref}) — {RESTRICTED_MARK}"
    return (f"{clipped(pupil.name, LIST_FIELD_MAX)} ({pupil.case_ref}) —"
            f" {clipped(pupil.school_name, LIST_FIELD_MAX)}, Yr {pupil.year_group}"
            f" — {pupil.attendance_text}")


# --- /pupil and typed names ---------------------------------------------------------------


async def pupil_command(update: Update, context: Context) -> None:
    """/pupil NAME-OR-UPN-OR-REF — find one of my pupils and show the card."""
    typed = " ".join(context.args or ())
    if not typed.strip():
        await answer(update, PUPIL_HINT)
        return
    await _find_and_show(update, context, typed, PUPIL_COMMAND)


async def search_text(update: Update, context: Context) -> None:
    """Plain text with no conversation waiting: a search of my pupils."""
    message = update.effective_message
    typed = message.text if message is not None and message.text else ""
    await _find_and_show(update, context, typed, SEARCH)


async def _find_and_show(update: Update, context: Context, typed: str, reason: str) -> None:
    officer = context.officer
    svc = context.services
    found: list[PupilSummary] = []
    card: PupilCard | None = None
    if len(typed) <= LONGEST_QUERY:
        # Supervisors find their team's pupils too (their cards are read-only).
        found, card = await svc.db.read(
            pupil_store.find_with_card, officer, typed, today=svc.clock.today(),
            year_end=svc.settings.academic_year_end, limit=SEARCH_LIMIT + 1)
    if not found:
        if len(typed) <= LONGEST_QUERY:
            await svc.db.write(pupil_store.record_refused_lookup, officer, typed, via=reason)
        await _not_found(update, context, typed, reason)
    elif len(found) == 1:
        await _show(update, context, found[0].id, card, reason)
    else:
        await show_choices(update, context, found, reason)


async def show_kept_matches(update: Update, context: Context, pupil_ids: Sequence[int],
                            reason: str) -> None:
    """After the PIN, a search kept while locked (its matches by id, never the words):
    answered as the search was, from the matches this person may still see."""
    officer = context.officer
    # A kept search is replayed without a new update, so the gate's check is made here.
    if officer.role not in context.registry.search.roles:
        await answer(update, NOT_FOUND)
        return
    svc = context.services
    found, card = await svc.db.read(
        pupil_store.among_with_card, officer, pupil_ids, today=svc.clock.today(),
        year_end=svc.settings.academic_year_end)
    if len(pupil_ids) == 1 or len(found) == 1:
        # One match: its card, or (no longer this person's) the refused view, audited.
        await _show(update, context, found[0].id if found else pupil_ids[0], card, reason)
    elif not found:
        await answer(update, NOT_FOUND)
    else:
        await show_choices(update, context, found, reason)


async def show_choices(update: Update, context: Context, found: Sequence[PupilSummary],
                       reason: str, *, button: str = "pick") -> None:
    """Several matches: a button each (up to SEARCH_LIMIT), the list audited first;
    `button` is the prefix each press goes to (`pick:` a card, `case:` a case)."""
    shown = found[:SEARCH_LIMIT]
    await audit_listing(context, context.officer, shown, reason)
    await answer(update, _choice_text(found), markup=keyboard(
        [[(_choice_label(pupil), f"{button}:{pupil.id}")] for pupil in shown]))


async def audit_listing(context: Context, officer: Officer, shown: Sequence[PupilSummary],
                        reason: str, *, detail: dict[str, Any] | None = None) -> None:
    """The one entry of a list of pupils about to be shown, naming each by reference;
    returns once it is committed. A list holding a team member's pupil is supervision."""
    if not shown:
        return
    if any(pupil.access == pupil_store.SUPERVISION for pupil in shown):
        detail, reason = {**(detail or {}), "via": reason}, SUPERVISION
    await context.services.audit_trail.append(audit.listing(
        actor=officer.actor, reason=reason, pupil_ids=[pupil.id for pupil in shown],
        detail=detail))


async def _not_found(update: Update, context: Context, typed: str, reason: str) -> None:
    """Nothing matched: offer the officer's own pupils whose name nearly matches (a
    typing slip), as buttons (a list of pupils, audited as one), or say plainly that
    none does."""
    officer = context.officer
    svc = context.services
    near: list[PupilSummary] = []
    if len(typed) <= LONGEST_QUERY:
        # Compared in Python over the caseload: on a worker, not the event loop's thread.
        near = await svc.db.read(
            pupil_store.near_misses, officer, typed, today=svc.clock.today(),
            year_end=svc.settings.academic_year_end, limit=NEAR_MISS_LIMIT)
    if not near:
        await answer(update, NOT_FOUND)
        return
    await audit_listing(context, officer, near, reason)
    await answer(update, DID_YOU_MEAN, markup=keyboard(
        [[(_choice_label(pupil), f"pick:{pupil.id}")] for pupil in near]))


def _choice_text(found: Sequence[PupilSummary]) -> str:
    if len(found) > SEARCH_LIMIT:
        return TOO_MANY
    return CHOOSE.format(count=len(found))


def _choice_label(pupil: PupilSummary) -> str:
    if pupil.restricted:
        return f"{pupil.name} ({pupil.case_ref}) — {RESTRICTED_MARK}"
    label = f"{pupil.name} ({pupil.case_ref}), Yr {pupil.year_group}"
    return label if pupil.access == pupil_store.OWN else f"{label} — {pupil.officer_ref}"


# --- cards -----------------------------------------------------------------------------------


async def card_button(update: Update, context: Context) -> None:
    """`card:<pupil_id>` — a card from the /pupils list."""
    await _card_from_button(update, context, LIST_BUTTON)


async def pick_button(update: Update, context: Context) -> None:
    """`pick:<pupil_id>` — a card chosen among search results."""
    await _card_from_button(update, context, SEARCH)


async def _card_from_button(update: Update, context: Context, reason: str) -> None:
    parts = button_data(update)
    pupil_id = parse_id(parts[1]) if len(parts) == 2 else None
    if pupil_id is None:
        await answer(update, STALE_BUTTON)
        return
    await show_card(update, context, pupil_id, reason)


async def show_card(update: Update, context: Context, pupil_id: int, reason: str) -> bool:
    """Send the card of a pupil this person may see, audited with `reason` (or
    `supervision`); answer NOT_FOUND otherwise. For other features' buttons too
    (an alert's button passes ALERT_BUTTON). Returns whether a card was shown."""
    svc = context.services
    card = await svc.db.read(pupil_store.pupil_card, context.officer,
                             pupil_id, today=svc.clock.today(),
                             year_end=svc.settings.academic_year_end)
    return await _show(update, context, pupil_id, card, reason)


async def _show(update: Update, context: Context, pupil_id: int, card: PupilCard | None,
                reason: str) -> bool:
    """Audit a card read for `pupil_id` (None: not this person's to see), then send it."""
    officer = context.officer
    svc = context.services
    # Shown only once its audit entry is committed.
    await svc.audit_trail.append(view_entry(officer, "pupil_card", pupil_id,
                                             None if card is None else card.access, reason))
    if card is None:
        await answer(update, NOT_FOUND)
        return False
    settings = svc.settings
    text = card_text(card, pa_threshold=settings.pa_threshold,
                     sa_threshold=settings.sa_threshold)
    markup = keyboard(card_buttons(card, officer, svc.clock.now()))
    await _send(update, text, markup)
    return True


def card_text(card: PupilCard, *, pa_threshold: int, sa_threshold: int) -> str:
    """The card as plain text: short lines, figures as ATTENDANCE.md shows them."""
    pupil = card.summary
    lines = []
    if card.access == pupil_store.SUPERVISION:
        lines.append(READ_ONLY.format(ref=pupil.officer_ref))
    lines += [
        f"{pupil.name} ({pupil.case_ref})",
        f"{pupil.school_name}, {year_label(pupil.year_group)}",
        f"Attendance this year: {_figure(card.year)}",
        f"Last four weeks: {_figure(card.recent)}",
        f"Lates this year: L {card.year.lates_l}, U {card.year.lates_u}",
        f"Flags: {_flags(card.rules_holding(pa_threshold, sa_threshold))}",
        f"SEN: {_yes_no(card.sen)} · Health needs: {_yes_no(card.health)}",
    ]
    if card.statement:
        lines.append(STATEMENT_ON_FILE)
    if card.visits:
        lines.append("Last visits:")
        lines += [f"• {_visit_line(visit)}" for visit in card.visits]
    else:
        lines.append("Last visits: none")
    lines.append(f"Next follow-up: {day(card.next_follow_up) if card.next_follow_up else 'none'}")
    return "\n".join(lines)


def card_buttons(card: PupilCard, officer: Officer,
                 now: datetime) -> list[list[tuple[str, str]]]:
    """Details and the case for anyone who may see the card; visits only on the
    officer's own pupils."""
    pupil_id = card.summary.id
    rows = [[(DETAILS_BUTTON, f"det:{pupil_id}"), (CASE_BUTTON_LABEL, f"case:{pupil_id}")]]
    if card.access == pupil_store.OWN:
        rows.append([(VISIT_BUTTON, f"v:new:{pupil_id}")])
        # Correct is offered to a visit's author for a while after it was saved.
        rows += [[(CORRECT_BUTTON.format(date=day(visit.visit_date)), f"vc:{visit.id}")]
                 for visit in card.visits if visit.officer_id == officer.id
                 and correctable(datetime.fromisoformat(visit.saved_at), now)]
    return rows


def year_label(year_group: str) -> str:
    names = {"N1": "Nursery 1", "N2": "Nursery 2", "R": "Reception"}
    return names.get(year_group, f"Year {year_group}")


def _figure(tally: Tally) -> str:
    if not tally.possible:
        return "n/a"
    return f"{tally.attendance_percent_text} ({tally.attended} of {tally.possible} sessions)"


def _flags(rules: frozenset[Rule]) -> str:
    # Bands are nested: the deepest band reached is the one named.
    shown = [rule for rule in Rule if rule in rules
             and not (rule is Rule.PERSISTENT and Rule.SEVERE in rules)]
    return ", ".join(RULE_LABELS[rule] for rule in shown) if shown else "none"


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _visit_line(visit: pupil_store.VisitLine) -> str:
    parts = [day(visit.visit_date), _label(VISIT_TYPES, visit.type)]
    if visit.contact:
        parts.append(_label(CONTACT_OUTCOMES, visit.contact))
    return f"{' — '.join(parts)} ({visit.officer_ref})"


def _label(vocabulary: tuple[tuple[str, str], ...], code: str) -> str:
    try:
        return label_of(vocabulary, code)
    except KeyError:
        return code


# --- details ---------------------------------------------------------------------------------


async def details_button(update: Update, context: Context) -> None:
    """`det:<pupil_id>` — contacts, SEN and health details; deleted from the chat later."""
    parts = button_data(update)
    pupil_id = parse_id(parts[1]) if len(parts) == 2 else None
    if pupil_id is None:
        await answer(update, STALE_BUTTON)
        return
    officer = context.officer
    svc = context.services
    details = await pupil_cases.read_details(svc.db, officer, pupil_id, via=CARD_BUTTON)
    if details is None or update.effective_chat is None:
        await answer(update, NOT_FOUND)
        return
    text = details_text(details, svc.settings.sensitive_message_minutes)
    await send_sensitive(context, update.effective_chat.id, text)
    await ack(update)


def details_text(details: PupilDetails, minutes: int) -> str:
    lines = [f"{details.name} ({details.case_ref}) — contacts and needs"]
    home = ", ".join(part for part in (details.address, details.postcode) if part)
    lines.append(f"Home: {home or 'not held'}")
    lines.append(f"SEN: {SEN_LABELS.get(details.sen, details.sen)}")
    lines.append(f"Health needs: {details.health_needs or 'none recorded'}")
    lines.append("")
    if not details.contacts:
        lines.append("Contacts: none held")
    else:
        lines.append("Contacts:")
    for number, contact in enumerate(details.contacts, 1):
        responsibility = (", parental responsibility"
                          if contact.parental_responsibility else "")
        lines.append(f"{number}. {contact.name} — {contact.relationship}{responsibility}")
        lines += [f"   {label}: {value}" for label, value in (
            ("Phone", contact.phone), ("Email", contact.email), ("Address", contact.address))
            if value]
    if minutes:
        lines += ["", DELETED_AFTER.format(minutes=minutes)]
    return "\n".join(lines)


# --- replies ---------------------------------------------------------------------------------


async def _send(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    """A new message in the chat (a pressed button keeps its own message)."""
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(text, reply_markup=markup)
    await ack(update)


