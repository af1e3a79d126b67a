-- Inbound media downloads: one row per attachment of an inbound WhatsApp message, queued in the
-- transaction that adds the message's entry, leased by the media job, and pointing at the blob
-- once downloaded. Instants are INTEGER Unix milliseconds (UTC). Keep this file's name and
-- numbering in step with crates/store-postgres/migrations.

CREATE TABLE media_downloads (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    number_id        INTEGER NOT NULL REFERENCES wa_numbers (id),
    entry_id         INTEGER NOT NULL REFERENCES ticket_entries (id),
    attachment_index INTEGER NOT NULL,
    wa_media_id      TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    mime_type        TEXT,
    sha256           TEXT,
    filename         TEXT,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'downloading', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_by        TEXT,
    locked_until     INTEGER,
    error            TEXT,
    blob_key         TEXT,
    size             INTEGER,
    content_type     TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE UNIQUE INDEX media_downloads_attachment_key ON media_downloads (entry_id, attachment_index);
CREATE INDEX media_downloads_due_idx ON media_downloads (state, next_attempt_at, id);

-- One row: the key that signs attachment URLs, shared by every process on the database.
CREATE TABLE media_settings (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    url_signing_key   TEXT    NOT NULL
);
