"""The registry: every command, button and conversation the bot has, and who may use it.

One row each. The composition root (bot/app.py) registers a handler for every row;
the gate refuses a command or button outside the row's roles (one polite refusal,
one audit entry); /help and the setMyCommands menu list the rows whose menu names the
person's role, in this order; the router and /cancel read the conversation rows.
Adding a command is adding a row here. (`/start CODE` is no row: the gate itself
enrols, before anyone has a role.)
"""

from __future__ import annotations

from bot.domain.conversation_kinds import ConversationKind
from bot.handlers import access, cancel, case, due, pupils, share, step, visit
from bot.handlers import alerts as alert_handlers
from bot.handlers import caseload as caseload_handlers
from bot.handlers import help as help_handlers
from bot.handlers import requests as request_handlers
from bot.handlers import retention as retention_handlers
from bot.handlers import sar as sar_handlers
from bot.handlers.table import (
    CONTROLLER,
    RECORDERS,
    ROLES,
    SUPERVISOR,
    Button,
    Command,
    Registry,
    Search,
    Talk,
)

CARD_HELP = "A pupil's card: /pupil name, UPN or case ref"

COMMANDS = (
    Command("caseload", caseload_handlers.caseload_command, (SUPERVISOR,),
            "My team's caseload"),
    Command("pupils", pupils.pupils_command, RECORDERS, "My pupils, lowest attendance first",
            help_for={SUPERVISOR: "My own pupils"}),
    Command("pupil", pupils.pupil_command, RECORDERS, CARD_HELP),
    Command("case", case.case_command, RECORDERS,
            "Where a case stands: /case name, UPN or case ref"),
    Command("visit", visit.visit_command, RECORDERS, "Record a visit"),
    Command("step", step.step_command, RECORDERS,
            "Record a pathway step or outcome: /step name, UPN or case ref"),
    Command("share", share.share_command, RECORDERS,
            "Record a decision to share information, or not to"),
    # Anyone may leave an open conversation (a controller's hold too); the menu and
    # /help offer it to those who record visits.
    Command("cancel", cancel.cancel_command, ROLES, "Leave what you are recording",
            menu=RECORDERS),
    Command("due", due.due_command, RECORDERS, "My follow-ups due"),
    Command("retention", retention_handlers.retention_command, (CONTROLLER,),
            "Records coming due and past due"),
    Command("sar", sar_handlers.sar_command, (CONTROLLER,), "Subject-access export: /sar UPN"),
    Command("requests", request_handlers.requests_command, (CONTROLLER,),
            "Rights requests: extend or decide"),
    Command("help", help_handlers.help_command, ROLES, "What I can do"),
    Command("lock", access.lock_command, ROLES, "Lock now"),
)

BUTTONS = (
    Button("card", pupils.card_button, RECORDERS),  # card:<pupil_id>
    Button("det", pupils.details_button, RECORDERS),  # det:<pupil_id>, contacts and needs
    Button("pg", pupils.page_button, RECORDERS),  # pg:<page> of /pupils
    Button("pick", pupils.pick_button, RECORDERS),  # pick:<pupil_id>, a search result
    Button(case.PREFIX, case.case_button, RECORDERS),  # case:<pupil_id>[:<page>]
    Button("cl", caseload_handlers.caseload_button, (SUPERVISOR,)),  # cl:…
    Button("al", alert_handlers.on_button, RECORDERS),  # al:… on pushed alerts
    Button(visit.PREFIX, visit.on_button, RECORDERS),  # v:<token>:…, v:new:<pupil_id>
    Button(visit.CORRECT_PREFIX, visit.correct_button, RECORDERS),  # vc:<visit_id>
    Button(step.PREFIX, step.on_button, RECORDERS),  # st:<token>:…, st:new:<pupil_id>:<what>
    Button(step.CORRECT_PREFIX, step.correct_button, RECORDERS),  # stc:<step|outcome>:<id>
    Button(share.PREFIX, share.on_button, RECORDERS),  # sh:<token>:…
    Button(share.CORRECT_PREFIX, share.correct_button, RECORDERS),  # shc:<entry_id>
    Button(retention_handlers.PREFIX, retention_handlers.on_button, (CONTROLLER,)),  # ret:…
    Button(request_handlers.PREFIX, request_handlers.on_button, (CONTROLLER,)),  # rq:…
)

CONVERSATIONS = (
    Talk(ConversationKind.VISIT, visit.on_text, visit.CANCELLED, RECORDERS, visit.PREFIX),
    Talk(ConversationKind.STEP, step.on_text, step.CANCELLED, RECORDERS, step.PREFIX),
    Talk(ConversationKind.SHARE, share.on_text, share.CANCELLED, RECORDERS, share.PREFIX),
    Talk(ConversationKind.HOLD, retention_handlers.on_text, visit.CANCELLED_OTHER,
         (CONTROLLER,), retention_handlers.PREFIX),
    # Answered by the gate before any handler runs: the person has no PIN yet.
    Talk(ConversationKind.PIN_SETUP, None, visit.CANCELLED_OTHER, ROLES),
)

REGISTRY = Registry(
    commands=COMMANDS,
    buttons=BUTTONS,
    conversations=CONVERSATIONS,
    search=Search(pupils.search_text, RECORDERS),
    tips=help_handlers.TIPS,
)
