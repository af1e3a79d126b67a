//! Conversions between port values and SQLite columns.
//!
//! The row mappings are shared with the PostgreSQL adapter (`shared/convert.rs`); this file names
//! the database and keeps what differs: how a unique violation names its columns, and the widths
//! of `attempts` and `threading_interval_hours`.

use sqlx::Sqlite as Db;
use sqlx::sqlite::SqliteRow as DbRow;

/// Maps a driver error to the port's error. Unique violations become
/// [`StoreError::Conflict`] naming what was duplicated.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        let msg = d.message();
        let what = if msg.contains("api_key_hash") {
            "an agent with this API key already exists"
        } else if msg.contains("email") {
            "an agent with this email already exists in the account"
        } else if msg.contains("phone_number_id") {
            "this phone_number_id is already connected"
        } else {
            return StoreError::Conflict(msg.to_owned());
        };
        return StoreError::Conflict(what.to_owned());
    }
    StoreError::Backend(e.to_string())
}

fn attempts(row: &DbRow) -> StoreResult<i32> {
    let n: i64 = col(row, "attempts")?;
    i32::try_from(n).map_err(|_| StoreError::Corrupt(format!("column attempts: {n} out of range")))
}

fn threading_hours(row: &DbRow) -> StoreResult<i64> {
    col(row, "threading_interval_hours")
}

include!("shared/convert.rs");
