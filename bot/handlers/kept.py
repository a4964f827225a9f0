"""The request kept while a session is locked: references, never the words typed.

The latest request made while locked goes on after the right PIN, re-authorised. It
is kept as references only, so nothing typed that could name someone stays in the
database (`sessions.pending_update`, up to EWO_SESSION_MAX_HOURS):

- a button press: its data, which is references already (`card:42`); replayed
  through the gate like a new press;
- a command: the command word alone, since the others ignore their words; `/caseload
  REF` keeps an officer's reference only when one has it; `/sar UPN` (a controller)
  keeps the pupil's id, the UPN is read back when it goes on;
- a typed search or `/pupil NAME`: the ids of the pupils it matched in the officer's
  own scope when it was typed; after the PIN they are read again in that scope (an
  allocation may have changed) and answered as the search was. `/visit NAME` with one
  match keeps the card's Record visit press for that pupil; `/step NAME` and `/share
  NAME` with one match keep the pupil's id, and go on as the command with the pupil's
  case reference (read back when it goes on, found again in the officer's scope);
- an answer to an open conversation about a pupil (visit notes, a hold's reason):
  no reference will do, so the words wait in that conversation's draft (which holds
  the answers already given, is cleared by disposal and shown in a subject-access
  export), its message is deleted from the chat like notes, and the request keeps
  only the conversation's token; after the PIN the answer goes on to the step that
  is current then. Anything else no reference will do for (an answer at a visit's
  pupil step, `/visit`, `/step` or `/share NAME` matching none or several, text from a
  controller):
  nothing is kept, and after the PIN the officer is asked to send it again.

Every pupil a kept request names is listed beside it (`kept_request_pupils`):
disposal removes the request, and a subject-access export shows it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from telegram import Update

from bot.chat.render import REPLAYED_PRESS
from bot.handlers import pupils
from bot.handlers.common import Context, answer, parse_id
from bot.handlers.share.texts import SHARE
from bot.handlers.step.texts import STEP
from bot.storage import conversations
from bot.storage import officers as officer_store
from bot.storage import pupils as pupil_store
from bot.storage import sar as sar_store
from bot.storage.conversations import Conversation
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.usecases.kept import KEPT_ANSWER, AnswerMessage, Kept, keep_request

SEND_AGAIN = "Your last message was not kept while locked: please send it again."

# Button kinds whose last part is a pupil id (owned by pupils, visit, alerts, retention).
_PUPIL_BUTTONS = (("card",), ("det",), ("pick",), ("v", "new"), ("al", "card"),
                  ("al", "case"), ("case",), ("ret", "hold"), ("ret", "dis"), ("ret", "dok"))
# A typed date (a visit's date or follow-up, a hold's review date) names no one.
_DATE = re.compile(r"^\d{1,2}/\d{1,2}(/\d{2,4})?$")
_VISIT_CHOICES = 10  # /visit NAME with more matches than one is asked again
# The flows besides /visit that start about the one pupil typed, and how a lookup of
# theirs that found nothing is audited.
_FLOW_COMMANDS = {"step": STEP.listed_reason, "share": SHARE.listed_reason}


_AGAIN = Kept({"kind": "again"})


async def keep(update: Update, context: Context, officer: Officer) -> None:
    """Keep the latest request made while locked, as references."""
    svc = context.services
    now = svc.clock.now()
    async def _snapshot(conn: Conn):
        talk = await conversations.current(conn, officer.id, now)
        kept = await _kept(conn, context, update, officer, talk)
        return kept, talk
    kept, talk = await svc.db.read(_snapshot)
    message = update.message
    minutes = svc.settings.sensitive_message_minutes
    answer_message = None
    if kept.answer is not None and message is not None and minutes:
        answer_message = AnswerMessage(message.chat_id, message.message_id,
                                       now + timedelta(minutes=minutes))
    await keep_request(svc.db, officer, talk, kept, now=now,
                       until=now + timedelta(hours=svc.settings.session_max_hours),
                       answer_message=answer_message)


async def _kept(conn: Conn, context: Context, update: Update, officer: Officer,
                talk: Conversation | None) -> Kept:
    query = update.callback_query
    if query is not None:
        data = query.data if isinstance(query.data, str) else ""
        if not data or len(data.encode()) > 64:
            return Kept(None)
        message_id = query.message.message_id if query.message is not None else None
        return Kept({"kind": "button", "data": data, "message_id": message_id},
                    button_pupils(data))
    message = update.message
    text = " ".join(message.text.split()) if message is not None and message.text else ""
    if message is None or not text:
        return Kept(None)
    ids = {"message_id": message.message_id}
    if text.startswith("/"):
        word, _, words = text.partition(" ")
        kept = await _command(conn, context, officer, word, words)
    elif talk is not None:
        kept = _answer(talk, message.text or "")  # as typed: notes keep their lines
    elif officer.role in context.registry.search.roles:
        kept = await _search(conn, context, officer, text, pupils.SEARCH)
    else:
        kept = _AGAIN
    assert kept.request is not None
    return Kept({**kept.request, **ids}, kept.pupils, kept.refused, kept.answer)


def _answer(talk: Conversation, text: str) -> Kept:
    """Text while a conversation waits is its answer: a date is no name; other words
    wait in the draft of a conversation about a pupil; else nothing is kept."""
    if _DATE.match(text.strip()):
        return Kept({"kind": "text", "text": text.strip()})
    if talk.pupil_id is None:
        return _AGAIN
    return Kept({"kind": "answer", "token": talk.token}, (talk.pupil_id,), answer=text)


async def _command(conn: Conn, context: Context, officer: Officer, word: str,
                   words: str) -> Kept:
    name = word[1:].split("@", 1)[0].lower()
    if not words:
        return Kept({"kind": "text", "text": word})
    if name == "pupil" and _may(context, officer, name):
        return await _search(conn, context, officer, words, pupils.PUPIL_COMMAND)
    if name == "visit" and _may(context, officer, name):
        found = await pupil_store.find_pupils(conn, officer, words, **_today(context),
                                              limit=_VISIT_CHOICES)
        if len(found) == 1:
            return Kept({"kind": "button", "data": f"v:new:{found[0].id}"}, (found[0].id,))
        return Kept(_AGAIN.request, refused=None if found else (words, "visit_command"))
    if name in _FLOW_COMMANDS and _may(context, officer, name):
        found = await pupil_store.find_pupils(conn, officer, words, **_today(context),
                                              limit=_VISIT_CHOICES)
        if len(found) == 1:
            return Kept({"kind": "flow", "command": name, "pupil": found[0].id},
                        (found[0].id,))
        return Kept(_AGAIN.request, refused=None if found else (words, _FLOW_COMMANDS[name]))
    if name == "case" and _may(context, officer, name):
        found = await pupil_store.find_pupils(conn, officer, words, **_today(context),
                                              limit=2, include_team=officer.role == "supervisor")
        if len(found) == 1:
            return Kept({"kind": "button", "data": f"case:{found[0].id}"}, (found[0].id,))
        return Kept(_AGAIN.request, refused=None if found else (words, "case_command"))
    if name == "caseload":
        ref = await officer_store.officer_by_ref(conn, words.upper())
        return Kept({"kind": "text", "text": f"{word} {ref.ref}"}) if ref else _AGAIN
    if name == "sar" and _may(context, officer, name):
        target = await sar_store.pupil_target(conn, words)
        if target is None:
            return _AGAIN
        pupil_id = int(target.split(":")[1])
        return Kept({"kind": "sar", "pupil": pupil_id}, (pupil_id,))
    return Kept({"kind": "text", "text": word})


def _may(context: Context, officer: Officer, command: str) -> bool:
    """The registry's answer: a command outside the role is kept as its word alone,
    and the gate refuses it when it goes on."""
    row = context.registry.command(command)
    return row is not None and officer.role in row.roles


async def _search(conn: Conn, context: Context, officer: Officer, typed: str,
                  via: str) -> Kept:
    """A search's matches in the officer's own scope, by id (one more than can be
    shown, so that "more than 10 match" is answered as before)."""
    found = [] if len(typed) > pupils.LONGEST_QUERY else await pupil_store.find_pupils(
        conn, officer, typed, **_today(context), limit=pupils.SEARCH_LIMIT + 1,
        include_team=officer.role == "supervisor")
    ids = tuple(pupil.id for pupil in found)
    refused = (typed, via) if not found and len(typed) <= pupils.LONGEST_QUERY else None
    return Kept({"kind": "search", "via": via, "pupils": list(ids)}, ids, refused)


def _today(context: Context) -> dict[str, Any]:
    svc = context.services
    return {"today": svc.clock.today(), "year_end": svc.settings.academic_year_end}


def button_pupils(data: str) -> tuple[int, ...]:
    """The pupil a button's data names, if its kind names one."""
    parts = data.split(":")
    if len(parts) == 3 and parts[0] == "case":  # case:<pupil_id>:<page>
        pupil_id = parse_id(parts[1])
        return () if pupil_id is None else (pupil_id,)
    for kind in _PUPIL_BUTTONS:
        if tuple(parts[:len(kind)]) == kind and len(parts) == len(kind) + 1:
            pupil_id = parse_id(parts[-1])
            return () if pupil_id is None else (pupil_id,)
    return ()


# --- after the PIN ------------------------------------------------------------------------


async def _answer_from_draft(context: Context, officer: Officer,
                             request: dict[str, Any]) -> str | None:
    """Take the kept answer out of the draft it waited in (None once that has ended)."""
    svc = context.services
    now = svc.clock.now()
    answer_text = await svc.db.write(conversations.take_from_draft, officer.id,
                                     request.get("token"), KEPT_ANSWER, now)
    return answer_text if isinstance(answer_text, str) else None


async def replay(update: Update, context: Context, officer: Officer, kept: str) -> None:
    """Carry on with the kept request; `update` is the PIN's, answered in the same chat."""
    try:
        request = json.loads(kept)
    except ValueError:
        return
    kind = request.get("kind") if isinstance(request, dict) else None
    if kind == "again":
        await answer(update, SEND_AGAIN)
    elif kind == "search":
        # The PIN's update carries on as the search; the gate checked this officer.
        context.admit(officer)
        await pupils.show_kept_matches(update, context, _ids(request.get("pupils")),
                                       str(request.get("via")))
    elif kind in ("text", "button", "sar", "answer", "flow"):
        rebuilt = await _rebuilt(update, context, officer, request)
        if rebuilt is not None:
            # The kept request goes through the gate again, so it is re-authorised.
            await context.application.process_update(rebuilt)


def _ids(value: Any) -> list[int]:
    return [item for item in value if isinstance(item, int)] if isinstance(value, list) else []


async def _rebuilt(update: Update, context: Context, officer: Officer,
                   request: dict[str, Any]) -> Update | None:
    """The kept request as an update from this person's chat, made from its references."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    svc = context.services
    moment = int(svc.clock.now().timestamp())
    message: dict[str, Any] = {
        "message_id": request.get("message_id") or 0, "date": moment,
        "chat": {"id": chat.id, "type": chat.type}}
    sender = {"id": user.id, "is_bot": False, "first_name": user.first_name}
    if request["kind"] == "button":
        body: dict[str, Any] = {"callback_query": {
            "id": f"{REPLAYED_PRESS}{update.update_id}", "from": sender,
            "chat_instance": str(chat.id), "data": str(request.get("data")),
            "message": message}}
    else:
        text = await _text(context, officer, request)
        if text is None:
            return None
        message.update({"from": sender, "text": text})
        if text.startswith("/"):
            length = len(text.split(" ", 1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        body = {"message": message}
    return Update.de_json({"update_id": update.update_id, **body}, context.bot)


async def _text(context: Context, officer: Officer, request: dict[str, Any]) -> str | None:
    if request["kind"] == "text":
        return str(request.get("text"))
    if request["kind"] == "answer":
        return await _answer_from_draft(context, officer, request)
    pupil_id = request.get("pupil")
    if not isinstance(pupil_id, int):
        return None
    if request["kind"] == "flow":
        command = request.get("command")
        if command not in _FLOW_COMMANDS:
            return None
        case_ref = await context.services.db.read(pupil_store.case_ref_of, pupil_id)
        return None if case_ref is None else f"/{command} {case_ref}"
    upn = await context.services.db.read(sar_store.upn_of, pupil_id)
    return None if upn is None else f"/sar {upn}"
