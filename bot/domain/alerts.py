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
    # The academic year the figure is of (`2025/26`) when that year had ended before the
    # alert could be queued (its pupil unallocated until then); None: this year's.
    past_year: str | None = None

    @property
    def button(self) -> list[str]:
        return [f"{self.case_ref} {self.initials}", card_button_data(self.pupil_id)]

    def as_json(self) -> dict[str, Any]:
        return {"pupil_id": self.pupil_id, "case_ref": self.case_ref,
                "initials": self.initials, "school": self.school, "rule": self.rule.value,
                "attended": self.attended, "possible": self.possible,
                "past_year": self.past_year}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertLine:
        return cls(data["pupil_id"], data["case_ref"], data["initials"], data["school"],
                   Rule(data["rule"]), data["attended"], data["possible"],
                   data.get("past_year"))


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
    return _written_again(payload, kept) if kept else None


def as_written_now(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored digest `payload` laid out as this version writes digests, from its
    `title` and `lines`: one queued before an upgrade (one line per pupil, then) goes
    out, and pages on, as a line per alert. Any other payload comes back as it is."""
    lines = payload.get("lines")
    if not lines or not isinstance(lines, list) or not isinstance(payload.get("title"), str):
        return payload
    return _written_again(payload, [AlertLine.from_json(line) for line in lines])


def _written_again(payload: dict[str, Any], lines: list[AlertLine]) -> dict[str, Any]:
    """The digest `payload` written from `lines`, keeping the head put above it when it
    was readdressed (a lapsed supervisor's: "This was for SUP1…")."""
    title, text = payload["title"], payload.get("text")
    written = digest_payload(title, lines)
    head = text[:text.find(title)] if isinstance(text, str) and title in text else ""
    if head:
        written["text"] = head + written["text"]
    return written


def pupil_lines(alerts: Sequence[AlertLine]) -> list[str]:
    """One pupil's lines in a digest, a line per alert (most urgent first), each with
    the attendance figure this year of the latest import (the most sessions); an alert
    of a year that has ended says which year its figure is of."""
    lines = []
    for alert in alerts:
        latest = max((other for other in alerts if other.past_year == alert.past_year),
                     key=lambda other: other.possible)
        figure = percent_text(latest.attended, latest.possible)
        when = "this year" if alert.past_year is None else f"in {alert.past_year}"
        lines.append(f"• {alert.case_ref} {alert.initials}, {alert.school}: "
                     f"{RULE_LABELS[alert.rule]}, {figure} {when}")
    return lines


def _by_pupil(lines: Sequence[AlertLine]) -> list[list[AlertLine]]:
    """Alerts grouped per pupil, most urgent first within a pupil, the pupil with the
    most urgent alert first."""
    groups: dict[int, list[AlertLine]] = {}
    # The same rule twice (alerts waiting from two imports) is one line: this year's,
    # when one is of a year that has ended.
    for line in sorted(lines, key=lambda line: (RULE_ORDER.index(line.rule), line.case_ref,
                                                line.past_year is not None)):
        group = groups.setdefault(line.pupil_id, [])
        if all(alert.rule is not line.rule for alert in group):
            group.append(line)
    return list(groups.values())


def _pages(title: str, pupils: list[list[AlertLine]]) -> list[dict[str, Any]]:
    """Pages of whole pupils (a pupil's lines never split over two), at most
    PUPILS_PER_PAGE buttons and _PAGE_CHARACTERS of lines each."""
    written = [pupil_lines(group) for group in pupils]
    pages: list[list[int]] = [[]]
    size = 0
    for index, text in enumerate(written):
        length = sum(len(line) + 1 for line in text)
        page = pages[-1]
        if page and (len(page) >= PUPILS_PER_PAGE or size + length > _PAGE_CHARACTERS):
            pages.append([])
            size = 0
        pages[-1].append(index)
        size += length
    heading = f"{title} ({sum(len(text) for text in written)})"  # alerts, as many as the lines
    rendered = []
    for number, page in enumerate(pages, start=1):
        mark = PAGE_MARK.format(page=number, pages=len(pages)) if len(pages) > 1 else ""
        body = "\n".join(line for index in page for line in written[index])
        rendered.append({"text": f"{heading}{mark}\n{body}",
                         "buttons": [pupils[index][0].button for index in page]})
    return rendered


def card_button_data(pupil_id: int) -> str:
    """A digest's pupil button: opens the card, audited as reached from an alert."""
    return f"al:card:{pupil_id}"


def more_button(outbox_id: int, page: int) -> list[str]:
    """The button that shows page `page` (0-based) of the digest sent as `outbox_id`."""
    return [MORE, f"al:more:{outbox_id}:{page}"]
