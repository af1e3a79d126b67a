-- Each ticket's automation execution log: which rules ran on it, why, and what they did.
-- Keep this file's name and numbering in step with crates/store-postgres/migrations.

CREATE TABLE automation_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
    rule_type    INTEGER NOT NULL,
    trigger_kind TEXT    NOT NULL,
    run          TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE INDEX automation_log_ticket_idx ON automation_log (account_id, ticket_id, id);
