-- The webhook inbox: raw deliveries (leased by the job loop) and the events split out of them.
-- Keep this file's name and numbering in step with crates/store-postgres/migrations.

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at     INTEGER NOT NULL,
    -- Length of body in bytes, so lists never read the body.
    size            INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'processed', 'quarantined', 'unrouted')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    account_id      INTEGER REFERENCES accounts (id),
    processed_at    INTEGER,
    -- A pending delivery is claimable from this instant on (a release moves it forward).
    next_attempt_at INTEGER NOT NULL,
    -- The lease: which worker holds it and until when.
    locked_by       TEXT,
    locked_until    INTEGER,
    -- Last, so reading the other columns never touches the body's overflow pages.
    body            BLOB    NOT NULL
);

CREATE INDEX deliveries_pending_idx ON deliveries (id) WHERE state = 'pending';
CREATE INDEX deliveries_state_idx ON deliveries (state, id);
CREATE INDEX deliveries_account_idx ON deliveries (account_id, id);

CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Idempotency key: msg:<wamid>, status:<wamid>:<status>, or a content hash.
    key             TEXT    NOT NULL,
    delivery_id     INTEGER NOT NULL REFERENCES deliveries (id),
    recorded_at     INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('message', 'status', 'error', 'field')),
    field           TEXT    NOT NULL,
    waba_id         TEXT,
    phone_number_id TEXT,
    account_id      INTEGER REFERENCES accounts (id),
    number_id       INTEGER REFERENCES wa_numbers (id),
    message_id      TEXT,
    wa_id           TEXT,
    subtype         TEXT,
    wa_timestamp    INTEGER,
    -- JSON text.
    payload         TEXT    NOT NULL,
    CONSTRAINT events_key_key UNIQUE (key)
);

CREATE INDEX events_account_idx ON events (account_id, id);
CREATE INDEX events_message_id_idx ON events (message_id);
CREATE INDEX events_delivery_idx ON events (delivery_id);
