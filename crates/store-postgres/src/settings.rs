//! Settings documents ([`store::SettingsStore`]).
//!
//! The implementation is shared with the SQLite adapter: this file names the database and the
//! adapter, and includes `../../store-sqlite/src/shared/settings.rs`.

use crate::PostgresStore as AdapterStore;
use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

include!("../../store-sqlite/src/shared/settings.rs");
