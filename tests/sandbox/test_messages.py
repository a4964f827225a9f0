"""Bot API semantics of the stand-in, called one method at a time through python-telegram-bot."""

from __future__ import annotations

import asyncio

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden

from bot.sandbox import BotApiStandIn, Button

YES_NO = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Yes", callback_data="y"),
            InlineKeyboardButton("No", callback_data="n"),
        ]
    ]
)


async def test_get_me_describes_the_bot(standin: BotApiStandIn, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot, me.can_join_groups) == (
        123456, "ewo_test_bot", True, False
    )


async def test_sending_to_an_unknown_chat_is_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(999, "hello")


async def test_editing_with_identical_content_is_not_modified(
    standin: BotApiStandIn, bot: Bot
) -> None:
    standin.user(4001)
    sent = await bot.send_message(4001, "Question", reply_markup=YES_NO)

    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Question", 4001, sent.message_id, reply_markup=YES_NO)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(4001, sent.message_id, reply_markup=YES_NO)

    await bot.edit_message_reply_markup(4001, sent.message_id)
    shown = standin.user(4001).last()
    assert shown.buttons == [] and shown.edited and shown.text == "Question"


async def test_editing_deleted_or_unknown_messages_is_not_found(
    standin: BotApiStandIn, bot: Bot
) -> None:
    standin.user(4002)
    sent = await bot.send_message(4002, "Soon gone")
    await bot.delete_message(4002, sent.message_id)

    for message_id in (sent.message_id, 77):
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("Changed", 4002, message_id)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(4002, sent.message_id)


async def test_a_users_own_message_cannot_be_edited_but_can_be_deleted(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user = standin.user(4003)
    pin_message = await user.send("4921")

    with pytest.raises(BadRequest, match="(?i)message can't be edited"):
        await bot.edit_message_text("****", 4003, pin_message)
    await bot.delete_message(4003, pin_message)

    assert user.deleted == {pin_message}


async def test_delete_messages_skips_the_missing(standin: BotApiStandIn, bot: Bot) -> None:
    user = standin.user(4004)
    first = await bot.send_message(4004, "one")
    second = await bot.send_message(4004, "two")

    await bot.delete_messages(4004, [first.message_id, 999, second.message_id])

    assert user.history == []
    assert user.deleted == {first.message_id, second.message_id}


async def test_reply_parameters_are_checked_and_recorded(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user = standin.user(4005)
    asked = await user.send("What is my caseload?")

    await bot.send_message(4005, "Twelve pupils.", reply_parameters=ReplyParameters(asked))
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(4005, "Lost", reply_parameters=ReplyParameters(9999))

    assert user.last().reply_to_message_id == asked


async def test_html_is_rendered_and_malformed_html_refused(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user = standin.user(4006)
    await bot.send_message(4006, "<b>Pupil:</b> O&#x27;Brien &amp; Sons", parse_mode=ParseMode.HTML)

    for broken in ("<b>unclosed", "a < b", "<marquee>hi</marquee>"):
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(4006, broken, parse_mode=ParseMode.HTML)

    assert [message.text for message in user.history] == ["Pupil: O'Brien & Sons"]


async def test_markdown_v2_needs_escaping(standin: BotApiStandIn, bot: Bot) -> None:
    user = standin.user(4007)
    with pytest.raises(BadRequest, match="(?i)reserved"):
        await bot.send_message(4007, "Attendance 91.5%", parse_mode=ParseMode.MARKDOWN_V2)

    await bot.send_message(4007, "*Attendance* 91\\.5%", parse_mode=ParseMode.MARKDOWN_V2)

    assert user.last().text == "Attendance 91.5%"


async def test_oversized_text_and_callback_data_are_refused(
    standin: BotApiStandIn, bot: Bot
) -> None:
    standin.user(4008)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(4008, "x" * 4097)
    long_data = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(4008, "Go?", reply_markup=long_data)


async def test_a_press_is_answered_once(standin: BotApiStandIn, bot: Bot) -> None:
    user = standin.user(4009)
    await bot.send_message(4009, "Continue?", reply_markup=YES_NO)
    press = await user.press("Yes")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None and update.callback_query.data == "y"

    await update.callback_query.answer()
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await update.callback_query.answer("again")

    assert await user.answer_to(press) is None


async def test_commands_are_kept_by_scope(standin: BotApiStandIn, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("pupils", "Your pupils")], scope=BotCommandScopeChat(42))

    assert standin.commands[("default",)] == [
        {"command": "start", "description": "Begin"},
        {"command": "help", "description": "Help"},
    ]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(42))] == [
        "pupils"
    ]
    await bot.delete_my_commands(scope=BotCommandScopeChat(42))
    assert ("chat", 42) not in standin.commands
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Pupils", "Capitals are refused")])


async def test_photo_upload_can_be_downloaded_again(standin: BotApiStandIn, bot: Bot) -> None:
    user = standin.user(4010)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))

    sent = await bot.send_photo(4010, png, caption="Caseload", protect_content=True)
    file = await bot.get_file(sent.photo[-1].file_id)

    assert bytes(await file.download_as_bytearray()) == png
    shown = user.last()
    assert shown.photo is not None and shown.photo.content == png
    assert shown.caption == "Caseload" and shown.protect_content


async def test_chat_action_and_get_chat(standin: BotApiStandIn, bot: Bot) -> None:
    standin.user(4011, "Dana", username="dana")

    assert await bot.send_chat_action(4011, ChatAction.TYPING)
    chat = await bot.get_chat(4011)

    assert (chat.id, chat.type, chat.first_name, chat.username) == (4011, "private", "Dana", "dana")
    assert standin.calls_to("sendChatAction")[0].params == {"chat_id": 4011, "action": "typing"}


async def test_leaving_a_group_then_sending_there_is_forbidden(
    standin: BotApiStandIn, bot: Bot
) -> None:
    standin.user(4012)
    standin.group(-600)

    with pytest.raises(BadRequest, match="(?i)private chats"):
        await bot.leave_chat(4012)
    await bot.leave_chat(-600)

    assert standin.left_chats == {-600}
    with pytest.raises(Forbidden, match="(?i)not a member"):
        await bot.send_message(-600, "still here?")


async def test_wait_for_call_returns_each_call_once(standin: BotApiStandIn, bot: Bot) -> None:
    standin.user(4013)
    await bot.send_message(4013, "first")
    later = asyncio.create_task(
        standin.wait_for_call("sendMessage", lambda call: call.params["text"] == "third")
    )

    await bot.send_message(4013, "second")
    await bot.send_message(4013, "third")

    assert (await standin.wait_for_call("sendMessage")).params["text"] == "first"
    assert (await later).params["text"] == "third"
    assert (await standin.wait_for_call("sendMessage")).params["text"] == "second"
    with pytest.raises(TimeoutError):
        await standin.wait_for_call("sendMessage", timeout=0.05)


async def test_url_buttons_are_shown_but_cannot_be_pressed(
    standin: BotApiStandIn, bot: Bot
) -> None:
    user = standin.user(4014)
    guide = InlineKeyboardMarkup([[InlineKeyboardButton("Guide", url="https://example.org")]])
    await bot.send_message(4014, "Read this", reply_markup=guide)

    assert user.last().buttons == [[Button("Guide", url="https://example.org")]]
    with pytest.raises(LookupError):
        await user.press("Guide")
