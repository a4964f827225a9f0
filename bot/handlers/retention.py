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
from bot.domain.retention import HOLD_REASONS, PAST, review_date_problem
from bot.domain.text import noun_for
from bot.handlers.common import (
    STALE_BUTTON,
    Context,
    answer,
    button_data,
    current_officer,
    keyboard,
    parse_id,
    refuse,
    services,
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

TITLE = "Retention on {day}: {past} past due, {coming} coming due, {held} on hold."
SCHOOL_LINE = "{school}: {past} past due, {coming} coming due, {held} on hold"
MORE_SCHOOLS = "…and {count} more {schools}."
SCHOOL = "school"
NOTHING_DUE = "No records are coming due or past due."
PAGE_HEAD = "Records {first}–{last} of {total}, earliest deadline first:"
RECORD = ("{ref} · {school} · deadline {deadline} ({stage}) · last intervention {last} · "
          "{allocated} · latest mark {mark}{hold}")
STAGES = {PAST: "past due", "coming": "coming due"}
NO_INTERVENTION = "none"
NO_MARK = "none"
ALLOCATED, NOT_ALLOCATED = "allocated", "not allocated"
ON_HOLD = " · on hold until {day}"
HOLD_BUTTON = "Hold {ref}"
DISPOSE_BUTTON = "Dispose {ref}"
DISPOSE_ALL = "Dispose all {count} past due"
DISPOSE_THE_ONE = "Dispose the 1 past due"  # never "all 1"
RELEASE_BUTTON = "Release hold {ref}"
PREVIOUS, NEXT = "◀ Previous", "Next ▶"

HOLD_REASON_LABELS = {
    "legal": "Legal proceedings",
    "safeguarding": "Safeguarding enquiry",
    "complaint": "Complaint or appeal",
    "subject_access": "Subject-access request",
    "other": "Other reason on file",
}
ASK_REASON = "Hold {ref}: why is it kept past its deadline?"
ASK_REVIEW = ("Hold {ref} ({reason}): type the review date as DD/MM/YYYY. "
              "No reminders about it until then. /cancel to stop.")
REVIEW_HINT = "Type the review date as DD/MM/YYYY, {problem}."
REVIEW_FORMAT = "a date such as 31/03/2027"
CHOOSE_REASON = "Choose a reason with the buttons above, or send /cancel."
HELD = "{ref} is on hold until {day} ({reason}). No reminders about it until then."
HOLD_CANCELLED = "No hold was placed."
CANCEL = "Cancel"

CONFIRM_ONE = ("Dispose of {ref} ({school}, deadline {deadline})? Everything held about this "
               "pupil is removed for good; the audit trail keeps only that it was done.")
CONFIRM_ALL = ("Dispose of all {count} past-due records not on hold? Everything held about "
               "these pupils is removed for good.")
CONFIRM_THE_ONE = ("Dispose of the 1 past-due record not on hold? Everything held about this "
                   "pupil is removed for good.")
YES_ONE = "Yes, dispose"
YES_ALL = "Yes, dispose of {count}"
KEEP = "No, keep"
DISPOSED = "{ref} has been disposed of."
DISPOSED_ALL = "{count} records have been disposed of."
DISPOSED_THE_ONE = "1 record has been disposed of."
KEPT = "Nothing was disposed of."
CHANGED = "The past-due list has changed since you asked. Send /retention to look again."
CANNOT_DISPOSE = ("That record cannot be disposed of now: it is not past due, it is on hold, "
                  "or it is gone.")
CANNOT_HOLD = "That record is not coming due or past due, or it is gone."
RELEASED = ("The hold on {ref} is released: it is {stage} again and reminders resume. "
            "Send /retention to see it.")
CANNOT_RELEASE = "That record is not on hold, or it is gone."
CLEAN_UP_WAITING = (" The database files could not be cleaned straight away; this is retried "
                    "every minute until done.")


RETENTION_REVIEW = "retention_review"  # the audit reason of a page of records


# --- reading -----------------------------------------------------------------------------


def _policy(context: Context) -> retention_store.RetentionPolicy:
    svc = services(context)
    return retention_store.policy_for(svc.settings, svc.clock.now())


def overview_text(counts: Sequence[SchoolCount], records: Sequence[DueRecord], *, total: int,
                  page: int, today: date) -> str:
    """The counts by school, then one page of records: references and dates only.

    The page is edited in place, so it must stay one message: school lines that would
    pass Telegram's limit are counted in "…and N more schools" instead."""
    title = TITLE.format(day=day(today), past=sum(c.past_due for c in counts),
                         coming=sum(c.coming_due for c in counts),
                         held=sum(c.held for c in counts))
    tail = ["", NOTHING_DUE]
    if total:
        first = page * PER_PAGE + 1
        tail = ["", PAGE_HEAD.format(first=first, last=first + len(records) - 1, total=total),
                *(_record_line(record) for record in records)]
    room = MESSAGE_LIMIT - text_length("\n".join([title, MORE_SCHOOLS, *tail]))
    schools: list[str] = []
    for count in counts[:MAX_SCHOOL_LINES]:
        line = SCHOOL_LINE.format(school=clipped(count.school_name, SCHOOL_NAME_MAX),
                                  past=count.past_due, coming=count.coming_due, held=count.held)
        room -= text_length(line) + 1
        if room < 0:
            break
        schools.append(line)
    if len(counts) > len(schools):
        more = len(counts) - len(schools)
        schools.append(MORE_SCHOOLS.format(count=more, schools=noun_for(more, SCHOOL)))
    return "\n".join([title, *schools, *tail])


def _record_line(record: DueRecord) -> str:
    return RECORD.format(
        ref=record.case_ref, school=clipped(record.school_name, SCHOOL_NAME_MAX),
        deadline=day(record.deadline),
        stage=STAGES[record.stage],
        last=day(record.last_intervention) if record.last_intervention else NO_INTERVENTION,
        allocated=ALLOCATED if record.allocated else NOT_ALLOCATED,
        mark=day(record.latest_mark) if record.latest_mark else NO_MARK,
        hold=ON_HOLD.format(day=day(record.hold_review)) if record.held and record.hold_review
        else "")


def overview_keyboard(records: Sequence[DueRecord], *, page: int, total: int,
                      disposable: int) -> InlineKeyboardMarkup | None:
    rows: list[list[tuple[str, str]]] = []
    for record in records:
        row = [(HOLD_BUTTON.format(ref=record.case_ref), f"{PREFIX}:hold:{record.pupil_id}")]
        if record.held:
            row.append((RELEASE_BUTTON.format(ref=record.case_ref),
                        f"{PREFIX}:rel:{record.pupil_id}"))
        if record.disposable:
            row.append((DISPOSE_BUTTON.format(ref=record.case_ref),
                        f"{PREFIX}:dis:{record.pupil_id}"))
        rows.append(row)
    paging = []
    if page > 0:
        paging.append((PREVIOUS, f"{PREFIX}:pg:{page - 1}"))
    if (page + 1) * PER_PAGE < total:
        paging.append((NEXT, f"{PREFIX}:pg:{page + 1}"))
    if paging:
        rows.append(paging)
    if disposable:
        label = DISPOSE_THE_ONE if disposable == 1 else DISPOSE_ALL.format(count=disposable)
        rows.append([(label, f"{PREFIX}:all")])
    return keyboard(rows) if rows else None


async def _overview(context: Context, officer: Officer,
                    page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    svc = services(context)
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
    text, markup = await _overview(context, current_officer(context), 0)
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
    text, markup = await _overview(context, current_officer(context), 0)
    await ack(update)
    await _send(update, context, text, markup)


async def _page(update: Update, context: Context, args: Sequence[str]) -> None:
    page = parse_id(args[0])
    if page is None:
        await answer(update, STALE_BUTTON)
        return
    text, markup = await _overview(context, current_officer(context), page)
    await ack(update)
    await edit(update, text, markup)


# --- Dispose ----------------------------------------------------------------------------------


async def _record(context: Context, raw_id: str) -> DueRecord | None:
    pupil_id = parse_id(raw_id)
    if pupil_id is None:
        return None
    return await services(context).db.read(retention_store.due_record, current_officer(context),
                                           _policy(context), pupil_id)


async def _ask_dispose(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:dis:<id>`: one confirmation before anything is removed."""
    record = await _record(context, args[0])
    if record is None or not record.disposable:
        await _refuse_dispose(update, context, args[0])
        return
    await ack(update)
    await _send(update, context,
                CONFIRM_ONE.format(ref=record.case_ref, school=record.school_name,
                                   deadline=day(record.deadline)),
                keyboard([[(YES_ONE, f"{PREFIX}:dok:{record.pupil_id}"),
                           (KEEP, f"{PREFIX}:x")]]))


async def _dispose_one(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:dok:<id>`: dispose, re-checking inside the transaction that it may be."""
    svc = services(context)
    officer = current_officer(context)
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
    await edit(update, DISPOSED.format(ref=record.case_ref) + ("" if disposal.cleaned
                                                                 else CLEAN_UP_WAITING))


async def _ask_dispose_all(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:all`: one confirmation, bound to the exact list it was asked about."""
    ids = await services(context).db.read(retention_store.disposable_ids, current_officer(context),
                                          _policy(context))
    if not ids:
        await _refuse_dispose(update, context, None)
        return
    await ack(update)
    await _send(update, context,
                CONFIRM_THE_ONE if len(ids) == 1 else CONFIRM_ALL.format(count=len(ids)),
                keyboard([[(YES_ALL.format(count=len(ids)),
                            f"{PREFIX}:aok:{len(ids)}:{fingerprint(ids)}"),
                           (KEEP, f"{PREFIX}:x")]]))


def fingerprint(pupil_ids: Sequence[int]) -> str:
    """A short digest of the list a confirmation was given for."""
    text = ",".join(str(pupil_id) for pupil_id in sorted(pupil_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


async def _dispose_all(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:aok:<count>:<fingerprint>`: only the very list that was confirmed."""
    svc = services(context)
    officer = current_officer(context)
    policy = _policy(context)
    ids = await svc.db.read(retention_store.disposable_ids, officer, policy)
    if not ids or args[0] != str(len(ids)) or args[1] != fingerprint(ids):
        await ack(update)
        await edit(update, CHANGED)
        return
    disposal = await retention_cases.dispose_records(
        svc.db, officer, policy, ids, now=svc.clock.now(), export_dir=svc.settings.export_dir)
    await ack(update)
    disposed = disposal.disposed
    done = DISPOSED_THE_ONE if disposed == 1 else DISPOSED_ALL.format(count=disposed)
    await edit(update, done + ("" if disposal.cleaned else CLEAN_UP_WAITING))


async def _keep(update: Update, context: Context, args: Sequence[str]) -> None:
    await ack(update)
    await edit(update, KEPT)


async def _refuse_dispose(update: Update, context: Context, raw_id: str | None) -> None:
    pupil_id = parse_id(raw_id) if raw_id is not None else None
    await refuse(update, context, current_officer(context), reason="not_disposable",
                 target=f"pupil:{pupil_id}" if pupil_id is not None else None,
                 text=CANNOT_DISPOSE)


# --- Hold ----------------------------------------------------------------------------------


async def _start_hold(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:hold:<id>`: open the hold conversation, asking for a reason."""
    svc = services(context)
    officer = current_officer(context)
    record = await _record(context, args[0])
    if record is None:
        await refuse(update, context, officer, reason="not_due", text=CANNOT_HOLD,
                     target=f"pupil:{parse_id(args[0])}" if parse_id(args[0]) else None)
        return
    now = svc.clock.now()
    talk = await svc.db.write(conversations.start, officer.id, kind=KIND, step="reason", now=now,
                              pupil_id=record.pupil_id,
                              expires_at=now + timedelta(hours=svc.settings.session_max_hours),
                              data={"ref": record.case_ref})
    await ack(update)
    rows = [[(HOLD_REASON_LABELS[code], f"{PREFIX}:hr:{talk.token}:{code}")]
            for code in HOLD_REASONS]
    message = await _send(update, context, ASK_REASON.format(ref=record.case_ref),
                          keyboard([*rows, [(CANCEL, f"{PREFIX}:hx:{talk.token}")]]))
    await svc.db.write(conversations.advance, talk, step="reason", now=now, message_id=message)


async def _current_hold(context: Context, token: str) -> Conversation | None:
    svc = services(context)
    talk = await svc.db.read(conversations.current, current_officer(context).id, svc.clock.now())
    if talk is None or talk.kind != KIND or talk.token != token:
        return None
    return talk


async def _hold_reason(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:hr:<token>:<code>`: the reason chosen; now the review date."""
    svc = services(context)
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
    await edit(update, ASK_REVIEW.format(ref=talk.data.get("ref", ""),
                                          reason=HOLD_REASON_LABELS[args[1]]),
                keyboard([[(CANCEL, f"{PREFIX}:hx:{talk.token}")]]))


async def _hold_cancel(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:hx:<token>`: leave the hold conversation."""
    svc = services(context)
    talk = await _current_hold(context, args[0])
    if talk is None:
        await answer(update, STALE_BUTTON)
        return
    await svc.db.write(conversations.end, talk.officer_id, talk.token)
    await ack(update)
    await edit(update, HOLD_CANCELLED)


async def on_text(update: Update, context: Context, talk: Conversation) -> None:
    """The typed review date of a hold; re-authorised as the hold is written."""
    svc = services(context)
    officer = current_officer(context)
    message = update.effective_message
    typed = message.text if message is not None and message.text else ""
    if talk.step != "review":
        await answer(update, CHOOSE_REASON)
        return
    policy = _policy(context)
    try:
        review = parse_chat_date(typed, policy.today)
    except ValueError:
        await answer(update, REVIEW_HINT.format(problem=REVIEW_FORMAT))
        return
    problem = review_date_problem(review, policy.today)
    if problem is not None:
        await answer(update, REVIEW_HINT.format(problem=problem))
        return
    reason = str(talk.data.get("reason"))
    record = await retention_cases.hold(svc.db, officer, policy, talk, review=review,
                                        now=svc.clock.now())
    await _drop_keyboard(update, context, talk.message_id)
    if record is None:
        await refuse(update, context, officer, reason="not_due", text=CANNOT_HOLD,
                     target=f"pupil:{talk.pupil_id}" if talk.pupil_id else None)
        return
    await answer(update, HELD.format(ref=record.case_ref, day=day(review),
                                     reason=HOLD_REASON_LABELS[reason]))


async def _release(update: Update, context: Context, args: Sequence[str]) -> None:
    """`ret:rel:<id>`: lift a hold (nothing is removed, so no confirmation is asked);
    re-authorised and audited as the hold row is deleted."""
    svc = services(context)
    officer = current_officer(context)
    pupil_id = parse_id(args[0])
    record = None
    if pupil_id is not None:
        record = await retention_cases.release_hold(svc.db, officer, _policy(context),
                                                    pupil_id, now=svc.clock.now())
    if record is None:
        await refuse(update, context, officer, reason="not_held", text=CANNOT_RELEASE,
                     target=f"pupil:{pupil_id}" if pupil_id is not None else None)
        return
    await ack(update)
    await _send(update, context, RELEASED.format(ref=record.case_ref,
                                                 stage=STAGES[record.stage]), None)


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
