-- What automation rules read and write beyond the ticket's original fields: its type, the spam
-- flag and the instants time conditions measure from; which time-trigger rules already fired per
-- ticket; round-robin cursors per group; and once-per-slot job runs (the hourly sweep) shared by
-- every server and worker on the database.
-- Keep this file's name and numbering in step with crates/store-postgres/migrations.

ALTER TABLE tickets ADD COLUMN ticket_type TEXT;
ALTER TABLE tickets ADD COLUMN spam INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN status_changed_at INTEGER;
ALTER TABLE tickets ADD COLUMN last_customer_message_at INTEGER;
ALTER TABLE tickets ADD COLUMN last_agent_response_at INTEGER;

UPDATE tickets SET
    last_customer_message_at = (SELECT MAX(e.created_at) FROM ticket_entries e
                                WHERE e.ticket_id = tickets.id AND e.incoming <> 0),
    last_agent_response_at = (SELECT MAX(e.created_at) FROM ticket_entries e
                              WHERE e.ticket_id = tickets.id AND e.incoming = 0 AND e.private = 0);

CREATE INDEX tickets_sweep_idx ON tickets (id) WHERE deleted = 0 AND spam = 0 AND status <> 5;

CREATE TABLE automation_fired (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    rule_id    INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    fired_at   INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, rule_id)
);

CREATE TABLE assignment_cursors (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    group_id   INTEGER NOT NULL,
    agent_id   INTEGER NOT NULL,
    PRIMARY KEY (account_id, group_id)
);

CREATE TABLE job_slots (
    job         TEXT    NOT NULL,
    slot        INTEGER NOT NULL,
    holder      TEXT    NOT NULL,
    lease_until INTEGER NOT NULL,
    cursor      INTEGER NOT NULL DEFAULT 0,
    finished_at INTEGER,
    PRIMARY KEY (job, slot)
);
