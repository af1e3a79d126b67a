//! Retention of raw webhook bodies ([`store::Store::prune_delivery_bodies`]).
//!
//! The implementation is shared with the SQLite adapter: this file names the database, the
//! adapter and its row-locking clause, and includes `shared/retention.rs`.

use crate::PostgresStore as AdapterStore;
use sqlx::Postgres as Db;

/// Locks the cursor's row, so calls in several processes take turns.
const FOR_UPDATE: &str = "FOR UPDATE";

include!("../../store-sqlite/src/shared/retention.rs");
