//! The outgoing webhook queue ([`store::WebhookStore`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database, the
//! adapter and its row-locking clause, and includes `shared/webhooks.rs`.

use crate::SqliteStore as AdapterStore;
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

/// The row-locking clause of a claim (none: SQLite's one writer serialises claims).
const SKIP_LOCKED: &str = "";

include!("shared/webhooks.rs");
