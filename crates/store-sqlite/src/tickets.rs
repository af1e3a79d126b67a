//! Contacts, tickets, conversation entries and event outcomes ([`store::TicketStore`]).
//!
//! The implementation is shared with the PostgreSQL adapter: this file names the database and the
//! adapter's hooks, and includes `shared/tickets.rs`.

use crate::{EVENT_COLUMNS, SqliteStore as AdapterStore};
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

include!("shared/tickets.rs");
