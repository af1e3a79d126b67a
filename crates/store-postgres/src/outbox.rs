//! The outbox, send-rate buckets and templates ([`store::OutboxStore`], [`store::TemplateStore`]).
//!
//! The implementation is shared with the SQLite adapter: this file names the database and the
//! adapter's hooks, and includes `../../store-sqlite/src/shared/outbox.rs`. Several workers may
//! claim at once: a number's bucket row is locked (`FOR UPDATE`) for the claim, so the rate holds
//! across them, and queued sends are taken with `FOR UPDATE SKIP LOCKED`.

use crate::{NUMBER_COLUMNS, PostgresStore as AdapterStore};
use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

/// Row-lock suffix for a `SELECT` inside a write transaction.
const LOCK_ROWS: &str = " FOR UPDATE";
/// Suffix for claiming rows other transactions may hold.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

impl AdapterStore {
    async fn outbox_tx(&self) -> StoreResult<Transaction<'static, Db>> {
        self.begin().await
    }
}

include!("../../store-sqlite/src/shared/outbox.rs");
