"""/retention for controllers: records coming due and past due, Hold, Release hold and Dispose.

Controllers see case references, schools and dates, never names. Buttons (`ret:…`)
are untrusted: every press is re-authorised by the storage query it leads to (an
active controller; for Dispose, a record still past due and not on hold), and a
refused press is audited. Each Dispose, and "Dispose all", asks for one
confirmation; disposal is followed by a scrub of the database files (rebuilt, then
checkpointed) so nothing is recoverable.

    /retention, ret:open ──> overview + page ──ret:pg:<n>──> another page
       ├─ ret:hold:<id> ──> reason buttons (ret:hr:<token>:<code>) ──> typed review date ──> held
       ├─ ret:rel:<id> ──> hold released (a held record only)
       ├─ ret:dis:<id> ──> confirm (ret:dok:<id> | ret:x) ──> disposed
       └─ ret:all ──> confirm (ret:aok:<count>:<fingerprint> | ret:x) ──> all disposed
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from datetime import date, timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.chat.render import ack, day, edit
from bot.domain.conversation_kinds import ConversationKind
from bot.domain.dates import parse_chat_date
from bot.domain.message_parts import MESSAGE_LIMIT, clipped, text_length
from bot.domain.retention import HOLD_REASONS, review_date_problem
from bot.domain.text import noun_for
from bot.handlers import retention_texts as texts
from bot.handlers.common import (
    STALE_BUTTON,
    Context,
    answer,
    button_data,
    keyboard,
    parse_id,
    refuse,
)
from bot.storage import audit, conversations
from bot.storage import retention as retention_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.retention import DueRecord, SchoolCount
from bot.usecases import retention as retention_cases

PREFIX = "ret"
KIND = ConversationKind.HOLD
PER_PAGE = 5
MAX_SCHOOL_LINES = 30
SCHOOL_NAME_MAX = 60  # characters of a school's name on a line of the overview

RETENTION_REVIEW = "retention_review"  # the audit reason of a page of records


# --- reading -----------------------------------------------------------------------------


def _policy(context: Context) -> retention_store.RetentionPolicy:
    svc = context.services
    return retention_store.policy_for(svc.settings, svc.clock.now())


def overview_text(counts: Sequence[SchoolCount], records: Sequence[DueRecord], *, total: int,
                  page: int, today: date) -> str:
    """The counts by school, then one page of records: references and dates only.

    The page is edited in place, so it must stay one message: school lines that would
    pass Telegram's limit are counted in "…and N more schools" instead."""
    title = texts.TITLE.format(day=day(today), past=sum(c.past_due for c in counts),
                         coming=sum(c.coming_due for c in counts),
                         held=sum(c.held for c in counts))
    tail = ["", texts.NOTHING_DUE]
    if total:
        first = page * PER_PAGE + 1
        tail = ["", texts.PAGE_HEAD.format(first=first, last=first + len(records) - 1, total=total),
                *(_record_line(record) for record in records)]
    room = MESSAGE_LIMIT - text_length("\n".join([title, texts.MORE_SCHOOLS, *tail]))
    schools: list[str] = []
    for count in counts[:MAX_SCHOOL_LINES]:
        line = texts.SCHOOL_LINE.format(school=clipped(count.school_name, SCHOOL_NAME_MAX),
                                  past=count.past_due, coming=count.coming_due, held=count.held)
        room -= text_length(line) + 1
        if room < 0:
            break
        schools.append(line)
    if len(counts) > len(schools):
        more = len(counts) - len(schools)
        schools.append(texts.MORE_SCHOOLS.format(count=more, schools=noun_for(more, texts.SCHOOL)))
    return "\n".join([title, *schools, *tail])


def _record_line(record: DueRecord) -> str:
    return texts.RECORD.format(
        ref=record.case_ref, school=clipped(record.school_name, SCHOOL_NAME_MAX),
        deadline=day(record.deadline),
        stage=texts.STAGES[record.stage],
        last=day(record.last_intervention) if record.last_intervention else texts.NO_INTERVENTION,
        allocated=texts.ALLOCATED if record.allocated else texts.NOT_ALLOCATED,
        mark=day(record.latest_mark) if record.latest_mark else texts.NO_MARK,
        hold=texts.ON_HOLD.format(day=day(record.hold_review)) if record.held and record.hold_review
        else "")


def overview_keyboard(records: Sequence[DueRecord], *, page: int, total: int,
                      disposable: int) -> InlineKeyboardMarkup | None:
    rows: list[list[tuple[str, str]]] = []
    for record in records:
        row = [(texts.HOLD_BUTTON.format(ref=record.case_ref), f"{PREFIX}:hold:{record.pupil_id}")]
        if record.held:
            row.append((texts.RELEASE_BUTTON.format(ref=record.case_ref),
                        f"{PREFIX}:rel:{record.pupil_id}"))
        if record.disposable:
            row.append((texts.DISPOSE_BUTTON.format(ref=record.case_ref),
                        f"{PREFIX}:dis:{record.pupil_id}"))
        rows.append(row)
    paging = []
    if page > 0:
        paging.append((texts.PREVIOUS, f"{PREFIX}:pg:{page - 1}"))
    if (page + 1) * PER_PAGE < total:
        paging.append((texts.NEXT, f"{PREFIX}:pg:{page + 1}"))
    if paging:
        rows.append(paging)
    if disposable:
        label = (texts.DISPOSE_THE_ONE if disposable == 1
                 else texts.DISPOSE_ALL.format(count=disposable))
        rows.append([(label, f"{PREFIX}:all")])
    return keyboard(rows) if rows else None


async def _overview(context: Context, officer: Officer,
                    page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    svc = context.services
    policy = _policy(context)
    async def _snapshot(conn: Conn):
        nonlocal page
        counts = await retention_store.school_counts(conn, policy)
        records, total = await retention_store.due_records(
            conn, officer, policy, offset=page * PER_PAGE, limit=PER_PAGE)
        if not records and page > 0:  # the list shrank: show its last page
            page = max((total - 1) // PER_PAGE, 0)
            records, total = await retention_store.due_records(
                conn, officer, policy, offset=page * PER_PAGE, limit=PER_PAGE)
        disposable = len(await retention_store.disposable_ids(conn, officer, policy))
        return counts, disposable, records, total
    counts, disposable, records, total = await svc.db.read(_snapshot)
    if records:  # a list of records (by case reference) is audited like any list of pupils
        await svc.audit_trail.append(audit.listing(
            actor=officer.actor, reason=RETENTION_REVIEW,
            pupil_ids=[record.pupil_id for record in records], detail={"page": page}))
    text = overview_text(counts, records, total=total, page=page, today=policy.today)
    return text, overview_keyboard(records, page=page, total=total, disposable=disposable)


# --- /retention and its pages --------------------------------------------------------------


async def retention_command(update: Update, context: Context) -> None:
    """/retention — counts by school and the first page of records."""
    text, markup = await _overview(context, context.officer, 0)
    await answer(update, text, markup=markup)


async def on_button(update: Update, context: Context) -> None:
    """Every `ret:` press, decoded here and re-authorised by the action it leads to."""
    parts = button_data(update)
    action = parts[1] if len(parts) > 1 else ""
    handler = _BUTTONS.get((action, len(parts)))
    if handler is None:
        await answer(update, STALE_BUTTON)
        return
    await handler(update, context, parts[2:])


async def _open(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:open`, the reminder's button: the overview as a new message."""
    text, markup = await _overview(context, context.officer, 0)
    await ack(update)
    await _send(update, context, text, markup)


async def _page(update: Update, context: Context, args: Sequence[str]) -> None:
    page = parse_id(args[0])
    if page is None:
        await answer(update, STALE_BUTTON)
        return
    text, markup = await _overview(context, context.officer, page)
    await ack(update)
    await edit(update, text, markup)


# --- Dispose ----------------------------------------------------------------------------------


async def _record(context: Context, raw_id: str) -> DueRecord | None:
    pupil_id = parse_id(raw_id)
    if pupil_id is None:
        return None
    return await context.services.db.read(retention_store.due_record, context.officer,
                                           _policy(context), pupil_id)


async def _ask_dispose(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:dis:<id>`: one confirmation before anything is removed."""
    record = await _record(context, args[0])
    if record is None or not record.disposable:
        await _refuse_dispose(update, context, args[0])
        return
    await ack(update)
    await _send(update, context,
                texts.CONFIRM_ONE.format(ref=record.case_ref, school=record.school_name,
                                   deadline=day(record.deadline)),
                keyboard([[(texts.YES_ONE, f"{PREFIX}:dok:{record.pupil_id}"),
                           (texts.KEEP, f"{PREFIX}:x")]]))


async def _dispose_one(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:dok:<id>`: dispose, re-checking inside the transaction that it may be."""
    svc = context.services
    officer = context.officer
    pupil_id = parse_id(args[0])
    record = await _record(context, args[0])
    disposal = None
    if pupil_id is not None and record is not None:
        disposal = await retention_cases.dispose_record(
            svc.db, officer, _policy(context), pupil_id, now=svc.clock.now(),
            export_dir=svc.settings.export_dir)
    if disposal is None or not disposal.disposed or record is None:
        await _refuse_dispose(update, context, args[0])
        return
    await ack(update)
    await edit(update, texts.DISPOSED.format(ref=record.case_ref) + ("" if disposal.cleaned
                                                                 else texts.CLEAN_UP_WAITING))


async def _ask_dispose_all(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:all`: one confirmation, bound to the exact list it was asked about."""
    ids = await context.services.db.read(retention_store.disposable_ids, context.officer,
                                          _policy(context))
    if not ids:
        await _refuse_dispose(update, context, None)
        return
    await ack(update)
    await _send(update, context,
                texts.CONFIRM_THE_ONE if len(ids) == 1
                else texts.CONFIRM_ALL.format(count=len(ids)),
                keyboard([[(texts.YES_ALL.format(count=len(ids)),
                            f"{PREFIX}:aok:{len(ids)}:{fingerprint(ids)}"),
                           (texts.KEEP, f"{PREFIX}:x")]]))


def fingerprint(pupil_ids: Sequence[int]) -> str:
    """A short digest of the list a confirmation was given for."""
    text = ",".join(str(pupil_id) for pupil_id in sorted(pupil_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _dispose_all(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:aok:<count>:<fingerprint>`: only the very list that was confirmed."""
    svc = context.services
    officer = context.officer
    policy = _policy(context)
    ids = await svc.db.read(retention_store.disposable_ids, officer, policy)
    if not ids or args[0] != str(len(ids)) or args[1] != fingerprint(ids):
        await ack(update)
        await edit(update, texts.CHANGED)
        return
    disposal = await retention_cases.dispose_records(
        svc.db, officer, policy, ids, now=svc.clock.now(), export_dir=svc.settings.export_dir)
    await ack(update)
    disposed = disposal.disposed
    done = texts.DISPOSED_THE_ONE if disposed == 1 else texts.DISPOSED_ALL.format(count=disposed)
    await edit(update, done + ("" if disposal.cleaned else texts.CLEAN_UP_WAITING))


async def _keep(update: Update, context: Context, args: Sequence[str]) -> None:
    await ack(update)
    await edit(update, texts.KEPT)


async def _refuse_dispose(update: Update, context: Context, raw_id: str | None) -> None:
    pupil_id = parse_id(raw_id) if raw_id is not None else None
    await refuse(update, context, context.officer, reason="not_disposable",
                 target=f"pupil:{pupil_id}" if pupil_id is not None else None,
                 text=texts.CANNOT_DISPOSE)


# --- Hold ----------------------------------------------------------------------------------


async def _start_hold(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:hold:<id>`: open the hold conversation, asking for a reason."""
    svc = context.services
    officer = context.officer
    record = await _record(context, args[0])
    if record is None:
        await refuse(update, context, officer, reason="not_due", text=texts.CANNOT_HOLD,
                     target=f"pupil:{parse_id(args[0])}" if parse_id(args[0]) else None)
        return
    now = svc.clock.now()
    talk = await svc.db.write(conversations.start, officer.id, kind=KIND, step="reason", now=now,
                              pupil_id=record.pupil_id,
                              expires_at=now + timedelta(hours=svc.settings.session_max_hours),
                              data={"ref": record.case_ref})
    await ack(update)
    rows = [[(texts.HOLD_REASON_LABELS[code], f"{PREFIX}:hr:{talk.token}:{code}")]
            for code in HOLD_REASONS]
    message = await _send(update, context, texts.ASK_REASON.format(ref=record.case_ref),
                          keyboard([*rows, [(texts.CANCEL, f"{PREFIX}:hx:{talk.token}")]]))
    await svc.db.write(conversations.advance, talk, step="reason", now=now, message_id=message)


async def _current_hold(context: Context, token: str) -> Conversation | None:
    talk = await context.open_conversation()  # the write that moves it checks it again
    if talk is None or talk.kind != KIND or talk.token != token:
        return None
    return talk


async def _hold_reason(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:hr:<token>:<code>`: the reason chosen; now the review date."""
    svc = context.services
    talk = await _current_hold(context, args[0])
    if talk is None or talk.step != "reason" or args[1] not in HOLD_REASONS:
        await answer(update, STALE_BUTTON)
        return
    moved = await svc.db.write(conversations.advance, talk, step="review", now=svc.clock.now(),
                               data={**talk.data, "reason": args[1]})
    if moved is None:
        await answer(update, STALE_BUTTON)
        return
    await ack(update)
    await edit(update, texts.ASK_REVIEW.format(ref=talk.data.get("ref", ""),
                                          reason=texts.HOLD_REASON_LABELS[args[1]]),
                keyboard([[(texts.CANCEL, f"{PREFIX}:hx:{talk.token}")]]))


async def _hold_cancel(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:hx:<token>`: leave the hold conversation."""
    svc = context.services
    talk = await _current_hold(context, args[0])
    if talk is None:
        await answer(update, STALE_BUTTON)
        return
    await svc.db.write(conversations.end, talk.officer_id, talk.token)
    await ack(update)
    await edit(update, texts.HOLD_CANCELLED)


async def on_text(update: Update, context: Context, talk: Conversation) -> None:
    """The typed review date of a hold; re-authorised as the hold is written."""
    svc = context.services
    officer = context.officer
    message = update.effective_message
    typed = message.text if message is not None and message.text else ""
    if talk.step != "review":
        await answer(update, texts.CHOOSE_REASON)
        return
    policy = _policy(context)
    try:
        review = parse_chat_date(typed, policy.today)
    except ValueError:
        await answer(update, texts.REVIEW_HINT.format(problem=texts.REVIEW_FORMAT))
        return
    problem = review_date_problem(review, policy.today)
    if problem is not None:
        no_year = typed.count("/") == 1 and review <= policy.today  # read as this year
        await answer(update, texts.REVIEW_NEXT_YEAR if no_year
                     else texts.REVIEW_HINT.format(problem=problem))
        return
    reason = str(talk.data.get("reason"))
    record = await retention_cases.hold(svc.db, officer, policy, talk, review=review,
                                        now=svc.clock.now())
    await _drop_keyboard(update, context, talk.message_id)
    if record is None:
        await refuse(update, context, officer, reason="not_due", text=texts.CANNOT_HOLD,
                     target=f"pupil:{talk.pupil_id}" if talk.pupil_id else None)
        return
    await answer(update, texts.HELD.format(ref=record.case_ref, day=day(review),
                                     reason=texts.HOLD_REASON_LABELS[reason]))


async def _release(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:rel:<id>`: lift a hold (nothing is removed, so no confirmation is asked);
    re-authorised and audited as the hold row is deleted."""
    svc = context.services
    officer = context.officer
    pupil_id = parse_id(args[0])
    record = None
    if pupil_id is not None:
        record = await retention_cases.release_hold(svc.db, officer, _policy(context),
                                                    pupil_id, now=svc.clock.now())
    if record is None:
        await refuse(update, context, officer, reason="not_held", text=texts.CANNOT_RELEASE,
                     target=f"pupil:{pupil_id}" if pupil_id is not None else None)
        return
    await ack(update)
    await _send(update, context, texts.RELEASED.format(ref=record.case_ref,
                                                 stage=texts.STAGES[record.stage]), None)


# --- chat plumbing -------------------------------------------------------------------------


async def _send(update: Update, context: Context, text: str,
                markup: InlineKeyboardMarkup | None) -> int:
    assert update.effective_chat is not None
    message = await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)
    return message.message_id


async def _drop_keyboard(update: Update, context: Context, message_id: int | None) -> None:
    if message_id is None or update.effective_chat is None:
        return
    with contextlib.suppress(TelegramError):
        await context.bot.edit_message_reply_markup(update.effective_chat.id, message_id,
                                                    reply_markup=None)


_BUTTONS = {
    ("open", 2): _open,
    ("pg", 3): _page,
    ("dis", 3): _ask_dispose,
    ("dok", 3): _dispose_one,
    ("all", 2): _ask_dispose_all,
    ("aok", 4): _dispose_all,
    ("x", 2): _keep,
    ("hold", 3): _start_hold,
    ("hr", 4): _hold_reason,
    ("hx", 3): _hold_cancel,
    ("rel", 3): _release,
}
