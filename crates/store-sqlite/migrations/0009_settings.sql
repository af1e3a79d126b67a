-- Settings documents: SLA policies, business hours, automation rules and settings, as JSON the
-- domain crates validate. Keep this file's name and numbering in step with
-- crates/store-postgres/migrations.

CREATE TABLE settings_documents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    kind        TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    -- At most one document per (account, kind, unique_key); NULLs never collide.
    unique_key  TEXT,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE INDEX settings_documents_order_idx ON settings_documents (account_id, kind, position, id);
CREATE UNIQUE INDEX settings_documents_key_idx ON settings_documents (account_id, kind, unique_key);
