//! Billing facts, the billing queue and billing settings ([`store::BillingStore`]).
//!
//! The implementation is shared with the SQLite adapter: this file names the database and the
//! adapter's hooks, and includes `../../store-sqlite/src/shared/billing.rs`.

use crate::{EVENT_COLUMNS, PostgresStore as AdapterStore};
use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

/// Rows another claimer holds are skipped, so concurrent workers get disjoint sets.
const CLAIM_LOCK: &str = " FOR UPDATE SKIP LOCKED";

impl AdapterStore {
    async fn begin_billing_tx(&self) -> StoreResult<sqlx::Transaction<'static, Db>> {
        self.begin().await
    }
}

include!("../../store-sqlite/src/shared/billing.rs");
