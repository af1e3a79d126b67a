//! Billing facts, the billing queue and billing settings ([`store::BillingStore`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database and the
//! adapter's hooks, and includes `shared/billing.rs`.

use crate::{EVENT_COLUMNS, SqliteStore as AdapterStore};
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

/// SQLite has one writer (`BEGIN IMMEDIATE`): a claim needs no row locks.
const CLAIM_LOCK: &str = "";

impl AdapterStore {
    async fn begin_billing_tx(&self) -> StoreResult<sqlx::Transaction<'static, Db>> {
        self.write().await
    }
}

include!("shared/billing.rs");
