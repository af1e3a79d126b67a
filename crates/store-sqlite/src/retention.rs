//! Retention of raw webhook bodies ([`store::Store::prune_delivery_bodies`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database, the
//! adapter and its row-locking clause, and includes `shared/retention.rs`.

use crate::SqliteStore as AdapterStore;
use sqlx::Sqlite as Db;

/// Locks the cursor's row (none: the write transaction holds SQLite's one write lock).
const FOR_UPDATE: &str = "";

include!("shared/retention.rs");
