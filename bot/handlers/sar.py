"""/sar UPN for controllers: record a subject-access request and write the export on the server.

The export never travels through Telegram: the reply gives the file's name and its
row counts only. The message holding the UPN is deleted once read.
"""

from __future__ import annotations

from telegram import Update

from bot.chat.render import day
from bot.handlers.common import Context, answer, forget_message
from bot.storage.sar import SubjectAccessProblem, export_subject_access

USAGE = "Send /sar followed by the pupil's UPN."
WRITTEN = ("Subject-access export written on the server: {file}\n"
           "Rows: {rows}.\n"
           "Request received {received}; response due by {due}.\n"
           "Review and redact it on the server before disclosure; it is not sent here.")
PROBLEM = "No export was made: {problem}."


async def sar_command(update: Update, context: Context) -> None:
    """/sar UPN — the export, written on the server; the reply names the file only. The
    UPN may be typed with spaces or in lower case."""
    officer = context.officer
    svc = context.services
    # A UPN may be typed in groups, as on a form ("A123 4567 89012"): the words are
    # joined and the spaces go, as import files have them (`checked_upn`).
    typed = " ".join(context.args or [])
    await forget_message(context, update.effective_message)  # it holds a UPN
    if not typed:
        await answer(update, USAGE)
        return
    try:
        export = await export_subject_access(svc.db, svc.settings, typed, actor=officer.actor,
                                             requester=officer, now=svc.clock.now())
    except SubjectAccessProblem as problem:
        await answer(update, PROBLEM.format(problem=problem))
        return
    rows = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in export.counts.items())
    await answer(update, WRITTEN.format(file=export.path.name, rows=rows,
                                        received=day(export.received), due=day(export.due)))
