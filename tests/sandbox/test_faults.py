"""Scripted failures reach python-telegram-bot as the errors the real service causes."""

from __future__ import annotations

import asyncio
import datetime as dtm
import warnings

import pytest
from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.sandbox import BotApiStandIn
from tests.sandbox.echo_bot import PollingBot


def _seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_unknown_method_is_bad_request_not_invalid_token(bot: Bot) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert not isinstance(caught.value, InvalidToken)
    assert "sendtelepathy" in caught.value.message.lower()


async def test_wrong_token_is_invalid_token(standin: BotApiStandIn) -> None:
    stranger = Bot("123456:not-the-token", base_url=standin.base_url)
    with pytest.raises(InvalidToken):
        await stranger.initialize()


async def test_scripted_429_gives_retry_after_with_the_wait(
    standin: BotApiStandIn, bot: Bot
) -> None:
    standin.user(2001)
    standin.fail_next("sendMessage", status=429, retry_after=7)

    # PTB 22 itself warns that retry_after will become a timedelta; not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(2001, "alert")
        retry_after = caught.value.retry_after

    assert _seconds(retry_after) == 7
    assert standin.user(2001).history == []  # a refused call has no effect
    await bot.send_message(2001, "alert")  # the fault was used up
    assert standin.user(2001).last().text == "alert"
    assert [call.status for call in standin.calls_to("sendMessage")] == [429, 200]


async def test_scripted_403_gives_forbidden(standin: BotApiStandIn, bot: Bot) -> None:
    standin.user(2002)
    standin.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(2002, "alert")


async def test_scripted_400_gives_bad_request_with_description(
    standin: BotApiStandIn, bot: Bot
) -> None:
    standin.user(2003)
    standin.fail_next("sendMessage", status=400, description="Bad Request: chat is odd", times=2)
    for _ in range(2):
        with pytest.raises(BadRequest, match="(?i)chat is odd"):
            await bot.send_message(2003, "alert")
    await bot.send_message(2003, "alert")


async def test_scripted_500_is_a_network_error_but_not_bad_request(
    standin: BotApiStandIn, bot: Bot
) -> None:
    standin.user(2004)
    standin.fail_next("sendmessage", status=500)  # method names are case-insensitive
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(2004, "alert")
    assert not isinstance(caught.value, BadRequest)


async def test_blocked_user_gives_forbidden(standin: BotApiStandIn, bot: Bot) -> None:
    user = standin.user(2005)
    user.block()
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(2005, "alert")
    user.unblock()
    await bot.send_message(2005, "alert")


async def test_delay_provokes_timed_out_but_the_message_still_arrives(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user = standin.user(2006)
    standin.delay_next("sendMessage", 2.0)

    with pytest.raises(TimedOut):
        await bot.send_message(2006, "slow alert", read_timeout=0.2)

    # Like the real service: the client gave up, the message was still delivered.
    assert (await user.next_message()).text == "slow alert"


async def test_refused_connections_give_network_error_then_polling_recovers(
    standin: BotApiStandIn, polling_bot: PollingBot
) -> None:
    user = standin.user(2007)
    await standin.wait_for_long_poll()

    await standin.refuse_connections()
    await asyncio.wait_for(polling_bot.polling_failed.wait(), 5)  # the held poll was cut
    with pytest.raises(NetworkError):
        await polling_bot.app.bot.send_message(2007, "while down")
    await user.send("are you there?")
    await standin.accept_connections()

    assert (await user.next_message()).text == "are you there?"
    assert all(isinstance(error, NetworkError) for error in polling_bot.errors)
