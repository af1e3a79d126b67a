//! Once-per-slot job runs and the time sweep ([`store::AutomationStore`]).
//!
//! The implementation is shared with the SQLite adapter: this file names the database and the
//! adapter, and includes `../../store-sqlite/src/shared/automation.rs`.

use crate::PostgresStore as AdapterStore;
use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

include!("../../store-sqlite/src/shared/automation.rs");
