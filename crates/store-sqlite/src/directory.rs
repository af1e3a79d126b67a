//! Agents, groups and number administration ([`store::DirectoryStore`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database and the
//! adapter's hooks, and includes `shared/directory.rs`.

use crate::{AGENT_COLUMNS, NUMBER_COLUMNS, SqliteStore as AdapterStore};
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

include!("shared/directory.rs");
