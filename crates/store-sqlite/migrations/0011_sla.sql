-- SLA state per ticket and the notifications reminders and escalations produce.
-- Keep this file's name and numbering in step with crates/store-postgres/migrations.

CREATE TABLE ticket_sla (
    ticket_id     INTEGER PRIMARY KEY REFERENCES tickets (id),
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    policy_id     INTEGER,
    history       TEXT    NOT NULL,
    fr_due_by     INTEGER,
    nr_due_by     INTEGER,
    due_by        INTEGER,
    fr_escalated  INTEGER NOT NULL,
    nr_escalated  INTEGER NOT NULL,
    is_escalated  INTEGER NOT NULL,
    next_event_at INTEGER,
    checked_until INTEGER NOT NULL
);

CREATE INDEX ticket_sla_next_idx ON ticket_sla (next_event_at) WHERE next_event_at IS NOT NULL;

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    event_key  TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, event_key)
);

CREATE INDEX notifications_account_idx ON notifications (account_id, id);
