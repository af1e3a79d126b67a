//! The outgoing webhook queue ([`store::WebhookStore`]).
//!
//! The implementation is shared with the SQLite adapter: this file names the database, the
//! adapter and its row-locking clause, and includes `../../store-sqlite/src/shared/webhooks.rs`.
//! Several workers may claim at once: rows are taken with `FOR UPDATE SKIP LOCKED`.

use crate::PostgresStore as AdapterStore;
use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

/// The row-locking clause of a claim.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

include!("../../store-sqlite/src/shared/webhooks.rs");
