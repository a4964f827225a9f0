"""The stand-in's HTTP/1.1 side, spoken to directly over a socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bot.sandbox import BotApiStandIn


class RawClient:
    """One kept-alive connection that sends hand-written requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        payload = await self.reader.readexactly(int(headers["content-length"]))
        return int(status_line.split()[1]), headers, payload


@pytest.fixture
async def raw(standin: BotApiStandIn) -> AsyncIterator[RawClient]:
    address = urlsplit(standin.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    yield RawClient(reader, writer)
    writer.close()
    await writer.wait_closed()


def _post(path: str, content_type: str, body: bytes, extra: str = "") -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )


async def test_keep_alive_serves_form_and_json_bodies_on_one_connection(
    standin: BotApiStandIn, raw: RawClient
) -> None:
    user = standin.user(5001)
    path = f"/bot{standin.token}/sendMessage"
    form = b"chat_id=5001&text=caf%C3%A9&protect_content=true"
    as_json = json.dumps({"chat_id": 5001, "text": "two", "reply_markup": json.dumps(
        {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    )}).encode()

    first = await raw.request(_post(path, "application/x-www-form-urlencoded", form), form)
    second = await raw.request(_post(path, "application/json", as_json), as_json)

    assert first[0] == second[0] == 200
    # HTTP/1.1 keeps the connection open unless a side says "close".
    assert first[1].get("connection", "keep-alive") == "keep-alive"
    assert json.loads(second[2])["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "OK"
    assert [(m.text, m.protect_content) for m in user.history] == [("café", True), ("two", False)]
    assert user.last().labels() == ["OK"]


async def test_chunked_body_and_query_string(standin: BotApiStandIn, raw: RawClient) -> None:
    user = standin.user(5002)
    body = b"text=chunked+hello"
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    head = (
        f"POST /bot{standin.token}/sendMessage?chat_id=5002 HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )

    status, _, _ = await raw.request(head, chunked)

    assert status == 200
    assert user.last().text == "chunked hello"


async def test_unknown_method_wrong_token_and_unknown_path(
    standin: BotApiStandIn, raw: RawClient
) -> None:
    unknown = await raw.request(f"GET /bot{standin.token}/banUser HTTP/1.1\r\nHost: x\r\n\r\n")
    wrong = await raw.request("GET /bot1:wrong/getMe HTTP/1.1\r\nHost: x\r\n\r\n")
    elsewhere = await raw.request("GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n")

    assert (unknown[0], json.loads(unknown[2])["error_code"]) == (400, 400)
    assert json.loads(unknown[2])["ok"] is False
    assert wrong[0] == 401
    assert elsewhere[0] == 404
    assert [call.method for call in standin.calls] == ["banUser"]


async def test_connection_close_is_honoured(standin: BotApiStandIn, raw: RawClient) -> None:
    head = f"GET /bot{standin.token}/getMe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    status, headers, _ = await raw.request(head)

    assert (status, headers["connection"]) == (200, "close")
    assert await raw.reader.read() == b""


async def test_garbage_request_line_gets_400(raw: RawClient) -> None:
    status, _, _ = await raw.request("HELLO\r\n\r\n")
    assert status == 400


async def test_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        BotApiStandIn(host="0.0.0.0")


async def test_urls_need_a_started_server() -> None:
    with pytest.raises(RuntimeError):
        _ = BotApiStandIn().base_url


async def test_reopens_on_the_same_port(standin: BotApiStandIn) -> None:
    before = standin.base_url
    await standin.refuse_connections()
    address = urlsplit(before)
    with pytest.raises(OSError):
        await asyncio.open_connection(address.hostname, address.port)

    await standin.accept_connections()

    assert standin.base_url == before
    _, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.close()
    await writer.wait_closed()


async def test_unreadable_json_body_gets_400(standin: BotApiStandIn, raw: RawClient) -> None:
    body = b"{not json"
    path = f"/bot{standin.token}/sendMessage"

    status, _, payload = await raw.request(_post(path, "application/json", body), body)

    assert status == 400
    assert "can't parse" in json.loads(payload)["description"]
    assert standin.calls == []


async def test_a_body_over_the_limit_gets_413(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.sandbox import httpserver

    monkeypatch.setattr(httpserver, "MAX_BODY_BYTES", 1024)
    async with BotApiStandIn() as standin:
        address = urlsplit(standin.base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        client = RawClient(reader, writer)
        body = b"text=" + b"x" * 2048
        path = f"/bot{standin.token}/sendMessage"

        status, _, _ = await client.request(
            _post(path, "application/x-www-form-urlencoded", body), body)

        writer.close()
        await writer.wait_closed()
    assert status == 413
    assert standin.calls == []
