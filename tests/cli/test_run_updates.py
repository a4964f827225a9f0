"""`ewobot run` asks Telegram only for the update types the bot handles."""

from __future__ import annotations

from pathlib import Path

from bot.handlers import access
from bot.sandbox import BotApiStandIn
from tests.cli.test_run import bot_env, bot_running


async def test_run_asks_only_for_messages_presses_and_its_own_membership(
        tmp_path: Path) -> None:
    async with BotApiStandIn() as standin:
        env = bot_env(tmp_path, EWO_TELEGRAM_TOKEN=standin.token,
                      EWO_TELEGRAM_API_URL=standin.base_url)
        async with bot_running(tmp_path, env) as ran:
            stranger = standin.user(4242)
            await stranger.send("hello")
            assert (await stranger.next_message(timeout=30)).text == access.STRANGER
            assert standin.allowed_updates == {"message", "callback_query", "my_chat_member"}
            await stranger.send_in(standin.user(4343), "hello", business=True)
            assert standin.pending_updates == 0  # never made: the bot did not ask for it
    assert ran.code == 0
