-- WhatsApp billing: the facts the billing model prices, the queue that feeds them from the
-- recorded events, and each account's billing settings. Instants are INTEGER Unix
-- milliseconds (UTC). Keep this file's name and numbering in step with
-- crates/store-postgres/migrations.

-- Message and status events of connected numbers not yet turned into billing facts. A
-- trigger queues an event in the transaction that first records it (a duplicate key inserts no
-- event, so nothing is queued twice); the billing job leases rows and deletes them in the
-- transaction that records their facts.
CREATE TABLE billing_queue (
    event_id    INTEGER PRIMARY KEY REFERENCES events (id),
    leased_by   TEXT,
    lease_until INTEGER
);

INSERT INTO billing_queue (event_id)
SELECT id FROM events WHERE kind IN ('message', 'status') AND account_id IS NOT NULL;

CREATE TRIGGER events_enqueue_for_billing AFTER INSERT ON events
WHEN NEW.kind IN ('message', 'status') AND NEW.account_id IS NOT NULL
BEGIN
    INSERT INTO billing_queue (event_id) VALUES (NEW.id);
END;

CREATE TABLE billing_facts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The event's idempotency key.
    key               TEXT    NOT NULL,
    event_id          INTEGER NOT NULL REFERENCES events (id),
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    number_id         INTEGER NOT NULL REFERENCES wa_numbers (id),
    kind              TEXT    NOT NULL CHECK (kind IN ('inbound', 'status')),
    waba_id           TEXT    NOT NULL,
    phone_number_id   TEXT    NOT NULL,
    message_id        TEXT    NOT NULL,
    customer          TEXT    NOT NULL,
    status            TEXT,
    at                INTEGER NOT NULL,
    template_category TEXT,
    entry_point       TEXT,
    -- JSON text, verbatim from the webhook.
    pricing           TEXT,
    conversation      TEXT,
    CONSTRAINT billing_facts_key_key UNIQUE (key)
);

CREATE INDEX billing_facts_account_at_idx ON billing_facts (account_id, at, id);

CREATE TABLE billing_settings (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
    time_zone  TEXT,
    currency   TEXT,
    rate_cards TEXT,
    updated_at INTEGER NOT NULL
);
