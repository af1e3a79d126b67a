//! The media download queue ([`store::MediaStore`]).
//!
//! The implementation is shared with the other adapter: this file names the database, the
//! adapter's hooks and its row-locking clause, and includes `shared/media.rs`.

use crate::SqliteStore as AdapterStore;
use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

/// The row-locking clause of a claim.
const SKIP_LOCKED: &str = "";

include!("shared/media.rs");
