"""The stand-in's HTTP side, on aiohttp: requests in, the stand-in's answers out.

aiohttp parses HTTP/1.1 (keep-alive, chunked bodies, forms, multipart uploads) and is
the server the bot's own webhook mode uses too; this module only adapts its requests to
the plain values the stand-in works with, and lets a test cut the network.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

MAX_BODY_BYTES = 64 * 1024 * 1024
# How long a graceful stop waits for responses already being written.
STOP_GRACE_SECONDS = 2.0


class HttpError(Exception):
    """A request body the stand-in cannot read."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart body."""

    filename: str | None
    content: bytes
    mime_type: str | None


class HttpRequest:
    """One request as the stand-in sees it: method, decoded path, lower-case headers."""

    def __init__(self, request: web.BaseRequest) -> None:
        self._request = request
        self.method = request.method
        self.path = request.path
        self.headers = {name.lower(): value for name, value in request.headers.items()}

    async def fields(self) -> dict[str, Any]:
        """Query string and body as one mapping: strings, JSON values or uploaded files."""
        values: dict[str, Any] = dict(self._request.query)
        if not self._request.body_exists:
            return values
        kind = self._request.content_type
        if kind == "application/json":
            decoded = json.loads(await self._request.read())
            if not isinstance(decoded, dict):
                raise HttpError(400)
            values.update(decoded)
        elif kind == "multipart/form-data":
            for name, value in (await self._request.post()).items():
                values[name] = _part_value(value)
        else:
            # Form encoding is what the Bot API assumes, whatever type is given.
            body = (await self._request.read()).decode()
            values.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
        return values


def _part_value(value: str | bytes | web.FileField) -> str | UploadedFile:
    if isinstance(value, web.FileField):
        return UploadedFile(value.filename, value.file.read(), value.content_type)
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, payload: object) -> HttpResponse:
        return cls(status, json.dumps(payload, ensure_ascii=False).encode())


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class LoopbackServer:
    """Serves every path on one address through the handler, connections kept alive.

    The listening socket can be closed and reopened on the same port, with or without
    cutting the open connections, to imitate a network outage.
    """

    def __init__(self, handler: Handler, host: str, port: int) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{path:.*}", self._serve)
        # Cancelling a handler whose client went away ends a long poll with its caller.
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=STOP_GRACE_SECONDS,
                                     handler_cancellation=True)
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        # Port 0 asks for an ephemeral port; keep the real one so a reopen reuses it.
        self.port = self._runner.addresses[-1][1]

    async def close_listener(self, *, drop_connections: bool) -> None:
        """Stop accepting; optionally cut every open connection at once."""
        site, self._site = self._site, None
        if site is not None:
            await site.stop()
        if drop_connections and self._runner is not None and self._runner.server is not None:
            for connection in self._runner.server.connections:
                connection.force_close()

    async def reopen(self) -> None:
        if self._site is None and self._runner is not None:
            await self._listen()

    async def stop(self) -> None:
        """Close the listener, let responses being written finish, then close the rest."""
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def _serve(self, request: web.Request) -> web.Response:
        response = await self.handler(HttpRequest(request))
        return web.Response(status=response.status, body=response.body,
                            headers={"Content-Type": response.content_type})
