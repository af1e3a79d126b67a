-- Accounts, agents and connected WhatsApp numbers.
-- Instants are INTEGER Unix milliseconds (UTC). Ids never get reused (AUTOINCREMENT).
-- Keep this file's name and numbering in step with crates/store-postgres/migrations.

CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    plan       TEXT    NOT NULL CHECK (plan IN ('free', 'growth', 'pro', 'enterprise')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    name         TEXT    NOT NULL,
    email        TEXT    NOT NULL COLLATE NOCASE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'agent')),
    -- SHA-256 of the API key, lowercase hex; the key itself is never stored.
    api_key_hash TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT agents_api_key_hash_key UNIQUE (api_key_hash),
    CONSTRAINT agents_account_email_key UNIQUE (account_id, email)
);

CREATE TABLE wa_numbers (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id               INTEGER NOT NULL REFERENCES accounts (id),
    -- Meta's phone number id: one number belongs to at most one account.
    phone_number_id          TEXT    NOT NULL,
    waba_id                  TEXT    NOT NULL,
    display_phone_number     TEXT    NOT NULL,
    name                     TEXT    NOT NULL,
    access_token             TEXT    NOT NULL,
    app_secret               TEXT,
    threading_interval_hours INTEGER NOT NULL CHECK (threading_interval_hours BETWEEN 1 AND 48),
    status                   TEXT    NOT NULL
        CHECK (status IN ('connected', 'unverified', 'verified', 'disconnected')),
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    CONSTRAINT wa_numbers_phone_number_id_key UNIQUE (phone_number_id)
);

CREATE INDEX wa_numbers_account_idx ON wa_numbers (account_id, id);
