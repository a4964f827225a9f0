"""Draft-backed conversations: the parts every step-by-step flow shares (/visit, /step,
/share).

A flow is one `Flow` row (its conversation kind, its callback prefix, what a stale
press is told, what its start says) plus its own screens and steps. What this module
gives every flow:

- the draft is a `conversations` row written at every step (`start`, `move`), so a
  crash, a restart or a PIN lock resumes it where it was, and /cancel (which ends any
  conversation) saves nothing;
- buttons carry the draft's token and step, `<prefix>:<token>:<step>:<choice>`
  (`Flow.data`); `Flow.refusal` refuses a press from an earlier step or an ended draft;
- `show` edits the pressed message or sends a new one (through the sensitive-message
  path when the screen holds notes or details) and remembers which message shows the
  step; a list of pupils is audited before it shows;
- the summary's Save / Change / Cancel (`summary_rows`, `change_rows`, `on_summary`,
  and Change's own step where a flow has one, `on_change`);
- a draft ended when its pupil, read again at a step, is no longer the officer's
  (`ended_if_gone`);
- the question asked when a draft is open and another is started (`ask_to_resume`,
  `offered_to_resume`), and the reminder after a PIN that one is open
  (`remind_open_draft`);
- the command itself (`flow_command`: its look-up, `look_up`, of the open draft, the
  pupils typed and the officer's most in need; then the resume question, or a new
  draft about the one pupil typed, or the pupil step), given how the flow reads one
  pupil and how its draft starts, which is all that differs between flows; a start
  with no pupil to offer (`said_no_pupils`);
- a draft's pupil read again at every start (`open_draft`, `settled`), and a press
  checked before any step sees it (`pressed`);
- the pupil step: its screen (`choose_pupil`), a pupil pressed (`chosen_pupil`; one
  not the officer's refused alike everywhere, `refused_pupil`), a name typed there
  (`pupils_typed`, `offer_pupils`); and a typed answer read, its message deleted later
  at a step whose answer may name people (`typed_answer`);
- Correct under a saved entry: the open draft offered first (`correct_pressed`), and a
  correction refused and audited alike in every flow: not theirs, too late, already
  corrected (`correction_refusal`, `refused_correction`).

How to add a flow is in docs/ARCHITECTURE.md ("Step-by-step flows").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from telegram import InlineKeyboardMarkup, Update

from bot.chat import render as chat
from bot.chat.restriction import RESTRICTED_MARK
from bot.domain.corrections import correctable
from bot.handlers.common import (
    Context,
    answer,
    button_data,
    edit_sensitive,
    parse_id,
    refuse,
    schedule_typed,
    send_sensitive,
)
from bot.handlers.draft_texts import SEVERAL_MATCH
from bot.storage import audit, conversations
from bot.storage import pupils as pupil_store
from bot.storage import visits as visit_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, DatabaseBusy
from bot.storage.officers import Officer
from bot.storage.pupils import PupilSummary
from bot.storage.rights import RESTRICTED_REASON, Restricted
from bot.storage.visits import VisitPupil

log = logging.getLogger(__name__)

Rows = list[list[tuple[str, str]]]
Render = Callable[[Conversation], "Screen"]

# The summary's choices, and Change's way back to the summary.
SAVE, CHANGE, CANCEL, BACK = "save", "change", "cancel", "back"
MARK = "✓ "
PUPIL_BUTTONS = 10  # pupils offered as buttons at a flow's pupil step
# The resume question's step and buttons: carry on (`GO`), or discard the draft and then
# do what was asked (the flow's own choice: start anew, `NEW`; with one pupil, `p<id>`;
# correcting an entry, `c<id>`).
RESUME_STEP, GO, NEW = "resume", "go", "new"
LABEL_CONTINUE, LABEL_DISCARD = "Continue", "Discard"


@dataclass(frozen=True, slots=True)
class Screen:
    """One step as the chat shows it."""

    text: str
    markup: InlineKeyboardMarkup | None
    sensitive: bool = False  # summaries with notes and details: deleted later
    listed: tuple[int, ...] = ()  # pupils listed by name: audited as a list


@dataclass(frozen=True, slots=True)
class Flow:
    """What the shared parts need to know of one step-by-step flow."""

    kind: str  # the `conversations.kind` of its drafts
    prefix: str  # its callback-data prefix
    stale: str  # told on a press of an earlier step's or draft's button
    ended: str  # told on a press when none of its drafts is open
    listed_reason: str = ""  # audit reason of a screen that lists pupils
    side_steps: tuple[str, ...] = ()  # button steps valid beside the current one
    # What its start says (`flow_command`, `offered_to_resume`, `remind_open_draft`,
    # `said_no_pupils`):
    restricted: str = ""  # its open draft's record is now restricted: discarded
    resume: str = ""  # the resume question, about the open draft's pupil's {initials}
    no_match: str = ""  # above the pupil step when what was typed matched none
    choose_pupil: str = ""  # the pupil step's question (`choose_pupil`)
    no_pupils: str = ""  # the officer has no pupil to start a draft about
    not_allocated: str = ""  # a step's pupil is no longer theirs: the draft has ended
    draft_open: str = ""  # after a PIN: a draft about {initials} is still open
    draft_open_no_pupil: str = ""  # after a PIN, one with no pupil known (yet, or now)
    # A correction refused (`correction_refusal`): not theirs, too late, already done.
    cannot_correct: str = ""
    too_old: str = ""
    already_corrected: str = ""

    def data(self, talk: Conversation, step: str, choice: str) -> str:
        """A button of `talk` at `step`."""
        return f"{self.prefix}:{talk.token}:{step}:{choice}"

    def refusal(self, talk: Conversation | None, parts: Sequence[str]) -> str | None:
        """Why a press with data `parts` is refused (None: it is the current step's)."""
        if talk is None or talk.kind != self.kind:
            return self.ended  # nothing to carry on
        if (len(parts) != 4 or talk.token != parts[1]
                or parts[2] not in (talk.step, *self.side_steps)):
            return self.stale
        return None


@dataclass(frozen=True, slots=True)
class RestrictedDraft:
    """An open draft whose pupil's record became restricted after it was started: it
    cannot go on (every step refuses it), so the flow's start discards it and says so
    instead of refusing each new command until /cancel."""

    talk: Conversation
    error: Restricted


class Correctable(Protocol):
    """A saved entry that a correction would supersede, as each flow's storage reads it
    (`correction_refusal`)."""

    @property
    def saved_at(self) -> datetime: ...
    @property
    def superseded(self) -> bool: ...


async def discard_restricted(update: Update, context: Context, found: RestrictedDraft,
                             text: str) -> None:
    """End the draft (audited `draft_discarded`, reason `restricted`), then say `text`,
    which names no one."""
    svc = context.services
    talk, error = found.talk, found.error
    async def _transaction(conn: Conn) -> None:
        if await conversations.end(conn, talk.officer_id, talk.token):
            await audit.append(conn, actor=error.actor, action="draft_discarded",
                               target=error.target, reason=RESTRICTED_REASON,
                               detail={"kind": talk.kind}, at=svc.clock.now())
    await svc.db.write(_transaction)
    await context.bot.send_message(chat_id(update), text)


async def ask_to_resume(update: Update, context: Context, flow: Flow,
                        open_draft: tuple[Conversation, VisitPupil], then: str) -> None:
    """A draft of `flow` is open: ask (`flow.resume`, naming its pupil) to continue it or
    to discard it and do `then`."""
    talk, pupil = open_draft
    buttons = [[(LABEL_CONTINUE, flow.data(talk, RESUME_STEP, GO)),
                (LABEL_DISCARD, flow.data(talk, RESUME_STEP, then))]]
    await context.bot.send_message(chat_id(update), flow.resume.format(initials=pupil.initials),
                                   reply_markup=chat.keyboard(buttons))


OpenDraft = tuple[Conversation, VisitPupil] | None
Found = OpenDraft | RestrictedDraft


async def offered_to_resume(update: Update, context: Context, flow: Flow, found: Found,
                            then: str) -> bool:
    """True when a draft of `flow` is open and the officer was asked whether to continue
    it or discard it and do `then`; one whose record is now restricted is discarded
    first (saying `flow.restricted`), and then none is open."""
    open_draft = await settled(update, context, found, flow.restricted)
    if open_draft is None:
        return False
    await ask_to_resume(update, context, flow, open_draft, then)
    return True


async def remind_open_draft(update: Update, context: Context, officer: Officer,
                            flows: Sequence[Flow]) -> None:
    """Called after a PIN unlocks the session: say which draft of `flows` is still open
    (an officer has one current conversation, so one at most), so the officer knows where
    they were (the draft outlives the lock): `flow.draft_open`, naming its pupil, or
    `flow.draft_open_no_pupil` when its pupil is not known (not chosen yet, or no longer
    theirs). A draft about a restricted record is not named; the next command ends it."""
    async def _snapshot(conn: Conn) -> tuple[Flow, Found] | None:
        talk = await conversations.current(conn, officer.id, context.services.clock.now())
        if talk is None:
            return None
        flow = next((flow for flow in flows if flow.kind == talk.kind), None)
        return None if flow is None else (flow, await _with_pupil(conn, officer, talk))
    read = await context.services.db.read(_snapshot)
    if read is None:
        return
    flow, found = read
    row = context.registry.conversation(flow.kind)
    if row is None or officer.role not in row.roles or isinstance(found, RestrictedDraft):
        return
    text = (flow.draft_open_no_pupil if found is None
            else flow.draft_open.format(initials=found[1].initials))
    if text:
        await context.bot.send_message(chat_id(update), text)


PupilRead = TypeVar("PupilRead")  # what a flow reads of a pupil to start a draft about them
PupilReadIn = TypeVar("PupilReadIn", contravariant=True)


class StartDraft(Protocol[PupilReadIn]):
    """A flow's own start of a new draft: about the pupil read (as its `load` read them),
    or, given None, at the pupil step offering `choices` (`several` matches of what was
    typed; `hint` above them)."""

    def __call__(self, update: Update, context: Context, officer: Officer,
                 pupil: PupilReadIn | None, /, *, choices: Sequence[PupilSummary] = (),
                 hint: str | None = None, several: bool = False) -> Awaitable[None]: ...


async def flow_command(update: Update, context: Context, flow: Flow,
                       load: Callable[[Context, Officer, int], Awaitable[PupilRead | None]],
                       start_draft: StartDraft[PupilRead]) -> None:
    """`flow`'s command, `/<command> [NAME-OR-UPN-OR-REF]`: its open draft is offered
    first (Discard starts anew, or with the one pupil typed: `p<id>`); otherwise a new
    draft about the one pupil typed (when `load` still reads them), or at the pupil step
    offering the several typed matched, or the officer's most in need (`flow.no_match`
    above them when something was typed)."""
    officer = context.officer
    typed = " ".join(context.args or [])
    found, matches, urgent = await look_up(context, officer, flow, typed)
    then = f"p{matches[0].id}" if len(matches) == 1 else NEW
    if await offered_to_resume(update, context, flow, found, then):
        return
    if len(matches) == 1 and (pupil := await load(context, officer, matches[0].id)) is not None:
        await start_draft(update, context, officer, pupil)
    elif len(matches) > 1:
        await start_draft(update, context, officer, None, choices=matches, several=True)
    else:  # also one pupil matched but not read: `urgent` is then empty (`flow.no_pupils`)
        await start_draft(update, context, officer, None, choices=urgent,
                          hint=flow.no_match if typed else None)


async def read_pupil(context: Context, officer: Officer,
                     pupil_id: int | None) -> VisitPupil | None:
    """The pupil through the scoped look-up of every visit and sharing step, for
    `flow_command` and `chosen_pupil` (None: not the officer's, or no id)."""
    if pupil_id is None:
        return None
    return await context.services.db.read(visit_store.visit_pupil, officer, pupil_id)


async def chosen_pupil(update: Update, context: Context, flow: Flow,
                       load: Callable[[Context, Officer, int | None], Awaitable[PupilRead | None]],
                       choice: str) -> PupilRead | None:
    """The pupil a button names by id (`choice`), as `load` reads them; None, having
    refused it (`refused_pupil`), when they are not the officer's."""
    pupil_id = parse_id(choice)
    pupil = await load(context, context.officer, pupil_id)
    if pupil is None:
        await refused_pupil(update, context, flow, pupil_id)
    return pupil


async def refused_pupil(update: Update, context: Context, flow: Flow,
                        pupil_id: int | None) -> None:
    """A pupil pressed who is not the officer's: audited (`not_allocated`), answered
    `flow.no_match`."""
    await refuse(update, context, context.officer, reason="not_allocated",
                 target=None if pupil_id is None else f"pupil:{pupil_id}", text=flow.no_match)


async def typed_answer(update: Update, context: Context, talk: Conversation,
                       sensitive: Collection[str]) -> str | None:
    """The text typed while `talk` waits (None: the message has none); typed at one of
    its `sensitive` steps, the message is deleted after a while too."""
    message = update.effective_message
    if message is None or not message.text:
        return None
    if talk.step in sensitive:
        await schedule_typed(context, message)
    return message.text


async def pupils_typed(context: Context, officer: Officer, typed: str
                       ) -> tuple[list[PupilSummary], VisitPupil | None, list[PupilSummary]]:
    """What a name typed at a visit's or sharing's pupil step finds, read at one moment:
    the officer's pupils it matches, the one matched through the scoped look-up, and
    (when none matched) those most in need."""
    async def _snapshot(conn: Conn) -> tuple[list[PupilSummary], VisitPupil | None,
                                             list[PupilSummary]]:
        matches = await find_pupils(conn, context, officer, typed)
        pupil = (await visit_store.visit_pupil(conn, officer, matches[0].id)
                 if len(matches) == 1 else None)
        urgent = await urgent_pupils(conn, context, officer) if not matches else []
        return matches, pupil, urgent
    return await context.services.db.read(_snapshot)


async def offer_pupils(update: Update, context: Context, flow: Flow, talk: Conversation,
                       typed: str, matches: Sequence[PupilSummary],
                       urgent: Sequence[PupilSummary]) -> None:
    """A name typed at the pupil step that found no one pupil: the step again, offering
    the `matches` (several), or, when it matched none (audited), `flow.no_match` over
    those most in need."""
    if not matches:
        await record_refused_lookup(context, context.officer, flow, typed)
    screen = choose_pupil(flow, talk, talk.step, matches or urgent, several=bool(matches),
                          hint=None if matches else flow.no_match)
    await show(update, context, flow, talk, screen, edit=False)


async def said_no_pupils(update: Update, flow: Flow, pupil: object | None,
                         choices: Sequence[PupilSummary], *, edit: bool) -> bool:
    """True, having said `flow.no_pupils` (in the pressed message when `edit`), when a
    new draft would have neither a pupil nor any to choose from."""
    if pupil is not None or choices:
        return False
    await (chat.edit(update, flow.no_pupils) if edit else answer(update, flow.no_pupils))
    return True


Entry = TypeVar("Entry")  # a saved entry as a flow's Correct button names it


async def correct_pressed(update: Update, context: Context, flow: Flow, entry: Entry | None, *,
                          then: Callable[[Entry], str],
                          begin: Callable[[Entry], Awaitable[None]]) -> None:
    """Correct under a saved entry of `flow` (`entry` as its button names it; None: not
    readable, refused as stale): the open draft is offered first (its Discard: `then`),
    or else `begin` starts the correction."""
    if entry is None:
        await chat.ack(update, flow.stale, alert=True)
        return
    found = await context.services.db.read(open_draft, context, context.officer, flow)
    if await offered_to_resume(update, context, flow, found, then(entry)):
        await chat.ack(update)
        return
    await begin(entry)


def correction_refusal(flow: Flow, old: Correctable | None,
                       now: datetime) -> tuple[str, str] | None:
    """The answer and audit reason refusing a correction of `old` (None: not the
    officer's, or its pupil no longer theirs), checked in this order; None when it may
    be corrected."""
    if old is None:
        return flow.cannot_correct, "not_author"
    if not correctable(old.saved_at, now):
        return flow.too_old, "correction_window"
    if old.superseded:
        return flow.already_corrected, "already_corrected"
    return None


async def refused_correction(update: Update, context: Context, officer: Officer,
                             refusal: tuple[str, str] | None, pupil_id: int | None, *,
                             edit: bool) -> bool:
    """True, having refused (audited with the reason, target the entry's pupil when
    there is an entry), when `refusal` (the answer, the reason) refuses a correction;
    the pressed message says it too when `edit` (from the resume question)."""
    if refusal is None:
        return False
    text, reason = refusal
    if edit:
        await chat.edit(update, text)
    await refuse(update, context, officer, reason=reason,
                 target=None if pupil_id is None else f"pupil:{pupil_id}", text=text)
    return True


def today_in(context: Context) -> date:
    """Today in the service's time zone, as every flow's dates are read."""
    return context.services.clock.today()


async def urgent_pupils(conn: Conn, context: Context, officer: Officer) -> list[PupilSummary]:
    """The officer's pupils most in need first: what a pupil step offers."""
    found, _ = await pupil_store.pupils_for_officer(
        conn, officer, today=today_in(context),
        year_end=context.services.settings.academic_year_end, offset=0, limit=PUPIL_BUTTONS)
    return found


async def find_pupils(conn: Conn, context: Context, officer: Officer,
                      text: str) -> list[PupilSummary]:
    """The officer's own pupils matching a typed name, UPN or case reference."""
    return await pupil_store.find_pupils(
        conn, officer, text, today=today_in(context),
        year_end=context.services.settings.academic_year_end, limit=PUPIL_BUTTONS)


async def record_refused_lookup(context: Context, officer: Officer, flow: Flow,
                                typed: str) -> None:
    """A UPN or case reference typed into `flow` of a pupil not the officer's: audited."""
    await context.services.db.write(pupil_store.record_refused_lookup, officer, typed,
                                     via=flow.listed_reason)


async def look_up(context: Context, officer: Officer, flow: Flow,
                  typed: str) -> tuple[Found, list[PupilSummary], list[PupilSummary]]:
    """What a flow's command starts from, read at one moment: the open draft of `flow`,
    the officer's pupils `typed` matches, and (unless exactly one matched) those most
    in need; a typed text that matches none of theirs is audited."""
    async def _snapshot(conn: Conn) -> tuple[Found, list[PupilSummary], list[PupilSummary]]:
        found = await open_draft(conn, context, officer, flow)
        matches = await find_pupils(conn, context, officer, typed) if typed else []
        urgent = await urgent_pupils(conn, context, officer) if len(matches) != 1 else []
        return found, matches, urgent
    found, matches, urgent = await context.services.db.read(_snapshot)
    if typed and not matches:
        await record_refused_lookup(context, officer, flow, typed)
    return found, matches, urgent


async def open_draft(conn: Conn, context: Context, officer: Officer, flow: Flow) -> Found:
    """The officer's draft of `flow` with its pupil, when there is one worth continuing
    (a RestrictedDraft when its record became restricted: see `settled`)."""
    talk = await conversations.current(conn, officer.id, context.services.clock.now())
    if talk is None or talk.kind != flow.kind:
        return None
    return await _with_pupil(conn, officer, talk)


async def _with_pupil(conn: Conn, officer: Officer, talk: Conversation) -> Found:
    """The draft with its pupil read again, as the officer may see them now."""
    if talk.pupil_id is None:
        return None
    try:
        pupil = await visit_store.visit_pupil(conn, officer, talk.pupil_id)
    except Restricted as error:
        return RestrictedDraft(talk, error)
    return None if pupil is None else (talk, pupil)


async def settled(update: Update, context: Context, found: Found, text: str) -> OpenDraft:
    """The open draft to offer, after discarding one whose record is now restricted
    (saying `text`), so that what was asked goes on as if no draft were open."""
    if isinstance(found, RestrictedDraft):
        await discard_restricted(update, context, found, text)
        return None
    return found


async def pressed(update: Update, context: Context, flow: Flow, *, summary: str,
                  saved_from_draft: Callable[[Conn, str], Awaitable[bool]],
                  already_saved: str) -> tuple[Conversation, str, str] | None:
    """The draft a press of one of `flow`'s step buttons is for, with the step and the
    choice; None when it was refused and answered (Save pressed again after the draft
    was saved: `already_saved`; a stale or ended draft's button: see `Flow.refusal`)."""
    svc = context.services
    parts = button_data(update)
    async def _snapshot(conn: Conn) -> tuple[Conversation | None, bool]:
        talk = await conversations.current(conn, context.officer.id, svc.clock.now())
        again = (len(parts) == 4 and parts[2:] == [summary, SAVE]
                 and await saved_from_draft(conn, parts[1]))
        return talk, again
    talk, again = await svc.db.read(_snapshot)
    refused = already_saved if again else flow.refusal(talk, parts)
    if refused is not None:
        await chat.ack(update, refused, alert=True)
        return None
    assert talk is not None
    return talk, parts[2], parts[3]


def pupil_step(flow: Flow, talk: Conversation, step: str,
               choices: Sequence[PupilSummary], text: str) -> Screen:
    """The pupil step `step`: `text` over a button a pupil of `choices` (the name, and
    the attendance when there is any; a restricted record marked so), listed as the
    audit records a list."""
    buttons = [[(_pupil_label(choice), flow.data(talk, step, str(choice.id)))]
               for choice in choices]
    return Screen(text, chat.keyboard(buttons) if buttons else None,
                  listed=tuple(choice.id for choice in choices))


def choose_pupil(flow: Flow, talk: Conversation, step: str, choices: Sequence[PupilSummary],
                 *, hint: str | None = None, several: bool = False) -> Screen:
    """The pupil step `step` offering `choices` (`several` matches of what was typed, or
    the officer's most in need: `flow.choose_pupil`), `hint` above."""
    prefix = f"{hint}\n\n" if hint else ""
    return pupil_step(flow, talk, step, choices,
                      prefix + (SEVERAL_MATCH if several else flow.choose_pupil))


def _pupil_label(pupil: PupilSummary) -> str:
    """The name, and the attendance when there is any; a restricted record's name and
    the marker only, as every list shows it (CASEWORK.md §3)."""
    if pupil.restricted:
        return f"{pupil.name} — {RESTRICTED_MARK}"
    return pupil.name if not pupil.possible else f"{pupil.name} · {pupil.attendance_text}"


def marked(label: str, chosen: bool) -> str:
    """A button label, ticked when it is the answer kept in the draft."""
    return MARK + label if chosen else label


def rows(buttons: Sequence[tuple[str, str]], per_row: int) -> Rows:
    return [list(buttons[i:i + per_row]) for i in range(0, len(buttons), per_row)]


def summary_rows(flow: Flow, talk: Conversation, labels: tuple[str, str, str]) -> Rows:
    """Save, Change, Cancel (`labels` in that order) under the summary."""
    return [[(label, flow.data(talk, talk.step, choice))
             for label, choice in zip(labels, (SAVE, CHANGE, CANCEL), strict=True)]]


def change_rows(flow: Flow, talk: Conversation, fields: Sequence[tuple[str, str]],
                back_label: str) -> Rows:
    """Change: one button for each (step, label) that can be answered again, two to a
    row, then the way back to the summary."""
    buttons = [(label, flow.data(talk, talk.step, step)) for step, label in fields]
    return [*rows(buttons, 2), [(back_label, flow.data(talk, talk.step, BACK))]]


def chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def pressed_message_id(update: Update) -> int:
    query = update.callback_query
    assert query is not None and query.message is not None
    return query.message.message_id


async def start(context: Context, officer_id: int, flow: Flow, *, step: str,
                pupil_id: int | None = None, data: dict[str, Any] | None = None) -> Conversation:
    """Open a new draft of `flow` at `step`, replacing any other conversation."""
    svc = context.services
    now = svc.clock.now()
    return await svc.db.write(conversations.start, officer_id, kind=flow.kind, step=step,
                              now=now,
                              expires_at=now + timedelta(hours=svc.settings.session_max_hours),
                              pupil_id=pupil_id, data=data)


async def show(update: Update, context: Context, flow: Flow, talk: Conversation,
               screen: Screen, *, edit: bool) -> None:
    """Show the step: edit the pressed message, or send a new one; then remember it.

    One screen per answer: an earlier message's buttons are left alone (pressed, they
    are refused as stale unless they are the current step's). Which message shows the
    step is only remembered: the answer is already stored and the screen shown, so a
    database busy just then is logged, not told (the screen's buttons work all the same).
    """
    svc = context.services
    where = chat_id(update)
    if screen.listed:  # a list of pupils shows only once its audit entry is committed
        await svc.audit_trail.append(audit.listing(
            actor=context.officer.actor, reason=flow.listed_reason,
            pupil_ids=screen.listed))
    if edit and screen.sensitive:  # its deletion is recorded before the text is shown
        message_id = await edit_sensitive(context, where, pressed_message_id(update),
                                          screen.text, markup=screen.markup)
    elif edit:
        message_id = await chat.edit(update, screen.text, screen.markup)
    elif screen.sensitive:
        message_id = await send_sensitive(context, where, screen.text, markup=screen.markup)
    else:
        message = await context.bot.send_message(where, screen.text, reply_markup=screen.markup)
        message_id = message.message_id
    try:
        await svc.db.write(conversations.advance, talk, step=talk.step, now=svc.clock.now(),
                           message_id=message_id)
    except DatabaseBusy as error:
        log.warning("database busy: a step's message was shown but not remembered (%s)",
                    error)


async def move(update: Update, context: Context, flow: Flow, talk: Conversation,
               draft: dict[str, Any], *, step: str, render: Render, edit: bool,
               pupil_id: int | None = None) -> None:
    """Store the answer, then show `step` as `render` draws it."""
    svc = context.services
    moved = await svc.db.write(conversations.advance, talk, step=step, now=svc.clock.now(),
                               data=draft, pupil_id=pupil_id)
    if moved is None:  # ended or replaced meanwhile
        await chat.ack(update, flow.stale, alert=True)
        return
    await show(update, context, flow, moved, render(moved), edit=edit)
    await chat.ack(update)


async def end_with(update: Update, context: Context, talk: Conversation, text: str, *,
                   edit: bool) -> None:
    """End the draft and say why."""
    svc = context.services
    await svc.db.write(conversations.end, talk.officer_id, talk.token)
    if edit:
        await chat.edit(update, text)
    else:
        await context.bot.send_message(chat_id(update), text)


async def on_change(update: Update, context: Context, flow: Flow, talk: Conversation,
                    choice: str, *, changeable: Collection[str], summary: str, returning: str,
                    render: Render, hint: str) -> None:
    """A press at Change: Back to the `summary`, or to one answer of `changeable` (the
    draft marked `returning`, so that it comes back to the summary); else `hint`."""
    if choice == BACK:
        await move(update, context, flow, talk, dict(talk.data), step=summary, render=render,
                   edit=True)
    elif choice in changeable:
        await move(update, context, flow, talk, {**talk.data, returning: True}, step=choice,
                   render=render, edit=True)
    else:
        await chat.ack(update, hint, alert=True)


async def ended_if_gone(update: Update, context: Context, flow: Flow, talk: Conversation,
                        pupil: object | None, *, edit: bool) -> bool:
    """True, having ended the draft saying `flow.not_allocated` (in the pressed message,
    the press answered, when `edit`), when its pupil, read again at a step, is no longer
    the officer's (`pupil` None)."""
    if pupil is not None:
        return False
    await end_with(update, context, talk, flow.not_allocated, edit=edit)
    if edit:
        await chat.ack(update)
    return True


async def on_summary(update: Update, context: Context, flow: Flow, talk: Conversation,
                     choice: str, *, save: Callable[[], Awaitable[None]], render: Render,
                     cancelled: str, hint: str, change_step: str = CHANGE) -> None:
    """A press under the summary: Save, Change (to `change_step`), or Cancel."""
    if choice == SAVE:
        await save()
    elif choice == CANCEL:
        await end_with(update, context, talk, cancelled, edit=True)
        await chat.ack(update)
    elif choice == CHANGE:
        await move(update, context, flow, talk, dict(talk.data), step=change_step,
                   render=render, edit=True)
    else:
        await chat.ack(update, hint, alert=True)
