"""The registry's table and the questions asked of it, without a running bot."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, BotCommand, Update

from bot.domain.conversation_kinds import ConversationKind
from bot.handlers.registry import REGISTRY
from bot.handlers.table import ROLES, Button, Command, Registry, Search, Talk

PACKAGE = Path(__file__).resolve().parents[2] / "bot"

# /help as it read before the registry existed (and /case since): the table must say
# exactly this.
HELP_BEFORE = {
    "officer": (
        "/pupils — My pupils, lowest attendance first\n"
        "/pupil — A pupil's card: /pupil name, UPN or case ref\n"
        "/case — Where a case stands: /case name, UPN or case ref\n"
        "/visit — Record a visit\n"
        "/step — Record a pathway step or outcome: /step name, UPN or case ref\n"
        "/share — Record a decision to share information, or not to\n"
        "/cancel — Leave what you are recording\n"
        "/due — My follow-ups due\n"
        "/help — What I can do\n"
        "/lock — Lock now\n"
        "\n"
        "You can also just type a pupil's name."),
    "supervisor": (
        "/caseload — My team's caseload\n"
        "/pupils — My own pupils\n"
        "/pupil — A pupil's card: /pupil name, UPN or case ref\n"
        "/case — Where a case stands: /case name, UPN or case ref\n"
        "/visit — Record a visit\n"
        "/step — Record a pathway step or outcome: /step name, UPN or case ref\n"
        "/share — Record a decision to share information, or not to\n"
        "/cancel — Leave what you are recording\n"
        "/due — My follow-ups due\n"
        "/help — What I can do\n"
        "/lock — Lock now\n"
        "\n"
        "You can also just type a pupil's name."),
    "controller": (
        "/retention — Records coming due and past due\n"
        "/sar — Subject-access export: /sar UPN\n"
        "/requests — Rights requests: extend or decide\n"
        "/help — What I can do\n"
        "/lock — Lock now\n"
        "\n"
        "Exports are written on the server, never sent here."),
}


async def _nothing(update: Update, context: Any) -> None:
    return None


def _registry(**changes: Any) -> Registry:
    rows: dict[str, Any] = {"commands": (Command("help", _nothing, ROLES, "What I can do"),),
                            "buttons": (Button("card", _nothing, ROLES),),
                            "conversations": (), "search": Search(_nothing, ROLES)}
    return Registry(**{**rows, **changes})


def _command_update(text: str, length: int | None = None) -> Update:
    entity = {"type": "bot_command", "offset": 0, "length": length or len(text.split()[0])}
    return Update.de_json({"update_id": 1, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "A"}, "text": text,
        "entities": [entity]}}, Bot("1:x"))


def _press(data: str) -> Update:
    return Update.de_json({"update_id": 1, "callback_query": {
        "id": "1", "chat_instance": "5", "data": data,
        "from": {"id": 5, "is_bot": False, "first_name": "A"}}}, Bot("1:x"))


@pytest.mark.parametrize("role", ROLES)
def test_help_and_menu_say_what_they_said_before(role: str) -> None:
    assert REGISTRY.help_text(role) == HELP_BEFORE[role]
    lines = HELP_BEFORE[role].split("\n\n")[0].splitlines()
    assert REGISTRY.menu(role) == [
        BotCommand(line[1:].split(" — ")[0], line.split(" — ", 1)[1]) for line in lines]


def test_every_menu_row_is_a_command_its_roles_may_use() -> None:
    for role in ROLES:
        for row in REGISTRY.listed(role):
            assert role in row.roles


@pytest.mark.parametrize(("text", "role", "allowed"), [
    ("/caseload", "officer", False),
    ("/caseload EWO1", "supervisor", True),
    ("/CASELOAD", "officer", False),  # Telegram's commands are case-insensitive
    ("/caseload@EwoBot", "officer", False),  # addressed to this bot
    ("/caseload@OtherBot", "officer", True),  # not a command for this bot: not refused here
    ("/sar 123", "officer", False),
    ("/cancel", "controller", True),  # a controller may leave a hold
    ("/nonesuch", "officer", True),  # an unknown command is answered as unknown
])
def test_the_gate_question_for_commands(text: str, role: str, allowed: bool) -> None:
    assert REGISTRY.allows(_command_update(text), role, "EwoBot") is allowed


@pytest.mark.parametrize(("data", "role", "allowed"), [
    ("card:1", "controller", False),
    ("card:1", "officer", True),
    ("vc:1", "controller", False),  # not taken for the `v` row
    ("v:new:1", "supervisor", True),
    ("ret:open:1", "officer", False),
    ("cl:page:0", "officer", False),
    ("card", "controller", True),  # no prefix: a stale button, answered as such
    ("zz:1", "controller", True),
])
def test_the_gate_question_for_buttons(data: str, role: str, allowed: bool) -> None:
    assert REGISTRY.allows(_press(data), role, "EwoBot") is allowed


def test_the_table_refuses_rows_that_contradict_each_other() -> None:
    with pytest.raises(ValueError, match="command registered twice: help"):
        _registry(commands=(Command("help", _nothing, ROLES, "a"),
                            Command("help", _nothing, ROLES, "b")))
    with pytest.raises(ValueError, match="button prefix registered twice: card"):
        _registry(buttons=(Button("card", _nothing, ROLES), Button("card", _nothing, ROLES)))
    with pytest.raises(ValueError, match="menu lists it for a role it refuses"):
        _registry(commands=(Command("x", _nothing, ("officer",), "x", menu=ROLES),))
    with pytest.raises(ValueError, match="no button row 'zz'"):
        _registry(conversations=(Talk("t", _nothing, "Done.", ROLES, "zz"),))


def test_every_conversation_kind_has_a_row() -> None:
    assert {row.kind for row in REGISTRY.conversations} == set(ConversationKind)



def _sources() -> list[tuple[Path, ast.AST]]:
    paths = [path for path in PACKAGE.rglob("*.py") if "sandbox" not in path.parts]
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in paths]


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_table_imports_no_handler_and_no_handler_imports_the_registry() -> None:
    """What keeps the registry free of import cycles: the rows' types know no feature,
    and only the composition root (and what runs it) reads the rows themselves."""
    for path, tree in _sources():
        imported = _imports(tree)
        if path.name == "table.py":
            assert not {name for name in imported if name.startswith("bot.handlers")}
        if "handlers" in path.relative_to(PACKAGE).parts[:-1] and path.name != "registry.py":
            assert "bot.handlers.registry" not in imported, path.name


def test_conversation_kinds_are_named_only_in_their_enum() -> None:
    """No `kind="visit"`, `talk.kind == "hold"` or `kind = 'visit'` in SQL outside
    bot/domain/conversation_kinds.py."""
    kinds = {kind.value for kind in ConversationKind}
    for path, tree in _sources():
        if path.name == "conversation_kinds.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "kind":
                assert not (isinstance(node.value, ast.Constant) and node.value.value in kinds), \
                    f"{path.name}:{node.value.lineno}"
            if isinstance(node, ast.Compare) and "kind" in ast.unparse(node.left):
                assert not any(isinstance(side, ast.Constant) and side.value in kinds
                               for side in node.comparators), f"{path.name}:{node.lineno}"
            if isinstance(node, ast.Assign) and any(
                    isinstance(target, ast.Name) and target.id in ("KIND", "PIN_SETUP")
                    for target in node.targets):
                assert not isinstance(node.value, ast.Constant), f"{path.name}:{node.lineno}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not any(f"kind = '{kind}'" in node.value for kind in kinds), path.name
