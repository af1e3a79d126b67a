-- Outgoing webhooks: the durable delivery queue (SLA notifications, automation "trigger webhook").
-- Keep this file's name and numbering in step with crates/store-postgres/migrations.

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    idempotency_key TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    ticket_id       INTEGER,
    method          TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    headers         TEXT    NOT NULL,
    content_type    TEXT,
    body            TEXT    NOT NULL,
    max_attempts    INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    leased_by       TEXT,
    lease_until     INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (account_id, idempotency_key)
);

CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_sending_idx ON webhook_deliveries (lease_until)
    WHERE state = 'sending';
CREATE INDEX webhook_deliveries_account_idx ON webhook_deliveries (account_id, id);
