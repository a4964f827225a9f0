"""The audit trail: append-only entries, each chained to the one before by a keyed hash.

An entry says who (`officer:REF`, `os:USER`, `system`), what (an action code), which
record (an internal reference such as `pupil:42`, never a name), when, and why (a
fixed reason code). `detail` holds fixed fields only (counts, a file's SHA-256),
never free text. An entry may name further records (a listing names every pupil it
showed): they are kept in its detail as `targets`, covered by the hash like the rest,
and indexed in `audit_targets` so a pupil's entries are found without reading every
detail. The database refuses updates and deletes; `verify` finds the first
entry whose chain is broken, and a head kept outside the system shows shortening.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.storage.db import Conn, Database, quick

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target: str | None
    reason: str
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Head:
    """The chain's head: entry count and hash. Kept outside the system, it shows truncation."""

    count: int
    hash: str

    def short(self) -> str:
        return f"{self.count}:{self.hash[:12]}"


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    head: Head
    first_bad_seq: int | None = None
    problem: str | None = None


def _digest(key: bytes, prev_hash: str, seq: int, at: str, actor: str, action: str,
            target: str | None, reason: str, detail: str | None) -> str:
    body = json.dumps([prev_hash, seq, at, actor, action, target, reason, detail],
                      ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


async def append(conn: Conn, *, actor: str, action: str, reason: str,
                target: str | None = None, detail: dict[str, Any] | None = None,
                at: datetime | None = None, targets: Sequence[str] = ()) -> int:
    """Append one entry inside the caller's write transaction; returns its sequence number."""
    seq = await append_many(conn, [NewEntry(actor=actor, action=action, reason=reason,
                                            target=target, detail=detail,
                                            targets=tuple(targets))], at=at)
    assert seq is not None  # one entry was given
    return seq


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One entry for `append_many`: the same fields `append` takes. `targets` are the
    further records it names (internal references), e.g. every pupil a listing showed."""

    actor: str
    action: str
    reason: str
    target: str | None = None
    detail: dict[str, Any] | None = None
    targets: tuple[str, ...] = ()

    def stored_detail(self) -> str | None:
        """The detail as hashed and stored: the further targets go in it, so the chain
        covers them (and `verify` needs nothing else)."""
        detail = self.detail
        if self.targets:
            detail = {**(detail or {}), "targets": list(dict.fromkeys(self.targets))}
        return None if detail is None else json.dumps(detail, sort_keys=True,
                                                      separators=(",", ":"))


LISTING = "pupil_list"


def pupil_refs(pupil_ids: Sequence[int]) -> tuple[str, ...]:
    """The audit references of pupils, as a listing's entry names them."""
    return tuple(f"pupil:{pupil_id}" for pupil_id in pupil_ids)


def listing(*, actor: str, reason: str, pupil_ids: Sequence[int],
            detail: dict[str, Any] | None = None, action: str = LISTING) -> NewEntry:
    """The one entry of a listing of pupils (a page of /pupils, search results, /due):
    it names every pupil shown, so each one's subject-access export shows who saw them."""
    return NewEntry(actor=actor, action=action, reason=reason, detail=detail,
                    targets=pupil_refs(pupil_ids))


@quick  # the card views' group commit: the whole transaction in one hop on SQLite
async def append_many(conn: Conn, entries: Sequence[NewEntry], *,
                      at: datetime | None = None) -> int | None:
    """Append several entries, chained in order, with one read and one insert: for a
    feature that writes thousands at once (the alerts of a large import). Returns the
    last new entry's sequence number (None when `entries` is empty)."""
    if not conn.writable:
        raise RuntimeError("audit entries are written inside db.write(...)")
    if not entries:
        return None
    await conn.lock("audit")  # the head read here is the one the new entries chain from
    last = await conn.fetchone("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    seq = 0 if last is None else last["seq"]
    prev_hash = GENESIS if last is None else last["hash"]
    moment = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    rows = []
    named: list[tuple[str, int]] = []
    for entry in entries:
        seq += 1
        detail_text = entry.stored_detail()
        named += [(target, seq) for target in dict.fromkeys(entry.targets)]
        digest = _digest(conn.audit_key, prev_hash, seq, moment, entry.actor, entry.action,
                         entry.target, entry.reason, detail_text)
        rows.append((seq, moment, entry.actor, entry.action, entry.target, entry.reason,
                     detail_text, prev_hash, digest))
        prev_hash = digest
    # Nothing reads them back in the transaction: on PostgreSQL they go with its next
    # statement or its COMMIT, not in a round trip of their own.
    await conn.executemany_with_next(
        "INSERT INTO audit (seq, at, actor, action, target, reason, detail, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    if named:
        await conn.executemany_with_next(
            "INSERT INTO audit_targets (target, seq) VALUES (?, ?)", named)
    return seq


class Appender:
    """Appends entries that many chats hand in at about the same time, several to a
    write transaction (a group commit): while one group is being written, the next
    one gathers.

    For the entry written on every card view: a transaction each would keep the
    writer's thread busy a view at a time, and that thread's Python code shares the
    interpreter lock with every chat's (bench/findings.md).

    `append` returns once its entry is committed. When a group's transaction fails,
    every entry in it fails with the same error, and none of them is in the trail.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._gathering: list[tuple[NewEntry, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def append(self, entry: NewEntry) -> None:
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._gathering.append((entry, committed))
        if self._writing is None:
            self._writing = asyncio.create_task(self._write_groups())
        # A caller cancelled meanwhile leaves its entry to be written all the same.
        await asyncio.shield(committed)

    async def _write_groups(self) -> None:
        group: list[tuple[NewEntry, asyncio.Future[None]]] = []
        try:
            while self._gathering:
                group, self._gathering = self._gathering, []
                try:
                    await self._db.write(append_many, [entry for entry, _ in group])
                except Exception as exc:  # handed to each caller, who reports it
                    for _, committed in group:
                        committed.set_exception(exc)
                else:
                    for _, committed in group:
                        committed.set_result(None)
                group = []
        except BaseException:  # cancelled (shutting down) with entries unwritten
            for _, committed in group + self._gathering:
                committed.cancel()
            self._gathering = []
            raise
        finally:
            self._writing = None


async def head(conn: Conn) -> Head:
    row = await conn.fetchone("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    return Head(0, GENESIS) if row is None else Head(row["seq"], row["hash"])


async def verify(conn: Conn, expected: Head | None = None) -> Verification:
    """Walk the whole chain; report the first entry that does not follow from the one before.

    With `expected` (a head kept outside the system), the entry at `expected.count` must
    still carry that hash, however many entries were added since: a trail cut back and
    grown again by normal work chains, but not through the recorded entry."""
    prev_hash = GENESIS
    count = 0
    # The hash now at expected.count (a head of 0 entries is the genesis hash).
    recorded = GENESIS if expected is not None and expected.count == 0 else None
    async with aclosing(conn.stream(
            "SELECT seq, at, actor, action, target, reason, detail, prev_hash, hash"
            " FROM audit ORDER BY seq")) as rows:
        async for row in rows:
            count += 1
            if row["seq"] != count:
                return Verification(False, Head(count - 1, prev_hash), count,
                                    f"entry {count} is missing")
            if row["prev_hash"] != prev_hash:
                return Verification(False, Head(count - 1, prev_hash), row["seq"],
                                    f"entry {row['seq']} does not follow entry {count - 1}")
            digest = _digest(conn.audit_key, prev_hash, row["seq"], row["at"], row["actor"],
                             row["action"], row["target"], row["reason"], row["detail"])
            if not hmac.compare_digest(digest, row["hash"]):
                return Verification(False, Head(count - 1, prev_hash), row["seq"],
                                    f"entry {row['seq']} has been altered")
            if expected is not None and count == expected.count:
                recorded = row["hash"]
            prev_hash = row["hash"]
    current = Head(count, prev_hash)
    if expected is None:
        return Verification(True, current)
    return _against_head(current, expected, recorded)


def _against_head(current: Head, expected: Head, recorded: str | None) -> Verification:
    """The verdict on a whole chain against a head kept outside it."""
    if current.count < expected.count:
        # Name the last entry that exists, not the first one that does not.
        where = (f"ends at entry {current.count}" if current.count else "is empty")
        return Verification(False, current, None,
                            f"the trail {where} but the recorded head is entry {expected.count}")
    # The expected head is usually a 12-digit prefix; compare what was kept.
    if recorded is None or not recorded.startswith(expected.hash.lower()):
        return Verification(False, current, expected.count,
                            f"entry {expected.count} differs from the recorded head")
    return Verification(True, current)


async def entries(conn: Conn, *, targets: tuple[str, ...] = (), actor: str | None = None,
                  limit: int | None = None) -> list[AuditEntry]:
    """Entries about any of the targets (as their target, or among the further records
    they name) and/or by the actor, oldest first."""
    clauses: list[str] = []
    params: list[Any] = []
    if targets:
        marks = ",".join("?" * len(targets))
        clauses.append(f"(target IN ({marks}) OR seq IN"
                       f" (SELECT seq FROM audit_targets WHERE target IN ({marks})))")
        params.extend([*targets, *targets])
    if actor is not None:
        clauses.append("actor = ?")
        params.append(actor)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    tail = f" LIMIT {int(limit)}" if limit else ""
    rows = await conn.fetchall(
        f"SELECT seq, at, actor, action, target, reason, detail FROM audit{where}"
        f" ORDER BY seq{tail}", params)
    return [AuditEntry(r["seq"], r["at"], r["actor"], r["action"], r["target"], r["reason"],
                       None if r["detail"] is None else json.loads(r["detail"])) for r in rows]
