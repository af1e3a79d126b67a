//! The crate's single error type.

use std::fmt;

/// Freshdesk's validation error codes, as they appear in `errors[].code` of a 400 response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A required field is absent (`missing_field`).
    MissingField,
    /// The value has the right type but is not allowed (`invalid_value`).
    InvalidValue,
    /// The value has the wrong JSON type, e.g. the string `"false"` for a boolean (`datatype_mismatch`).
    DatatypeMismatch,
    /// The field is not one that the object accepts, e.g. `level_5` (`invalid_field`).
    InvalidField,
    /// A list contains values that are not allowed, e.g. unknown sources (`invalid_list`).
    InvalidList,
}

impl ErrorCode {
    /// The wire name of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::DatatypeMismatch => "datatype_mismatch",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::InvalidList => "invalid_list",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    /// Input failed validation. `field` is the dotted path of the offending field, as Freshdesk
    /// reports it (e.g. `sla_target.priority_4.respond_within`, `business_hours.monday.start_time`).
    #[error("{field}: {message} ({code})")]
    Invalid {
        /// Dotted path of the field.
        field: String,
        /// Freshdesk error code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
    /// A business calendar had no open time in a long stretch of days (every day closed by
    /// holidays), so a due time cannot be computed.
    #[error("the business calendar has no working hours in {days} consecutive days")]
    NoBusinessHours {
        /// How many consecutive days were searched.
        days: u32,
    },
    /// Date-time arithmetic left the representable range (roughly years -9999 to 9999).
    #[error("date-time arithmetic out of range")]
    OutOfRange,
}

impl SlaError {
    /// A validation error.
    pub(crate) fn invalid(
        field: impl Into<String>,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        SlaError::Invalid {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The offending field for validation errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            SlaError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The Freshdesk code for validation errors.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            SlaError::Invalid { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<jiff::Error> for SlaError {
    fn from(_: jiff::Error) -> Self {
        SlaError::OutOfRange
    }
}
