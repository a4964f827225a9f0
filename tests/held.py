"""A write transaction held open across a test's body, for storage tests that call many
functions on one `conn` (the code itself runs each transaction as one function through
`db.write`). Committed when the body ends, rolled back when it raises."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.storage.db import Conn, Database


@asynccontextmanager
async def held_write(db: Database) -> AsyncIterator[Conn]:
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[Conn] = loop.create_future()
    finished: asyncio.Future[None] = loop.create_future()

    async def hold(conn: Conn) -> None:
        opened.set_result(conn)
        await finished  # raises (rolling back) when the body did

    task = asyncio.create_task(db.write(hold))
    await asyncio.wait([opened, task], return_when=asyncio.FIRST_COMPLETED)
    if not opened.done():
        await task  # the transaction could not begin: its error
    try:
        yield opened.result()
    except BaseException as exc:
        finished.set_exception(exc)
        await asyncio.gather(task, return_exceptions=True)
        raise
    finished.set_result(None)
    await task
