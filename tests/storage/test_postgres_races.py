"""Two instances on one PostgreSQL racing for each read-then-write rule that SQLite's
single writer made safe: the audit chain's head, an enrolment code's claim, an import's
difference, the week's digests, a waiting alert digest rewritten twice. Each instance is
a database handle of its own (its own pool), so the two really run side by side, as two
machines would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.dates import YearEnd
from bot.domain.retention import RetentionPolicy
from bot.importing.service import run_import
from bot.settings import Settings
from bot.storage import alerts as alert_store
from bot.storage import audit, compliance, outbox, retention, rights, sessions
from bot.storage import caseload as caseload_store
from bot.storage import officers as officer_store
from bot.storage.db import Conn, Database, stamp
from bot.storage.officers import hash_code
from bot.storage.postgres import PostgresDatabase
from bot.synthetic import IMPORT_ORDER, generate
from bot.usecases import digests as digest
from bot.usecases.retention import run_retention_check
from tests.e2e.retention_files import upn
from tests.jobs.test_digest import at
from tests.pg import Cluster, settings_for
from tests.storage import caseload_seed as seed
from tests.storage.alert_seed import NOW as ALERT_NOW
from tests.storage.alert_seed import YEAR_END, AlertSeed
from tests.storage.alert_seed import sessions as marked
from tests.storage.retention_seed import Seed as RetentionSeed
from tests.storage.test_caseload import small_team
from tests.storage.test_postgres_imports import _contents, changed_copy

NOW = datetime(2025, 3, 14, 16, 30, tzinfo=UTC)
TODAY = date(2025, 3, 14)
EACH = 25  # writes each instance sends at once
PERSISTENT = ["/"] * 72 + ["I"] * 8  # 90.0 %


@pytest.fixture
def settings(pg_url: str, tmp_path: Path) -> Settings:
    return settings_for(tmp_path, pg_url, caseload_digest="MON 08:00")  # type: ignore[no-any-return]


@pytest.fixture
async def instances(settings: Settings) -> AsyncIterator[tuple[Database, Database]]:
    """Two instances' handles on the same database."""
    first = await PostgresDatabase.open(settings, attempts=3, wait_seconds=2)
    second = await PostgresDatabase.open(settings, attempts=3, wait_seconds=2)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_audit_entries_from_two_instances_make_one_unbroken_chain(
        instances: tuple[Database, Database]) -> None:
    async def entry(db: Database, who: str, number: int) -> int:
        return await db.write(audit.append, actor=f"officer:{who}", action="pupil_card",
                              reason="allocated", target=f"pupil:{number}")

    first, second = instances
    seqs = await asyncio.gather(*(entry(db, name, n) for n in range(EACH)
                                  for db, name in ((first, "A"), (second, "B"))))

    assert sorted(seqs) == list(range(1, 2 * EACH + 1))
    verification = await first.read(audit.verify)
    assert verification.ok and verification.head.count == 2 * EACH


async def test_one_enrolment_code_claimed_by_two_instances_at_once_is_used_once(
        instances: tuple[Database, Database]) -> None:
    first, second = instances
    moment = datetime(2026, 11, 25, 9, tzinfo=UTC)
    codes = [f"RACE-{n:04d}-CODE" for n in range(EACH)]

    async def _issue(conn: Conn) -> None:
        for n, code in enumerate(codes):
            officer = await seed.officer(conn, f"EWO{n}")
            await conn.execute(
                "INSERT INTO enrolment_codes (code_hash, officer_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)", (hash_code(code), officer, stamp(moment),
                                         stamp(moment + timedelta(days=1))))
    await first.write(_issue)

    claims = await asyncio.gather(*(db.write(sessions.claim_code, code, moment)
                                    for code in codes for db in (first, second)))

    # Each code went to exactly one of the two /start, the other was told it is used.
    pairs = list(zip(claims[::2], claims[1::2], strict=True))
    assert all((a is None) != (b is None) for a, b in pairs)
    assert len({a or b for a, b in pairs}) == EACH


async def test_the_same_import_from_two_machines_is_applied_once(
        instances: tuple[Database, Database], settings: Settings, tmp_path: Path) -> None:
    service = generate(tmp_path / "files", seed=5, pupils=40, weeks=4, today=TODAY)
    first, second = instances
    await first.write(officer_store.add_officers, service.officers, now=NOW)
    for kind in IMPORT_ORDER:
        if kind != "attendance":
            await run_import(first, kind, service.files[kind], actor="os:test", today=TODAY,
                             settings=settings, now=NOW)
    await run_import(first, "attendance", service.files["attendance"], actor="os:test",
                     today=TODAY, settings=settings, now=NOW)
    before = await first.read(_contents)
    changed = changed_copy(service.files["attendance"], tmp_path / "changed.csv")

    summaries = await asyncio.gather(*(
        run_import(db, "attendance", changed, actor=f"os:{name}", today=TODAY,
                   settings=settings, now=NOW) for db, name in ((first, "a"), (second, "b"))))

    # Whichever went second found the first's marks already there: nothing left to change.
    changes = sorted(summary.counts["replaced"] for summary in summaries)
    assert changes[0] == 0 and changes[1] > 0
    after = await first.read(_contents)
    assert after != before and len(after["marks"]) == len(before["marks"])
    async def _alerts(conn: Conn) -> list[tuple[int, str]]:
        return [tuple(row) for row in await conn.fetchall(
            "SELECT pupil_id, rule FROM alerts GROUP BY pupil_id, rule, created_at"
            " HAVING COUNT(*) > 1")]
    assert await first.read(_alerts) == []  # no rule raised twice for one moment
    assert (await first.read(audit.verify)).ok


async def test_the_weeks_digests_queued_by_two_instances_at_once_go_once(
        instances: tuple[Database, Database], settings: Settings) -> None:
    first, second = instances
    ids = await small_team(first)

    queued = await asyncio.gather(*(digest.enqueue_due_digests(db, settings, at(23, 8, 0))
                                    for _ in range(4) for db in (first, second)))

    assert sorted(queued) == [0] * 7 + [2]
    async def _digests(conn: Conn) -> list[str]:
        return [row["audience"] for row in await conn.fetchall(
            "SELECT audience FROM outbox WHERE kind = 'digest' ORDER BY id")]
    assert await first.read(_digests) == [f"supervisor:{ids['SUP1']}",
                                          f"supervisor:{ids['SUP2']}"]
    async def _recorded(conn: Conn) -> list[dict[str, object]]:
        return [json.loads(row["detail"]) for row in await conn.fetchall(
            "SELECT detail FROM audit WHERE action = 'caseload_digest'")]
    assert await first.read(_recorded) == [{"week": "2026-W48", "supervisors": 2}]


async def test_a_missed_digest_caught_up_by_two_instances_at_once_goes_once(
        instances: tuple[Database, Database], settings: Settings) -> None:
    first, second = instances
    await small_team(first)
    late = settings.model_copy(update={"caseload_digest": (6, time(23, 30))})
    await first.write(caseload_store.record_digest_week, "2026-W47")

    # Both come back at 00:30 on Monday 30 November, after Sunday 23:30's moment.
    queued = await asyncio.gather(*(digest.enqueue_due_digests(db, late, at(30, 0, 30))
                                    for _ in range(4) for db in (first, second)))

    assert sorted(queued) == [0] * 7 + [2]
    async def _recorded(conn: Conn) -> list[dict[str, object]]:
        return [json.loads(row["detail"]) for row in await conn.fetchall(
            "SELECT detail FROM audit WHERE action = 'caseload_digest'")]
    assert await first.read(_recorded) == [{"week": "2026-W48", "supervisors": 2}]


async def _while_a_disposal_holds_the_digest(
        db: Database, disposed: int, cluster: Cluster,
        rewrite: Callable[[], Awaitable[Any]]) -> None:
    """`db` disposes of pupil `disposed`'s place in the waiting messages and holds its
    commit back; `rewrite` (another instance's) must then wait for the row in PostgreSQL
    before the disposal commits; both are seen through."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def dispose(conn: Conn) -> None:  # the disposal's rewrite, its commit held back
        await retention._forget_in_messages(conn, disposed)
        holding.set()
        await release.wait()

    disposal = asyncio.create_task(db.write(dispose))
    await holding.wait()
    rewriting = asyncio.ensure_future(rewrite())
    await cluster.lock_waiter("transactionid")
    release.set()
    await asyncio.gather(disposal, rewriting)


async def test_a_digest_rewritten_by_a_disposal_and_by_the_delivery_at_once_loses_both(
        instances: tuple[Database, Database], settings: Settings, pg_cluster: Cluster) -> None:
    """One instance disposes of pupil A while another, about to deliver, takes pupil B
    (reallocated) out of the same waiting digest: each rewrite reads the row held, so
    neither writes back the pupil the other took out."""
    first, second = instances
    seeded = AlertSeed(first, settings)
    ewo1, ewo2 = await seeded.officer("EWO1"), await seeded.officer("EWO2")
    disposed, moved = [await seeded.pupil(officer=ewo1) for _ in range(2)]
    for pupil_id in (disposed, moved):
        await seeded.marks(pupil_id, marked(PERSISTENT))
    assert (await seeded.evaluate([disposed, moved])).messages == 1  # one digest, both
    await seeded.allocate(moved, ewo2)
    await _while_a_disposal_holds_the_digest(  # the delivery's rewrite waits for the row
        first, disposed, pg_cluster,
        lambda: second.write(alert_store.narrow_to_holders, ALERT_NOW))

    async def _digests(conn: Conn) -> list[Any]:
        return await conn.fetchall("SELECT o.id, o.payload, op.pupil_id FROM outbox o"
                                   " LEFT JOIN outbox_pupils op ON op.outbox_id = o.id"
                                   " WHERE o.kind = 'alert'")
    assert await first.read(_digests) == []  # both pupils out: the digest withdrawn



async def _any_lock_waiter(cluster: Cluster) -> None:
    """Return once some session waits for an advisory or a row's lock."""
    waits = [asyncio.create_task(cluster.lock_waiter(kind))
             for kind in ("advisory", "transactionid")]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await next(iter(done))


async def test_the_retention_check_run_by_two_instances_at_once_reminds_once(
        instances: tuple[Database, Database], settings: Settings, pg_cluster: Cluster,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The daily job on the leader and `ewobot retention check` on another machine at
    the same moment: whichever goes second finds the controllers already told."""
    first, second = instances
    seeded = RetentionSeed(first)
    await seeded.officer("DPO1", "controller")
    await seeded.pupil(imported=date(2025, 6, 1))  # coming due on 1 August 2026
    moment = datetime(2026, 8, 1, 9, tzinfo=UTC)
    holding, release = asyncio.Event(), asyncio.Event()
    record_check = retention.record_check

    async def held_check(conn: Conn, now: datetime) -> None:  # the first's commit held back
        if not holding.is_set():
            holding.set()
            await release.wait()
        await record_check(conn, now)

    monkeypatch.setattr(retention, "record_check", held_check)
    job = asyncio.create_task(run_retention_check(first, settings, moment))
    await holding.wait()
    command = asyncio.create_task(run_retention_check(second, settings, moment,
                                                      actor="os:admin"))
    await _any_lock_waiter(pg_cluster)  # the command waits for the job's transaction
    release.set()
    results = await asyncio.gather(job, command)

    assert sorted(result.reminded for result in results) == [False, True]
    async def _reminders(conn: Conn) -> int:
        return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE kind = 'retention'"))
    assert await first.read(_reminders) == 1


async def test_one_rights_request_decided_on_two_instances_at_once_is_decided_once(
        instances: tuple[Database, Database], pg_cluster: Cluster) -> None:
    """Two controllers decide the same request at the same moment (one from the chat,
    one with `ewobot rights`): the second is told it is already decided."""
    first, second = instances
    seeded = RetentionSeed(first)
    await seeded.pupil(imported=date(2026, 9, 1), upn=upn(1))
    moment = datetime(2026, 11, 25, 10, tzinfo=UTC)
    request = await first.write(rights.add, upn(1), "erasure", date(2026, 11, 20),
                                actor="os:dpo", now=moment)
    holding, release = asyncio.Event(), asyncio.Event()

    async def upheld(conn: Conn) -> rights.Decision:  # its commit held back
        decision = await rights.decide(conn, request.id, uphold=True, reason="no_longer_needed",
                                       statement=None, actor="officer:DPO1", now=moment)
        holding.set()
        await release.wait()
        return decision

    uphold = asyncio.create_task(first.write(upheld))
    await holding.wait()
    reject = asyncio.create_task(second.write(
        rights.decide, request.id, uphold=False, reason="legal_obligation", statement=None,
        actor="officer:DPO2", now=moment))
    await pg_cluster.lock_waiter("transactionid")  # the second waits for the request's row
    release.set()
    assert (await uphold).request.status == rights.UPHELD
    with pytest.raises(rights.RightsProblem, match="already decided"):
        await reject

    async def _decisions(conn: Conn) -> list[str]:
        return [row["action"] for row in await conn.fetchall(
            "SELECT action FROM audit WHERE action LIKE 'rights\\_%' ESCAPE '\\'"
            " AND action <> 'rights_request' ORDER BY seq")]
    assert await first.read(_decisions) == ["rights_upheld"]
    assert (await first.read(rights.one, request.id)).status == rights.UPHELD


async def test_waiting_alerts_queued_by_an_import_and_the_delivery_at_once_go_once(
        instances: tuple[Database, Database], settings: Settings, pg_cluster: Cluster) -> None:
    """An alert waiting for its pupil's officer: an import on one machine and the job
    leader's delivery round on another both queue what waits, at the same moment; the
    officer gets one digest, not two."""
    first, second = instances
    seeded = AlertSeed(first, settings)
    ewo1 = await seeded.officer("EWO1")
    pupil = await seeded.pupil()  # allocated to no one yet: its alert waits
    await seeded.marks(pupil, marked(PERSISTENT))
    assert (await seeded.evaluate([pupil])).messages == 0
    await seeded.allocate(pupil, ewo1)
    holding, release = asyncio.Event(), asyncio.Event()

    async def importing(conn: Conn) -> int:  # the import's queuing, its commit held back
        queued = await alert_store.queue_waiting(conn, ALERT_NOW, year_end=YEAR_END)
        holding.set()
        await release.wait()
        return queued

    imported = asyncio.create_task(first.write(importing))
    await holding.wait()
    delivery = asyncio.create_task(second.write(alert_store.queue_waiting, ALERT_NOW,
                                                year_end=YEAR_END))
    await _any_lock_waiter(pg_cluster)  # the delivery's waits for the import's
    release.set()
    assert sorted(await asyncio.gather(imported, delivery)) == [0, 1]

    async def _digests(conn: Conn) -> list[str]:
        return [row["audience"] for row in await conn.fetchall(
            "SELECT audience FROM outbox WHERE kind = 'alert' ORDER BY id")]
    assert await first.read(_digests) == [f"officer:{ewo1.id}"]


async def test_a_record_put_on_hold_while_another_instance_disposes_of_it_is_kept(
        instances: tuple[Database, Database], pg_cluster: Cluster) -> None:
    """One controller puts a past-due record on hold (legal) while another disposes of
    it on another instance: the disposal finds it held and removes nothing (it removed
    the record, the hold the first was told of with it)."""
    first, second = instances
    seeded = RetentionSeed(first)
    dpo1 = await seeded.officer("DPO1", "controller")
    dpo2 = await seeded.officer("DPO2", "controller")
    pupil = await seeded.pupil(imported=date(2024, 3, 1))  # past due
    policy = RetentionPolicy(date(2026, 11, 25), YearEnd(8, 31), 30)
    moment = datetime(2026, 11, 25, 10, tzinfo=UTC)
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold(conn: Conn) -> retention.DueRecord | None:  # its commit held back
        record = await retention.hold(conn, dpo1, policy, pupil, reason="legal",
                                      review_date=date(2027, 1, 15), now=moment)
        holding.set()
        await release.wait()
        return record

    held = asyncio.create_task(first.write(hold))
    await holding.wait()
    disposal = asyncio.create_task(second.write(retention.dispose, pupil, by=dpo2,
                                                policy=policy, now=moment))
    await pg_cluster.lock_waiter("transactionid")  # the disposal waits for the pupil's row
    release.set()
    record = await held
    assert record is not None and record.held
    assert not await disposal

    async def _kept(conn: Conn) -> tuple[int, int]:
        return (await conn.fetchval("SELECT count(*) FROM pupils WHERE id = ?", (pupil,)),
                await conn.fetchval("SELECT count(*) FROM holds WHERE pupil_id = ?", (pupil,)))
    assert await first.read(_kept) == (1, 1)


async def test_a_digest_readdressed_for_a_lapsed_supervisor_while_disposed_of_loses_the_pupil(
        instances: tuple[Database, Database], settings: Settings, pg_cluster: Cluster) -> None:
    """One instance disposes of pupil A while the job leader readdresses the digest
    naming A and B (for a supervisor whose DBS check lapsed) to another supervisor: the
    readdressing reads the row held, so it does not write A back into the message."""
    first, second = instances
    seeded = AlertSeed(first, settings)
    lapsed = await seeded.officer("SUP1", "supervisor")
    await seeded.officer("SUP2", "supervisor")
    disposed, kept = [await seeded.pupil(officer=lapsed) for _ in range(2)]
    for pupil_id in (disposed, kept):
        await seeded.marks(pupil_id, marked(PERSISTENT))
    assert (await seeded.evaluate([disposed, kept])).messages == 1  # one digest, both
    await _while_a_disposal_holds_the_digest(  # the readdressing waits for the row
        first, disposed, pg_cluster,
        lambda: second.write(compliance.readdress_for_lapsed_supervisors,
                             frozenset({lapsed.id}), ALERT_NOW))

    async def _payloads(conn: Conn) -> tuple[list[str], str, str]:
        refs = [await conn.fetchval("SELECT case_ref FROM pupils WHERE id = ?", (pupil_id,))
                for pupil_id in (disposed, kept)]
        return [row["payload"] for row in await conn.fetchall(
            "SELECT payload FROM outbox WHERE kind = 'alert' ORDER BY id")], *refs
    payloads, gone, still = await first.read(_payloads)
    assert payloads and all(gone not in payload for payload in payloads)
    assert all(still in payload for payload in payloads)


async def test_one_escalation_for_lapsed_supervisors_claimed_by_two_instances_goes_once(
        instances: tuple[Database, Database], settings: Settings) -> None:
    """An escalation queued for each of three lapsed supervisors (there was no current
    one), claimed by two instances at once: one copy is readdressed to the controllers
    and the others withdrawn, once, not a copy for the controllers per supervisor."""
    first, second = instances
    seeded = AlertSeed(first, settings)
    supervisors = [await seeded.officer(f"SUP{n}", "supervisor") for n in (1, 2, 3)]
    dpo = await seeded.officer("DPO1", "controller")
    pupil_id = await seeded.pupil()
    async def _queue(conn: Conn) -> None:
        trained = {person.id: date(2025, 10, 1) for person in supervisors}  # lapsed
        for person in (*supervisors, dpo):
            await compliance.set_dates(conn, person, dbs=date(2025, 1, 6),
                                       training=trained.get(person.id, date(2026, 9, 1)),
                                       actor="os:admin", now=ALERT_NOW)
        for supervisor in supervisors:
            await outbox.enqueue(conn, kind="escalation", audience=f"supervisor:{supervisor.id}",
                                 payload={"text": "Escalation: C-00001", "buttons": []},
                                 now=ALERT_NOW, pupil_ids=[pupil_id])
    await first.write(_queue)
    enforced = settings.model_copy(update={"compliance": "enforce"})

    await asyncio.gather(*(db.write(compliance.claim_due, ALERT_NOW, enforced, quiet=False)
                           for _ in range(3) for db in (first, second)))

    async def _escalations(conn: Conn) -> tuple[list[str], list[str]]:
        return ([row["audience"] for row in await conn.fetchall(
                    "SELECT audience FROM outbox WHERE kind = 'escalation'")],
                [row["reason"] for row in await conn.fetchall(
                    "SELECT reason FROM audit WHERE action = 'message_withdrawn'")])
    assert await first.read(_escalations) == (["controllers"], ["already_told"] * 2)
