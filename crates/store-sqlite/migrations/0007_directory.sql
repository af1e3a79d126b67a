-- Agents' Freshdesk fields, groups of agents, and numbers' onboarding details.
-- Keep this file's name and numbering in step with crates/store-postgres/migrations.

ALTER TABLE agents ADD COLUMN ticket_scope INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN available INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN occasional INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN phone TEXT;
ALTER TABLE agents ADD COLUMN mobile TEXT;
ALTER TABLE agents ADD COLUMN job_title TEXT;
ALTER TABLE agents ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE agents ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE agents ADD COLUMN signature TEXT;

CREATE TABLE agent_groups (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL REFERENCES accounts (id),
    name               TEXT    NOT NULL COLLATE NOCASE,
    description        TEXT,
    escalate_to        INTEGER,
    unassigned_for     TEXT,
    business_hours_id  INTEGER,
    auto_ticket_assign INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    CONSTRAINT agent_groups_account_name_key UNIQUE (account_id, name)
);

CREATE TABLE agent_group_members (
    group_id   INTEGER NOT NULL REFERENCES agent_groups (id),
    agent_id   INTEGER NOT NULL REFERENCES agents (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (group_id, agent_id)
);

CREATE INDEX agent_group_members_agent_idx ON agent_group_members (agent_id, group_id);

CREATE TABLE wa_number_onboarding (
    number_id           INTEGER PRIMARY KEY REFERENCES wa_numbers (id),
    account_id          INTEGER NOT NULL REFERENCES accounts (id),
    business_manager_id TEXT,
    display_name        TEXT,
    name_status         TEXT,
    code_requested_at   INTEGER,
    code_method         TEXT,
    business_name       TEXT,
    last_error          TEXT,
    updated_at          INTEGER NOT NULL
);
