//! The media download queue ([`store::MediaStore`]).
//!
//! The implementation is shared with the other adapter: this file names the database, the
//! adapter's hooks and its row-locking clause, and includes `../../store-sqlite/src/shared/media.rs`.

use crate::PostgresStore as AdapterStore;
use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

/// The row-locking clause of a claim.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

include!("../../store-sqlite/src/shared/media.rs");
