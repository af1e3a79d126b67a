-- Outbound sends (the outbox), the send-rate buckets, message templates and job cursors.
-- Instants are INTEGER Unix milliseconds (UTC). Keep this file's name and numbering in step
-- with crates/store-postgres/migrations.

-- One row per reply or template send, written in the same transaction as its conversation
-- entry. `payload` is the application's JSON description of what to send.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    number_id       INTEGER NOT NULL REFERENCES wa_numbers (id),
    ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
    entry_id        INTEGER NOT NULL REFERENCES ticket_entries (id),
    recipient       TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL
        CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    leased_by       TEXT,
    lease_until     INTEGER,
    unknown_since   INTEGER,
    wamid           TEXT,
    last_error      TEXT,
    error_code      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT outbox_entry_key UNIQUE (entry_id)
);

CREATE INDEX outbox_due_idx ON outbox (state, number_id, next_attempt_at, id);
CREATE INDEX outbox_lease_idx ON outbox (state, lease_until);
CREATE INDEX outbox_ticket_idx ON outbox (ticket_id, id);

-- Token buckets: `n:<number_id>` per business number, `p:<number_id>:<recipient>` per pair.
CREATE TABLE send_buckets (
    key           TEXT    PRIMARY KEY,
    tokens        REAL    NOT NULL,
    updated_at    INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE wa_templates (
    number_id        INTEGER NOT NULL REFERENCES wa_numbers (id),
    template_id      TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    parameter_format TEXT,
    -- Meta's components array (JSON).
    components       TEXT    NOT NULL,
    synced_at        INTEGER NOT NULL,
    PRIMARY KEY (number_id, name, language)
);

CREATE INDEX wa_templates_id_idx ON wa_templates (template_id);

CREATE TABLE wa_template_syncs (
    number_id INTEGER PRIMARY KEY REFERENCES wa_numbers (id),
    synced_at INTEGER NOT NULL
);

CREATE TABLE job_cursors (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL
);
