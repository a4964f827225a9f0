"""`ewobot db copy --to URL`: the SQLite service into an empty PostgreSQL database, every
row, ids and the audit chain intact, then the audit trail verified on the copy.

psycopg is imported only when the command runs: a SQLite service never loads it."""

from __future__ import annotations

import argparse

from bot.cli import OK, CliEnv, CliError
from bot.domain.text import counted
from bot.settings import DatabaseUrl

URL_SHAPE = "--to must be a postgresql:// URL naming the user, password, host, port and database"


def register(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser("db", help="move the service's database")
    actions = db.add_subparsers(dest="action", metavar="ACTION", parser_class=type(db))
    actions.required = True
    copy = actions.add_parser(
        "copy", help="copy this SQLite service into an empty PostgreSQL database, verified")
    copy.add_argument("--to", metavar="URL", required=True,
                      help="postgresql://USER:PASSWORD@HOST:PORT/DB (or the password in "
                           "PGPASSWORD or a passfile, kept off the command line)")
    copy.set_defaults(handler=cmd_db_copy)


def _url(text: str) -> DatabaseUrl:
    """The target, or one line saying what shape it must have (never echoing it: it
    holds a password)."""
    try:
        return DatabaseUrl(text)
    except ValueError:
        raise CliError(URL_SHAPE) from None


async def cmd_db_copy(args: argparse.Namespace, env: CliEnv) -> int:
    """Refuse a target that holds rows; audit the copy in the source; copy; verify the
    copy's audit trail against the head the source has, so a copy cut short or altered
    on the way cannot pass."""
    from bot.storage import audit, db_copy
    from bot.storage.postgres import PostgresDatabase

    url = _url(args.to)
    settings = env.settings
    if settings.database_url is not None:
        raise CliError("db copy copies the SQLite service (EWO_DATABASE): unset "
                       "EWO_DATABASE_URL and name the target with --to")
    occupied = await db_copy.first_occupied(url)
    if occupied is not None:
        raise CliError(f"refused: {url.redacted} is not empty ({occupied[0]} holds "
                       f"{counted(occupied[1], 'row')}); db copy fills an empty database only")
    async with env.database(create=False) as source:
        # Every record leaves for another database: audited like a backup, before the
        # head is read, so the copy carries the entry and its head still matches.
        await source.write(audit.append, actor=env.actor, action="db_copy",
                           reason="admin_command", detail={"to": url.redacted})
        before = await source.read(audit.verify)
        if not before.ok:
            raise CliError(f"not copied: the audit trail here is broken ({before.problem}); "
                           "run `ewobot audit verify`")
        # The same audit key and PIN pepper as the source: the chain and the PINs carry over.
        target = await PostgresDatabase.open(settings.model_copy(update={"database_url": url}))
        try:
            wanted = await target.read(db_copy.tables)
            missing = await source.read(db_copy.source_tables, wanted)
            if missing:
                raise CliError(f"not copied: this service's schema lacks {', '.join(missing)}"
                               " (run `ewobot init` on it first)")
            copied = await target.write(db_copy.copy_all, source, wanted)
            after = await target.read(audit.verify, before.head)
        finally:
            await target.close()
    if not after.ok or after.head != before.head:
        problem = after.problem or "its head differs from this service's"
        raise CliError(f"the copy's audit trail does not verify: {problem}")
    for table in copied:
        env.say(f"{table.name}: {counted(table.rows, 'row')}")
    env.say(f"copied {counted(sum(t.rows for t in copied), 'row')} in "
            f"{counted(len(copied), 'table')} to "
            f"{url.redacted}")
    entries = counted(after.head.count, "entry", "entries")
    env.say(f"audit verify on the copy: OK {after.head.short()} ({entries})")
    return OK
