//! SLA state and notifications ([`store::SlaStore`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database and the
//! adapter, and includes `shared/sla.rs`.

use crate::SqliteStore as AdapterStore;
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

include!("shared/sla.rs");
