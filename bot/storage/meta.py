"""Small facts about the service kept in `meta`: the bot's username (for the deep link
an enrolment code is printed with); the fingerprint of the webhook secret last
registered with Telegram (which never shows the secret itself)."""

from __future__ import annotations

from bot.storage.db import Conn

_BOT_USERNAME = "bot_username"
_WEBHOOK_SECRET = "webhook_secret_mark"


async def remember_bot_username(conn: Conn, username: str) -> None:
    """Kept at every start, so `ewobot officers add` can print a t.me deep link."""
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (_BOT_USERNAME, username))


async def bot_username(conn: Conn) -> str | None:
    value = await conn.fetchval("SELECT value FROM meta WHERE key = ?", (_BOT_USERNAME,))
    return None if value is None else str(value)


async def webhook_secret_mark(conn: Conn) -> str | None:
    """The fingerprint of the secret the webhook was last registered with (None: never
    registered by this version)."""
    value = await conn.fetchval("SELECT value FROM meta WHERE key = ?", (_WEBHOOK_SECRET,))
    return None if value is None else str(value)


async def remember_webhook_secret_mark(conn: Conn, mark: str) -> None:
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (_WEBHOOK_SECRET, mark))
