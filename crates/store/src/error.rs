use thiserror::Error;

/// Result of a [`crate::Store`] call.
pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in storage, in terms callers act on.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The object does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; the message names what.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A limit (such as ten numbers per account) would be exceeded.
    #[error("limit reached: {0}")]
    LimitReached(String),
    /// The caller's lease on a delivery expired and another worker took it over.
    #[error("lease lost")]
    LeaseLost,
    /// Stored data could not be decoded; this is a bug or a manual edit, never user input.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed (connection, I/O, constraint we did not expect). Retrying may help.
    #[error("database error: {0}")]
    Backend(String),
}
