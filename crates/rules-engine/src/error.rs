//! Field-level validation errors in Freshdesk's error shape, and the crate's error enum.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Freshdesk's machine-readable error codes used by rule validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A required key is absent.
    MissingField,
    /// A key is present but has the wrong JSON type (string for number, object for array, ...).
    DatatypeMismatch,
    /// The type is right but the value is not allowed (unknown operator, priority 9, ...).
    InvalidValue,
    /// A key that is not accepted here (unknown, or not valid for this rule type).
    InvalidField,
    /// A value that must be unique is repeated (condition set names).
    DuplicateValue,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingField => "missing_field",
            Self::DatatypeMismatch => "datatype_mismatch",
            Self::InvalidValue => "invalid_value",
            Self::InvalidField => "invalid_field",
            Self::DuplicateValue => "duplicate_value",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field-level error: `{"field": "conditions[0].properties[1].operator", "message": "...", "code": "invalid_value"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Path of the offending key, e.g. `conditions[0].properties[1].operator` or `actions[2].value`.
    pub field: String,
    /// Human-readable explanation.
    pub message: String,
    /// Machine-readable code.
    pub code: ErrorCode,
}

impl FieldError {
    /// Builds an error.
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            code,
        }
    }
}

/// All the field errors found in one rule body (validation does not stop at the first one).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ValidationErrors {
    /// Always `"Validation failed"`, as Freshdesk.
    pub description: String,
    /// The individual errors, in document order.
    pub errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// An empty collection with Freshdesk's description.
    pub fn new() -> Self {
        Self {
            description: "Validation failed".to_owned(),
            errors: Vec::new(),
        }
    }

    /// Adds one error.
    pub fn push(&mut self, field: impl Into<String>, code: ErrorCode, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// True when nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when empty, `Err(self)` otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The HTTP status the API should answer with: 400 when the body is malformed (missing keys,
    /// wrong JSON types, unknown keys), 422 when it is well formed but semantically invalid
    /// (unknown operator for a field, out-of-range value, duplicate set names).
    pub fn http_status(&self) -> u16 {
        let structural = self.errors.iter().any(|e| {
            matches!(
                e.code,
                ErrorCode::MissingField | ErrorCode::DatatypeMismatch | ErrorCode::InvalidField
            )
        });
        if structural { 400 } else { 422 }
    }

    /// The Freshdesk error body `{"description", "errors": [{"field", "message", "code"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "description": self.description,
            "errors": self.errors,
        })
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.description)?;
        for e in &self.errors {
            write!(f, "; {}: {} ({})", e.field, e.message, e.code)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// The crate's error type.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A rule body failed validation; carries every field error.
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    /// An automation type code other than 1, 3 or 4.
    #[error(
        "unknown automation type {0}; expected 1 (ticket creation), 3 (time triggers) or 4 (ticket updates)"
    )]
    UnknownRuleType(i64),
}
