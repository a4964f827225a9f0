"""A real python-telegram-bot Application polling the stand-in: what the user sees."""

from __future__ import annotations

import pytest

from bot.sandbox import BotApiStandIn
from tests.sandbox.echo_bot import REPORT_CSV, PollingBot


async def test_echo_reaches_the_user(standin: BotApiStandIn, polling_bot: PollingBot) -> None:
    user = standin.user(1001, "Ada")
    sent_id = await user.send("hello there")

    reply = await user.next_message()

    assert reply.text == "hello there"
    assert reply.chat_id == 1001
    assert reply.message_id == sent_id + 1  # one id sequence per chat
    assert [message.text for message in user.history] == ["hello there"]


async def test_start_command_with_code_shows_buttons_protected(
    standin: BotApiStandIn, polling_bot: PollingBot
) -> None:
    user = standin.user(1002)
    await user.send("/start ABC123")

    greeting = await user.next_message()

    assert greeting.text == "Welcome. Code: ABC123"
    assert greeting.labels() == ["Yes", "No"]
    assert greeting.protect_content is True
    assert standin.calls_to("sendMessage")[0].params["protect_content"] is True


async def test_press_is_answered_and_edits_the_message(
    standin: BotApiStandIn, polling_bot: PollingBot
) -> None:
    user = standin.user(1003)
    await user.send("/start")
    question = await user.next_message()

    press = await user.press("No")

    assert await user.answer_to(press) == "Noted"
    kinds = [(await user.next_event()).kind for _ in range(3)]
    assert kinds == ["sent", "answered", "edited"]
    (shown,) = user.history
    assert shown.message_id == question.message_id
    assert shown.text == "You chose no"
    assert shown.edited is True
    assert shown.buttons == []  # an edit without reply_markup drops the keyboard
    assert question.text == "Welcome. Code: none"  # what next_message returned is a snapshot


async def test_pressing_a_missing_button_raises(
    standin: BotApiStandIn, polling_bot: PollingBot
) -> None:
    user = standin.user(1004)
    with pytest.raises(LookupError):
        await user.press("Yes")
    await user.send("/start")
    await user.next_message()
    with pytest.raises(LookupError):
        await user.press("Maybe")


async def test_forged_callback_data_reaches_the_bot(
    standin: BotApiStandIn, polling_bot: PollingBot
) -> None:
    user = standin.user(1005)
    await user.send("/start")
    question = await user.next_message()

    press = await user.press_data("choice:delete-everything", question.message_id)

    assert await user.answer_to(press) == "That button is not valid."
    assert user.last().text == "Welcome. Code: none"


async def test_document_keeps_name_bytes_and_caption(
    standin: BotApiStandIn, polling_bot: PollingBot
) -> None:
    user = standin.user(1006)
    await user.send("/report")

    sent = await user.next_message()

    assert sent.document is not None
    assert sent.document.filename == "report.csv"
    assert sent.document.content == REPORT_CSV
    assert sent.caption == "Report for O'Brien"
    assert sent.raw_text == "<b>Report</b> for O&#x27;Brien"
    assert sent.parse_mode == "HTML"
    assert sent.protect_content is True


async def test_deletions_leave_history_and_are_recorded(
    standin: BotApiStandIn, polling_bot: PollingBot
) -> None:
    user = standin.user(1007)
    await user.send("first")
    await user.next_message()
    command_id = await user.send("/tidy")

    events = [await user.next_event() for _ in range(4)]

    assert [event.kind for event in events] == ["sent", "deleted", "sent", "deleted"]
    notice_id = events[2].message_id
    assert events[1].message_id == command_id and events[1].message is None
    assert events[3].message is not None and events[3].message.deleted is True
    assert user.deleted == {command_id, notice_id}
    assert [message.text for message in user.history] == ["first"]


async def test_bot_leaves_a_group(standin: BotApiStandIn, polling_bot: PollingBot) -> None:
    member = standin.user(1008)
    group = standin.group(-500, "Staff room")
    await group.send(member, "/leave")

    await standin.wait_for_call("leaveChat")

    assert standin.left_chats == {-500}
    assert -500 not in [call.params.get("chat_id") for call in standin.calls_to("sendMessage")]


async def test_group_messages_arrive_as_group_updates(
    standin: BotApiStandIn, polling_bot: PollingBot
) -> None:
    member = standin.user(1009, "Ben", username="ben")
    group = standin.group(-501, "Staff room")

    await group.send(member, "hello group")

    reply = await group.next_message()
    assert reply.chat_id == -501 and reply.text == "hello group"
    assert member.history == []
