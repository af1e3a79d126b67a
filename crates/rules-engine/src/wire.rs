//! The wire shape of a rule, exactly as CONTRACT section 4 (and Freshdesk's automation API) spells it.
//!
//! These types are plain serde data: they accept
//! `{"name", "position", "active", "conditions": [{"name", "match_type", "properties": [{"resource_type",
//! "field_name", "operator", "value"}]}], "actions": [{"field_name", "value"}]}` plus Freshdesk's optional
//! keys (`operator` between condition sets, `performer` and `events` for ticket-update rules, per-property
//! `case_sensitive` and `business_hours_id`, per-action `note_body`, `url`, ...), and serialise back to the
//! same shape. Semantic checks happen when converting to the typed model ([`crate::Rule::from_wire`]).
//!
//! [`RuleJson::from_value`] performs the structural checks (JSON types of every known key) with
//! field-level paths, so an API can answer a malformed body with precise errors instead of serde's
//! first-error message.

use crate::error::{ErrorCode, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A rule body as sent to and returned by `/api/v2/automations/{type}/rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleJson {
    /// Display name (required, 1 to 255 characters).
    pub name: String,
    /// Order within its automation type; lower runs first. Absent on create means "append" (the caller
    /// fills it in before converting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// Whether the rule runs. Absent means `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Ticket-update rules only: who must have made the update (`{"type": 1..4, "members": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performer: Option<PerformerJson>,
    /// Ticket-update rules only: the events that start the rule (any one suffices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventJson>>,
    /// Condition sets; an empty list matches every ticket.
    #[serde(default)]
    pub conditions: Vec<ConditionSetJson>,
    /// How the condition sets combine, Freshdesk style: `"condition_set_1 and condition_set_2"` (using the
    /// sets' names), or simply `"and"` / `"or"`. Absent means `and`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// What the rule does when it matches (at least one).
    pub actions: Vec<ActionJson>,
}

/// One condition set: `{"name": "set1", "match_type": "all"|"any", "properties": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionSetJson {
    /// The set's name, unique within the rule (Freshdesk uses `condition_set_1`, `condition_set_2`).
    pub name: String,
    /// `all` (every property must hold) or `any` (one suffices).
    pub match_type: String,
    /// The conditions of the set (at least one).
    pub properties: Vec<PropertyJson>,
}

/// One condition: `{"resource_type": "ticket", "field_name": "source", "operator": "in", "value": [13]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyJson {
    /// `ticket`, `contact` (the requester) or `message` (the message that caused the event).
    pub resource_type: String,
    /// The field, e.g. `source`, `tag_names`, `name`, `body`.
    pub field_name: String,
    /// The operator, e.g. `is`, `in`, `contains_any_of`, `greater_than`, `is_empty`.
    pub operator: String,
    /// The operand; absent for `is_empty`, `is_not_empty`, `selected`, `not_selected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Other keys: `case_sensitive` (bool, text fields), `business_hours_id` (integer, `during`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One action: `{"field_name": "responder_id", "value": 7}`; some actions take extra keys
/// (`add_note`: `note_body`, `notify_agents`; `trigger_webhook`: `request_type`, `url`, `content_type`,
/// `content`, `custom_headers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionJson {
    /// The action, e.g. `priority`, `responder_id`, `add_tag`, `trigger_webhook`.
    pub field_name: String,
    /// The action's value, when it takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The action's other keys.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One event of a ticket-update rule: `{"field_name": "status", "from": 2, "to": "--"}`,
/// `{"field_name": "reply_sent"}`, `{"field_name": "note_type", "value": "private"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventJson {
    /// `status`, `priority`, `responder_id`, `group_id`, `reply_sent`, `customer_replied`, `note_type`.
    pub field_name: String,
    /// Previous value (`"--"` or absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    /// New value (`"--"` or absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
    /// Single value for events without from/to (`note_type`: `private`, `public`, `--`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// Who made an update: `{"type": 1}` agent, `2` requester, `3` agent or requester, `4` system
/// (automations); `members` narrows type 1 to some agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformerJson {
    /// 1 agent, 2 requester, 3 agent or requester, 4 system.
    #[serde(rename = "type")]
    pub kind: i64,
    /// Agent ids (type 1 only); absent or empty means any agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<i64>>,
}

/// The per-type settings body of `PUT /automations/{type}/settings`: `{"execution_mode": "first_matching"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationSettings {
    /// `first_matching` or `all_matching`.
    pub execution_mode: crate::model::ExecutionMode,
}

/// Keys a client may send back from a GET response; they are ignored, not rejected.
const READ_ONLY_KEYS: &[&str] = &["id", "created_at", "updated_at", "rule_type", "summary"];

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Int,
    Bool,
    Arr,
    Obj,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Str => "String",
            Ty::Int => "Integer",
            Ty::Bool => "Boolean",
            Ty::Arr => "Array",
            Ty::Obj => "Object",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match self {
            Ty::Str => v.is_string(),
            Ty::Int => v.as_i64().is_some(),
            Ty::Bool => v.is_boolean(),
            Ty::Arr => v.is_array(),
            Ty::Obj => v.is_object(),
        }
    }
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// Checks `key` of `obj` against `ty`; records missing/mismatch errors. Returns the value when it is
/// present and well typed.
fn check<'v>(
    errs: &mut ValidationErrors,
    obj: &'v Map<String, Value>,
    path: &str,
    key: &str,
    ty: Ty,
    required: bool,
) -> Option<&'v Value> {
    let field = if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    };
    match obj.get(key) {
        None | Some(Value::Null) if required => {
            errs.push(field, ErrorCode::MissingField, "It should be specified");
            None
        }
        None | Some(Value::Null) => None,
        Some(v) if ty.accepts(v) => Some(v),
        Some(v) => {
            errs.push(
                field,
                ErrorCode::DatatypeMismatch,
                format!(
                    "It should be a/an {} (got {})",
                    ty.name(),
                    json_type_name(v)
                ),
            );
            None
        }
    }
}

fn check_objects<'v>(
    errs: &mut ValidationErrors,
    arr: &'v [Value],
    path: &str,
) -> Vec<(String, &'v Map<String, Value>)> {
    let mut out = Vec::new();
    for (i, item) in arr.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match item.as_object() {
            Some(o) => out.push((p, o)),
            None => errs.push(
                p,
                ErrorCode::DatatypeMismatch,
                format!("It should be a/an Object (got {})", json_type_name(item)),
            ),
        }
    }
    out
}

fn reject_unknown(
    errs: &mut ValidationErrors,
    obj: &Map<String, Value>,
    path: &str,
    known: &[&str],
) {
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            errs.push(
                field,
                ErrorCode::InvalidField,
                "Unexpected/invalid field in request",
            );
        }
    }
}

impl RuleJson {
    /// Parses a request body with structural validation: every known key is checked for presence and
    /// JSON type, unknown top-level keys are reported (`id`, `created_at`, `updated_at` are ignored), and
    /// all errors carry a path such as `conditions[0].properties[1].operator`.
    pub fn from_value(value: &Value) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let Some(top) = value.as_object() else {
            errs.push(
                "body",
                ErrorCode::DatatypeMismatch,
                format!("It should be a/an Object (got {})", json_type_name(value)),
            );
            return Err(errs);
        };
        let mut known = vec![
            "name",
            "position",
            "active",
            "performer",
            "events",
            "conditions",
            "operator",
            "actions",
        ];
        known.extend_from_slice(READ_ONLY_KEYS);
        reject_unknown(&mut errs, top, "", &known);
        check(&mut errs, top, "", "name", Ty::Str, true);
        check(&mut errs, top, "", "position", Ty::Int, false);
        check(&mut errs, top, "", "active", Ty::Bool, false);
        check(&mut errs, top, "", "operator", Ty::Str, false);
        if let Some(p) =
            check(&mut errs, top, "", "performer", Ty::Obj, false).and_then(Value::as_object)
        {
            reject_unknown(&mut errs, p, "performer", &["type", "members"]);
            check(&mut errs, p, "performer", "type", Ty::Int, true);
            if let Some(m) = check(&mut errs, p, "performer", "members", Ty::Arr, false)
                .and_then(Value::as_array)
            {
                for (i, v) in m.iter().enumerate() {
                    if v.as_i64().is_none() {
                        errs.push(
                            format!("performer.members[{i}]"),
                            ErrorCode::DatatypeMismatch,
                            "It should be a/an Integer",
                        );
                    }
                }
            }
        }
        if let Some(events) =
            check(&mut errs, top, "", "events", Ty::Arr, false).and_then(Value::as_array)
        {
            for (p, e) in check_objects(&mut errs, events, "events") {
                reject_unknown(&mut errs, e, &p, &["field_name", "from", "to", "value"]);
                check(&mut errs, e, &p, "field_name", Ty::Str, true);
            }
        }
        if let Some(sets) =
            check(&mut errs, top, "", "conditions", Ty::Arr, false).and_then(Value::as_array)
        {
            for (p, set) in check_objects(&mut errs, sets, "conditions") {
                reject_unknown(&mut errs, set, &p, &["name", "match_type", "properties"]);
                check(&mut errs, set, &p, "name", Ty::Str, true);
                check(&mut errs, set, &p, "match_type", Ty::Str, true);
                if let Some(props) =
                    check(&mut errs, set, &p, "properties", Ty::Arr, true).and_then(Value::as_array)
                {
                    for (pp, prop) in check_objects(&mut errs, props, &format!("{p}.properties")) {
                        check(&mut errs, prop, &pp, "resource_type", Ty::Str, true);
                        check(&mut errs, prop, &pp, "field_name", Ty::Str, true);
                        check(&mut errs, prop, &pp, "operator", Ty::Str, true);
                    }
                }
            }
        }
        if let Some(actions) =
            check(&mut errs, top, "", "actions", Ty::Arr, true).and_then(Value::as_array)
        {
            for (p, a) in check_objects(&mut errs, actions, "actions") {
                check(&mut errs, a, &p, "field_name", Ty::Str, true);
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let mut clean = top.clone();
        for k in READ_ONLY_KEYS {
            clean.remove(*k);
        }
        // Nulls in optional keys mean "absent".
        clean.retain(|_, v| !v.is_null());
        serde_json::from_value(Value::Object(clean)).map_err(|e| {
            let mut errs = ValidationErrors::new();
            errs.push("body", ErrorCode::DatatypeMismatch, e.to_string());
            errs
        })
    }

    /// The rule as a JSON value (same shape as accepted).
    pub fn to_value(&self) -> Value {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
