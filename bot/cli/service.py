"""`ewobot run`: the bot itself, long polling (and `ewobot demo`, offline)."""

from __future__ import annotations

import argparse

from bot.cli import OK, CliEnv, CliError


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="the bot: long polling")
    run.set_defaults(handler=cmd_run)
    demo = commands.add_parser(
        "demo", help="the bot offline, on synthetic data, with a chat in the terminal")
    demo.set_defaults(handler=cmd_demo)


def cmd_run(args: argparse.Namespace, env: CliEnv) -> int:
    """Start polling; SIGTERM or Ctrl-C stops it cleanly (run_polling handles both)."""
    import asyncio

    from telegram.error import TelegramError

    from bot.app import ALLOWED_UPDATES, build_application
    from bot.cli.preflight import check_before_run, problem_line
    from bot.logs import configure_logging

    settings = env.settings
    if settings.telegram_token is None:
        raise CliError("EWO_TELEGRAM_TOKEN is not set: put the bot's token from BotFather "
                       "in the environment or .env")
    configure_logging(secrets=env.secrets())
    asyncio.run(check_before_run(settings))
    application = build_application(settings)
    try:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    except TelegramError as exc:  # Telegram went away between the check and the start
        raise CliError(problem_line(exc, settings)) from None
    return OK


async def cmd_demo(args: argparse.Namespace, env: CliEnv) -> int:
    """A synthetic service in a temporary folder; never EWO_DATABASE, no token, no network."""
    import logging

    from bot.demo import StdinLines, run_demo
    from bot.logs import configure_logging

    configure_logging(level=logging.WARNING)
    for handler in logging.getLogger().handlers:  # the terminal is the chat: warnings only
        handler.setLevel(logging.WARNING)
    await run_demo(env.settings, read_line=StdinLines(), out=env.out)
    return OK
