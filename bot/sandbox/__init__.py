"""Loopback stand-in of the Telegram Bot API for the demo, the tests and the benchmarks."""

from bot.sandbox.models import ApiCall, BotMessage, Button, ChatEvent, FilePayload
from bot.sandbox.people import FakeGroup, FakeUser
from bot.sandbox.standin import BotApiStandIn

__all__ = [
    "ApiCall",
    "BotApiStandIn",
    "BotMessage",
    "Button",
    "ChatEvent",
    "FakeGroup",
    "FakeUser",
    "FilePayload",
]
