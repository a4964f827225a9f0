"""`ewobot run`: the bot itself, long polling or webhooks (and `ewobot demo`, offline);
`ewobot webhook info|delete`: what Telegram has registered, and removing it."""

from __future__ import annotations

import argparse
from datetime import UTC
from typing import TYPE_CHECKING

from bot.cli import OK, CliEnv, CliError
from bot.settings import Settings

if TYPE_CHECKING:
    from telegram import WebhookInfo
    from telegram.ext import Application

NO_TOKEN = ("EWO_TELEGRAM_TOKEN is not set: put the bot's token from BotFather "
            "in the environment or .env")
NAME_IN_USE = ("EWO_INSTANCE_NAME {name} is in use by another running instance (seen "
               "{seconds} s ago): give each instance its own name, or leave it unset "
               "(HOSTNAME:PID)")
NAME_TAKEN = ("EWO_INSTANCE_NAME {name} was taken by another process while this one did not "
              "answer, so this one stopped: give each instance its own name")


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="the bot: long polling, or webhooks when "
                                          "EWO_WEBHOOK_URL is set")
    run.set_defaults(handler=cmd_run)
    demo = commands.add_parser(
        "demo", help="the bot offline, on synthetic data, with a chat in the terminal")
    demo.set_defaults(handler=cmd_demo)
    webhook = commands.add_parser("webhook", help="what Telegram has registered; remove it")
    actions = webhook.add_subparsers(dest="action", metavar="ACTION",
                                     parser_class=type(webhook))
    actions.required = True
    actions.add_parser("info", help="URL, pending updates, last error").set_defaults(
        handler=cmd_webhook_info)
    actions.add_parser("delete", help="remove the webhook: back to long polling").set_defaults(
        handler=cmd_webhook_delete)


def cmd_run(args: argparse.Namespace, env: CliEnv) -> int:
    """Start polling, or serve webhooks; SIGTERM or Ctrl-C stops either cleanly."""
    import asyncio

    from telegram.error import TelegramError

    from bot.app import ALLOWED_UPDATES, build_application
    from bot.cli.preflight import check_before_run, problem_line
    from bot.jobs.leader import NameInUse
    from bot.logs import configure_logging

    settings = env.settings
    if settings.telegram_token is None:
        raise CliError(NO_TOKEN)
    secret = settings.webhook_secret_text() if settings.webhook_url else None
    configure_logging(secrets=(*env.secrets(), *((secret,) if secret else ())),
                      instance=settings.instance_name)
    asyncio.run(check_before_run(settings))
    try:
        if secret is None:
            application = build_application(settings)
            application.run_polling(allowed_updates=ALLOWED_UPDATES)
            _stopped_for_its_name(application, settings)
        else:
            asyncio.run(_serve_webhooks(settings, secret, ALLOWED_UPDATES))
    except TelegramError as exc:  # Telegram went away between the check and the start
        raise CliError(problem_line(exc, settings)) from None
    except NameInUse as exc:  # several instances: another process runs under this name
        raise CliError(NAME_IN_USE.format(name=exc.instance,
                                           seconds=exc.seconds_ago)) from None
    return OK


def _stopped_for_its_name(application: Application, settings: Settings) -> None:
    """CliError when the bot stopped because another process took its name meanwhile."""
    from bot.jobs.leader import NAME_LOST_KEY

    if application.bot_data.get(NAME_LOST_KEY):
        raise CliError(NAME_TAKEN.format(name=settings.instance_name))


async def _serve_webhooks(settings: Settings, secret: str, allowed_updates: list[str]) -> None:
    from bot.app import build_application
    from bot.webhook import Endpoint, ListenError, serve

    assert settings.webhook_url is not None
    host, port = settings.webhook_listen
    endpoint = Endpoint(settings.webhook_url, secret, allowed_updates)
    application = build_application(settings, polling=False)
    try:
        await serve(application, endpoint, host=host, port=port,
                    instance=settings.instance_name)
    except ListenError as exc:
        raise CliError(str(exc)) from None
    _stopped_for_its_name(application, settings)


async def webhook_info(env: CliEnv, *, attempts: int | None = None) -> WebhookInfo:
    """getWebhookInfo with the service's token (CliError, one line, when it fails)."""
    return await _telegram(env, "get_webhook_info", attempts)  # type: ignore[return-value]


async def cmd_webhook_info(args: argparse.Namespace, env: CliEnv) -> int:
    """What Telegram has registered: the URL, pending updates, the last error (no secret)."""
    info = await webhook_info(env)
    env.say(f"url: {info.url or 'none (long polling)'}")
    env.say(f"pending updates: {info.pending_update_count}")
    if info.last_error_date is not None:
        when = info.last_error_date.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        env.say(f"last error: {when}: {info.last_error_message or ''}")
    else:
        env.say("last error: none")
    return OK


async def cmd_webhook_delete(args: argparse.Namespace, env: CliEnv) -> int:
    """Remove the webhook, keeping pending updates: `ewobot run` without EWO_WEBHOOK_URL
    then takes them by long polling."""
    await _telegram(env, "delete_webhook")
    env.say("webhook removed: updates wait for long polling (`ewobot run` without "
            "EWO_WEBHOOK_URL)")
    return OK


async def _telegram(env: CliEnv, method: str, attempts: int | None = None) -> object:
    """One Bot API call with the service's token; every failure is one line."""
    from telegram import Bot
    from telegram.error import TelegramError

    from bot.cli.preflight import problem_line, reach_telegram

    settings = env.settings
    if settings.telegram_token is None:
        raise CliError(NO_TOKEN)
    # The token and the network, as `run` checks them.
    await (reach_telegram(settings) if attempts is None
           else reach_telegram(settings, attempts=attempts))
    try:
        async with Bot(settings.telegram_token.get_secret_value(),
                       base_url=settings.telegram_api_url) as bot:
            return await getattr(bot, method)()
    except TelegramError as exc:
        raise CliError(problem_line(exc, settings)) from None


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
