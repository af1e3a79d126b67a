//! The crate's one error type.

use crate::money::Currency;

/// Everything that can go wrong in `billing-model`.
///
/// Parse errors of the rate-card and market-table formats carry the 1-based line number of the
/// offending line in the text that was parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BillingError {
    /// A rate-card or market-table text could not be parsed.
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line number in the parsed text.
        line: usize,
        /// What is wrong with that line.
        message: String,
    },
    /// Arithmetic on two amounts of different currencies.
    #[error("currency mismatch: {left} vs {right}")]
    CurrencyMismatch {
        /// Currency of the left operand.
        left: Currency,
        /// Currency of the right operand.
        right: Currency,
    },
    /// An amount left the range of `i64` micro-units.
    #[error("amount overflow")]
    Overflow,
    /// A currency code that is not three ASCII letters.
    #[error("invalid currency code {0:?}")]
    InvalidCurrency(String),
    /// A decimal amount that could not be read.
    #[error("invalid decimal amount {0:?}")]
    InvalidAmount(String),
    /// A phone number (E.164 or `wa_id`) without a usable run of digits.
    #[error("invalid phone number {0:?}")]
    InvalidPhoneNumber(String),
    /// A category name Meta does not use.
    #[error("unknown category {0:?}")]
    UnknownCategory(String),
    /// A month that is not `YYYY-MM`.
    #[error("invalid month {0:?} (expected YYYY-MM)")]
    InvalidMonth(String),
    /// Two rate cards clash (same id, or same currency and effective day).
    #[error("rate card conflict: {0}")]
    CardConflict(String),
    /// A fact fed to a [`crate::Biller`] is earlier than the previous one.
    #[error("fact at {at} is earlier than the previous fact at {previous}")]
    OutOfOrder {
        /// Time of the rejected fact.
        at: time::OffsetDateTime,
        /// Time of the fact before it.
        previous: time::OffsetDateTime,
    },
}

impl BillingError {
    pub(crate) fn parse(line: usize, message: impl Into<String>) -> Self {
        Self::Parse {
            line,
            message: message.into(),
        }
    }
}
