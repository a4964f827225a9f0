"""getUpdates: confirmation by offset, limits, long polling, conflicts and a clean stop."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Bot
from telegram.error import Conflict

from bot.sandbox import BotApiStandIn


async def test_updates_repeat_until_confirmed_and_never_after(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user = standin.user(3001)
    for text in ("one", "two", "three"):
        await user.send(text)

    first = await bot.get_updates()
    again = await bot.get_updates()
    assert [u.message.text for u in first if u.message] == ["one", "two", "three"]
    assert [u.update_id for u in again] == [u.update_id for u in first]

    after = await bot.get_updates(offset=first[-1].update_id + 1)
    assert after == ()
    await user.send("four")
    latest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in latest if u.message] == ["four"]
    assert standin.pending_updates == 1


async def test_offset_confirms_part_and_limit_caps(standin: BotApiStandIn, bot: Bot) -> None:
    user = standin.user(3002)
    for text in ("one", "two", "three"):
        await user.send(text)
    everything = await bot.get_updates()

    page = await bot.get_updates(offset=everything[1].update_id, limit=1)

    assert [u.message.text for u in page if u.message] == ["two"]
    assert standin.pending_updates == 2


async def test_command_message_carries_a_bot_command_entity(
    standin: BotApiStandIn, bot: Bot
) -> None:
    await standin.user(3003, "Cara", username="cara").send("/start XYZ")

    (update,) = await bot.get_updates()

    assert update.message is not None
    assert update.message.text == "/start XYZ"
    assert update.message.parse_entities(["bot_command"]) and update.message.from_user
    assert list(update.message.parse_entities(["bot_command"]).values()) == ["/start"]
    assert update.message.from_user.username == "cara"
    assert update.message.chat.type == "private"


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user = standin.user(3004)
    poll = asyncio.create_task(bot.get_updates(timeout=10, read_timeout=15))
    await standin.wait_for_long_poll()
    started = time.monotonic()

    await user.send("wake up")

    updates = await poll
    assert [u.message.text for u in updates if u.message] == ["wake up"]
    assert time.monotonic() - started < 2


async def test_long_poll_without_updates_returns_empty_after_timeout(bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()


async def test_a_second_poller_ends_the_first_with_conflict(
    standin: BotApiStandIn, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10, read_timeout=15))
    await standin.wait_for_long_poll()

    async with Bot(standin.token, base_url=standin.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()

    with pytest.raises(Conflict):
        await first


async def test_stop_answers_a_held_poll_with_no_updates(
    standin: BotApiStandIn, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
    await standin.wait_for_long_poll()

    await standin.stop()

    assert await asyncio.wait_for(poll, 2) == ()


async def test_callback_query_from_a_deleted_message_is_inaccessible(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user = standin.user(3005)
    sent = await bot.send_message(3005, "Pick", reply_markup=None)
    await bot.delete_message(3005, sent.message_id)

    await user.press_data("stale:1", sent.message_id)

    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.data == "stale:1"
    assert update.callback_query.message is not None
    assert not update.callback_query.message.is_accessible


async def test_drop_pending_updates_on_delete_webhook(standin: BotApiStandIn, bot: Bot) -> None:
    await standin.user(3006).send("old news")

    await bot.delete_webhook(drop_pending_updates=True)

    assert await bot.get_updates() == ()


async def test_a_group_the_bot_left_sends_it_nothing(standin: BotApiStandIn, bot: Bot) -> None:
    member = standin.user(3008)
    group = standin.group(-700)
    await bot.leave_chat(-700)

    await group.send(member, "anyone?")

    assert await bot.get_updates() == ()


async def test_users_cannot_send_empty_messages(standin: BotApiStandIn) -> None:
    with pytest.raises(ValueError):
        await standin.user(3009).send("   ")


async def test_taken_waits_until_the_bot_confirms_this_chats_updates(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user, other = standin.user(3101), standin.user(3102)
    await user.send("one")
    waiting = asyncio.create_task(user.taken(timeout=5))
    fetched = await bot.get_updates()  # fetched, not yet confirmed
    assert not waiting.done()
    await other.send("elsewhere")  # another chat's update does not hold it up
    await bot.get_updates(offset=fetched[-1].update_id + 1)
    await asyncio.wait_for(waiting, timeout=5)
    with pytest.raises(TimeoutError):
        await other.taken(timeout=0)
