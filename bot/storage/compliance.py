"""Officers' compliance dates, what they mean on a day, and the reminders about them.

Each function is one transaction's work inside the caller's `conn`. When the feature
arrived is kept in meta (SINCE_KEY), written by `ewobot init` and the daily check:
unrecorded dates of people added before then count from it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain import compliance as rules
from bot.domain.compliance import Compliance
from bot.settings import Settings
from bot.storage import audit, conversations, officers, outbox, sessions
from bot.storage.conversations import Conversation
from bot.storage.db import Conn, one_statement, quick, stamp
from bot.storage.officers import Officer
from bot.storage.outbox import Delivery, enqueue
from bot.storage.sessions import Session

# The head of a message readdressed because the supervisor it was for is blocked.
LAPSED_SUPERVISOR = ("This was for {ref}, whose DBS check or training has lapsed, so it "
                     "comes to you until new dates are recorded.")
# What a lapsed supervisor would have had that waits for them (or for another supervisor)
# rather than going to the controllers: messages about pupils' attendance.
WAIT_FOR_A_SUPERVISOR = frozenset({"alert", "reminder"})
# What a message readdressed to the controllers that has no form of its own for them
# says (queued before escalations had one): its pupils' case references and schools.
ABOUT_CASES = "An escalation or safeguarding concern was recorded about case {cases}."
# Kinds that name no pupil (counts, officers' refs): they reach the controllers as they are.
NAMES_NO_PUPIL = frozenset({"digest", "compliance"})


@dataclass(frozen=True, slots=True)
class Reach:
    """How many people are told of an escalation (`escalation_reach`), whether it goes to
    them `instead` of to the blocked supervisors it was addressed to, and whether they
    are the controllers."""

    count: int
    instead: bool = False
    controllers: bool = False


SINCE_KEY = "compliance_since"
REMINDED_KEY = "compliance_reminded_on"
_ROWS = ("SELECT o.id, o.ref, o.role, o.supervisor_id, o.created_at, c.dbs_checked,"
         " c.training_completed FROM officers o"
         " LEFT JOIN officer_compliance c ON c.officer_id = o.id")


def rules_of(settings: Settings) -> rules.Rules:
    return rules.Rules(settings.training_valid_months, settings.dbs_recheck_months,
                       settings.timezone)


@dataclass(frozen=True, slots=True)
class AccountHolder:
    """What the gate needs about the person behind a Telegram account (all None for a
    stranger): who they are, their session, their compliance today (None when
    EWO_COMPLIANCE is off) and their open conversation (the router's, and PIN set-up's)."""

    officer: Officer | None
    session: Session | None
    standing: Compliance | None
    talk: Conversation | None


_HOLDER = (
    f"SELECT {officers.columns('o')}, s.unlocked_at, s.last_seen_at, o.created_at,"
    " c.dbs_checked, c.training_completed, (SELECT value FROM meta WHERE key = ?) AS since,"
    f" {conversations.columns('v', 'talk_')} FROM officers o"
    " LEFT JOIN sessions s ON s.officer_id = o.id"
    " LEFT JOIN officer_compliance c ON c.officer_id = o.id"
    " LEFT JOIN conversations v ON v.officer_id = o.id"
    " WHERE o.telegram_user_id = ?")


@one_statement
async def account_holder(conn: Conn, user_id: int, now: datetime, today: date,
                         policy: rules.Rules | None) -> AccountHolder:
    """The gate's one read, before every update: the person, their session, their
    compliance under `policy` (None: not assessed) and their open conversation, in one
    statement (each an indexed row)."""
    row = await conn.fetchone(_HOLDER, (SINCE_KEY, user_id))
    if row is None:
        return AccountHolder(None, None, None, None)
    officer = officers.from_row(row)
    standing = None if policy is None else _assess(row, _day(row["since"]), today, policy)
    # No sessions row is a session never unlocked, as `sessions.session_of` reads it.
    return AccountHolder(officer, sessions.from_row(officer.id, row), standing,
                         conversations.from_row(officer.id, row, now, "talk_"))


async def lapsed_ids(conn: Conn, today: date, policy: rules.Rules) -> frozenset[int]:
    """The active people whose training or DBS check is lapsed today."""
    since = await _since(conn)
    rows = await conn.fetchall(f"{_ROWS} WHERE o.status = 'active'")
    return frozenset(row["id"] for row in rows if _assess(row, since, today, policy).lapsed)


async def blocked_ids(conn: Conn, settings: Settings, now: datetime) -> frozenset[int]:
    """The people EWO_COMPLIANCE=enforce blocks now (lapsed); nobody under warn or off."""
    if settings.compliance != "enforce":
        return frozenset()
    return await lapsed_ids(conn, now.astimezone(settings.timezone).date(),
                            rules_of(settings))


async def claim_due(conn: Conn, now: datetime, settings: Settings, *, quiet: bool,
                    holder: str | None = None) -> list[Delivery]:
    """`outbox.claim_due`, with EWO_COMPLIANCE=enforce sending a blocked officer's
    messages (their pupils' alerts) to their supervisor meanwhile, as a revoked
    officer's go (with no supervisor they wait until the dates are recorded), a
    blocked supervisor's to the other supervisors (`readdress_for_lapsed_supervisors`),
    and what is for every controller to those who are not blocked (all of them when
    every one is)."""
    blocked = await blocked_ids(conn, settings, now)
    if blocked and not quiet:  # in quiet time nothing would go: nothing is readdressed
        # Under the claimers' lock: two instances must not readdress one row twice.
        await conn.lock(outbox.CLAIMS_LOCK)
        await readdress_for_lapsed_supervisors(conn, blocked, now)
    return await outbox.claim_due(conn, now, quiet=quiet, holder=holder,
                                  redirected=blocked)


async def readdress_for_lapsed_supervisors(conn: Conn, blocked: frozenset[int],
                                           now: datetime) -> int:
    """Messages due now that would reach a supervisor in `blocked` (for them, for their
    team's officers, or their own caseload's alerts) go instead to every supervisor who
    is neither revoked nor blocked, one row each; with none, to the controllers, save
    attendance alerts and pathway reminders (`WAIT_FOR_A_SUPERVISOR`): a controller
    sees no pupil's attendance (PRODUCT.md, Who sees what) and cannot open the card
    they lead to, so those wait until a supervisor is current (`outbox.claim_due` sends
    nothing to a blocked supervisor). An escalation or safeguarding concern still goes
    to the controllers, someone must act on it, in its form for them: the case
    reference, school and dates, not the pupil's initials (`_for_controllers`). Each
    readdressed row is headed LAPSED_SUPERVISOR and the readdressing is audited. A
    lapsed or revoked officer's alert digest readdressed so carries every line: the
    supervisor's copy queued with it is withdrawn (`outbox.withdraw_copies`), and so is
    a lapsed supervisor's copy of an escalation everyone it would go to has another copy
    of (`_not_told_yet`): one queued for every lapsed supervisor reaches each controller
    once. Returns rows readdressed.

    The rows are rewritten just before they are claimed, so only what is due while the
    supervisor is blocked goes elsewhere; later messages wait for them as usual."""
    people = await _people(conn)
    lapsed = {pid for pid in blocked if pid in people and people[pid]["role"] == "supervisor"}
    if not lapsed:
        return 0
    rows = await conn.fetchall(
        "SELECT id, kind, audience, payload, created_at FROM outbox WHERE status = 'pending'"
        " AND not_before <= ? AND (audience LIKE 'officer:%' OR audience LIKE 'supervisor%')"
        " ORDER BY id", (stamp(now),))
    current = _current_supervisors(people, blocked)
    moved = 0
    for row in rows:
        supervisor = _reaches(str(row["audience"]), people, blocked)
        recorder = _recorder(row)
        others = [pid for pid in current if pid != recorder]
        if supervisor not in lapsed or (not others and row["kind"] in WAIT_FOR_A_SUPERVISOR):
            continue
        audiences = [f"supervisor:{pid}" for pid in others] or ["controllers"]
        untold = await _not_told_yet(conn, row, audiences)
        if not untold:
            await _withdraw_told(conn, row, now)
            continue
        readdressed = await _readdress(conn, row, untold, people[supervisor]["ref"], now)
        moved += readdressed
        if readdressed and str(row["audience"]) != f"officer:{supervisor}":
            # An officer's digest forwarded whole: the copy would go twice.
            await outbox.withdraw_copies(conn, row, now)
    return moved


async def _people(conn: Conn) -> dict[int, Any]:
    return {row["id"]: row for row in await conn.fetchall(
        "SELECT id, ref, role, status, supervisor_id FROM officers")}


def _current_supervisors(people: dict[int, Any], blocked: frozenset[int]) -> list[int]:
    """Whom a message for a blocked supervisor goes to instead: every supervisor neither
    revoked nor blocked, but the one who recorded an escalation (`_recorder`: it is
    theirs already); with none, the controllers."""
    return sorted(pid for pid, row in people.items() if row["role"] == "supervisor"
                  and row["status"] != "revoked" and pid not in blocked)


def _recorder(row: Any) -> int | None:
    """Who recorded an escalation (its payload's RECORDER), else None."""
    if row["kind"] != "escalation":
        return None
    recorder = json.loads(row["payload"]).get(outbox.RECORDER)
    return recorder if isinstance(recorder, int) else None


async def escalation_reach(conn: Conn, officer: Officer, audiences: Sequence[str],
                           blocked: frozenset[int]) -> Reach:
    """Whom an escalation `officer` recorded, queued for `audiences`
    (`outbox.escalation_audiences`), reaches when it is delivered now: those addressed,
    or, when the supervisors it is for are blocked (`readdress_for_lapsed_supervisors`),
    the current supervisors but the recorder, else every controller not revoked (the
    current ones while any is, as `outbox.current_first` expands them)."""
    if not audiences:
        return Reach(0)
    people = await _people(conn)
    if not {_reaches(audience, people, blocked) for audience in audiences} & blocked:
        return Reach(len(audiences))
    others = [pid for pid in _current_supervisors(people, blocked) if pid != officer.id]
    if others:
        return Reach(len(others), instead=True)
    controllers = outbox.current_first(
        sorted(pid for pid, row in people.items()
               if row["role"] == "controller" and row["status"] != "revoked"), blocked)
    return Reach(len(controllers), instead=True, controllers=True)


async def _not_told_yet(conn: Conn, row: Any, audiences: list[str]) -> list[str]:
    """Of `audiences`, those no other copy of this escalation is for. One for every
    other supervisor is queued as one row each (lapsed ones too, when all are), and a
    copy keeps its kind, pupils and moment of saving (`created_at`) when readdressed: a
    lapsed supervisor's copy readdressed to someone another copy is for (another
    supervisor, the controllers another lapsed one's copy went to) would tell them
    twice. Any other kind is one message each (a digest per supervisor), all untold."""
    if row["kind"] != "escalation":
        return audiences
    copies = await conn.fetchall(
        "SELECT o.audience FROM outbox o WHERE o.kind = 'escalation' AND o.created_at = ?"
        " AND o.id != ? AND o.status != 'undelivered' AND NOT EXISTS ("
        "   SELECT pupil_id FROM outbox_pupils WHERE outbox_id = o.id"
        "   EXCEPT SELECT pupil_id FROM outbox_pupils WHERE outbox_id = ?)"
        " AND NOT EXISTS ("
        "   SELECT pupil_id FROM outbox_pupils WHERE outbox_id = ?"
        "   EXCEPT SELECT pupil_id FROM outbox_pupils WHERE outbox_id = o.id)",
        (row["created_at"], row["id"], row["id"], row["id"]))
    told = {str(copy["audience"]) for copy in copies}
    return [audience for audience in audiences if audience not in told]


async def _withdraw_told(conn: Conn, row: Any, now: datetime) -> None:
    """A lapsed supervisor's copy of an escalation everyone it would go to has another
    copy of (`_not_told_yet`): deleted, audited, unless claimed or disposed of meanwhile."""
    if await conn.execute("DELETE FROM outbox WHERE id = ? AND status = 'pending'",
                          (row["id"],)):
        await audit.append(conn, actor="system", action="message_withdrawn",
                           target=f"outbox:{row['id']}", reason="already_told", at=now,
                           detail={"kind": row["kind"]})


def _reaches(audience: str, people: dict[int, Any], blocked: frozenset[int]) -> int | None:
    """The supervisor a row reaches as `outbox.claim_due` resolves it (None: not one)."""
    form, _, arg = audience.partition(":")
    number = int(arg) if arg.isdigit() else None
    person = people.get(number) if number is not None else None
    if person is None:
        return None
    if form == "supervisor":
        return number
    if form == "supervisor_of":
        return person["supervisor_id"]  # type: ignore[no-any-return]
    if form != "officer":
        return None
    if person["role"] == "supervisor" and person["status"] != "revoked":
        return number  # their own caseload's alerts and reminders
    if person["status"] == "revoked" or number in blocked:  # forwarded to their supervisor
        return person["supervisor_id"]  # type: ignore[no-any-return]
    return None


async def _readdress(conn: Conn, row: Any, audiences: list[str], ref: str,
                     now: datetime) -> bool:
    # Read again held, as every rewrite of a payload reads it (outbox.held): a disposal
    # taking a pupil out of this digest meanwhile is not undone.
    row = await outbox.held(conn, row["id"])
    if row is None or row["status"] != "pending":
        return False  # disposed of, or claimed, meanwhile
    # Its buttons open what only the lapsed supervisor may see (their team's cards, their
    # caseload): the others, or the controllers, get the text alone, in its form for
    # them when it has one (a digest without its pointers to /caseload).
    payload = outbox.readdressed(json.loads(row["payload"]))
    if audiences == ["controllers"]:
        payload = await _for_controllers(conn, row, payload)
    payload["text"] = f"{LAPSED_SUPERVISOR.format(ref=ref)}\n\n{payload.get('text', '')}"
    text = json.dumps(payload, ensure_ascii=False)
    await conn.execute(
        "UPDATE outbox SET audience = ?, payload = ?, recipient_id = NULL WHERE id = ?",
        (audiences[0], text, row["id"]))
    for audience in audiences[1:]:
        copy_id = await conn.insert(
            "INSERT INTO outbox (kind, audience, payload, not_before, created_at)"
            " SELECT kind, ?, payload, not_before, created_at FROM outbox WHERE id = ?",
            (audience, row["id"]))
        await conn.execute(
            "INSERT INTO outbox_pupils (outbox_id, pupil_id)"
            " SELECT ?, pupil_id FROM outbox_pupils WHERE outbox_id = ?", (copy_id, row["id"]))
    await audit.append(conn, actor="system", action="message_readdressed",
                       target=f"outbox:{row['id']}", reason="supervisor_lapsed", at=now,
                       detail={"kind": row["kind"], "recipients": len(audiences)})
    return True


async def _for_controllers(conn: Conn, row: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """What the controllers may read of a message readdressed to them: case references,
    schools and dates only (PRODUCT.md, Who sees what). An escalation's own form for them
    (`outbox.CONTROLLERS_FORM`, without the pupil's initials), else, for one queued before
    it had one, ABOUT_CASES from its pupils' records; a digest or compliance reminder
    names no pupil and goes as it is. Nothing else is readdressed to them
    (`WAIT_FOR_A_SUPERVISOR`)."""
    form = payload.get(outbox.CONTROLLERS_FORM)
    if isinstance(form, dict) and isinstance(form.get("text"), str):
        return {"text": form["text"], "buttons": []}
    if row["kind"] in NAMES_NO_PUPIL:
        return payload
    cases = await conn.fetchall(
        "SELECT p.case_ref, s.name AS school FROM outbox_pupils op"
        " JOIN pupils p ON p.id = op.pupil_id JOIN schools s ON s.urn = p.school_urn"
        " WHERE op.outbox_id = ? ORDER BY p.case_ref", (row["id"],))
    about = "; ".join(f"{case['case_ref']}, {case['school']}" for case in cases)
    return {"text": ABOUT_CASES.format(cases=about), "buttons": []}


async def record_since(conn: Conn, today: date) -> None:
    """Note the day the feature arrived, once (the first run after the upgrade)."""
    await conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                       (SINCE_KEY, today.isoformat()))


async def _since(conn: Conn) -> date | None:
    return _day(await conn.fetchval("SELECT value FROM meta WHERE key = ?", (SINCE_KEY,)))


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value[:10])


def _assess(row: Any, since: date | None, today: date, policy: rules.Rules) -> Compliance:
    added = policy.day_of(datetime.fromisoformat(row["created_at"]))
    return rules.assess(dbs=_day(row["dbs_checked"]), training=_day(row["training_completed"]),
                        added=added, since=since, today=today, rules=policy)


@quick
async def compliance_of(conn: Conn, officer: Officer, today: date, *,
                        policy: rules.Rules | None = None) -> Compliance:
    """The person's compliance on `today` (for the gate's block under `enforce`)."""
    row = await conn.fetchone(f"{_ROWS} WHERE o.id = ?", (officer.id,))
    return _assess(row, await _since(conn), today, policy or rules.Rules())


@quick
async def has_current_supervisor(conn: Conn, officer: Officer) -> bool:
    """Whether reminders about this officer's dates go to their supervisor (one who is a
    supervisor with access), as `due_reminders` sends them; else to the controllers."""
    if officer.supervisor_id is None:
        return False
    return bool(await conn.fetchval(
        "SELECT COUNT(*) FROM officers WHERE id = ? AND role = 'supervisor'"
        " AND status = 'active'", (officer.supervisor_id,)))


async def compliance_by_officer(conn: Conn, today: date,
                                policy: rules.Rules) -> dict[int, Compliance]:
    """Everyone's compliance on `today`, by officer id (for `officers list`)."""
    since = await _since(conn)
    return {row["id"]: _assess(row, since, today, policy)
            for row in await conn.fetchall(_ROWS)}


async def set_dates(conn: Conn, officer: Officer, *, dbs: date | None, training: date | None,
                    actor: str, now: datetime) -> None:
    """Record the DBS check's date, the training's, or both. Audited."""
    await conn.execute(
        "INSERT INTO officer_compliance (officer_id, dbs_checked, training_completed)"
        " VALUES (?, ?, ?) ON CONFLICT (officer_id) DO UPDATE SET"
        " dbs_checked = COALESCE(excluded.dbs_checked, officer_compliance.dbs_checked),"
        " training_completed = COALESCE(excluded.training_completed,"
        "   officer_compliance.training_completed)",
        (officer.id, dbs.isoformat() if dbs else None,
         training.isoformat() if training else None))
    detail = {k: v.isoformat() for k, v in (("dbs", dbs), ("training", training)) if v}
    await audit.append(conn, actor=actor, action="officer_compliance", target=officer.actor,
                       reason="admin_command", at=now, detail=detail)


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder line, and who receives it."""

    audience: str
    line: str


async def due_reminders(conn: Conn, today: date, policy: rules.Rules, *,
                        told: date | None = None) -> list[Reminder]:
    """Today's reminders, and those of the days since `told` (the last day reminders
    went; None: today's only): an officer's go to their supervisor; a supervisor's or a
    controller's (or an officer's without a supervisor, or whose supervisor's access has
    ended) to every controller."""
    since = await _since(conn)
    after = today - timedelta(days=1) if told is None else max(
        told, today - timedelta(days=rules.CATCH_UP_DAYS))
    found = []
    rows = await conn.fetchall(f"{_ROWS} WHERE o.status = 'active' ORDER BY o.ref")
    # An officer whose supervisor's access has ended has no one to tell but the
    # controllers, as one without a supervisor (a reminder for the revoked supervisor
    # would be kept undelivered for nobody).
    supervisors = {row["id"] for row in rows if row["role"] == "supervisor"}
    for row in rows:
        items = [item for item in _assess(row, since, today, policy).items
                 if item.remind_since(after, today)]
        if not items:
            continue
        audience = (f"supervisor_of:{row['id']}"
                    if row["role"] == "officer" and row["supervisor_id"] in supervisors
                    else "controllers")
        found.append(Reminder(audience, f"{row['ref']}: "
                              + "; ".join(item.describe() for item in items)))
    return found


async def queue_reminders(conn: Conn, settings: Settings, now: datetime, *,
                          not_before: datetime | None = None) -> int:
    """The daily check's compliance reminders, once a day, through the outbox: one
    message per audience, with the reminder days missed since the last day told (the
    bot was down). None when EWO_COMPLIANCE is off. Returns messages queued."""
    today = now.astimezone(settings.timezone).date()
    await record_since(conn, today)
    if settings.compliance == "off":
        return 0
    told = await conn.fetchval("SELECT value FROM meta WHERE key = ?", (REMINDED_KEY,))
    if told == today.isoformat():
        return 0
    await conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                       " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       (REMINDED_KEY, today.isoformat()))
    by_audience: dict[str, list[str]] = {}
    for reminder in await due_reminders(conn, today, rules_of(settings), told=_day(told)):
        by_audience.setdefault(reminder.audience, []).append(reminder.line)
    for audience, lines in by_audience.items():
        text = "\n".join([f"DBS checks and training due or lapsed ({today:%d/%m/%Y}):",
                          *lines, "Record new dates with `ewobot officers compliance`."])
        await enqueue(conn, kind="compliance", audience=audience,
                      payload={"text": text, "buttons": []}, now=now, not_before=not_before)
    return len(by_audience)
