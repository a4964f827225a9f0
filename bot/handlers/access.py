"""Who may talk to the bot: the gate, enrolment with a code, PIN set-up, PIN unlock, /lock.

The gate runs first for every update (handler group -1). Group chats get nothing and
are left; an update that is not from the sender's own private chat with the bot (a
business message, a message in a third party's chat) is ignored. Strangers get one
short refusal at most once an hour, `/start` with a wrong code included; five wrong
codes in an hour and an account's enrolment attempts are ignored for the hour
(bot/domain/attempts.py). Revoked and locked officers are refused on their very next
update. A locked session answers with the PIN
prompt, keeps the latest request, and replays it, re-authorised, after the right PIN.
Last, the person's role is checked against the registry's row for the command or
button (bot/handlers/registry.py): outside it, one polite refusal and an audit entry.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta

from telegram import BotCommandScopeChat, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.chat import render
from bot.chat.compliance import blocked_text, warning_text, whom_to_ask
from bot.domain.attempts import AttemptLimits
from bot.domain.compliance import Compliance
from bot.domain.pinhash import PinCheck, check_pin, hash_pin, verify_pin
from bot.domain.pins import is_pin_shaped, pin_problem
from bot.handlers import drafts, kept
from bot.handlers.common import Context, answer, forget_message, refuse
from bot.handlers.share.texts import SHARE
from bot.handlers.step.texts import STEP
from bot.handlers.table import command_name
from bot.handlers.visit.texts import VISIT
from bot.storage import audit, compliance, conversations, sessions
from bot.storage.officers import Officer
from bot.usecases import access as access_cases
from bot.usecases.access import PIN_SETUP, Enrolment

log = logging.getLogger(__name__)

STRANGER = ("Sorry, this is a private service. If you work for it, ask your administrator "
            "for an enrolment code.")
REVOKED = "Your access has ended. If you think this is a mistake, ask your administrator."
ACCOUNT_LOCKED = ("Your account is locked after too many wrong PINs. Ask your administrator "
                  "for a new enrolment code.")
BAD_CODE = ("That enrolment code is not valid: it may be mistyped, used or expired. "
            "Ask your administrator for a new one.")
ALREADY_ENROLLED = "This Telegram account is already enrolled. Send /help to see what you can do."
ASK_PIN = "Choose a PIN of 4 to 8 digits and send it; I delete it from the chat."
CHOOSE_PIN = f"Welcome. {ASK_PIN}"
REPEAT_PIN = "Send the same PIN again to confirm it."
PIN_MISMATCH = "The two PINs did not match. Choose a PIN of 4 to 8 digits again."
ENROLLED = "You are enrolled. Your PIN is asked again after a while without use."
LOCKED_PROMPT = "Locked — send your PIN."
UNLOCKED = "Unlocked."
WRONG_PIN = "That PIN is not right. {left} left before your account locks."
ONE_TRY = "1 try"
TRIES = "{count} tries"
LOCKED_NOW = "Your session is locked. Send your PIN to carry on."

# The update types the gate lets through; the bot asks Telegram for these only. A
# group's my_chat_member (the bot added to it) is one: the gate leaves the group.
UPDATE_TYPES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER)
# Activity is recorded at most once a minute: a write transaction per update would
# queue every officer behind the write lock, and the idle limit counts in minutes
# (a session may lock up to this much before its idle limit, never after).
_TOUCH_EVERY = timedelta(minutes=1)
# A locked or revoked officer's /start with a wrong code (or none) is told what is
# wrong with the account, not with the code: only an administrator's new code helps.
_REFUSED_START = {"locked": ACCOUNT_LOCKED, "revoked": REVOKED}
# The code may be typed as read aloud, in groups with spaces between (`ewobot officers
# code` prints it so): a code has no spaces of its own, so they are dropped.
_START = re.compile(r"^/start(?:@\w+)?(?:\s+(.+?))?\s*$")


async def gate(update: Update, context: Context) -> None:
    """Group -1: decide whether this update may reach a feature handler at all."""
    context.admit(None)
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None:
        raise ApplicationHandlerStop
    if chat.type != ChatType.PRIVATE:
        await _leave(context, chat.id)
        raise ApplicationHandlerStop
    if not _from_own_private_chat(update, user.id):
        raise ApplicationHandlerStop
    svc = context.services
    now = svc.clock.now()
    holder = await svc.db.read(compliance.account_holder, user.id, now, svc.clock.today(),
                               None if svc.settings.compliance == "off"
                               else compliance.rules_of(svc.settings))
    officer, session, standing = holder.officer, holder.session, holder.standing
    start_code = _start_code(update)
    if start_code is not None:
        await _enrol(update, context, officer, start_code)
        raise ApplicationHandlerStop
    if officer is None:
        await _refuse_stranger(update, context, user.id, now)
        raise ApplicationHandlerStop
    if officer.status != "active":
        await _refuse_officer(update, context, officer)
        raise ApplicationHandlerStop
    if not officer.enrolled:
        await _pin_setup(update, context, officer, holder.talk)
        raise ApplicationHandlerStop
    assert session is not None
    settings = svc.settings
    if not session.is_unlocked(now, timedelta(minutes=settings.session_idle_minutes),
                               timedelta(hours=settings.session_max_hours)):
        await _while_locked(update, context, officer)
        raise ApplicationHandlerStop
    if session.last_seen_at is None or now - session.last_seen_at >= _TOUCH_EVERY:
        await svc.db.write(sessions.touch, officer.id, now)
    context.admit(officer, holder.talk)
    if (settings.compliance == "enforce" and standing is not None and standing.lapsed
            and command_name(update, context.bot.username) != "help"):
        await refuse(update, context, officer, reason="compliance",
                     text=await lapsed_text(context, officer, standing))
        raise ApplicationHandlerStop
    if not context.registry.allows(update, officer.role, context.bot.username):
        await refuse(update, context, officer, reason="role")
        raise ApplicationHandlerStop


async def standing_of(context: Context, officer: Officer) -> Compliance | None:
    """The person's compliance today when they are lapsed and EWO_COMPLIANCE is on."""
    svc = context.services
    if svc.settings.compliance == "off":
        return None
    standing = await svc.db.read(compliance.compliance_of, officer, svc.clock.today(),
                                 policy=compliance.rules_of(svc.settings))
    return standing if standing.lapsed else None


async def lapsed_text(context: Context, officer: Officer, standing: Compliance) -> str:
    """What a lapsed person is told under EWO_COMPLIANCE (enforce: why only /help is
    open; warn: a note), naming whom to ask: whoever is reminded about them."""
    whom = whom_to_ask(officer.role, has_supervisor=await context.services.db.read(
        compliance.has_current_supervisor, officer))
    if context.services.settings.compliance == "enforce":
        return blocked_text(standing, whom)
    return warning_text(standing, whom)


def _from_own_private_chat(update: Update, user_id: int) -> bool:
    """A message, or a press on one of the bot's messages, in the sender's own private
    chat with the bot: the gate authorises the sender and the reply goes to the chat, so
    the two must be the same person (a business message's chat is a third party's)."""
    message = update.message
    if message is not None:
        return message.chat.id == user_id and message.business_connection_id is None
    query = update.callback_query
    if query is not None and query.message is not None:
        return query.message.chat.id == user_id
    return False


def _start_code(update: Update) -> str | None:
    message = update.message
    if message is None or not message.text:
        return None
    match = _START.match(message.text.strip())
    if match is None:
        return None
    return "".join((match.group(1) or "").split())


async def _leave(context: Context, chat_id: int) -> None:
    try:
        await context.bot.leave_chat(chat_id)
    except TelegramError as exc:
        log.warning("could not leave a group chat: %s", type(exc).__name__)


def _limits(context: Context) -> AttemptLimits:
    limits = context.application.bot_data.get("ewo.attempts")
    if not isinstance(limits, AttemptLimits):
        limits = context.application.bot_data["ewo.attempts"] = AttemptLimits()
    return limits


async def _refuse_stranger(update: Update, context: Context, user_id: int, now: datetime) -> None:
    """Same short refusal whatever was sent, at most once an hour per account (a press
    is still answered, silently, so the client stops waiting)."""
    if not _limits(context).may_refuse(user_id, now):
        await render.ack(update)
        return
    svc = context.services
    await svc.db.write(audit.append, actor="telegram:unknown", action="refused:stranger",
                       reason="not_enrolled")
    await answer(update, STRANGER)


async def _refuse_officer(update: Update, context: Context, officer: Officer) -> None:
    svc = context.services
    await svc.db.write(audit.append, actor=officer.actor, action=f"refused:{officer.status}",
                       reason="access_ended" if officer.status == "revoked" else "pin_lockout")
    await answer(update, REVOKED if officer.status == "revoked" else ACCOUNT_LOCKED)


async def _enrol(update: Update, context: Context, officer: Officer | None, code: str) -> None:
    """`/start CODE`: bind this Telegram account to the code's officer, then ask for a PIN.

    A wrong code counts against the Telegram account: after five in an hour its
    attempts are ignored for the hour (no deletion, no audit entry, no reply). To an
    account bound to no officer the refusal is said at most once an hour, shared with
    the stranger's refusal; a locked or revoked officer is told why, as on any update.
    """
    svc = context.services
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    now = svc.clock.now()
    limits = _limits(context)
    if limits.codes_blocked(user.id, now):
        return
    await forget_message(context, update.message)
    if officer is not None and officer.enrolled and officer.status == "active":
        await answer(update, ALREADY_ENROLLED)
        return
    enrolment = await access_cases.enrol(svc.db, officer, code, user_id=user.id,
                                         chat_id=chat.id, now=now,
                                         wrong_code=lambda: limits.wrong_code(user.id, now))
    if enrolment is Enrolment.BOUND:
        await answer(update, CHOOSE_PIN)
    elif officer is not None:  # a known person: told why, as on any other update
        await answer(update, _REFUSED_START.get(officer.status, BAD_CODE))
    elif limits.may_refuse(user.id, now):
        await answer(update, BAD_CODE)


async def _pin_setup(update: Update, context: Context, officer: Officer,
                     talk: conversations.Conversation | None) -> None:
    """Bound but no PIN yet: the PIN, twice (`talk` is the PIN set-up once the first is
    in). Every message holding a PIN is deleted."""
    svc = context.services
    message = update.message
    if message is None or not message.text:
        await answer(update, CHOOSE_PIN)
        return
    pin = message.text.strip()
    await forget_message(context, message)
    now = svc.clock.now()
    if talk is None or talk.kind != PIN_SETUP or talk.step == "first":
        problem = pin_problem(pin)
        if problem is not None:
            await answer(update, f"{problem} {ASK_PIN}")
            return
        first = await asyncio.to_thread(hash_pin, pin, svc.pepper)
        await access_cases.choose_first_pin(svc.db, officer, talk, first, now)
        await answer(update, REPEAT_PIN)
        return
    if not await asyncio.to_thread(verify_pin, pin, talk.data.get("first", ""), svc.pepper):
        await svc.db.write(conversations.advance, talk, step="first", now=now, data={})
        await answer(update, PIN_MISMATCH)
        return
    await access_cases.set_pin(svc.db, officer, talk, now)
    await _set_menu(context, officer)
    await answer(update, f"{ENROLLED}\n\n{context.registry.help_text(officer.role)}")


async def _set_menu(context: Context, officer: Officer) -> None:
    chat = officer.chat_id
    if chat is None:
        return
    try:
        await context.bot.set_my_commands(context.registry.menu(officer.role),
                                          scope=BotCommandScopeChat(chat))
    except TelegramError as exc:
        log.warning("could not set the command menu: %s", type(exc).__name__)


async def _while_locked(update: Update, context: Context, officer: Officer) -> None:
    """A locked session: digits are a PIN attempt; anything else is kept and prompted."""
    message = update.message
    text = message.text.strip() if message is not None and message.text else ""
    if message is not None and is_pin_shaped(text):
        await forget_message(context, message)
        await _try_pin(update, context, officer, text)
        return
    await kept.keep(update, context, officer)  # as references, never the words typed
    await answer(update, LOCKED_PROMPT)


async def _try_pin(update: Update, context: Context, officer: Officer, pin: str) -> None:
    svc = context.services
    stored = await svc.db.read(sessions.pin_hash_of, officer.id)
    check = (PinCheck(False) if stored is None
             else await asyncio.to_thread(check_pin, pin, stored, svc.pepper))
    tried = await access_cases.try_pin(svc.db, officer, check, stored, svc.clock.now())
    if not tried.right:
        left = sessions.MAX_PIN_FAILURES - tried.failures
        await answer(update, ACCOUNT_LOCKED if left <= 0 else wrong_pin_text(left))
        return
    await answer(update, UNLOCKED)
    standing = await standing_of(context, officer)
    if standing is not None:  # lapsed: blocked (enforce), or told so (warn)
        await answer(update, await lapsed_text(context, officer, standing))
        if svc.settings.compliance == "enforce":
            return
    # A draft about a record restricted meanwhile is not named: its request still goes on.
    await drafts.remind_open_draft(update, context, officer, (VISIT, STEP, SHARE))
    if tried.pending:
        await kept.replay(update, context, officer, tried.pending)


def wrong_pin_text(left: int) -> str:
    """The wrong-PIN reply, with the tries left in the right number."""
    return WRONG_PIN.format(left=ONE_TRY if left == 1 else TRIES.format(count=left))


async def lock_command(update: Update, context: Context) -> None:
    """/lock — lock the session now."""
    officer = context.officer
    svc = context.services
    await access_cases.lock(svc.db, officer)
    await answer(update, LOCKED_NOW)
