"""Which crossings alert, and how a digest is laid out in pages."""

from __future__ import annotations

from bot.domain.alerts import (
    DIGEST_TITLE,
    PUPILS_PER_PAGE,
    AlertLine,
    as_written_now,
    digest_payload,
    new_alerts,
    without_pupil,
)
from bot.domain.attendance import Rule

PA, SA, PN, CME, LATE = (Rule.PERSISTENT, Rule.SEVERE, Rule.PENALTY, Rule.CONTINUOUS,
                         Rule.PUNCTUALITY)


def test_a_rule_alerts_only_when_it_starts_to_hold() -> None:
    assert new_alerts(set(), {PA}) == [PA]
    assert new_alerts({PA}, {PA}) == []
    assert new_alerts({PA}, set()) == []


def test_bands_nest_and_the_deepest_is_named() -> None:
    assert new_alerts(set(), {PA, SA}) == [SA]
    assert new_alerts({PA}, {PA, SA}) == [SA]
    assert new_alerts({PA, SA}, {PA}) == []  # recovering out of severe is no alert


def test_other_families_alert_on_their_own_most_urgent_first() -> None:
    assert new_alerts(set(), {LATE, PN, PA, CME}) == [CME, PA, PN, LATE]


def line(pupil_id: int, rule: Rule = PA, school: str = "Hillside Primary") -> AlertLine:
    return AlertLine(pupil_id, f"C-{pupil_id:05d}", "A.H.", school, rule, 72, 80)


def test_one_page_needs_no_page_marks() -> None:
    payload = digest_payload(DIGEST_TITLE, [line(1), line(2, SA)])
    assert payload["text"] == (
        "New attendance alerts (2)\n"
        "• C-00002 A.H., Hillside Primary: severe absence, 90.0 % this year\n"
        "• C-00001 A.H., Hillside Primary: persistent absence, 90.0 % this year")
    assert payload["buttons"] == [["C-00002 A.H.", "al:card:2"], ["C-00001 A.H.", "al:card:1"]]
    assert len(payload["pages"]) == 1


def test_a_pupil_with_several_alerts_has_a_line_for_each_and_one_button() -> None:
    payload = digest_payload(DIGEST_TITLE, [line(1, PN), line(1, CME), line(2)])
    assert [button[1] for button in payload["buttons"]] == ["al:card:1", "al:card:2"]
    assert payload["text"].splitlines() == [
        "New attendance alerts (3)",
        "• C-00001 A.H., Hillside Primary: continuous absence (possible CME — check), "
        "90.0 % this year",
        "• C-00001 A.H., Hillside Primary: penalty-notice consideration, 90.0 % this year",
        "• C-00002 A.H., Hillside Primary: persistent absence, 90.0 % this year"]


def test_a_line_per_alert_kept_together_most_urgent_first_with_the_latest_figure() -> None:
    older = AlertLine(1, "C-00001", "A.H.", "Hillside Primary", PN, 30, 40)
    lines = [line(1, LATE), older, line(1, CME), line(1, PN), line(2, SA)]
    payload = digest_payload(DIGEST_TITLE, lines)
    assert payload["text"].splitlines() == [
        "New attendance alerts (4)",
        "• C-00002 A.H., Hillside Primary: severe absence, 90.0 % this year",
        "• C-00001 A.H., Hillside Primary: continuous absence (possible CME — check), "
        "90.0 % this year",
        "• C-00001 A.H., Hillside Primary: penalty-notice consideration, 90.0 % this year",
        "• C-00001 A.H., Hillside Primary: punctuality concern, 90.0 % this year"]
    assert [button[1] for button in payload["buttons"]] == ["al:card:2", "al:card:1"]


def test_pages_hold_twenty_pupils_whole_and_stay_under_telegrams_limit() -> None:
    school = "The Very Long Name of a Church of England Voluntary Aided Primary School"
    lines = [line(n, rule, school) for n in range(1, 46) for rule in (CME, PA, PN, LATE)]
    pages = digest_payload(DIGEST_TITLE, lines)["pages"]
    assert all(len(page["text"]) <= 4096 for page in pages)
    assert all(len(page["buttons"]) <= PUPILS_PER_PAGE for page in pages)
    assert sum(len(page["buttons"]) for page in pages) == 45
    assert sum(page["text"].count("\n•") for page in pages) == 180  # a line per alert
    assert pages[0]["text"].startswith(f"New attendance alerts (180) — page 1 of {len(pages)}\n")
    for page in pages:  # each pupil with a button has all four lines on that page
        for label, _ in page["buttons"]:
            assert page["text"].count(f"• {label},") == 4


def test_twenty_pupils_a_page_when_their_lines_are_short() -> None:
    lines = [line(n, rule) for n in range(1, 26) for rule in (PA, PN)]
    pages = digest_payload(DIGEST_TITLE, lines)["pages"]
    assert [len(page["buttons"]) for page in pages] == [20, 5]
    assert pages[1]["text"].startswith("New attendance alerts (50) — page 2 of 2\n")
    assert pages[1]["text"].count("\n•") == 10


def test_a_digest_is_written_again_without_one_pupil() -> None:
    many = [line(n, rule) for n in range(1, 30) for rule in (PA, PN)]
    payload = digest_payload(DIGEST_TITLE, many)
    assert len(payload["pages"]) == 2
    again = without_pupil(payload, 3)
    assert again == digest_payload(DIGEST_TITLE, [item for item in many if item.pupil_id != 3])
    assert "C-00003" not in str(again)
    assert without_pupil(digest_payload(DIGEST_TITLE, [line(3)]), 3) is None  # nothing left
    assert without_pupil({"text": "Escalated by EWO1", "buttons": []}, 3) is None


def test_a_digest_queued_one_line_per_pupil_is_written_a_line_per_alert() -> None:
    alerts = [line(1, CME), line(1, PN), line(2)]
    now = digest_payload(DIGEST_TITLE, alerts)
    queued = {**now, "text": "New attendance alerts (2)\n• C-00001 A.H., Hillside Primary: "
              "continuous absence (possible CME — check) and penalty-notice consideration, "
              "90.0 % this year\n• C-00002 A.H., Hillside Primary: persistent absence, "
              "90.0 % this year"}  # as an earlier version stored it
    queued["pages"] = [{"text": queued["text"], "buttons": now["buttons"]}]
    assert as_written_now(queued) == now
    assert without_pupil(queued, 2) == digest_payload(DIGEST_TITLE, alerts[:2])
    escalation = {"text": "Escalated by EWO1", "buttons": []}
    assert as_written_now(escalation) is escalation
    # Readdressed for a lapsed supervisor: the head above the digest stays.
    headed = {**queued, "text": "This was for SUP1…\n\n" + queued["text"]}
    assert as_written_now(headed)["text"] == "This was for SUP1…\n\n" + now["text"]
    assert without_pupil(headed, 2)["text"] == \
        "This was for SUP1…\n\n" + digest_payload(DIGEST_TITLE, alerts[:2])["text"]
