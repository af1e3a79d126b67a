//! Conversions between port values and PostgreSQL columns.
//!
//! The row mappings are shared with the SQLite adapter
//! (`../../store-sqlite/src/shared/convert.rs`); this file names the database and keeps what
//! differs: how a unique violation names its constraint, and the widths of `attempts` and
//! `threading_interval_hours`.

use sqlx::Postgres as Db;
use sqlx::postgres::PgRow as DbRow;

/// Maps a driver error to the port's error. Unique violations become
/// [`StoreError::Conflict`] naming what was duplicated.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        // PostgreSQL names the violated constraint; fall back on the message.
        let name = d.constraint().unwrap_or_else(|| d.message());
        let what = if name.contains("api_key_hash") {
            "an agent with this API key already exists"
        } else if name.contains("email") {
            "an agent with this email already exists in the account"
        } else if name.contains("phone_number_id") {
            "this phone_number_id is already connected"
        } else {
            return StoreError::Conflict(d.message().to_owned());
        };
        return StoreError::Conflict(what.to_owned());
    }
    StoreError::Backend(e.to_string())
}

fn attempts(row: &DbRow) -> StoreResult<i32> {
    col(row, "attempts")
}

fn threading_hours(row: &DbRow) -> StoreResult<i64> {
    col::<i32>(row, "threading_interval_hours").map(i64::from)
}

include!("../../store-sqlite/src/shared/convert.rs");
