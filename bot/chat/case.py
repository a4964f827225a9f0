"""`/case` as chat text: the stage, open items with their dates, the penalty-notice count
per parent, then a page of the chronology newest first (CASEWORK.md §1). Pure: the case
read from storage in, text and buttons out (bot/handlers/case.py sends them).

The chronology's entries come from several sources (visits, pathway steps, outcomes);
a new source (the sharing log) names its entries with one row of ENTRY_LABELS.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.chat.render import day
from bot.domain.message_parts import clipped
from bot.domain.pathway_text import OPEN_ITEM_LABELS, OUTCOME_LABELS, STAGES, STEP_LABELS, label
from bot.domain.penalty_notices import COUNT_YEARS, awaiting_text
from bot.domain.sharing import describe as describe_sharing
from bot.domain.visits import VISIT_TYPES
from bot.storage.pathway import CaseFile, Entry, OpenItem, ParentCount
from bot.storage.pupils import SUPERVISION, PupilSummary

PAGE_SIZE = 10
TITLE = "Case: {name} ({case_ref})"
READ_ONLY = "Read only: allocated to {ref}"
STAGE = "Current stage: {stage} — {step}, {date}"
NO_STAGE = "Current stage: no pathway step recorded"
OPEN_ITEMS = "Open items:"
NO_OPEN_ITEMS = "Open items: none"
ITEM = "• {what}: {date}"
ITEM_FOR = "• {what}: {date} ({parent})"
COUNTS = f"Penalty notices per parent (last {COUNT_YEARS} years):"
NO_PARENTS = "Penalty notices per parent: no parent with parental responsibility held"
COUNT = "• {parent}: {counted} — {text}"
COUNT_AWAITING = "• {parent}: {text}"  # a referral not yet issued, not in the count
CHRONOLOGY = "Chronology, newest first ({first}–{last} of {total}):"
NO_ENTRIES = "Chronology: nothing recorded yet"
ENTRY = "• {date} — {what} ({ref})"
IMPORTED = "imported"
DELETED_AFTER = "This message is deleted after {minutes} minutes."
CORRECT = "Correct: {what}, {date}"
# /step's Correct (bot/handlers/step, registry row `stc`), under a step or an outcome.
CORRECT_DATA = "stc:{source}:{id}"
PREVIOUS = "◀ Newer"
NEXT = "Older ▶"
_NAME_MAX = 60  # characters of a parent's name on a line


def _visit_label(code: str) -> str:
    return dict(VISIT_TYPES).get(code, code)


# How each source of the chronology names its entries (`what` is the source's code).
ENTRY_LABELS: dict[str, Callable[[str], str]] = {
    "visit": _visit_label,
    "step": lambda code: label(STEP_LABELS, code),
    "outcome": lambda code: label(OUTCOME_LABELS, code),
    "sharing": describe_sharing,
}


def case_text(pupil: PupilSummary, case: CaseFile, *, minutes: int) -> str:
    """The whole page: read-only note, title, stage, open items, counts, chronology."""
    lines = []
    if case.access == SUPERVISION:
        lines.append(READ_ONLY.format(ref=pupil.officer_ref))
    lines.append(TITLE.format(name=pupil.name, case_ref=pupil.case_ref))
    lines.append(stage_line(case))
    lines += open_item_lines(case.open_items, case.parents)
    lines += count_lines(case.parents)
    lines += chronology_lines(case)
    if minutes:
        lines += ["", DELETED_AFTER.format(minutes=minutes)]
    return "\n".join(lines)


def stage_line(case: CaseFile) -> str:
    if case.stage is None:
        return NO_STAGE
    return STAGE.format(stage=label(STAGES, case.stage.kind),
                        step=label(STEP_LABELS, case.stage.kind), date=day(case.stage.on))


def open_item_lines(items: tuple[OpenItem, ...], parents: tuple[ParentCount, ...]) -> list[str]:
    if not items:
        return [NO_OPEN_ITEMS]
    names = {parent.contact_id: parent.name for parent in parents}
    lines = [OPEN_ITEMS]
    for item in items:
        what = label(OPEN_ITEM_LABELS, item.kind)
        if item.contact_id is not None and item.contact_id in names:
            lines.append(ITEM_FOR.format(what=what, date=day(item.due),
                                         parent=clipped(names[item.contact_id], _NAME_MAX)))
        else:
            lines.append(ITEM.format(what=what, date=day(item.due)))
    return lines


def count_lines(parents: tuple[ParentCount, ...]) -> list[str]:
    if not parents:
        return [NO_PARENTS]
    lines = [COUNTS]
    for parent in parents:
        name = clipped(parent.name, _NAME_MAX)
        lines.append(COUNT.format(parent=name, counted=parent.eligibility.counted,
                                  text=parent.eligibility.text))
        awaiting = awaiting_text([day(on) for on in parent.awaiting])
        if awaiting is not None:
            lines.append(COUNT_AWAITING.format(parent=name, text=awaiting))
    return lines


def chronology_lines(case: CaseFile) -> list[str]:
    if not case.total:
        return [NO_ENTRIES]
    first = case.offset + 1
    return [CHRONOLOGY.format(first=first, last=case.offset + len(case.entries),
                              total=case.total)] + [entry_line(entry) for entry in case.entries]


def entry_line(entry: Entry) -> str:
    name = ENTRY_LABELS.get(entry.source)
    what = name(entry.what) if name is not None else f"{entry.source}: {entry.what}"
    return ENTRY.format(date=day(entry.on), what=what, ref=entry.officer_ref or IMPORTED)


def correct_rows(case: CaseFile,
                 correctable: frozenset[tuple[str, int]]) -> list[list[tuple[str, str]]]:
    """A Correct button under each entry on the page the viewer may still correct
    (`correctable`, bot/storage/pathway_corrections.correctable_entries: their own steps
    and outcomes saved within 7 days). The press is re-authorised all the same."""
    return [[(CORRECT.format(what=ENTRY_LABELS[entry.source](entry.what), date=day(entry.on)),
              CORRECT_DATA.format(source=entry.source, id=entry.id))]
            for entry in case.entries if (entry.source, entry.id) in correctable]


def case_buttons(case: CaseFile, correctable: frozenset[tuple[str, int]] = frozenset()
                 ) -> list[list[tuple[str, str]]]:
    """Correct under the viewer's recent steps and outcomes on the page, then paging
    through the chronology: `case:<pupil_id>:<page>`, pages from 1."""
    rows = correct_rows(case, correctable)
    page = case.offset // PAGE_SIZE + 1
    pages = max(1, -(-case.total // PAGE_SIZE))
    paging = []
    if page > 1:
        paging.append((PREVIOUS, f"case:{case.pupil_id}:{page - 1}"))
    if page < pages:
        paging.append((NEXT, f"case:{case.pupil_id}:{page + 1}"))
    return [*rows, paging] if paging else rows
