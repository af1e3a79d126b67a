-- What automation rules read and write beyond the ticket's original fields: its type, the spam
-- flag and the instants time conditions measure from; which time-trigger rules already fired per
-- ticket; round-robin cursors per group; and once-per-slot job runs (the hourly sweep) shared by
-- every server and worker on the database.
-- Keep this file's name and numbering in step with crates/store-sqlite/migrations.

ALTER TABLE tickets ADD COLUMN ticket_type TEXT;
ALTER TABLE tickets ADD COLUMN spam BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN status_changed_at BIGINT;
ALTER TABLE tickets ADD COLUMN last_customer_message_at BIGINT;
ALTER TABLE tickets ADD COLUMN last_agent_response_at BIGINT;

UPDATE tickets SET
    last_customer_message_at = (SELECT MAX(e.created_at) FROM ticket_entries e
                                WHERE e.ticket_id = tickets.id AND e.incoming),
    last_agent_response_at = (SELECT MAX(e.created_at) FROM ticket_entries e
                              WHERE e.ticket_id = tickets.id AND NOT e.incoming AND NOT e.private);

CREATE INDEX tickets_sweep_idx ON tickets (id) WHERE NOT deleted AND NOT spam AND status <> 5;

CREATE TABLE automation_fired (
    ticket_id  BIGINT NOT NULL REFERENCES tickets (id),
    rule_id    BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    fired_at   BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, rule_id)
);

CREATE TABLE assignment_cursors (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    group_id   BIGINT NOT NULL,
    agent_id   BIGINT NOT NULL,
    PRIMARY KEY (account_id, group_id)
);

CREATE TABLE job_slots (
    job         TEXT    NOT NULL,
    slot        BIGINT NOT NULL,
    holder      TEXT    NOT NULL,
    lease_until BIGINT NOT NULL,
    cursor      BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT,
    PRIMARY KEY (job, slot)
);
