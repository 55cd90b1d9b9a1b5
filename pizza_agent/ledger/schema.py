"""The ledger's tables: one numbered list of migrations for SQLite and PostgreSQL alike.

Each migration is written once. Where the two databases name a type
differently, the text says `{REAL}` or `{BIGINT}`; where they need different
SQL (the data migration 5, and the pool's claim order, which is `rowid` on
SQLite and a sequence column on PostgreSQL), the entry is a `Dialects` pair.
`tests/test_ledger_backends.py` creates both and compares every table and column.

A migration is numbered forever: a ledger records the numbers it applied, so
new tables and columns are new entries at the end, never edits of old ones.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialects:
    sqlite: str
    postgres: str


TYPES = {
    "sqlite": {"REAL": "REAL", "BIGINT": "INTEGER", "POOL_SEQ": ""},
    "postgres": {"REAL": "DOUBLE PRECISION", "BIGINT": "BIGINT", "POOL_SEQ": "seq BIGSERIAL,"},
}

MIGRATIONS: list[str | Dialects] = [
    # 1: participants, prompts given, coupons, vendor code pools
    """
    CREATE TABLE participants (
        address TEXT PRIMARY KEY,
        first_seen {REAL} NOT NULL
    );
    CREATE TABLE prompts_given (
        address TEXT NOT NULL,
        prompt TEXT NOT NULL,
        source TEXT NOT NULL,
        given_at {REAL} NOT NULL,
        PRIMARY KEY (address, prompt)
    );
    CREATE TABLE coupons (
        code TEXT PRIMARY KEY,
        address TEXT NOT NULL UNIQUE,
        tier TEXT NOT NULL,
        score INTEGER NOT NULL,
        score_source TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        prompt TEXT,
        story_hash TEXT NOT NULL,
        flagged INTEGER NOT NULL DEFAULT 0,
        issued_at {REAL} NOT NULL,
        redeemed_at {REAL}
    );
    CREATE TABLE pool_codes (
        {POOL_SEQ}
        code TEXT PRIMARY KEY,
        tier TEXT NOT NULL,
        address TEXT UNIQUE,
        taken_at {REAL}
    );
    CREATE INDEX pool_free ON pool_codes (tier, address)
    """,
    # 2: voided codes, stories waiting for the participant's "yes", organizer controls
    """
    ALTER TABLE coupons ADD COLUMN voided_at {REAL};
    ALTER TABLE coupons ADD COLUMN void_reason TEXT;
    CREATE TABLE voided_codes (
        code TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        tier TEXT NOT NULL,
        voided_at {REAL} NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE pending_stories (
        address TEXT PRIMARY KEY,
        story TEXT NOT NULL,
        saved_at {REAL} NOT NULL
    );
    CREATE TABLE controls (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        changed_at {REAL} NOT NULL,
        changed_by TEXT NOT NULL
    )
    """,
    # 3: stories scored by the local heuristic, to be scored again by ASI1 when it is back
    """
    CREATE TABLE rescore_queue (
        address TEXT PRIMARY KEY,
        story TEXT NOT NULL,
        queued_at {REAL} NOT NULL,
        done_at {REAL},
        outcome TEXT
    )
    """,
    # 4: messages handled (a replay after a restart, or a mailbox redelivery, is recognised)
    """
    CREATE TABLE seen_messages (
        key TEXT PRIMARY KEY,
        expires_at {REAL} NOT NULL
    );
    CREATE INDEX seen_messages_expiry ON seen_messages (expires_at)
    """,
    # 5: one canonical form per address (lowercase): variants merged, the first coupon kept
    Dialects(
        sqlite="""
    INSERT OR IGNORE INTO voided_codes
        SELECT code, lower(address), tier, issued_at, 'a second coupon for one participant (address case), merged'
        FROM coupons c WHERE EXISTS (
            SELECT 1 FROM coupons d WHERE lower(d.address) = lower(c.address) AND d.address != c.address
            AND (d.issued_at < c.issued_at OR (d.issued_at = c.issued_at AND d.code < c.code)));
    DELETE FROM coupons WHERE code IN (SELECT code FROM voided_codes
        WHERE reason = 'a second coupon for one participant (address case), merged');
    UPDATE coupons SET address = lower(address) WHERE address != lower(address);
    DELETE FROM participants WHERE address != lower(address) AND lower(address) IN (SELECT address FROM participants);
    UPDATE participants SET address = lower(address) WHERE address != lower(address);
    UPDATE OR IGNORE prompts_given SET address = lower(address) WHERE address != lower(address);
    DELETE FROM prompts_given WHERE address != lower(address);
    UPDATE OR IGNORE pending_stories SET address = lower(address) WHERE address != lower(address);
    DELETE FROM pending_stories WHERE address != lower(address);
    UPDATE OR IGNORE rescore_queue SET address = lower(address) WHERE address != lower(address);
    DELETE FROM rescore_queue WHERE address != lower(address)
    """,
        postgres="""
    INSERT INTO voided_codes
        SELECT code, lower(address), tier, issued_at, 'a second coupon for one participant (address case), merged'
        FROM coupons c WHERE EXISTS (
            SELECT 1 FROM coupons d WHERE lower(d.address) = lower(c.address) AND d.address != c.address
            AND (d.issued_at < c.issued_at OR (d.issued_at = c.issued_at AND d.code < c.code)))
        ON CONFLICT DO NOTHING;
    DELETE FROM coupons WHERE code IN (SELECT code FROM voided_codes
        WHERE reason = 'a second coupon for one participant (address case), merged');
    UPDATE coupons SET address = lower(address) WHERE address != lower(address);
    DELETE FROM participants WHERE address != lower(address) AND lower(address) IN (SELECT address FROM participants);
    UPDATE participants SET address = lower(address) WHERE address != lower(address);
    DELETE FROM prompts_given p WHERE address != lower(address)
        AND EXISTS (SELECT 1 FROM prompts_given q WHERE q.address = lower(p.address) AND q.prompt = p.prompt);
    UPDATE prompts_given SET address = lower(address) WHERE address != lower(address);
    DELETE FROM pending_stories WHERE address != lower(address)
        AND lower(address) IN (SELECT address FROM pending_stories);
    UPDATE pending_stories SET address = lower(address) WHERE address != lower(address);
    DELETE FROM rescore_queue WHERE address != lower(address)
        AND lower(address) IN (SELECT address FROM rescore_queue);
    UPDATE rescore_queue SET address = lower(address) WHERE address != lower(address)
    """,
    ),
    # 6: replicas and the mailbox lease (used with PostgreSQL, see replicas/lease.py; empty on SQLite)
    """
    CREATE TABLE IF NOT EXISTS replicas (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        seen_at {REAL} NOT NULL,
        started_at {REAL} NOT NULL
    );
    CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        backend_pid INTEGER NOT NULL,
        renewed_at {REAL} NOT NULL,
        taken_at {REAL} NOT NULL
    )
    """,
    # 7: each provider's breaker, handed from the active replica to the one taking over (replicas/breakers.py)
    """
    CREATE TABLE IF NOT EXISTS provider_health (
        provider TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        skip_age {REAL} NOT NULL,
        cooldown_left {REAL} NOT NULL,
        published_at {REAL} NOT NULL,
        published_by TEXT NOT NULL
    )
    """,
    # 8: a waiting story is claimed by one replica's re-scorer at a time (scored once, upgraded once);
    #    each replica's endpoint (local mode lists them all in agent.json) and database session
    """
    ALTER TABLE rescore_queue ADD COLUMN claimed_until {REAL};
    ALTER TABLE replicas ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
    ALTER TABLE replicas ADD COLUMN backend_pid INTEGER NOT NULL DEFAULT 0
    """,
    # 9: what the providers cost, added to by every process and replica (a budget holds across restarts)
    """
    CREATE TABLE spend (
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        task TEXT NOT NULL,
        calls {BIGINT} NOT NULL,
        prompt_tokens {BIGINT} NOT NULL,
        completion_tokens {BIGINT} NOT NULL,
        cost_usd {REAL} NOT NULL,
        PRIMARY KEY (provider, model, task)
    )
    """,
    # 10: fingerprints of the seed and coupon secret the ledger was started with (never the secrets)
    """
    CREATE TABLE identity (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        set_at {REAL} NOT NULL
    )
    """,
    # 11: the judges' queue (suspected stories and premiums waiting for a human) and the outbox of
    #     messages to participants that a decision owes them (delivered by the active replica)
    """
    CREATE TABLE reviews (
        id TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        code TEXT NOT NULL,
        story TEXT NOT NULL,
        passages TEXT NOT NULL,
        why TEXT NOT NULL,
        given_tier TEXT NOT NULL,
        given_score INTEGER NOT NULL,
        judge_score INTEGER NOT NULL,
        queued_at {REAL} NOT NULL,
        state TEXT NOT NULL DEFAULT 'waiting',
        decided_by TEXT,
        decided_at {REAL},
        note TEXT
    );
    CREATE INDEX reviews_waiting ON reviews (state, queued_at);
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at {REAL} NOT NULL,
        sent_at {REAL}
    );
    CREATE INDEX outbox_waiting ON outbox (sent_at, created_at)
    """,
    # 12: the registration roster (PARTICIPANTS=roster): attendees with the keyed hash of their badge's
    #     claim code, the chat sessions bound to each, the sessions ASI:One-style clients opened, and
    #     (address mode's tripwire) the chat sessions each sender carried stories in
    """
    CREATE TABLE attendees (
        key TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        source TEXT NOT NULL,
        generation INTEGER NOT NULL DEFAULT 1,
        code_hash TEXT NOT NULL UNIQUE,
        sender TEXT,
        claimed_at {REAL},
        added_at {REAL} NOT NULL,
        removed_at {REAL}
    );
    CREATE INDEX attendees_sender ON attendees (sender);
    CREATE TABLE claim_sessions (
        sender TEXT NOT NULL,
        session TEXT NOT NULL,
        attendee TEXT NOT NULL,
        bound_at {REAL} NOT NULL,
        PRIMARY KEY (sender, session)
    );
    CREATE TABLE opened_sessions (
        sender TEXT NOT NULL,
        session TEXT NOT NULL,
        opened_at {REAL} NOT NULL,
        PRIMARY KEY (sender, session)
    );
    CREATE TABLE story_sessions (
        sender TEXT NOT NULL,
        session TEXT NOT NULL,
        seen_at {REAL} NOT NULL,
        PRIMARY KEY (sender, session)
    )
    """,
    # 13: meals and diets (EVENT_PLAN): each coupon's meal, the diet it was ordered for and its pickup
    #     group (its holder is `participant@meal`, so "one per participant" is "one per participant and
    #     meal" under the same UNIQUE) and the event's time it was issued at (the plan's clock, compressed
    #     in rehearsals); each meal's vendor pool; each participant's diet, asked once
    """
    ALTER TABLE coupons ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    ALTER TABLE coupons ADD COLUMN diet TEXT NOT NULL DEFAULT '';
    ALTER TABLE coupons ADD COLUMN pickup_group TEXT NOT NULL DEFAULT '';
    ALTER TABLE coupons ADD COLUMN event_at {REAL};
    CREATE INDEX coupons_meal ON coupons (meal, tier, diet);
    ALTER TABLE pool_codes ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    CREATE TABLE diets (
        participant TEXT PRIMARY KEY,
        diet TEXT NOT NULL,
        set_at {REAL} NOT NULL
    )
    """,
    # 14: every diet change with the event's time it was made (the plan's clock), so a meal's "at
    #     cut-off" numbers stay what was true at its cut-off; the diets already told are their first entry
    """
    CREATE TABLE diet_changes (
        participant TEXT NOT NULL,
        diet TEXT NOT NULL,
        set_at {REAL} NOT NULL,
        PRIMARY KEY (participant, set_at)
    );
    INSERT INTO diet_changes (participant, diet, set_at) SELECT participant, diet, set_at FROM diets
    """,
    # 15: one identity model: a coupon belongs to a person (the canonical address, or `attendee:<key>` in
    #     roster mode) for a meal — two columns, UNIQUE (person, meal), where migration 13 kept the string
    #     `person@meal` — and remembers the chat (sender, session) it was issued in, where every later message
    #     about it goes. The tables that pointed at a coupon by that string point at (person, meal); the
    #     outbox keeps the chat and a delivery state. The strings are split here, once, and nowhere else.
    Dialects(
        sqlite="""
    CREATE TABLE coupons_v15 (
        code TEXT PRIMARY KEY,
        tier TEXT NOT NULL,
        score INTEGER NOT NULL,
        score_source TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        prompt TEXT,
        story_hash TEXT NOT NULL,
        flagged INTEGER NOT NULL DEFAULT 0,
        issued_at REAL NOT NULL,
        redeemed_at REAL,
        voided_at REAL,
        void_reason TEXT,
        meal TEXT NOT NULL DEFAULT '',
        diet TEXT NOT NULL DEFAULT '',
        pickup_group TEXT NOT NULL DEFAULT '',
        event_at REAL,
        person TEXT NOT NULL DEFAULT '',
        chat_sender TEXT NOT NULL DEFAULT '',
        chat_session TEXT NOT NULL DEFAULT '',
        UNIQUE (person, meal)
    );
    INSERT INTO coupons_v15
        SELECT code, tier, score, score_source, reason, prompt, story_hash, flagged, issued_at, redeemed_at,
            voided_at, void_reason, meal, diet, pickup_group, event_at,
            CASE WHEN instr(address, '@') > 0 THEN substr(address, 1, instr(address, '@') - 1) ELSE address END,
            CASE WHEN substr(address, 1, 9) = 'attendee:' THEN ''
                WHEN instr(address, '@') > 0 THEN substr(address, 1, instr(address, '@') - 1) ELSE address END,
            ''
        FROM coupons;
    DROP TABLE coupons;
    ALTER TABLE coupons_v15 RENAME TO coupons;
    CREATE INDEX coupons_meal ON coupons (meal, tier, diet);
    CREATE TABLE pool_codes_v15 (
        code TEXT PRIMARY KEY,
        tier TEXT NOT NULL,
        taken_by TEXT,
        taken_at REAL,
        meal TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO pool_codes_v15 SELECT code, tier, address, taken_at, meal FROM pool_codes ORDER BY rowid;
    DROP TABLE pool_codes;
    ALTER TABLE pool_codes_v15 RENAME TO pool_codes;
    CREATE INDEX pool_free ON pool_codes (tier, meal, taken_by);
    CREATE TABLE rescore_queue_v15 (
        person TEXT NOT NULL,
        story TEXT NOT NULL,
        queued_at REAL NOT NULL,
        done_at REAL,
        outcome TEXT,
        claimed_until REAL,
        meal TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (person, meal)
    );
    INSERT INTO rescore_queue_v15
        SELECT CASE WHEN instr(address, '@') > 0 THEN substr(address, 1, instr(address, '@') - 1) ELSE address END,
            story, queued_at, done_at, outcome, claimed_until,
            CASE WHEN instr(address, '@') > 0 THEN substr(address, instr(address, '@') + 1) ELSE '' END
        FROM rescore_queue;
    DROP TABLE rescore_queue;
    ALTER TABLE rescore_queue_v15 RENAME TO rescore_queue;
    ALTER TABLE voided_codes RENAME COLUMN address TO person;
    ALTER TABLE voided_codes ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    UPDATE voided_codes SET meal = substr(person, instr(person, '@') + 1),
        person = substr(person, 1, instr(person, '@') - 1) WHERE instr(person, '@') > 0;
    ALTER TABLE reviews RENAME COLUMN address TO person;
    ALTER TABLE reviews ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    ALTER TABLE reviews ADD COLUMN judge_source TEXT NOT NULL DEFAULT 'asi1';
    UPDATE reviews SET meal = substr(person, instr(person, '@') + 1),
        person = substr(person, 1, instr(person, '@') - 1) WHERE instr(person, '@') > 0;
    ALTER TABLE outbox RENAME COLUMN address TO person;
    ALTER TABLE outbox ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN chat_sender TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN chat_session TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN next_try_at REAL;
    ALTER TABLE outbox ADD COLUMN failed_at REAL;
    UPDATE outbox SET meal = substr(person, instr(person, '@') + 1),
        person = substr(person, 1, instr(person, '@') - 1) WHERE instr(person, '@') > 0;
    UPDATE outbox SET chat_sender = person WHERE substr(person, 1, 9) <> 'attendee:'
    """,
        postgres="""
    ALTER TABLE coupons ADD COLUMN person TEXT NOT NULL DEFAULT '';
    ALTER TABLE coupons ADD COLUMN chat_sender TEXT NOT NULL DEFAULT '';
    ALTER TABLE coupons ADD COLUMN chat_session TEXT NOT NULL DEFAULT '';
    UPDATE coupons SET person = CASE WHEN strpos(address, '@') > 0
        THEN substr(address, 1, strpos(address, '@') - 1) ELSE address END;
    UPDATE coupons SET chat_sender = person WHERE substr(person, 1, 9) <> 'attendee:';
    ALTER TABLE coupons DROP COLUMN address;
    ALTER TABLE coupons ADD CONSTRAINT coupons_person_meal UNIQUE (person, meal);
    ALTER TABLE pool_codes RENAME COLUMN address TO taken_by;
    ALTER TABLE pool_codes DROP CONSTRAINT IF EXISTS pool_codes_address_key;
    ALTER TABLE rescore_queue RENAME COLUMN address TO person;
    ALTER TABLE rescore_queue ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    UPDATE rescore_queue SET meal = substr(person, strpos(person, '@') + 1),
        person = substr(person, 1, strpos(person, '@') - 1) WHERE strpos(person, '@') > 0;
    ALTER TABLE rescore_queue DROP CONSTRAINT rescore_queue_pkey;
    ALTER TABLE rescore_queue ADD PRIMARY KEY (person, meal);
    ALTER TABLE voided_codes RENAME COLUMN address TO person;
    ALTER TABLE voided_codes ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    UPDATE voided_codes SET meal = substr(person, strpos(person, '@') + 1),
        person = substr(person, 1, strpos(person, '@') - 1) WHERE strpos(person, '@') > 0;
    ALTER TABLE reviews RENAME COLUMN address TO person;
    ALTER TABLE reviews ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    ALTER TABLE reviews ADD COLUMN judge_source TEXT NOT NULL DEFAULT 'asi1';
    UPDATE reviews SET meal = substr(person, strpos(person, '@') + 1),
        person = substr(person, 1, strpos(person, '@') - 1) WHERE strpos(person, '@') > 0;
    ALTER TABLE outbox RENAME COLUMN address TO person;
    ALTER TABLE outbox ADD COLUMN meal TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN chat_sender TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN chat_session TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN next_try_at DOUBLE PRECISION;
    ALTER TABLE outbox ADD COLUMN failed_at DOUBLE PRECISION;
    UPDATE outbox SET meal = substr(person, strpos(person, '@') + 1),
        person = substr(person, 1, strpos(person, '@') - 1) WHERE strpos(person, '@') > 0;
    UPDATE outbox SET chat_sender = person WHERE substr(person, 1, 9) <> 'attendee:'
    """,
    ),
    # 16: who eats without a story (an attendee's role from the registration), and an attendee joined
    #     into another by `roster merge` (one person registered twice)
    """
    ALTER TABLE attendees ADD COLUMN role TEXT NOT NULL DEFAULT 'attendee';
    ALTER TABLE attendees ADD COLUMN merged_into TEXT
    """,
    # 17: the food tables' scans, each once by its nonce (a table offline re-sends its queue), with the
    #     table that made it, and two offline tables that served one code recorded as a conflict
    """
    CREATE TABLE table_scans (
        nonce TEXT PRIMARY KEY,
        table_name TEXT NOT NULL,
        code TEXT NOT NULL,
        scanned_at {REAL} NOT NULL,
        offline INTEGER NOT NULL DEFAULT 0,
        result TEXT NOT NULL,
        conflict_with TEXT,
        synced_at {REAL} NOT NULL
    );
    CREATE INDEX table_scans_code ON table_scans (code)
    """,
    # 18: the language each participant is answered in (detected from their messages, or chosen with
    #     `lang CODE`), and the language each generated prompt was written in, so a prompt a model wrote for
    #     one participant is given again only to someone who speaks its language
    """
    CREATE TABLE languages (
        participant TEXT PRIMARY KEY,
        language TEXT NOT NULL,
        chosen INTEGER NOT NULL DEFAULT 0,
        set_at {REAL} NOT NULL
    );
    ALTER TABLE prompts_given ADD COLUMN language TEXT NOT NULL DEFAULT 'en'
    """,
]


def migrations_for(dialect: str) -> list[str]:
    """The numbered migrations in one database's SQL ("sqlite" or "postgres")."""
    scripts = []
    for migration in MIGRATIONS:
        if isinstance(migration, Dialects):
            scripts.append(getattr(migration, dialect))
        else:
            scripts.append(migration.format(**TYPES[dialect]))
    return scripts


def statements(script: str) -> list[str]:
    return [statement for statement in script.split(";") if statement.strip()]
