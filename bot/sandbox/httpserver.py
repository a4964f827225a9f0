"""A small HTTP/1.1 server on asyncio streams, just enough to stand in for the Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from typing import Any

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_HEADERS = 100
# How long a graceful stop waits for responses already being written.
STOP_GRACE_SECONDS = 2.0


class HttpError(Exception):
    """A request the server cannot read; the connection is answered and closed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart body."""

    filename: str | None
    content: bytes
    mime_type: str | None


@dataclass
class HttpRequest:
    """A parsed request; header names are lower case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"

    def fields(self) -> dict[str, Any]:
        """Query string and body as one mapping: strings, JSON values or uploaded files."""
        values: dict[str, Any] = dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))
        values.update(parse_body(self.headers.get("content-type", ""), self.body))
        return values


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, payload: object) -> HttpResponse:
        return cls(status, json.dumps(payload, ensure_ascii=False).encode())

    def encode(self, keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        head = (
            f"HTTP/1.1 {self.status} {reason}\r\n"
            f"Content-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        return head.encode("latin-1") + self.body


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode a form, JSON or multipart body into field values."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}
    if kind == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise HttpError(400)
        return decoded
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, body)
    # Form encoding is what the Bot API assumes when no type is given.
    return dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise HttpError(400)
    values: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        values[name] = _part_value(part)
    return values


def _part_value(part: Message) -> str | UploadedFile:
    content = part.get_payload(decode=True)
    if not isinstance(content, bytes):
        content = b""
    filename = part.get_filename()
    if filename is None:
        charset = part.get_content_charset() or "utf-8"
        return content.decode(charset)
    return UploadedFile(filename, content, part.get_content_type())


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; None when the client closed the connection between requests."""
    line = await reader.readline()
    if not line.strip():
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400)
    method, target, _version = parts
    headers = await _read_headers(reader)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await _read_exactly(reader, _content_length(headers))
    path, _, query = target.partition("?")
    return HttpRequest(method.upper(), urllib.parse.unquote(path), query, headers, body)


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = await reader.readline()
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise HttpError(400)
        headers[name.strip().lower()] = value.strip()
    raise HttpError(431)


def _content_length(headers: dict[str, str]) -> int:
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError as exc:
        raise HttpError(400) from exc
    if length < 0:
        raise HttpError(400)
    return length


async def _read_exactly(reader: asyncio.StreamReader, length: int) -> bytes:
    if length > MAX_BODY_BYTES:
        raise HttpError(413)
    return await reader.readexactly(length) if length else b""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readline()
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise HttpError(400) from exc
        if size == 0:
            await _read_headers(reader)  # trailers, ignored
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise HttpError(413)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the CRLF after each chunk


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


@dataclass
class _Connection:
    writer: asyncio.StreamWriter
    busy: bool = False


class LoopbackServer:
    """Accepts connections on one address and passes each request to the handler.

    Connections are kept alive between requests. The listening socket can be closed and
    reopened on the same port to imitate a network outage.
    """

    def __init__(self, handler: Handler, host: str, port: int) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], _Connection] = {}
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        # Port 0 asks for an ephemeral port; keep the real one so a reopen reuses it.
        self.port = self._server.sockets[0].getsockname()[1]

    async def close_listener(self, *, drop_connections: bool) -> None:
        """Stop accepting; optionally cut every open connection at once."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if drop_connections:
            await self._cancel(list(self._connections))
        if server is not None:
            await server.wait_closed()

    async def reopen(self) -> None:
        if self._server is None:
            await self._listen()

    async def stop(self) -> None:
        """Close the listener, let responses being written finish, then close the rest."""
        self._stopping = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        idle = [task for task, conn in self._connections.items() if not conn.busy]
        await self._cancel(idle)
        busy = list(self._connections)
        if busy:
            _done, pending = await asyncio.wait(busy, timeout=STOP_GRACE_SECONDS)
            await self._cancel(list(pending))
        if server is not None:
            await server.wait_closed()

    async def _cancel(self, tasks: list[asyncio.Task[Any]]) -> None:
        for task in tasks:
            conn = self._connections.get(task)
            if conn is not None:
                conn.writer.transport.abort()
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = _Connection(writer)
        self._connections[task] = conn
        try:
            await self._serve_requests(reader, conn)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            # Only this server cancels connection tasks (outage or stop). Ending normally
            # keeps asyncio's stream callback from logging the cancellation as an error.
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()

    async def _serve_requests(self, reader: asyncio.StreamReader, conn: _Connection) -> None:
        while not self._stopping:
            try:
                request = await read_request(reader)
            except HttpError as exc:
                await self._write(conn, HttpResponse.json(exc.status, {"ok": False}), False)
                return
            if request is None:
                return
            conn.busy = True
            response = await self.handler(request)
            keep_alive = request.keep_alive and not self._stopping
            await self._write(conn, response, keep_alive)
            conn.busy = False
            if not keep_alive:
                return

    @staticmethod
    async def _write(conn: _Connection, response: HttpResponse, keep_alive: bool) -> None:
        conn.writer.write(response.encode(keep_alive))
        await conn.writer.drain()
