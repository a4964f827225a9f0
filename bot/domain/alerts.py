"""Which crossings become alerts, and what an alert message says: lines, pages, buttons."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.attendance import RULE_LABELS, Rule, percent_text

# Severe absence lies within persistent absence: one family, the deeper band wins.
_FAMILY: dict[Rule, str] = {
    Rule.PERSISTENT: "band",
    Rule.SEVERE: "band",
    Rule.PENALTY: "penalty",
    Rule.CONTINUOUS: "continuous",
    Rule.PUNCTUALITY: "punctuality",
}
_DEPTH: dict[Rule, int] = {Rule.SEVERE: 2, Rule.PERSISTENT: 1}

# Most urgent first, so the first page of a digest shows what matters most.
RULE_ORDER: tuple[Rule, ...] = (Rule.SEVERE, Rule.CONTINUOUS, Rule.PERSISTENT, Rule.PENALTY,
                                Rule.PUNCTUALITY)

# Rules whose alerts also go to the allocated officer's supervisor.
SUPERVISOR_RULES = frozenset({Rule.SEVERE, Rule.CONTINUOUS})

PUPILS_PER_PAGE = 20
BUTTON_COLUMNS = 2
# Telegram refuses texts over 4,096 characters; leave room for the page marker.
_PAGE_CHARACTERS = 3_800

DIGEST_TITLE = "New attendance alerts"
SUPERVISOR_TITLE = "Copy for supervisor: severe or continuous absence among {ref}'s pupils"
PAGE_MARK = " — page {page} of {pages}"
MORE = "More"


def new_alerts(before: Iterable[Rule], now: Iterable[Rule]) -> list[Rule]:
    """The rules to alert on when the holding rules go from `before` to `now`: those
    newly holding, at most one per family (the deepest band), most urgent first."""
    newly = set(now) - set(before)
    chosen: dict[str, Rule] = {}
    for rule in newly:
        family = _FAMILY[rule]
        current = chosen.get(family)
        if current is None or _DEPTH.get(rule, 0) > _DEPTH.get(current, 0):
            chosen[family] = rule
    return sorted(chosen.values(), key=RULE_ORDER.index)


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One alert as a pushed message shows it: no name, only what identifies the case."""

    pupil_id: int
    case_ref: str
    initials: str
    school: str
    rule: Rule
    attended: int
    possible: int

    @property
    def button(self) -> list[str]:
        return [f"{self.case_ref} {self.initials}", card_button_data(self.pupil_id)]

    def as_json(self) -> dict[str, Any]:
        return {"pupil_id": self.pupil_id, "case_ref": self.case_ref,
                "initials": self.initials, "school": self.school, "rule": self.rule.value,
                "attended": self.attended, "possible": self.possible}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertLine:
        return cls(data["pupil_id"], data["case_ref"], data["initials"], data["school"],
                   Rule(data["rule"]), data["attended"], data["possible"])


def digest_payload(title: str, lines: Sequence[AlertLine]) -> dict[str, Any]:
    """The outbox payload of one digest: the first page as `text` and `buttons`, every
    page in `pages` (the delivery adds a "More" button when there is more than one);
    `title` and `lines` let it be written again without a pupil (`without_pupil`)."""
    pages = _pages(title, _by_pupil(lines))
    return {"text": pages[0]["text"], "buttons": pages[0]["buttons"], "columns": BUTTON_COLUMNS,
            "pages": pages, "title": title, "lines": [line.as_json() for line in lines]}


def without_pupil(payload: dict[str, Any], pupil_id: int) -> dict[str, Any] | None:
    """The digest `payload` written again without `pupil_id`'s alerts (a disposed record),
    or None when nothing else is left in it (or it is not a digest)."""
    lines = payload.get("lines")
    if not isinstance(lines, list) or not isinstance(payload.get("title"), str):
        return None
    kept = [AlertLine.from_json(line) for line in lines if line["pupil_id"] != pupil_id]
    return digest_payload(payload["title"], kept) if kept else None


def pupil_line(alerts: Sequence[AlertLine]) -> str:
    """One pupil's line in a digest, naming every rule that newly holds (most urgent
    first) and the attendance figure this year of the latest import (the most sessions)."""
    first = alerts[0]
    latest = max(alerts, key=lambda alert: alert.possible)
    rules = [RULE_LABELS[alert.rule] for alert in alerts]
    named = rules[0] if len(rules) == 1 else f"{', '.join(rules[:-1])} and {rules[-1]}"
    return (f"• {first.case_ref} {first.initials}, {first.school}: {named}, "
            f"{percent_text(latest.attended, latest.possible)} this year")


def _by_pupil(lines: Sequence[AlertLine]) -> list[list[AlertLine]]:
    """Alerts grouped per pupil, the pupil with the most urgent alert first."""
    groups: dict[int, list[AlertLine]] = {}
    # The same rule twice (alerts waiting from two imports) is named once.
    for line in sorted(lines, key=lambda line: (RULE_ORDER.index(line.rule), line.case_ref)):
        group = groups.setdefault(line.pupil_id, [])
        if all(alert.rule is not line.rule for alert in group):
            group.append(line)
    return list(groups.values())


def _pages(title: str, pupils: list[list[AlertLine]]) -> list[dict[str, Any]]:
    pages: list[list[list[AlertLine]]] = [[]]
    size = 0
    for group in pupils:
        length = len(pupil_line(group)) + 1
        page = pages[-1]
        if page and (len(page) >= PUPILS_PER_PAGE or size + length > _PAGE_CHARACTERS):
            pages.append([])
            size = 0
        pages[-1].append(group)
        size += length
    heading = f"{title} ({len(pupils)})"  # pupils, as many as the lines
    rendered = []
    for number, page in enumerate(pages, start=1):
        mark = PAGE_MARK.format(page=number, pages=len(pages)) if len(pages) > 1 else ""
        body = "\n".join(pupil_line(group) for group in page)
        rendered.append({"text": f"{heading}{mark}\n{body}",
                         "buttons": [group[0].button for group in page]})
    return rendered


def card_button_data(pupil_id: int) -> str:
    """A digest's pupil button: opens the card, audited as reached from an alert."""
    return f"al:card:{pupil_id}"


def more_button(outbox_id: int, page: int) -> list[str]:
    """The button that shows page `page` (0-based) of the digest sent as `outbox_id`."""
    return [MORE, f"al:more:{outbox_id}:{page}"]
