//! The outbox, send-rate buckets and templates ([`store::OutboxStore`], [`store::TemplateStore`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database and the
//! adapter's hooks, and includes `shared/outbox.rs`. SQLite has one writer, so every write
//! transaction (`BEGIN IMMEDIATE`) is already exclusive: no row locks are needed.

use crate::{NUMBER_COLUMNS, SqliteStore as AdapterStore};
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

/// Row-lock suffix for a `SELECT` inside a write transaction (none: the writer is exclusive).
const LOCK_ROWS: &str = "";
/// Suffix for claiming rows other transactions may hold (none: the writer is exclusive).
const SKIP_LOCKED: &str = "";

impl AdapterStore {
    async fn outbox_tx(&self) -> StoreResult<Transaction<'static, Db>> {
        self.write().await
    }
}

include!("shared/outbox.rs");
