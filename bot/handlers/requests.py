"""/requests for controllers: the rights requests, extended or decided by buttons.

The same list as `ewobot requests list` (ids, kinds, case references and dates, never
names), and the same actions: extend once with a reason code, uphold or reject with a
reason code. A rectification's supplementary statement is a file, so it is attached
from the command line only (`ewobot requests decide … --statement FILE`), and the chat
says so. Buttons (`rq:…`) are untrusted: the gate lets controllers alone press them,
and every press reads the request again, so a stale or forged id is refused by the
storage function it reaches (which also audits each change). Every decision shows
whom the record was shared with (Article 19).

    /requests, rq:list ──> the list, a button per open request
       └─ rq:<id> ──> the request ──┬─ rq:<id>:x ──> reason codes ──> rq:<id>:x:<code> extended
                                    ├─ rq:<id>:u ──> reason codes ──> rq:<id>:u:<code> upheld
                                    └─ rq:<id>:r ──> reason codes ──> rq:<id>:r:<code> rejected

The reason codes offered are those the request's kind may give (an objection is
rejected on compelling grounds or for legal claims alone), as the CLI accepts them.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Update

from bot.chat.render import ack, day, edit
from bot.domain import rights as rules
from bot.handlers.common import STALE_BUTTON, Context, answer, button_data, keyboard, parse_id
from bot.storage import audit
from bot.storage import rights as rights_store
from bot.storage.rights import Decision, RightsProblem, RightsRequest

PREFIX = "rq"
MAX_BUTTONS = 30  # open requests offered as buttons; the rest are in the list's text

TITLE = "Rights requests, earliest due first ({open} open of {total}):"
NONE_RECORDED = "No rights requests are recorded. Record one with `ewobot requests add`."
MORE_OPEN = "…and {count} more open: decide them with `ewobot requests`."
REQUEST = ("Request {id}: {kind} for {case_ref}\n"
           "Received {received} · due by {due}{extended} · {status}")
EXTENDED = " (extended)"
ASK_EXTEND = "Extend request {id} by two months — why?"
ASK_UPHOLD = "Uphold request {id} — why?"
ASK_REJECT = "Reject request {id} — why?"
STATEMENT_CLI_ONLY = ("A supplementary statement can be attached only from the command line, "
                      "when deciding: `ewobot requests decide {id} --uphold --reason CODE "
                      "--statement FILE`. Upholding here attaches none.")
EXTENDED_DONE = "Request {id} extended: due by {due}."
DECIDED = "Request {id} {status}: {kind} for {case_ref}."
SHARED_WITH = "Shared with: {recipients}"
NO_SHARING = "no sharing recorded"
TELL_RECIPIENTS = "Tell each of them about the decision (Article 19)."
AFTER_DECISION = {
    ("restriction", True): "The restriction stays until `ewobot requests lift UPN`.",
    ("restriction", False): "The restriction is lifted.",
    ("objection", True): "The record is restricted and past due: dispose of it in /retention.",
    ("objection", False): "The restriction is lifted.",
    ("erasure", True): "The record is past due: dispose of it in /retention.",
    ("rectification", True): "Correct the data at the school; the next import carries it.",
}
LABEL_EXTEND, LABEL_UPHOLD, LABEL_REJECT = "Extend", "Uphold", "Reject"
LABEL_LIST, LABEL_BACK = "All requests", "◀ Back"

REQUESTS_COMMAND, REQUESTS_BUTTON = "requests_command", "requests_button"  # audit reasons
_ASK = {"x": ASK_EXTEND, "u": ASK_UPHOLD, "r": ASK_REJECT}


def reason_label(code: str) -> str:
    """A reason code as a button shows it: `no_longer_needed` → "No longer needed"."""
    return code.replace("_", " ").capitalize()


def list_line(request: RightsRequest) -> str:
    """One line, as `ewobot requests list` prints it."""
    extended = EXTENDED if request.extended else ""
    return (f"{request.id}  {request.kind}  {request.case_ref}  {day(request.received)}"
            f"  {day(request.due)}{extended}  {request.status}")


def list_screen(requests: Sequence[RightsRequest]) -> tuple[str, InlineKeyboardMarkup | None]:
    if not requests:
        return NONE_RECORDED, None
    waiting = [request for request in requests if request.status == rights_store.OPEN]
    lines = [TITLE.format(open=len(waiting), total=len(requests))]
    lines += [list_line(request) for request in requests]
    if len(waiting) > MAX_BUTTONS:
        lines += ["", MORE_OPEN.format(count=len(waiting) - MAX_BUTTONS)]
    buttons = [(f"{request.id} {request.kind} {request.case_ref}", f"{PREFIX}:{request.id}")
               for request in waiting[:MAX_BUTTONS]]
    rows = [buttons[index:index + 2] for index in range(0, len(buttons), 2)]
    return "\n".join(lines), keyboard(rows) if rows else None


def request_screen(request: RightsRequest) -> tuple[str, InlineKeyboardMarkup]:
    text = REQUEST.format(id=request.id, kind=request.kind, case_ref=request.case_ref,
                          received=day(request.received), due=day(request.due),
                          extended=EXTENDED if request.extended else "",
                          status=request.status)
    rows: list[list[tuple[str, str]]] = []
    if request.status == rights_store.OPEN:
        actions = [(LABEL_UPHOLD, f"{PREFIX}:{request.id}:u"),
                   (LABEL_REJECT, f"{PREFIX}:{request.id}:r")]
        if not request.extended:
            actions.insert(0, (LABEL_EXTEND, f"{PREFIX}:{request.id}:x"))
        rows.append(actions)
    rows.append([(LABEL_LIST, f"{PREFIX}:list")])
    return text, keyboard(rows)


def reasons_screen(request: RightsRequest, action: str) -> tuple[str, InlineKeyboardMarkup]:
    codes = (rules.EXTENSION_REASONS if action == "x"
             else rules.decision_reasons(request.kind, uphold=action == "u"))
    lines = [_ASK[action].format(id=request.id)]
    if action == "u" and request.kind == "rectification":
        lines += ["", STATEMENT_CLI_ONLY.format(id=request.id)]
    rows = [[(reason_label(code), f"{PREFIX}:{request.id}:{action}:{code}")] for code in codes]
    rows.append([(LABEL_BACK, f"{PREFIX}:{request.id}")])
    return "\n".join(lines), keyboard(rows)


def decision_text(decision: Decision) -> str:
    request = decision.request
    uphold = request.status == rights_store.UPHELD
    lines = [DECIDED.format(id=request.id, status=request.status, kind=request.kind,
                            case_ref=request.case_ref)]
    after = AFTER_DECISION.get((request.kind, uphold))
    if after:
        lines.append(after)
    lines.append(SHARED_WITH.format(recipients=", ".join(decision.recipients) or NO_SHARING))
    if decision.recipients:
        lines.append(TELL_RECIPIENTS)
    return "\n".join(lines)


def problem_text(problem: RightsProblem) -> str:
    """A storage refusal ("request 9 is already decided") as a sentence."""
    text = str(problem)
    return f"{text[:1].upper()}{text[1:]}."


# --- handlers ------------------------------------------------------------------------------


async def requests_command(update: Update, context: Context) -> None:
    """/requests — every rights request, with a button for each open one."""
    text, markup = await _listing(context, REQUESTS_COMMAND)
    await answer(update, text, markup=markup)


async def _listing(context: Context,
                   reason: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """The list, its view audited as naming each pupil it lists (by reference)."""
    svc = context.services
    requests = await svc.db.read(rights_store.listing, open_only=False)
    if requests:
        pupils = sorted({request.pupil_id for request in requests})
        await svc.db.write(audit.append, actor=context.officer.actor,
                           action="rights_requests_list", reason=reason,
                           targets=[f"pupil:{pupil}" for pupil in pupils],
                           at=svc.clock.now())
    return list_screen(requests)


async def on_button(update: Update, context: Context) -> None:
    """`rq:list`, `rq:<id>`, `rq:<id>:<action>`, `rq:<id>:<action>:<code>`."""
    parts = button_data(update)[1:]
    if parts == ["list"]:
        await edit(update, *await _listing(context, REQUESTS_BUTTON))
        await ack(update)
        return
    request_id = parse_id(parts[0]) if 1 <= len(parts) <= 3 else None
    action = parts[1] if len(parts) > 1 else None
    if request_id is None or (action is not None and action not in _ASK):
        await answer(update, STALE_BUTTON)
        return
    try:
        if len(parts) == 3:
            text, markup = await _act(context, request_id, action or "", parts[2])
        else:
            text, markup = await _show(context, request_id, action)
    except RightsProblem as problem:
        await answer(update, problem_text(problem), alert=True)
        return
    await edit(update, text, markup)
    await ack(update)


async def _show(context: Context, request_id: int,
                action: str | None) -> tuple[str, InlineKeyboardMarkup]:
    """The request, or the reason codes of one of its actions (an open request only)."""
    request = await context.services.db.read(rights_store.one, request_id)
    if action is None:
        return request_screen(request)
    if request.status != rights_store.OPEN:
        raise RightsProblem(f"request {request_id} is already decided")
    return reasons_screen(request, action)


async def _act(context: Context, request_id: int, action: str,
               code: str) -> tuple[str, InlineKeyboardMarkup]:
    """Extend or decide, as the CLI does (the storage function checks and audits it)."""
    svc = context.services
    actor, now = context.officer.actor, svc.clock.now()
    back = keyboard([[(LABEL_LIST, f"{PREFIX}:list")]])
    if action == "x":
        request = await svc.db.write(rights_store.extend, request_id, code, actor=actor,
                                     now=now)
        return EXTENDED_DONE.format(id=request.id, due=day(request.due)), back
    decision = await svc.db.write(rights_store.decide, request_id, uphold=action == "u",
                                  reason=code, statement=None, actor=actor, now=now)
    return decision_text(decision), back
