"""The database's entry point: `Database.open(settings)` picks the backend (SQLite,
bot/storage/sqlite.py, or PostgreSQL, bot/storage/postgres.py, when EWO_DATABASE_URL is
set) and hands back the one `Database` through
which every storage function runs: `await db.read(fn, ...)`, `await db.write(fn, ...)`
(bot/storage/base.py describes the interface).

Import what storage needs from here: the interface, `stamp`, `quick`, `one_statement`,
and the key and file helpers (bot/storage/keys.py). A database that stays busy past
its wait is `DatabaseBusy` on either backend (SQLite's "database is locked" is turned
into it), so callers have one thing to catch.
"""

from __future__ import annotations

from bot.storage import sqlite as _sqlite  # registers the SQLite backend
from bot.storage.base import (
    Conn,
    Database,
    DatabaseBusy,
    DatabaseError,
    Params,
    StatementCounter,
    is_one_statement,
    is_quick,
    one_statement,
    placed_as_corrected,
    quick,
    row_lock,
    stamp,
)
from bot.storage.keys import (
    check_private_files,
    create_private_file,
    load_audit_key,
    load_pepper,
)

SqliteDatabase = _sqlite.SqliteDatabase
is_busy = _sqlite.is_busy
LOCKED = _sqlite.LOCKED

__all__ = ["LOCKED", "Conn", "Database", "DatabaseBusy", "DatabaseError", "Params",
           "SqliteDatabase", "StatementCounter", "check_private_files", "create_private_file",
           "is_busy", "is_one_statement", "is_quick", "load_audit_key", "load_pepper",
           "one_statement", "placed_as_corrected", "quick", "row_lock", "stamp"]
