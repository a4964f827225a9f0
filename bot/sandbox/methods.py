"""The Bot API methods the stand-in answers, with Telegram's errors for common mistakes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.formatting import EntityParseError, visible_text
from bot.sandbox.httpserver import UploadedFile
from bot.sandbox.models import BotMessage, Button, ChatEvent, FilePayload
from bot.sandbox.world import Chat, Webhook, World, utf16_length

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

# Form fields arrive as strings; these are decoded to the types the Bot API documents.
_INT_FIELDS = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "timeout", "user_id", "from_chat_id",
        "message_thread_id", "cache_time", "reply_to_message_id", "max_connections",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "protect_content", "disable_notification", "drop_pending_updates", "show_alert",
        "allow_sending_without_reply", "disable_web_page_preview", "has_spoiler",
        "disable_content_type_detection", "show_caption_above_media",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "reply_parameters", "scope", "commands", "allowed_updates",
        "message_ids", "entities", "caption_entities", "link_preview_options",
    }
)
_ATTACH = "attach://"


class ApiError(Exception):
    """A Bot API error response."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# Parameters --------------------------------------------------------------------------------


def decode_params(fields: dict[str, Any]) -> dict[str, Any]:
    """Give every field its documented type and resolve attach:// file references."""
    params = {name: _decode(name, value) for name, value in fields.items()}
    for name, value in list(params.items()):
        if isinstance(value, str) and value.startswith(_ATTACH):
            attached = params.pop(value.removeprefix(_ATTACH), None)
            if isinstance(attached, FilePayload):
                params[name] = attached
    return params


def _decode(name: str, value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return FilePayload(value.filename, value.content, value.mime_type)
    if not isinstance(value, str):
        return value
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value  # "@channelusername" and the like
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value  # refused by the method that reads it
    return value


def _chat(world: World, params: dict[str, Any]) -> Chat:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise bad_request("chat_id is empty")
    chat = world.chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is None:
        raise bad_request("chat not found")
    return chat


def _chat_for_sending(world: World, params: dict[str, Any]) -> Chat:
    chat = _chat(world, params)
    if chat.id in world.left_chats:
        raise ApiError(403, "Forbidden: bot is not a member of the group chat")
    if chat.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return chat


def _message_id(params: dict[str, Any]) -> int:
    message_id = params.get("message_id")
    if not isinstance(message_id, int):
        raise bad_request("message_id is empty" if message_id is None else "invalid message_id")
    return message_id


def _message_to_edit(world: World, params: dict[str, Any]) -> tuple[Chat, BotMessage]:
    if params.get("inline_message_id"):
        raise bad_request("inline messages are not supported by the stand-in")
    chat = _chat(world, params)
    message_id = _message_id(params)
    message = chat.messages.get(message_id)
    if message is None and chat.has_message(message_id):
        raise bad_request("message can't be edited")
    if message is None or message.deleted:
        raise bad_request("message to edit not found")
    return chat, message


def _shown(raw: str, parse_mode: str | None) -> str:
    try:
        return visible_text(raw, parse_mode)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from exc


def _inline_buttons(markup: Any) -> list[list[Button]]:
    if markup is None or markup == "":
        return []
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return []  # a reply keyboard, a removal or a force-reply: no inline buttons
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array")
    return [[_button(spec) for spec in row] for row in rows]


def _button(spec: Any) -> Button:
    if not isinstance(spec, dict) or not spec.get("text"):
        raise bad_request("can't find field \"text\"")
    data, url = spec.get("callback_data"), spec.get("url")
    if data is not None and not 1 <= len(str(data).encode()) <= 64:
        raise bad_request("BUTTON_DATA_INVALID")
    if len(spec) == 1:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    return Button(spec["text"], None if data is None else str(data), url)


def _reply_to(chat: Chat, params: dict[str, Any]) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict):
        message_id, lenient = reply.get("message_id"), reply.get("allow_sending_without_reply")
    else:
        message_id = params.get("reply_to_message_id")
        lenient = params.get("allow_sending_without_reply")
    if message_id is None:
        return None
    if isinstance(message_id, int) and chat.has_message(message_id):
        return message_id
    if lenient:
        return None
    raise bad_request("message to be replied not found")


def _new_message(chat: Chat, params: dict[str, Any], **content: Any) -> BotMessage:
    # Check everything before taking a message id: a refused call leaves no gap.
    buttons = _inline_buttons(params.get("reply_markup"))
    reply_to = _reply_to(chat, params)
    return BotMessage(
        message_id=chat.next_message_id(),
        chat_id=chat.id,
        buttons=buttons,
        protect_content=bool(params.get("protect_content")),
        parse_mode=params.get("parse_mode") or None,
        reply_to_message_id=reply_to,
        date=int(time.time()),
        **content,
    )


# Methods ---------------------------------------------------------------------------------


def get_me(world: World, params: dict[str, Any]) -> Any:
    return {
        **world.bot_user,
        "can_join_groups": False,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def set_webhook(world: World, params: dict[str, Any]) -> Any:
    url = params.get("url")
    if not url:
        return delete_webhook(world, params)  # an empty URL removes the webhook
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise bad_request("bad webhook: an HTTPS URL must be provided for webhook")
    secret = params.get("secret_token") or None
    if secret is not None and not _WEBHOOK_SECRET.fullmatch(str(secret)):
        raise bad_request("secret token contains unallowed characters")
    if params.get("drop_pending_updates"):
        world.updates.clear()
    world.allow_updates(params.get("allowed_updates"))
    connections = params.get("max_connections")
    world.webhook = Webhook(url, secret, connections if isinstance(connections, int) else 40)
    world.signal.notify()
    return True


def delete_webhook(world: World, params: dict[str, Any]) -> Any:
    if params.get("drop_pending_updates"):
        world.updates.clear()
    world.webhook = None
    world.signal.notify()
    return True


def get_webhook_info(world: World, params: dict[str, Any]) -> Any:
    hook = world.webhook
    info: dict[str, Any] = {"url": hook.url if hook else "", "has_custom_certificate": False,
                            "pending_update_count": len(world.updates)}
    if hook is not None:
        info["max_connections"] = hook.max_connections
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if world.allowed_updates is not None:
            info["allowed_updates"] = sorted(world.allowed_updates)
    return info


def send_message(world: World, params: dict[str, Any]) -> Any:
    chat = _chat_for_sending(world, params)
    raw = params.get("text")
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("message text is empty")
    text = _shown(raw, params.get("parse_mode"))
    if not text.strip():
        raise bad_request("message text is empty")
    if utf16_length(text) > MAX_TEXT:
        raise bad_request("message is too long")
    message = _new_message(chat, params, text=text, raw_text=raw)
    world.add_bot_message(chat, message)
    return world.message_json(chat, message)


def _send_file(world: World, params: dict[str, Any], field: str) -> Any:
    chat = _chat_for_sending(world, params)
    payload = _file_param(world, params.get(field), field)
    raw = params.get("caption") or None
    caption = _shown(raw, params.get("parse_mode")) if raw else None
    if caption is not None and utf16_length(caption) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    message = _new_message(chat, params, caption=caption, raw_text=raw, **{field: payload})
    world.add_bot_message(chat, message)
    return world.message_json(chat, message)


def _file_param(world: World, value: Any, field: str) -> FilePayload:
    if isinstance(value, FilePayload):
        return value
    if not isinstance(value, str) or not value:
        raise bad_request(f"there is no {field} in the request")
    known = world.files.get(value)
    if known is not None:
        return known
    if value.startswith(("http://", "https://")):
        return FilePayload(value.rsplit("/", 1)[-1] or None, b"")
    raise bad_request("wrong file identifier/HTTP URL specified")


def send_document(world: World, params: dict[str, Any]) -> Any:
    return _send_file(world, params, "document")


def send_photo(world: World, params: dict[str, Any]) -> Any:
    return _send_file(world, params, "photo")


def _not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message"
    )


def edit_message_text(world: World, params: dict[str, Any]) -> Any:
    chat, message = _message_to_edit(world, params)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    raw = params.get("text")
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("message text is empty")
    parse_mode = params.get("parse_mode") or None
    text = _shown(raw, parse_mode)
    if utf16_length(text) > MAX_TEXT:
        raise bad_request("message is too long")
    # Telegram drops the inline keyboard when an edit does not repeat it.
    buttons = _inline_buttons(params.get("reply_markup"))
    if _content_key(text, raw, parse_mode, buttons) == _content_key(
        message.text, message.raw_text, message.parse_mode, message.buttons
    ):
        raise _not_modified()
    message.text, message.raw_text, message.parse_mode = text, raw, parse_mode
    return _edited(world, chat, message, buttons)


def edit_message_caption(world: World, params: dict[str, Any]) -> Any:
    chat, message = _message_to_edit(world, params)
    if message.text is not None:
        raise bad_request("there is no caption in the message to edit")
    raw = params.get("caption") or None
    parse_mode = params.get("parse_mode") or None
    caption = _shown(raw, parse_mode) if raw else None
    buttons = _inline_buttons(params.get("reply_markup"))
    if _content_key(caption, raw, parse_mode, buttons) == _content_key(
        message.caption, message.raw_text, message.parse_mode, message.buttons
    ):
        raise _not_modified()
    message.caption, message.raw_text, message.parse_mode = caption, raw, parse_mode
    return _edited(world, chat, message, buttons)


def edit_message_reply_markup(world: World, params: dict[str, Any]) -> Any:
    chat, message = _message_to_edit(world, params)
    buttons = _inline_buttons(params.get("reply_markup"))
    if buttons == message.buttons:
        raise _not_modified()
    return _edited(world, chat, message, buttons)


def _content_key(
    shown: str | None, raw: str | None, parse_mode: str | None, buttons: list[list[Button]]
) -> tuple[Any, ...]:
    # Same visible text and same markup source means the same text and entities.
    return (shown, raw if parse_mode else shown, buttons)


def _edited(world: World, chat: Chat, message: BotMessage, buttons: list[list[Button]]) -> Any:
    message.buttons = buttons
    message.edited = True
    world.record_event(chat, ChatEvent("edited", message.message_id, message.snapshot()))
    return world.message_json(chat, message)


def delete_message(world: World, params: dict[str, Any]) -> Any:
    chat = _chat(world, params)
    message_id = _message_id(params)
    if not chat.has_message(message_id):
        raise bad_request("message to delete not found")
    world.delete_message(chat, message_id)
    return True


def delete_messages(world: World, params: dict[str, Any]) -> Any:
    chat = _chat(world, params)
    message_ids = params.get("message_ids")
    if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
        raise bad_request("message_ids must be a list of 1 to 100 identifiers")
    # Telegram skips the ones it cannot find.
    for message_id in message_ids:
        if isinstance(message_id, int) and chat.has_message(message_id):
            world.delete_message(chat, message_id)
    return True


def answer_callback_query(world: World, params: dict[str, Any]) -> Any:
    query = world.callbacks.get(str(params.get("callback_query_id", "")))
    if query is None or query.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.get("text") or None
    if text is not None and len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered, query.answer = True, text
    query.show_alert = bool(params.get("show_alert"))
    event = ChatEvent("answered", query.message_id, None, query.id, text, query.show_alert)
    world.record_event(world.chats[query.chat_id], event)
    return True


def scope_key(scope: Any, language_code: Any = None) -> tuple[Any, ...]:
    """("default",), ("chat", 42), ("chat_member", 42, 7)…, with the language code last if any."""
    if not scope:
        scope = {"type": "default"}
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    key: tuple[Any, ...] = (scope["type"],)
    if "chat_id" in scope:
        key += (scope["chat_id"],)
    if "user_id" in scope:
        key += (scope["user_id"],)
    if language_code:
        key += (language_code,)
    return key


def set_my_commands(world: World, params: dict[str, Any]) -> Any:
    commands = params.get("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON array")
    checked = [_command(entry) for entry in commands]
    world.commands[scope_key(params.get("scope"), params.get("language_code"))] = checked
    return True


def _command(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise bad_request("can't parse BotCommand JSON object")
    name, description = entry.get("command"), entry.get("description")
    if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
        raise bad_request("BOT_COMMAND_INVALID")
    if not isinstance(description, str) or not 1 <= len(description) <= 256:
        raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": name, "description": description}


def delete_my_commands(world: World, params: dict[str, Any]) -> Any:
    world.commands.pop(scope_key(params.get("scope"), params.get("language_code")), None)
    return True


def get_my_commands(world: World, params: dict[str, Any]) -> Any:
    return world.commands.get(scope_key(params.get("scope"), params.get("language_code")), [])


def leave_chat(world: World, params: dict[str, Any]) -> Any:
    chat = _chat(world, params)
    if chat.is_private:
        raise bad_request("chat member status can't be changed in private chats")
    if chat.id in world.left_chats:
        raise ApiError(403, "Forbidden: bot is not a member of the group chat")
    world.left_chats.add(chat.id)
    world.signal.notify()
    return True


def send_chat_action(world: World, params: dict[str, Any]) -> Any:
    _chat_for_sending(world, params)
    if not params.get("action"):
        raise bad_request("action is empty")
    return True


def get_chat(world: World, params: dict[str, Any]) -> Any:
    chat = _chat(world, params)
    if chat.id in world.left_chats:
        raise ApiError(403, "Forbidden: bot is not a member of the group chat")
    return {
        **chat.json(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def set_profile_text(world: World, params: dict[str, Any]) -> Any:
    """setMyDescription, setMyShortDescription and setChatMenuButton: accepted, kept in calls."""
    return True


def get_file(world: World, params: dict[str, Any]) -> Any:
    file_id = str(params.get("file_id", ""))
    payload = world.files.get(file_id)
    if payload is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_size": len(payload.content),
        "file_path": world.file_path(file_id),
    }


Method = Callable[[World, dict[str, Any]], Any]

METHODS: dict[str, Method] = {
    "getMe": get_me,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "sendMessage": send_message,
    "sendDocument": send_document,
    "sendPhoto": send_photo,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "deleteMessages": delete_messages,
    "answerCallbackQuery": answer_callback_query,
    "setMyCommands": set_my_commands,
    "deleteMyCommands": delete_my_commands,
    "getMyCommands": get_my_commands,
    "leaveChat": leave_chat,
    "sendChatAction": send_chat_action,
    "getChat": get_chat,
    "getFile": get_file,
    "setMyDescription": set_profile_text,
    "setMyShortDescription": set_profile_text,
    "setChatMenuButton": set_profile_text,
}
# getUpdates is answered by the stand-in itself: it waits for updates.
LONG_POLL = "getUpdates"
_CANONICAL = {name.lower(): name for name in [*METHODS, LONG_POLL]}


def canonical_name(method: str) -> str:
    """Bot API method names are case-insensitive; calls are recorded under the documented one."""
    return _CANONICAL.get(method.lower(), method)
