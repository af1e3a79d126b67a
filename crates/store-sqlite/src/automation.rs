//! Once-per-slot job runs and the time sweep ([`store::AutomationStore`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database and the
//! adapter, and includes `shared/automation.rs`.

use crate::SqliteStore as AdapterStore;
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

include!("shared/automation.rs");
