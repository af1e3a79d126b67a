-- Contacts, tickets, conversation entries, and which events the tickets job has applied.
-- Instants are INTEGER Unix milliseconds (UTC); a ticket's and an entry's created_at is
-- WhatsApp's timestamp. Keep this file's name and numbering in step with
-- crates/store-postgres/migrations.

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT    NOT NULL,
    email       TEXT,
    phone       TEXT,
    mobile      TEXT,
    -- Canonical E.164 forms of phone and mobile, for lookup.
    phone_e164  TEXT,
    mobile_e164 TEXT,
    wa_id       TEXT,
    bsuid       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX contacts_account_idx ON contacts (account_id, id);
CREATE INDEX contacts_wa_id_idx ON contacts (account_id, wa_id);
CREATE INDEX contacts_bsuid_idx ON contacts (account_id, bsuid);
CREATE INDEX contacts_phone_idx ON contacts (account_id, phone_e164);
CREATE INDEX contacts_mobile_idx ON contacts (account_id, mobile_e164);
CREATE INDEX contacts_email_idx ON contacts (account_id, email COLLATE NOCASE);

CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    number_id       INTEGER REFERENCES wa_numbers (id),
    requester_id    INTEGER NOT NULL REFERENCES contacts (id),
    subject         TEXT    NOT NULL,
    subject_edited  INTEGER NOT NULL DEFAULT 0,
    status          INTEGER NOT NULL CHECK (status BETWEEN 2 AND 5),
    priority        INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    source          INTEGER NOT NULL,
    -- Not a foreign key yet: agents are validated by the API once the agents API exists.
    responder_id    INTEGER,
    group_id        INTEGER,
    -- JSON array of strings.
    tags            TEXT    NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_message_at INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX tickets_account_idx ON tickets (account_id, deleted, created_at, id);
CREATE INDEX tickets_requester_idx ON tickets (account_id, requester_id, number_id, last_message_at);

CREATE TABLE ticket_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    number_id   INTEGER REFERENCES wa_numbers (id),
    wamid       TEXT,
    incoming    INTEGER NOT NULL,
    private     INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    body_text   TEXT    NOT NULL,
    -- JSON array.
    attachments TEXT    NOT NULL DEFAULT '[]',
    wa_status   TEXT,
    -- JSON object or NULL.
    wa_error    TEXT,
    reply_to    TEXT,
    -- The domain entry with its reaction, revoke and edit annotations (JSON).
    data        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE UNIQUE INDEX ticket_entries_wamid_key ON ticket_entries (number_id, wamid)
    WHERE wamid IS NOT NULL;
CREATE INDEX ticket_entries_ticket_idx ON ticket_entries (ticket_id, created_at, id);

CREATE TABLE event_outcomes (
    event_id     INTEGER PRIMARY KEY REFERENCES events (id),
    state        TEXT    NOT NULL CHECK (state IN ('applied', 'failed')),
    error        TEXT,
    processed_at INTEGER NOT NULL
);
