"""The shape of the registry: command, button and conversation rows, and what is asked of them.

The rows themselves are in bot/handlers/registry.py, which imports the feature handlers;
this module imports none, so the gate, /help and the router can read a registry
(`context.registry`) without an import cycle. Each question the chat asks about roles
is answered here, from the rows, in one way:

- the gate: may this role use the command or button this update is? (`allows`)
- /help and the setMyCommands menu: which commands does this role's menu list, and
  in which order? (`listed`, `menu`, `help_text`)
- the router and /cancel: which handler answers the open conversation's typed text,
  and what /cancel says when it ends one? (`conversation`)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import BotCommand, Update
from telegram.constants import MessageEntityType

from bot.storage.conversations import Conversation
from bot.storage.officers import ROLES

# A handler is called as python-telegram-bot calls it: (update, context).
Handler = Callable[[Update, Any], Awaitable[Any]]
TextAnswer = Callable[[Update, Any, Conversation], Awaitable[None]]

OFFICER, SUPERVISOR, CONTROLLER = ROLES  # every role there is (bot/storage/officers.py)
# Those who hold a caseload: they search, open cards and record visits.
RECORDERS = (OFFICER, SUPERVISOR)


@dataclass(frozen=True)
class Command:
    """`/name`: who may send it, what /help says of it, whose menu lists it.

    `menu` defaults to `roles`; a command some may use without it being offered to
    them (a controller's /cancel of a hold) names the roles whose menu lists it.
    `help_for` words the help line differently for a role ("My own pupils").
    """

    name: str
    handler: Handler
    roles: tuple[str, ...]
    help: str
    menu: tuple[str, ...] | None = None
    help_for: Mapping[str, str] = field(default_factory=dict)

    @property
    def menu_roles(self) -> tuple[str, ...]:
        return self.roles if self.menu is None else self.menu

    def help_line(self, role: str) -> str:
        return self.help_for.get(role, self.help)


@dataclass(frozen=True)
class Button:
    """Callback data `prefix:…`: the handler that decodes it and who may press it."""

    prefix: str
    handler: Handler
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Talk:
    """A kind of multi-step conversation (the `conversations` table's `kind`).

    `answer` takes text typed while it waits (None: the gate answers it, as PIN
    set-up's); `cancelled` is what /cancel says once it has ended one; `prefix` names
    the button row its keyboards use. Text from a role outside `roles` is ignored.
    """

    kind: str
    answer: TextAnswer | None
    cancelled: str
    roles: tuple[str, ...]
    prefix: str | None = None


@dataclass(frozen=True)
class Search:
    """Typed text with no conversation waiting: who may search, and the handler."""

    handler: Handler
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Registry:
    """Every command, button and conversation the bot has; read, never changed."""

    commands: Sequence[Command]
    buttons: Sequence[Button]
    conversations: Sequence[Talk]
    search: Search
    tips: Mapping[str, str] = field(default_factory=dict)  # /help's last line, by role

    def __post_init__(self) -> None:
        _unique("command", [row.name for row in self.commands])
        _unique("button prefix", [row.prefix for row in self.buttons])
        _unique("conversation kind", [row.kind for row in self.conversations])
        prefixes = {row.prefix for row in self.buttons}
        for talk in self.conversations:
            if talk.prefix is not None and talk.prefix not in prefixes:
                raise ValueError(f"conversation {talk.kind!r}: no button row {talk.prefix!r}")
        for command in self.commands:
            if not set(command.menu_roles) <= set(command.roles):
                raise ValueError(f"/{command.name}: a menu lists it for a role it refuses")

    def command(self, name: str) -> Command | None:
        return next((row for row in self.commands if row.name == name), None)

    def button(self, data: str) -> Button | None:
        """The row whose prefix this button's data starts with (`card:42` → card)."""
        prefix, colon, _ = data.partition(":")
        if not colon:
            return None
        return next((row for row in self.buttons if row.prefix == prefix), None)

    def conversation(self, kind: str) -> Talk | None:
        return next((row for row in self.conversations if row.kind == kind), None)

    def listed(self, role: str) -> list[Command]:
        """The commands /help and the menu offer this role, in the table's order."""
        return [row for row in self.commands if role in row.menu_roles]

    def menu(self, role: str) -> list[BotCommand]:
        return [BotCommand(row.name, row.help_line(role)) for row in self.listed(role)]

    def help_text(self, role: str) -> str:
        lines = [f"/{row.name} — {row.help_line(role)}" for row in self.listed(role)]
        tip = self.tips.get(role)
        return "\n".join([*lines, "", tip] if tip else lines)

    def allows(self, update: Update, role: str, bot_username: str) -> bool:
        """May this role use what this update asks for? Anything that is not a known
        command or button (text, an unknown command, a stale button) is for the handlers
        to answer, so it is allowed here."""
        query = update.callback_query
        if query is not None:
            row = self.button(query.data) if isinstance(query.data, str) else None
            return row is None or role in row.roles
        name = command_name(update, bot_username)
        command = None if name is None else self.command(name)
        return command is None or role in command.roles


def command_name(update: Update, bot_username: str) -> str | None:
    """The command a message is, as python-telegram-bot's CommandHandler reads it: a
    bot_command entity at the start, addressed to no other bot; None for other text."""
    message = update.effective_message
    if message is None or not message.text or not message.entities:
        return None
    entity = message.entities[0]
    if entity.type != MessageEntityType.BOT_COMMAND or entity.offset != 0:
        return None
    name, _, addressee = message.text[1:entity.length].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    return name.lower()


def _unique(what: str, names: list[str]) -> None:
    seen = {name for name in names if names.count(name) > 1}
    if seen:
        raise ValueError(f"{what} registered twice: {', '.join(sorted(seen))}")
