"""Correct under a saved step or outcome, `stc:<step|outcome>:<entry_id>`: a new /step
draft holding the entry's answers, at its summary, whose Save supersedes the entry
(CASEWORK.md §1: steps are never edited, a correction is a new entry).

Refused with a short answer (and audited) for another officer's entry or a pupil no
longer theirs (told apart from neither), after 7 days, for an entry already corrected,
and for a step that has an outcome (the outcome is corrected instead). The pupil is read
through the scoped look-up every /step press uses, so a restricted record is refused as
everywhere (bot/storage/rights.Restricted). Saving checks it all again.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.chat import render
from bot.domain import step_flow as flow
from bot.handlers import drafts
from bot.handlers.common import Context, button_data, parse_id
from bot.handlers.step.start import load, start_draft
from bot.handlers.step.texts import CORRECT_PREFIX, HAS_OUTCOMES, STEP
from bot.storage import pathway_corrections as corrections
from bot.storage import visits as visit_store
from bot.storage.db import Conn
from bot.storage.officers import Officer
from bot.storage.pathway_corrections import OldEntry

SOURCES = (flow.STEP_SOURCE, flow.OUTCOME_SOURCE)


def correct_data(source: str, entry_id: int) -> str:
    """The Correct button's data for a saved entry."""
    return f"{CORRECT_PREFIX}:{source}:{entry_id}"


def resume_choice(source: str, entry_id: int) -> str:
    """The resume prompt's Discard for a correction: `c<s|o><entry_id>`."""
    return f"c{source[0]}{entry_id}"


def parse_resume_choice(choice: str) -> tuple[str, int] | None:
    source = next((s for s in SOURCES if choice[1:2] == s[0]), None)
    entry_id = parse_id(choice[2:])
    return None if source is None or entry_id is None else (source, entry_id)


async def correct_button(update: Update, context: Context) -> None:
    """`stc:<step|outcome>:<entry_id>` — /step pre-filled from that entry."""
    officer = context.officer
    parts = button_data(update)
    entry_id = parse_id(parts[2]) if len(parts) == 3 and parts[1] in SOURCES else None
    await drafts.correct_pressed(
        update, context, STEP, None if entry_id is None else (parts[1], entry_id),
        then=lambda entry: resume_choice(*entry),
        begin=lambda entry: begin_correction(update, context, officer, *entry, edit=False))


def _refusal(old: OldEntry | None, context: Context) -> tuple[str, str] | None:
    """The answer and audit reason refusing this correction, or None: every flow's
    refusals, then a step's outcome (the outcome is corrected instead)."""
    refusal = drafts.correction_refusal(STEP, old, context.services.clock.now())
    if refusal is None and old is not None and old.has_outcomes:
        return HAS_OUTCOMES, "has_outcomes"
    return refusal


async def begin_correction(update: Update, context: Context, officer: Officer, source: str,
                           entry_id: int, *, edit: bool) -> None:
    """A draft holding the entry's answers, at its summary, superseding it on Save."""
    async def _snapshot(conn: Conn) -> OldEntry | None:
        old = await corrections.old_entry(conn, officer, source, entry_id)
        if old is None or await visit_store.visit_pupil(conn, officer, old.pupil_id) is None:
            return None  # visit_pupil raises Restricted for a restricted record
        return old
    old = await context.services.db.read(_snapshot)
    if await drafts.refused_correction(update, context, officer, _refusal(old, context),
                                       None if old is None else old.pupil_id, edit=edit):
        return
    assert old is not None
    draft = _draft(old)
    loaded = await load(context, officer, old.pupil_id, draft)
    if loaded is None:  # no longer theirs since the snapshot: refused as it would be now
        await drafts.refused_correction(update, context, officer, _refusal(None, context),
                                        None, edit=edit)
        return
    await start_draft(update, context, officer, loaded=loaded, draft=draft, edit=edit)
    await render.ack(update)


def _draft(old: OldEntry) -> dict[str, Any]:
    if old.target is not None:
        return flow.outcome_draft(old.id, old.target, old.kind, old.on, old.detail)
    return flow.step_draft(old.id, old.kind, old.on, parents=old.parents,
                           review=old.review_date, weeks=old.period_weeks,
                           section=old.section, reason=old.reason)
