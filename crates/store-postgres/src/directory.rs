//! Agents, groups and number administration ([`store::DirectoryStore`]).
//!
//! The implementation is shared with the SQLite adapter: this file names the database and the
//! adapter's hooks, and includes `../../store-sqlite/src/shared/directory.rs`.

use crate::{AGENT_COLUMNS, NUMBER_COLUMNS, PostgresStore as AdapterStore};
use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

include!("../../store-sqlite/src/shared/directory.rs");
