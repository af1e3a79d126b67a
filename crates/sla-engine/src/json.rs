//! Small helpers to read Freshdesk-shaped JSON with Freshdesk's error codes and dotted field paths.

use crate::error::{ErrorCode, SlaError};
use serde_json::{Map, Value};

pub(crate) type Obj = Map<String, Value>;

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub(crate) fn mismatch(path: &str, expected: &str, v: &Value) -> SlaError {
    SlaError::invalid(
        path,
        ErrorCode::DatatypeMismatch,
        format!("It should be a/an {expected}, got {}", type_name(v)),
    )
}

pub(crate) fn as_obj<'a>(path: &str, v: &'a Value) -> Result<&'a Obj, SlaError> {
    v.as_object()
        .ok_or_else(|| mismatch(path, "key/value pair", v))
}

pub(crate) fn require<'a>(obj: &'a Obj, path: &str, key: &str) -> Result<&'a Value, SlaError> {
    obj.get(key).ok_or_else(|| {
        SlaError::invalid(
            join(path, key),
            ErrorCode::MissingField,
            "It should be present",
        )
    })
}

pub(crate) fn as_str<'a>(path: &str, v: &'a Value) -> Result<&'a str, SlaError> {
    v.as_str().ok_or_else(|| mismatch(path, "string", v))
}

/// A real JSON boolean; the string `"false"` is a `datatype_mismatch`, as in Freshdesk.
pub(crate) fn as_bool(path: &str, v: &Value) -> Result<bool, SlaError> {
    v.as_bool().ok_or_else(|| mismatch(path, "boolean", v))
}

/// A JSON integer (not a float, not a string such as `"PT1H"` or `"3600"`).
pub(crate) fn as_int(path: &str, v: &Value) -> Result<i64, SlaError> {
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(|| mismatch(path, "integer", v)),
        Value::String(_) => Err(SlaError::invalid(
            path,
            ErrorCode::InvalidValue,
            "It should be an integer number of seconds",
        )),
        _ => Err(mismatch(path, "integer", v)),
    }
}

pub(crate) fn as_array<'a>(path: &str, v: &'a Value) -> Result<&'a [Value], SlaError> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| mismatch(path, "array", v))
}

/// Rejects keys outside `allowed` with `invalid_field`.
pub(crate) fn only_keys(obj: &Obj, path: &str, allowed: &[&str]) -> Result<(), SlaError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(SlaError::invalid(
            join(path, k),
            ErrorCode::InvalidField,
            "Unexpected/invalid field in request",
        )),
        None => Ok(()),
    }
}
