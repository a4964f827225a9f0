"""The database schema as an ordered list of migrations; PRAGMA user_version counts them.

Version 1 is not released yet: until the first release it may be edited in place.
After that, add a migration at the end; never change one that has shipped.
Dates are ISO `YYYY-MM-DD` text, moments ISO 8601 text in UTC with offset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.text import search_tails


def placing_column(table: str, text_type: str = "TEXT") -> str:
    """Migration SQL: `placed_at` added to `table`, whose entries a correction replaces
    by a new row naming it in `supersedes`, and back-filled through every chain of
    corrections with the saved_at of the chain's first entry (an entry that corrects
    nothing: its own). Both dialects' migrations use it; only the column's type differs.
    Stored rather than derived, as chains have no bound and the card reads it; nullable,
    as SQLite adds no NOT NULL column without a default: NULL, which nothing writes,
    reads as the entry's own saved_at."""
    return f"""
    ALTER TABLE {table} ADD COLUMN placed_at {text_type};
    WITH RECURSIVE placed (id, placed_at) AS (
        SELECT id, saved_at FROM {table} WHERE supersedes IS NULL
        UNION ALL
        SELECT e.id, placed.placed_at FROM {table} e JOIN placed ON e.supersedes = placed.id
    )
    UPDATE {table} SET placed_at = placed.placed_at FROM placed WHERE placed.id = {table}.id;
    """


MIGRATIONS: tuple[str, ...] = (
    # 1: the whole service
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE schools (
        urn TEXT PRIMARY KEY,
        name TEXT NOT NULL
    );

    -- AUTOINCREMENT: a disposed pupil's id is never reused, so audit references stay unambiguous.
    CREATE TABLE pupils (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        upn TEXT NOT NULL UNIQUE,
        case_ref TEXT NOT NULL UNIQUE,
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL,
        search_first TEXT NOT NULL,
        search_last TEXT NOT NULL,
        date_of_birth TEXT NOT NULL,
        year_group TEXT NOT NULL,
        school_urn TEXT NOT NULL REFERENCES schools(urn),
        address TEXT,
        postcode TEXT,
        sen TEXT NOT NULL DEFAULT 'N' CHECK (sen IN ('N', 'K', 'E')),
        health_needs TEXT,
        first_imported TEXT NOT NULL,
        last_imported TEXT NOT NULL
    );
    CREATE INDEX pupils_search_first ON pupils(search_first);
    CREATE INDEX pupils_search_last ON pupils(search_last);
    CREATE INDEX pupils_case_ref ON pupils(upper(case_ref));  -- found as typed, any case
    CREATE INDEX pupils_school ON pupils(school_urn);

    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        relationship TEXT NOT NULL,
        phone TEXT,
        email TEXT,
        address TEXT,
        date_of_birth TEXT,
        parental_responsibility INTEGER CHECK (parental_responsibility IN (0, 1)),
        priority INTEGER,
        UNIQUE (pupil_id, name)
    );

    CREATE TABLE officers (
        id INTEGER PRIMARY KEY,
        ref TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('officer', 'supervisor', 'controller')),
        supervisor_id INTEGER REFERENCES officers(id),
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked', 'locked')),
        telegram_user_id INTEGER UNIQUE,
        chat_id INTEGER,
        pin_hash TEXT,
        failed_pins INTEGER NOT NULL DEFAULT 0,
        enrolled_at TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX officers_supervisor ON officers(supervisor_id);
    -- References are found in any case, so `ewo1` beside `EWO1` would be one person twice.
    CREATE UNIQUE INDEX officers_ref_any_case ON officers(upper(ref));

    -- Codes are stored only as hashes; one row per issued code.
    CREATE TABLE enrolment_codes (
        code_hash TEXT PRIMARY KEY,
        officer_id INTEGER NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE INDEX enrolment_codes_officer ON enrolment_codes(officer_id);

    -- One chat session per officer; NULL unlocked_at means locked.
    CREATE TABLE sessions (
        officer_id INTEGER PRIMARY KEY REFERENCES officers(id) ON DELETE CASCADE,
        unlocked_at TEXT,
        last_seen_at TEXT,
        -- The request made while locked, replayed after the PIN until pending_until;
        -- then dropped. References only (bot/handlers/kept.py), never the words typed.
        pending_update TEXT,
        pending_until TEXT
    );

    -- The pupils a kept request names (by id): disposal removes every request that
    -- names the pupil, and a subject-access export lists them.
    CREATE TABLE kept_request_pupils (
        officer_id INTEGER NOT NULL REFERENCES sessions(officer_id) ON DELETE CASCADE,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        PRIMARY KEY (officer_id, pupil_id)
    ) WITHOUT ROWID;
    CREATE INDEX kept_request_pupils_pupil ON kept_request_pupils(pupil_id);

    CREATE TABLE allocations (
        pupil_id INTEGER PRIMARY KEY REFERENCES pupils(id) ON DELETE CASCADE,
        officer_id INTEGER NOT NULL REFERENCES officers(id),
        allocated_at TEXT NOT NULL
    );
    CREATE INDEX allocations_officer ON allocations(officer_id);

    -- Every allocation as a span of days (ended NULL while it lasts), so a school's
    -- report can tell who was referred in a period after reallocations and ends.
    CREATE TABLE allocation_history (
        id INTEGER PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        officer_id INTEGER NOT NULL REFERENCES officers(id),
        started TEXT NOT NULL,
        ended TEXT
    );
    CREATE INDEX allocation_history_pupil ON allocation_history(pupil_id, started);

    CREATE TABLE marks (
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        date TEXT NOT NULL,
        session TEXT NOT NULL CHECK (session IN ('AM', 'PM')),
        code TEXT NOT NULL,
        PRIMARY KEY (pupil_id, date, session)
    ) WITHOUT ROWID;

    -- Per-pupil, per-academic-year figures kept by the attendance import, so a card or
    -- a list reads them in O(1) instead of summing marks. academic_year is the
    -- calendar year in which that academic year ends.
    CREATE TABLE pupil_stats (
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        academic_year INTEGER NOT NULL,
        possible INTEGER NOT NULL DEFAULT 0,
        attended INTEGER NOT NULL DEFAULT 0,
        authorised INTEGER NOT NULL DEFAULT 0,
        unauthorised INTEGER NOT NULL DEFAULT 0,
        lates_l INTEGER NOT NULL DEFAULT 0,
        lates_u INTEGER NOT NULL DEFAULT 0,
        latest_mark TEXT,
        PRIMARY KEY (pupil_id, academic_year)
    ) WITHOUT ROWID;

    -- Which alert rules hold for a pupil, so an alert fires only on a crossing.
    CREATE TABLE rule_states (
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        academic_year INTEGER NOT NULL,
        rule TEXT NOT NULL,
        holding INTEGER NOT NULL CHECK (holding IN (0, 1)),
        changed_at TEXT NOT NULL,
        PRIMARY KEY (pupil_id, academic_year, rule)
    ) WITHOUT ROWID;

    -- Visits are never edited: a correction is a new row that supersedes the old one.
    CREATE TABLE visits (
        id INTEGER PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        officer_id INTEGER NOT NULL REFERENCES officers(id),
        visit_date TEXT NOT NULL,
        type TEXT NOT NULL,
        contact TEXT,
        reason TEXT,
        action TEXT,
        follow_up TEXT,
        notes TEXT,
        supersedes INTEGER REFERENCES visits(id),
        source TEXT NOT NULL DEFAULT 'chat' CHECK (source IN ('chat', 'import')),
        saved_at TEXT NOT NULL,
        draft_token TEXT UNIQUE
    );
    CREATE INDEX visits_pupil ON visits(pupil_id, saved_at);
    CREATE INDEX visits_officer ON visits(officer_id, visit_date);
    -- The retention check reads every pupil's last intervention at once.
    CREATE INDEX visits_pupil_date ON visits(pupil_id, visit_date);
    CREATE INDEX visits_supersedes ON visits(supersedes) WHERE supersedes IS NOT NULL;
    CREATE UNIQUE INDEX visits_import_key
        ON visits(pupil_id, officer_id, visit_date, type, IFNULL(contact, ''))
        WHERE source = 'import';

    -- The attendance pathway (CASEWORK.md §1): steps and their outcomes, append-only
    -- like visits (a correction is a new row naming the one it supersedes).
    CREATE TABLE pathway_steps (
        id INTEGER PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        officer_id INTEGER REFERENCES officers(id),  -- NULL only for an imported history
        kind TEXT NOT NULL CHECK (kind IN ('support_plan', 'contract', 'nti', 'pn_referral',
                                           'prosecution', 'eso', 'sao')),
        -- start, issue, referral, application or notice date, by kind
        step_date TEXT NOT NULL,
        review_date TEXT,
        period_weeks INTEGER CHECK (period_weeks IN (3, 4, 5, 6)),
        section TEXT CHECK (section IN ('444(1)', '444(1A)')),
        reason TEXT,
        notes TEXT,
        supersedes INTEGER REFERENCES pathway_steps(id),
        source TEXT NOT NULL DEFAULT 'chat' CHECK (source IN ('chat', 'import')),
        saved_at TEXT NOT NULL,
        draft_token TEXT UNIQUE,
        CHECK (officer_id IS NOT NULL OR source = 'import')
    );
    CREATE INDEX pathway_steps_pupil ON pathway_steps(pupil_id, step_date);
    CREATE INDEX pathway_steps_supersedes ON pathway_steps(supersedes)
        WHERE supersedes IS NOT NULL;

    -- The parents a step names (contract: those present; notices: those issued to).
    CREATE TABLE pathway_parents (
        step_id INTEGER NOT NULL REFERENCES pathway_steps(id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        PRIMARY KEY (step_id, contact_id)
    );
    CREATE INDEX pathway_parents_contact ON pathway_parents(contact_id);

    -- What became of a step; for a penalty notice, of one parent's notice (contact_id).
    CREATE TABLE pathway_outcomes (
        id INTEGER PRIMARY KEY,
        step_id INTEGER NOT NULL REFERENCES pathway_steps(id) ON DELETE CASCADE,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        officer_id INTEGER REFERENCES officers(id),  -- NULL only for an imported history
        contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
        outcome TEXT NOT NULL CHECK (outcome IN ('issued', 'paid', 'withdrawn', 'unpaid',
                                                 'hearing', 'granted', 'refused', 'order')),
        outcome_date TEXT NOT NULL,
        end_date TEXT,
        detail TEXT,
        supersedes INTEGER REFERENCES pathway_outcomes(id),
        source TEXT NOT NULL DEFAULT 'chat' CHECK (source IN ('chat', 'import')),
        saved_at TEXT NOT NULL,
        draft_token TEXT UNIQUE,
        CHECK (officer_id IS NOT NULL OR source = 'import')
    );
    CREATE INDEX pathway_outcomes_step ON pathway_outcomes(step_id, outcome_date);
    CREATE INDEX pathway_outcomes_pupil ON pathway_outcomes(pupil_id, outcome_date);
    CREATE INDEX pathway_outcomes_supersedes ON pathway_outcomes(supersedes)
        WHERE supersedes IS NOT NULL;

    -- A multi-step conversation (PIN set-up, visit draft, hold), one per officer,
    -- written at every step so a restart resumes it.
    CREATE TABLE conversations (
        officer_id INTEGER PRIMARY KEY REFERENCES officers(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        step TEXT NOT NULL,
        token TEXT NOT NULL,
        pupil_id INTEGER REFERENCES pupils(id) ON DELETE CASCADE,
        data TEXT NOT NULL DEFAULT '{}',
        message_id INTEGER,
        started_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );

    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        rule TEXT NOT NULL,
        academic_year INTEGER NOT NULL,
        attended INTEGER,
        possible INTEGER,
        created_at TEXT NOT NULL,
        -- When the alert went into an outbox message; NULL while the pupil has no
        -- allocation (it waits, and is queued once the pupil is allocated).
        queued_at TEXT
    );
    CREATE INDEX alerts_pupil ON alerts(pupil_id);
    CREATE INDEX alerts_waiting ON alerts(pupil_id) WHERE queued_at IS NULL;

    -- Pushed messages, written in the transaction that causes them; recipients are
    -- resolved at delivery from `audience`.
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        audience TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'sent', 'undelivered')),
        not_before TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_at TEXT,
        claimed_by TEXT,  -- the instance sending it (EWO_INSTANCE_NAME)
        sent_at TEXT,
        last_error TEXT,
        recipient_id INTEGER REFERENCES officers(id),
        created_at TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(status, not_before);

    CREATE TABLE outbox_pupils (
        outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        PRIMARY KEY (outbox_id, pupil_id)
    ) WITHOUT ROWID;
    CREATE INDEX outbox_pupils_pupil ON outbox_pupils(pupil_id);
    CREATE INDEX outbox_recipient ON outbox(recipient_id, status);

    -- A person who blocked the bot (403): nothing more is sent to them until they
    -- talk to the bot again (a later session activity or enrolment).
    CREATE TABLE delivery_blocks (
        officer_id INTEGER PRIMARY KEY REFERENCES officers(id) ON DELETE CASCADE,
        blocked_at TEXT NOT NULL
    );

    CREATE TABLE holds (
        pupil_id INTEGER PRIMARY KEY REFERENCES pupils(id) ON DELETE CASCADE,
        reason TEXT NOT NULL,
        review_date TEXT NOT NULL,
        officer_id INTEGER NOT NULL REFERENCES officers(id),
        created_at TEXT NOT NULL
    );

    CREATE TABLE retention_reminders (
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        stage TEXT NOT NULL CHECK (stage IN ('coming', 'past')),
        reminded_at TEXT NOT NULL,
        PRIMARY KEY (pupil_id, stage)
    ) WITHOUT ROWID;

    -- Chat messages due for deletion: contacts, SEN/health details or notes (written
    -- before their text is sent), and codes or PINs (due at once). A failed deletion
    -- is tried again at a later delete_at, a bounded number of attempts.
    CREATE TABLE sensitive_messages (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        delete_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (chat_id, message_id)
    );
    CREATE INDEX sensitive_messages_due ON sensitive_messages(delete_at);

    CREATE TABLE subject_access_requests (
        id INTEGER PRIMARY KEY,
        pupil_ref TEXT NOT NULL,
        received TEXT NOT NULL,
        due TEXT NOT NULL,
        export_file TEXT,
        requested_by TEXT NOT NULL
    );

    -- Officers' compliance: the dates of their enhanced DBS check and data-protection
    -- training (none: not recorded). When the feature arrived is meta 'compliance_since'.
    CREATE TABLE officer_compliance (
        officer_id INTEGER PRIMARY KEY REFERENCES officers(id),
        dbs_checked TEXT,
        training_completed TEXT
    );

    -- Rights requests (UK GDPR Articles 15-21) of every kind: what their due dates,
    -- decisions and restrictions follow from. Removed with the pupil's record; the
    -- access requests' export files are in subject_access_requests, which outlives it.
    CREATE TABLE rights_requests (
        id INTEGER PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'restriction',
                                           'objection', 'erasure')),
        received TEXT NOT NULL,
        due TEXT NOT NULL,
        extension_reason TEXT,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'upheld', 'rejected', 'lifted')),
        decided TEXT,
        decision_reason TEXT,
        statement TEXT,
        lifted TEXT,
        recorded_by TEXT NOT NULL
    );
    CREATE INDEX rights_requests_pupil ON rights_requests (pupil_id, status);
    CREATE INDEX rights_requests_open ON rights_requests (status, due);

    -- The information-sharing log (CASEWORK.md §2): every decision to share or not to
    -- share, append-only like visits (a correction is a new row naming the one it
    -- supersedes). `items` are the codes of what was shared (for "not_shared": what was
    -- asked for), comma-separated; basis and condition only when something was shared.
    CREATE TABLE sharing_log (
        id INTEGER PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        officer_id INTEGER NOT NULL REFERENCES officers(id),
        recipient TEXT NOT NULL CHECK (recipient IN ('school', 'social_care', 'early_help',
            'health', 'camhs', 'police', 'housing', 'youth_justice', 'other_la', 'other')),
        recipient_other TEXT,
        decision TEXT NOT NULL CHECK (decision IN ('shared', 'not_shared')),
        items TEXT NOT NULL,
        lawful_basis TEXT,
        special_condition TEXT,
        reason TEXT NOT NULL,
        shared_on TEXT NOT NULL,
        note TEXT,
        supersedes INTEGER REFERENCES sharing_log(id),
        saved_at TEXT NOT NULL,
        draft_token TEXT UNIQUE,
        CHECK (decision = 'shared' OR (lawful_basis IS NULL AND special_condition IS NULL))
    );
    -- The retention check reads every pupil's last intervention at once.
    CREATE INDEX sharing_log_pupil ON sharing_log(pupil_id, shared_on);
    CREATE INDEX sharing_log_supersedes ON sharing_log(supersedes) WHERE supersedes IS NOT NULL;
    -- The record of processing counts the last 12 months' recipients.
    CREATE INDEX sharing_log_shared_on ON sharing_log(shared_on);
    -- Pathway reminders (issue 19): each one queued once, ever, by its key (the item
    -- and its date), across restarts and processes.
    CREATE TABLE pathway_reminders (
        reminder_key TEXT PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        queued_at TEXT NOT NULL
    );
    CREATE INDEX pathway_reminders_pupil ON pathway_reminders(pupil_id);
    -- Several instances: who is running, and who holds the scheduled jobs' lease
    -- (bot/storage/leases.py). `fence` goes up each time the lease changes hands; a
    -- job's writes are refused once it is no longer the fence they started under.
    CREATE TABLE instances (
        instance TEXT PRIMARY KEY,
        seen TEXT NOT NULL
    );
    CREATE TABLE leases (
        lease TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        fence INTEGER NOT NULL,
        expires TEXT NOT NULL
    );

    -- Append-only, each entry chained to the one before by a keyed hash.
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        reason TEXT NOT NULL,
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_target ON audit(target);
    CREATE INDEX audit_actor ON audit(actor);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

    -- The further records an entry names (a listing names every pupil it showed), as
    -- written in its hashed detail's "targets": an index, so a pupil's entries are
    -- found without reading every detail. Append-only like the trail.
    CREATE TABLE audit_targets (
        target TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (target, seq)
    ) WITHOUT ROWID;
    CREATE TRIGGER audit_targets_no_update BEFORE UPDATE ON audit_targets
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_targets_no_delete BEFORE DELETE ON audit_targets
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    """,
    # 2: how many messages each instance sent in its last second, so that several instances
    # keep Telegram's limit between them (bot/jobs/send_budget.py; unused by one process)
    """
    CREATE TABLE send_rates (
        instance TEXT PRIMARY KEY,
        sent INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 3: where each visit stands in the order visits were saved. A correction takes the
    # place of the visit it corrects, so correcting an older visit never reopens the
    # follow-up a later visit closed (bot/storage/visits.py LATEST_FIRST).
    placing_column("visits"),
    # 4: where each pathway step and outcome stands in the order they were saved, as
    # visits do (3): a correction takes the place of the entry it corrects, so correcting
    # an older outcome never makes it a notice's final one, nor an older step of the day
    # the stage (bot/storage/pathway.py STEPS_LATEST_FIRST, OUTCOMES_IN_ORDER).
    placing_column("pathway_steps") + placing_column("pathway_outcomes"),
    # 5: the process behind each instance name and behind the jobs lease, a random token
    # it draws at start, so that two live processes given one EWO_INSTANCE_NAME are told
    # apart: the second is refused, and never renews the first one's lease under its
    # fence (bot/storage/leases.py). NULL: no process holds the name (a clean stop).
    """
    ALTER TABLE instances ADD COLUMN token TEXT;
    ALTER TABLE leases ADD COLUMN token TEXT;
    """,
    # 6: each pupil's last name from each of its later words on (bot.domain.text
    # search_tails), so that "Jones" finds Smith-Jones through an index; back-filled
    # from the names held (NAME_TAILS, below).
    """
    CREATE TABLE pupil_name_tails (
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        search_tail TEXT NOT NULL,
        PRIMARY KEY (pupil_id, search_tail)
    ) WITHOUT ROWID;
    CREATE INDEX pupil_name_tails_search ON pupil_name_tails(search_tail);
    """,
    # 7: the schools each pupil has been at, as spans of days like allocation_history
    # (ended NULL while it lasts): the pupils import opens one for a new pupil and, when
    # a later file names another school, closes the open one that day (`ended`, the
    # first day at the next school) and opens the next, so a school's report counts only
    # the pupil's time there. Back-filled: each pupil held at its school since it was
    # first imported.
    """
    CREATE TABLE school_history (
        id INTEGER PRIMARY KEY,
        pupil_id INTEGER NOT NULL REFERENCES pupils(id) ON DELETE CASCADE,
        school_urn TEXT NOT NULL REFERENCES schools(urn),
        started TEXT NOT NULL,
        ended TEXT
    );
    CREATE INDEX school_history_pupil ON school_history(pupil_id, started);
    -- A school's report reads its pupils' spans there.
    CREATE INDEX school_history_school ON school_history(school_urn);
    INSERT INTO school_history (pupil_id, school_urn, started)
        SELECT id, school_urn, first_imported FROM pupils ORDER BY id;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class Backfill:
    """Rows a migration adds that its SQL cannot compute (a name folded as the search
    folds it): each row `read` returns becomes the rows `rows` gives, inserted by `write`
    (`?` placeholders), in the migration's transaction, after its SQL."""

    read: str
    write: str
    rows: Callable[[Sequence[Any]], Iterable[Sequence[Any]]]


def _name_tails(pupil: Sequence[Any]) -> list[tuple[int, str]]:
    """A pupil's rows of pupil_name_tails, from its (id, last name)."""
    return [(pupil[0], tail) for tail in search_tails(pupil[1])]


NAME_TAILS = Backfill(
    read="SELECT id, last_name FROM pupils",
    write="INSERT INTO pupil_name_tails (pupil_id, search_tail) VALUES (?, ?)",
    rows=_name_tails)

# The back-fills of each migration (by number), on both dialects.
BACKFILLS: Mapping[int, tuple[Backfill, ...]] = {6: (NAME_TAILS,)}
