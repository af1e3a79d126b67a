//! Wire shape ⇄ typed model, with validation that reports every field-level error.

use crate::error::{ErrorCode, ValidationErrors};
use crate::ids::{AgentId, BusinessHoursId, GroupId, RuleId, SlaPolicyId};
use crate::model::{
    Action, AnyOr, Condition, ConditionSet, EventFilter, Field, FieldKind, HttpMethod,
    MESSAGE_TYPES, MatchType, NoteKind, Operand, Operator, PerformerFilter, Priority, ResourceType,
    Rule, RuleType, SetOperator, Source, Status, TemplateSpec, WebhookContentType, WebhookSpec,
};
use crate::wire::{ActionJson, ConditionSetJson, EventJson, PerformerJson, PropertyJson, RuleJson};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Longest rule name accepted.
pub const MAX_NAME_LEN: usize = 255;
/// Longest free-form WhatsApp text (Cloud API limit).
pub const MAX_REPLY_LEN: usize = 4096;

fn expected(list: &[&str]) -> String {
    format!("It should be one of these values: '{}'", list.join(","))
}

fn type_name(v: &Value) -> &'static str {
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

fn mismatch(errs: &mut ValidationErrors, path: &str, want: &str, got: &Value) {
    errs.push(
        path,
        ErrorCode::DatatypeMismatch,
        format!("It should be a/an {want} (got {})", type_name(got)),
    );
}

fn positive_id(errs: &mut ValidationErrors, path: &str, v: &Value) -> Option<i64> {
    match v.as_i64() {
        Some(i) if i > 0 => Some(i),
        Some(i) => {
            errs.push(
                path,
                ErrorCode::InvalidValue,
                format!("It should be a positive id (got {i})"),
            );
            None
        }
        None => {
            mismatch(errs, path, "Integer", v);
            None
        }
    }
}

fn non_empty_str(errs: &mut ValidationErrors, path: &str, v: &Value) -> Option<String> {
    match v.as_str() {
        Some(s) if !s.trim().is_empty() => Some(s.to_owned()),
        Some(_) => {
            errs.push(path, ErrorCode::InvalidValue, "It should not be blank");
            None
        }
        None => {
            mismatch(errs, path, "String", v);
            None
        }
    }
}

impl Rule {
    /// Validates a wire rule of automation type `rule_type` and builds the typed rule.
    ///
    /// Every problem is reported (not only the first), each with a path such as
    /// `conditions[0].properties[1].operator`. A missing `position` becomes `i64::MAX` (last): the
    /// caller should fill in "last + 1" before converting; a missing `active` is `true`.
    pub fn from_wire(
        id: RuleId,
        rule_type: RuleType,
        json: &RuleJson,
    ) -> Result<Rule, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let name = json.name.trim();
        if name.is_empty() {
            errs.push("name", ErrorCode::InvalidValue, "It should not be blank");
        } else if name.chars().count() > MAX_NAME_LEN {
            errs.push(
                "name",
                ErrorCode::InvalidValue,
                format!(
                    "Has {} characters, it can have maximum of {MAX_NAME_LEN} characters",
                    name.chars().count()
                ),
            );
        }
        if let Some(p) = json.position
            && p < 1
        {
            errs.push(
                "position",
                ErrorCode::InvalidValue,
                "It should be a positive integer",
            );
        }
        let performer = match (&json.performer, rule_type) {
            (None, _) => None,
            (Some(p), RuleType::TicketUpdates) => performer(&mut errs, p),
            (Some(_), _) => {
                errs.push(
                    "performer",
                    ErrorCode::InvalidField,
                    "performer is only accepted by ticket update rules (type 4)",
                );
                None
            }
        };
        let events = match (&json.events, rule_type) {
            (Some(evs), RuleType::TicketUpdates) if !evs.is_empty() => evs
                .iter()
                .enumerate()
                .filter_map(|(i, e)| event(&mut errs, &format!("events[{i}]"), e))
                .collect(),
            (_, RuleType::TicketUpdates) => {
                errs.push(
                    "events",
                    ErrorCode::MissingField,
                    "Ticket update rules need at least one event",
                );
                Vec::new()
            }
            (Some(_), _) => {
                errs.push(
                    "events",
                    ErrorCode::InvalidField,
                    "events are only accepted by ticket update rules (type 4)",
                );
                Vec::new()
            }
            (None, _) => Vec::new(),
        };
        let mut seen = BTreeSet::new();
        let mut condition_sets = Vec::new();
        for (i, set) in json.conditions.iter().enumerate() {
            let path = format!("conditions[{i}]");
            if set.name.trim().is_empty() {
                errs.push(
                    format!("{path}.name"),
                    ErrorCode::InvalidValue,
                    "It should not be blank",
                );
            } else if !seen.insert(set.name.clone()) {
                errs.push(
                    format!("{path}.name"),
                    ErrorCode::DuplicateValue,
                    format!("Condition set name '{}' is used twice", set.name),
                );
            }
            if let Some(s) = condition_set(&mut errs, &path, rule_type, set) {
                condition_sets.push(s);
            }
        }
        let set_operator = set_operator(&mut errs, json);
        if json.actions.is_empty() {
            errs.push("actions", ErrorCode::InvalidValue, "It should not be blank");
        }
        let actions = json
            .actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| action(&mut errs, &format!("actions[{i}]"), a))
            .collect();
        errs.into_result(Rule {
            id,
            rule_type,
            name: name.to_owned(),
            position: json.position.unwrap_or(i64::MAX),
            active: json.active.unwrap_or(true),
            performer,
            events,
            condition_sets,
            set_operator,
            actions,
        })
    }

    /// Parses and validates a request body in one step ([`RuleJson::from_value`] then [`Rule::from_wire`]).
    pub fn from_json_value(
        id: RuleId,
        rule_type: RuleType,
        body: &Value,
    ) -> Result<Rule, ValidationErrors> {
        let wire = RuleJson::from_value(body)?;
        Rule::from_wire(id, rule_type, &wire)
    }

    /// The rule in the wire shape, with canonical names (`tag_names`, `contains_any_of`, ...).
    pub fn to_wire(&self) -> RuleJson {
        let names: Vec<&str> = self
            .condition_sets
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let operator = (names.len() > 1).then(|| {
            let op = match self.set_operator {
                SetOperator::And => " and ",
                SetOperator::Or => " or ",
            };
            names.join(op)
        });
        RuleJson {
            name: self.name.clone(),
            position: (self.position != i64::MAX).then_some(self.position),
            active: Some(self.active),
            performer: self.performer.as_ref().map(performer_to_wire),
            events: (self.rule_type == RuleType::TicketUpdates)
                .then(|| self.events.iter().map(event_to_wire).collect()),
            conditions: self
                .condition_sets
                .iter()
                .map(|s| ConditionSetJson {
                    name: s.name.clone(),
                    match_type: match s.match_type {
                        MatchType::All => "all",
                        MatchType::Any => "any",
                    }
                    .to_owned(),
                    properties: s.conditions.iter().map(condition_to_wire).collect(),
                })
                .collect(),
            operator,
            actions: self.actions.iter().map(action_to_wire).collect(),
        }
    }
}

fn performer(errs: &mut ValidationErrors, p: &PerformerJson) -> Option<PerformerFilter> {
    let members = p.members.clone().unwrap_or_default();
    if p.kind != 1 && !members.is_empty() {
        errs.push(
            "performer.members",
            ErrorCode::InvalidField,
            "members is only accepted with performer type 1 (agent)",
        );
    }
    if let Some(bad) = members.iter().find(|m| **m <= 0) {
        errs.push(
            "performer.members",
            ErrorCode::InvalidValue,
            format!("It should contain positive agent ids (got {bad})"),
        );
    }
    match p.kind {
        1 => Some(PerformerFilter::Agent(
            members.into_iter().map(AgentId).collect(),
        )),
        2 => Some(PerformerFilter::Requester),
        3 => Some(PerformerFilter::AgentOrRequester),
        4 => Some(PerformerFilter::System),
        _ => {
            errs.push(
                "performer.type",
                ErrorCode::InvalidValue,
                expected(&["1", "2", "3", "4"]),
            );
            None
        }
    }
}

fn performer_to_wire(p: &PerformerFilter) -> PerformerJson {
    match p {
        PerformerFilter::Agent(m) => PerformerJson {
            kind: 1,
            members: (!m.is_empty()).then(|| m.iter().map(|a| a.0).collect()),
        },
        PerformerFilter::Requester => PerformerJson {
            kind: 2,
            members: None,
        },
        PerformerFilter::AgentOrRequester => PerformerJson {
            kind: 3,
            members: None,
        },
        PerformerFilter::System => PerformerJson {
            kind: 4,
            members: None,
        },
    }
}

const EVENT_NAMES: &[&str] = &[
    "status",
    "priority",
    "responder_id",
    "group_id",
    "reply_sent",
    "customer_replied",
    "note_type",
];

fn is_any(v: &Option<Value>) -> bool {
    v.is_none() || matches!(v, Some(Value::String(s)) if s == "--")
}

fn any_or<T>(
    errs: &mut ValidationErrors,
    path: &str,
    v: &Option<Value>,
    parse: impl Fn(&mut ValidationErrors, &str, &Value) -> Option<T>,
) -> Option<AnyOr<T>> {
    if is_any(v) {
        return Some(AnyOr::Any);
    }
    let v = v.as_ref()?;
    parse(errs, path, v).map(AnyOr::Is)
}

fn parse_status(errs: &mut ValidationErrors, path: &str, v: &Value) -> Option<Status> {
    match v.as_i64() {
        Some(s) if Status(s).is_valid() => Some(Status(s)),
        Some(s) => {
            errs.push(path, ErrorCode::InvalidValue, format!("Status {s} does not exist; statuses are 2 (Open), 3 (Pending), 4 (Resolved), 5 (Closed) or a custom status above 5"));
            None
        }
        None => {
            mismatch(errs, path, "Integer", v);
            None
        }
    }
}

fn parse_priority(errs: &mut ValidationErrors, path: &str, v: &Value) -> Option<Priority> {
    match v.as_i64() {
        Some(p) => Priority::from_code(p).or_else(|| {
            errs.push(
                path,
                ErrorCode::InvalidValue,
                expected(&["1", "2", "3", "4"]),
            );
            None
        }),
        None => {
            mismatch(errs, path, "Integer", v);
            None
        }
    }
}

fn parse_opt_id(errs: &mut ValidationErrors, path: &str, v: &Value) -> Option<Option<i64>> {
    match v {
        Value::Null => Some(None),
        Value::String(s) if s.is_empty() => Some(None),
        _ => positive_id(errs, path, v).map(Some),
    }
}

fn event(errs: &mut ValidationErrors, path: &str, e: &EventJson) -> Option<EventFilter> {
    let no_from_to = |errs: &mut ValidationErrors| {
        for (k, v) in [("from", &e.from), ("to", &e.to)] {
            if v.is_some() {
                errs.push(
                    format!("{path}.{k}"),
                    ErrorCode::InvalidField,
                    format!("'{}' takes no from/to", e.field_name),
                );
            }
        }
    };
    let (from_p, to_p) = (format!("{path}.from"), format!("{path}.to"));
    match e.field_name.as_str() {
        "status" => Some(EventFilter::StatusChanged {
            from: any_or(errs, &from_p, &e.from, parse_status)?,
            to: any_or(errs, &to_p, &e.to, parse_status)?,
        }),
        "priority" => Some(EventFilter::PriorityChanged {
            from: any_or(errs, &from_p, &e.from, parse_priority)?,
            to: any_or(errs, &to_p, &e.to, parse_priority)?,
        }),
        "responder_id" => {
            let from = any_or(errs, &from_p, &e.from, parse_opt_id);
            let to = any_or(errs, &to_p, &e.to, parse_opt_id);
            let map = |a: AnyOr<Option<i64>>| match a {
                AnyOr::Any => AnyOr::Any,
                AnyOr::Is(o) => AnyOr::Is(o.map(AgentId)),
            };
            Some(EventFilter::Assigned {
                from: map(from?),
                to: map(to?),
            })
        }
        "group_id" => {
            let from = any_or(errs, &from_p, &e.from, parse_opt_id);
            let to = any_or(errs, &to_p, &e.to, parse_opt_id);
            let map = |a: AnyOr<Option<i64>>| match a {
                AnyOr::Any => AnyOr::Any,
                AnyOr::Is(o) => AnyOr::Is(o.map(GroupId)),
            };
            Some(EventFilter::GroupChanged {
                from: map(from?),
                to: map(to?),
            })
        }
        "reply_sent" => {
            no_from_to(errs);
            Some(EventFilter::ReplySent)
        }
        "customer_replied" => {
            no_from_to(errs);
            Some(EventFilter::CustomerReplied)
        }
        "note_type" => {
            no_from_to(errs);
            let kind = match e.value.as_ref().and_then(Value::as_str) {
                None if e.value.is_none() => NoteKind::Any,
                Some("--") => NoteKind::Any,
                Some("private") => NoteKind::Private,
                Some("public") => NoteKind::Public,
                _ => {
                    errs.push(
                        format!("{path}.value"),
                        ErrorCode::InvalidValue,
                        expected(&["private", "public", "--"]),
                    );
                    return None;
                }
            };
            Some(EventFilter::NoteAdded { kind })
        }
        _ => {
            errs.push(
                format!("{path}.field_name"),
                ErrorCode::InvalidValue,
                expected(EVENT_NAMES),
            );
            None
        }
    }
}

fn any_to_wire<T>(a: &AnyOr<T>, f: impl Fn(&T) -> Value) -> Value {
    match a {
        AnyOr::Any => json!("--"),
        AnyOr::Is(v) => f(v),
    }
}

fn event_to_wire(e: &EventFilter) -> EventJson {
    let ft = |name: &str, from: Value, to: Value| EventJson {
        field_name: name.to_owned(),
        from: Some(from),
        to: Some(to),
        value: None,
    };
    let opt = |o: Option<i64>| o.map_or(json!(""), |i| json!(i));
    match e {
        EventFilter::StatusChanged { from, to } => ft(
            "status",
            any_to_wire(from, |s| json!(s.0)),
            any_to_wire(to, |s| json!(s.0)),
        ),
        EventFilter::PriorityChanged { from, to } => ft(
            "priority",
            any_to_wire(from, |p| json!(p.code())),
            any_to_wire(to, |p| json!(p.code())),
        ),
        EventFilter::Assigned { from, to } => ft(
            "responder_id",
            any_to_wire(from, |a| opt(a.map(|a| a.0))),
            any_to_wire(to, |a| opt(a.map(|a| a.0))),
        ),
        EventFilter::GroupChanged { from, to } => ft(
            "group_id",
            any_to_wire(from, |g| opt(g.map(|g| g.0))),
            any_to_wire(to, |g| opt(g.map(|g| g.0))),
        ),
        EventFilter::ReplySent | EventFilter::CustomerReplied => EventJson {
            field_name: if *e == EventFilter::ReplySent {
                "reply_sent"
            } else {
                "customer_replied"
            }
            .to_owned(),
            from: None,
            to: None,
            value: None,
        },
        EventFilter::NoteAdded { kind } => EventJson {
            field_name: "note_type".to_owned(),
            from: None,
            to: None,
            value: Some(json!(match kind {
                NoteKind::Any => "--",
                NoteKind::Private => "private",
                NoteKind::Public => "public",
            })),
        },
    }
}

fn set_operator(errs: &mut ValidationErrors, json: &RuleJson) -> SetOperator {
    let Some(op) = json.operator.as_deref() else {
        return SetOperator::And;
    };
    let names: Vec<&str> = json.conditions.iter().map(|s| s.name.as_str()).collect();
    let lowered = op.trim().to_ascii_lowercase();
    match lowered.as_str() {
        "and" | "all" => return SetOperator::And,
        "or" | "any" => return SetOperator::Or,
        _ => {}
    }
    let tokens: Vec<&str> = op.split_whitespace().collect();
    let mut ops = BTreeSet::new();
    let mut set_names = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if i % 2 == 1 {
            ops.insert(t.to_ascii_lowercase());
        } else {
            set_names.push(*t);
        }
    }
    let op_ok = ops.len() == 1 && (ops.contains("and") || ops.contains("or"));
    if tokens.len() % 2 == 1 && op_ok && set_names == names {
        if ops.contains("or") {
            SetOperator::Or
        } else {
            SetOperator::And
        }
    } else {
        let example = if names.len() > 1 {
            format!("'{}' or '{}'", names.join(" and "), names.join(" or "))
        } else {
            "'and' or 'or'".to_owned()
        };
        errs.push(
            "operator",
            ErrorCode::InvalidValue,
            format!("It should be {example}"),
        );
        SetOperator::And
    }
}

fn condition_set(
    errs: &mut ValidationErrors,
    path: &str,
    rule_type: RuleType,
    set: &ConditionSetJson,
) -> Option<ConditionSet> {
    let match_type = match set.match_type.as_str() {
        "all" => Some(MatchType::All),
        "any" => Some(MatchType::Any),
        _ => {
            errs.push(
                format!("{path}.match_type"),
                ErrorCode::InvalidValue,
                expected(&["all", "any"]),
            );
            None
        }
    };
    if set.properties.is_empty() {
        errs.push(
            format!("{path}.properties"),
            ErrorCode::InvalidValue,
            "It should not be blank",
        );
    }
    let mut conditions = Vec::new();
    let mut ok = true;
    for (i, p) in set.properties.iter().enumerate() {
        match property(errs, &format!("{path}.properties[{i}]"), rule_type, p) {
            Some(c) => conditions.push(c),
            None => ok = false,
        }
    }
    (ok && !conditions.is_empty()).then_some(())?;
    Some(ConditionSet {
        name: set.name.clone(),
        match_type: match_type?,
        conditions,
    })
}

fn property(
    errs: &mut ValidationErrors,
    path: &str,
    rule_type: RuleType,
    p: &PropertyJson,
) -> Option<Condition> {
    let Some(resource) = ResourceType::parse(&p.resource_type) else {
        errs.push(
            format!("{path}.resource_type"),
            ErrorCode::InvalidValue,
            expected(&["ticket", "contact", "message"]),
        );
        return None;
    };
    let Some(field) = Field::parse(resource, &p.field_name) else {
        let names: Vec<&str> = Field::standard()
            .filter(|(r, _, _)| *r == resource)
            .map(|(_, n, _)| n)
            .collect();
        errs.push(
            format!("{path}.field_name"),
            ErrorCode::InvalidValue,
            expected(&names),
        );
        return None;
    };
    if !field.allowed_in(rule_type) {
        errs.push(
            format!("{path}.field_name"),
            ErrorCode::InvalidField,
            format!(
                "'{}' is not available in {} rules",
                p.field_name,
                rule_type_label(rule_type)
            ),
        );
        return None;
    }
    let kind = field.kind();
    let allowed = kind.operators();
    let operator = match Operator::parse(&p.operator) {
        Some(o) if allowed.contains(&o) => o,
        _ => {
            let names: Vec<&str> = allowed.iter().map(|o| o.as_str()).collect();
            errs.push(
                format!("{path}.operator"),
                ErrorCode::InvalidValue,
                expected(&names),
            );
            return None;
        }
    };
    let mut case_sensitive = false;
    let mut business_hours_id = None;
    for (k, v) in &p.extra {
        let kp = format!("{path}.{k}");
        match k.as_str() {
            "case_sensitive"
                if matches!(
                    kind,
                    FieldKind::Text
                        | FieldKind::Phone
                        | FieldKind::TextChoice
                        | FieldKind::Custom
                        | FieldKind::Tags
                ) =>
            {
                match v.as_bool() {
                    Some(b) => case_sensitive = b,
                    None => mismatch(errs, &kp, "Boolean", v),
                }
            }
            "business_hours_id" if kind == FieldKind::BusinessHours => {
                if !v.is_null() {
                    business_hours_id = positive_id(errs, &kp, v).map(BusinessHoursId);
                }
            }
            _ => errs.push(
                kp,
                ErrorCode::InvalidField,
                "Unexpected/invalid field in request",
            ),
        }
    }
    let operand = operand(
        errs,
        &format!("{path}.value"),
        &field,
        operator,
        p.value.as_ref(),
    )?;
    Some(Condition {
        field,
        operator,
        operand,
        case_sensitive,
        business_hours_id,
    })
}

fn rule_type_label(t: RuleType) -> &'static str {
    match t {
        RuleType::TicketCreation => "ticket creation",
        RuleType::TimeTriggers => "time trigger",
        RuleType::TicketUpdates => "ticket update",
    }
}

fn int_item(errs: &mut ValidationErrors, path: &str, field: &Field, v: &Value) -> Option<i64> {
    let Some(i) = v.as_i64() else {
        mismatch(errs, path, "Integer", v);
        return None;
    };
    let ok = match field {
        Field::Source => Source(i).is_valid(),
        Field::Status => Status(i).is_valid(),
        Field::Priority => Priority::from_code(i).is_some(),
        Field::GroupId | Field::ResponderId | Field::WhatsappNumber => i > 0,
        Field::ContactCountryCode => (1..=999).contains(&i),
        _ => true,
    };
    if !ok {
        let msg = match field {
            Field::Source => {
                "It should be a ticket source code from 1 to 13 (13 is WhatsApp)".to_owned()
            }
            Field::Status => "It should be a status code of 2 or more".to_owned(),
            Field::Priority => expected(&["1", "2", "3", "4"]),
            Field::ContactCountryCode => {
                "It should be a country calling code from 1 to 999".to_owned()
            }
            _ => "It should be a positive id".to_owned(),
        };
        errs.push(path, ErrorCode::InvalidValue, msg);
        return None;
    }
    Some(i)
}

fn text_item(
    errs: &mut ValidationErrors,
    path: &str,
    field: &Field,
    operator: Operator,
    v: &Value,
) -> Option<String> {
    let Some(s) = v.as_str() else {
        mismatch(errs, path, "String", v);
        return None;
    };
    if *field == Field::MessageType && !MESSAGE_TYPES.contains(&s) {
        errs.push(path, ErrorCode::InvalidValue, expected(MESSAGE_TYPES));
        return None;
    }
    let needs_text = !matches!(
        operator,
        Operator::Is | Operator::IsNot | Operator::In | Operator::NotIn
    ) || field.kind() == FieldKind::Tags;
    if needs_text && s.trim().is_empty() {
        errs.push(path, ErrorCode::InvalidValue, "It should not be blank");
        return None;
    }
    Some(s.to_owned())
}

fn operand(
    errs: &mut ValidationErrors,
    path: &str,
    field: &Field,
    operator: Operator,
    value: Option<&Value>,
) -> Option<Operand> {
    let kind = field.kind();
    let blank = match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    if operator.is_unary() {
        if !blank {
            errs.push(
                path,
                ErrorCode::InvalidField,
                format!("Operator '{}' takes no value", operator.as_str()),
            );
            return None;
        }
        return Some(Operand::None);
    }
    let Some(value) = value.filter(|v| !v.is_null()) else {
        errs.push(path, ErrorCode::MissingField, "It should be specified");
        return None;
    };
    if operator == Operator::During {
        return match value.as_str() {
            Some("business_hours") => Some(Operand::BusinessHours(true)),
            Some("non_business_hours") => Some(Operand::BusinessHours(false)),
            Some(_) => {
                errs.push(
                    path,
                    ErrorCode::InvalidValue,
                    expected(&["business_hours", "non_business_hours"]),
                );
                None
            }
            None => {
                mismatch(errs, path, "String", value);
                None
            }
        };
    }
    let int_kind = matches!(
        kind,
        FieldKind::Choice
            | FieldKind::Ordinal
            | FieldKind::OptionalId
            | FieldKind::Number
            | FieldKind::Hours
    );
    if kind == FieldKind::Bool {
        return match value.as_bool() {
            Some(b) => Some(Operand::Bool(b)),
            None => {
                mismatch(errs, path, "Boolean", value);
                None
            }
        };
    }
    if kind == FieldKind::Custom {
        let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
        let ok = match value {
            Value::Array(a) if operator.takes_list() => !a.is_empty() && a.iter().all(scalar),
            v if operator.takes_list() => scalar(v),
            v => scalar(v),
        };
        if !ok {
            mismatch(
                errs,
                path,
                if operator.takes_list() {
                    "Array of String/Number/Boolean"
                } else {
                    "String/Number/Boolean"
                },
                value,
            );
            return None;
        }
        let v = match value {
            Value::Array(_) => value.clone(),
            v if operator.takes_list() => Value::Array(vec![v.clone()]),
            v => v.clone(),
        };
        return Some(Operand::Json(v));
    }
    if operator.takes_list() {
        let items: Vec<&Value> = match value {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        if items.is_empty() {
            errs.push(path, ErrorCode::InvalidValue, "It should not be blank");
            return None;
        }
        let mut ok = true;
        if int_kind {
            let mut out = Vec::new();
            for (i, v) in items.iter().enumerate() {
                match int_item(errs, &format!("{path}[{i}]"), field, v) {
                    Some(x) => out.push(x),
                    None => ok = false,
                }
            }
            return ok.then_some(Operand::Ints(out));
        }
        let mut out = Vec::new();
        for (i, v) in items.iter().enumerate() {
            match text_item(errs, &format!("{path}[{i}]"), field, operator, v) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        return ok.then_some(Operand::Texts(out));
    }
    if int_kind {
        if kind == FieldKind::Hours {
            let Some(h) = value.as_i64() else {
                mismatch(errs, path, "Integer", value);
                return None;
            };
            let since = !matches!(
                field,
                Field::HoursUntilDue | Field::HoursUntilFrDue | Field::HoursUntilNrDue
            );
            if since && h < 0 {
                errs.push(
                    path,
                    ErrorCode::InvalidValue,
                    "It should be 0 or more hours",
                );
                return None;
            }
            return Some(Operand::Int(h));
        }
        return int_item(errs, path, field, value).map(Operand::Int);
    }
    text_item(errs, path, field, operator, value).map(Operand::Text)
}

fn condition_to_wire(c: &Condition) -> PropertyJson {
    let value = match &c.operand {
        Operand::None => None,
        Operand::Int(i) => Some(json!(i)),
        Operand::Ints(v) => Some(json!(v)),
        Operand::Text(s) => Some(json!(s)),
        Operand::Texts(v) => Some(json!(v)),
        Operand::Bool(b) => Some(json!(b)),
        Operand::BusinessHours(true) => Some(json!("business_hours")),
        Operand::BusinessHours(false) => Some(json!("non_business_hours")),
        Operand::Json(v) => Some(v.clone()),
    };
    let mut extra = Map::new();
    if c.case_sensitive {
        extra.insert("case_sensitive".to_owned(), json!(true));
    }
    if let Some(b) = c.business_hours_id {
        extra.insert("business_hours_id".to_owned(), json!(b.0));
    }
    PropertyJson {
        resource_type: c.field.resource().as_str().to_owned(),
        field_name: c.field.wire_name(),
        operator: c.operator.as_str().to_owned(),
        value,
        extra,
    }
}

const ACTION_NAMES: &[&str] = &[
    "priority",
    "status",
    "ticket_type",
    "group_id",
    "responder_id",
    "assign_round_robin",
    "assign_least_loaded",
    "add_tag",
    "remove_tag",
    "add_note",
    "send_whatsapp_template",
    "send_whatsapp_reply",
    "trigger_webhook",
    "apply_sla_policy",
    "mark_as_spam",
];

fn tags(errs: &mut ValidationErrors, path: &str, v: Option<&Value>) -> Option<Vec<String>> {
    let Some(v) = v else {
        errs.push(path, ErrorCode::MissingField, "It should be specified");
        return None;
    };
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    if items.is_empty() {
        errs.push(path, ErrorCode::InvalidValue, "It should not be blank");
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, t) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match t.as_str() {
            Some(s)
                if !s.trim().is_empty() && !s.contains(',') && s.trim().chars().count() <= 255 =>
            {
                out.push(s.trim().to_owned());
            }
            Some(_) => {
                errs.push(
                    p,
                    ErrorCode::InvalidValue,
                    "A tag must be 1 to 255 characters without commas",
                );
                ok = false;
            }
            None => {
                mismatch(errs, &p, "String", t);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn action(errs: &mut ValidationErrors, path: &str, a: &ActionJson) -> Option<Action> {
    let vp = format!("{path}.value");
    let allowed_extra: &[&str] = match a.field_name.as_str() {
        "add_note" => &["note_body", "notify_agents"],
        "trigger_webhook" => &[
            "request_type",
            "url",
            "content_type",
            "content",
            "custom_headers",
        ],
        _ => &[],
    };
    for k in a.extra.keys() {
        if !allowed_extra.contains(&k.as_str()) {
            errs.push(
                format!("{path}.{k}"),
                ErrorCode::InvalidField,
                "Unexpected/invalid field in request",
            );
        }
    }
    let required = |errs: &mut ValidationErrors| -> Option<&Value> {
        let v = a.value.as_ref().filter(|v| !v.is_null());
        if v.is_none() {
            errs.push(
                vp.as_str(),
                ErrorCode::MissingField,
                "It should be specified",
            );
        }
        v
    };
    let no_value = |errs: &mut ValidationErrors| {
        if a.value.as_ref().is_some_and(|v| !v.is_null()) {
            errs.push(
                vp.as_str(),
                ErrorCode::InvalidField,
                format!("'{}' takes no value", a.field_name),
            );
        }
    };
    match a.field_name.as_str() {
        "priority" => {
            let v = required(errs)?;
            parse_priority(errs, &vp, v)
        }
        .map(|priority| Action::SetPriority { priority }),
        "status" => {
            let v = required(errs)?;
            parse_status(errs, &vp, v)
        }
        .map(|status| Action::SetStatus { status }),
        "ticket_type" => {
            let v = required(errs)?;
            non_empty_str(errs, &vp, v)
        }
        .map(|ticket_type| Action::SetType { ticket_type }),
        "group_id" => {
            let v = required(errs)?;
            positive_id(errs, &vp, v)
        }
        .map(|g| Action::SetGroup { group: GroupId(g) }),
        "responder_id" => {
            let v = required(errs)?;
            positive_id(errs, &vp, v)
        }
        .map(|g| Action::SetAgent { agent: AgentId(g) }),
        "assign_round_robin" | "assign_least_loaded" => {
            let group = match a.value.as_ref().filter(|v| !v.is_null()) {
                None => None,
                Some(v) => Some(GroupId(positive_id(errs, &vp, v)?)),
            };
            Some(if a.field_name == "assign_round_robin" {
                Action::AssignRoundRobin { group }
            } else {
                Action::AssignLeastLoaded { group }
            })
        }
        "add_tag" => tags(errs, &vp, a.value.as_ref()).map(|tags| Action::AddTags { tags }),
        "remove_tag" => tags(errs, &vp, a.value.as_ref()).map(|tags| Action::RemoveTags { tags }),
        "add_note" => {
            no_value(errs);
            let bp = format!("{path}.note_body");
            let body = match a.extra.get("note_body") {
                Some(v) => non_empty_str(errs, &bp, v),
                None => {
                    errs.push(bp, ErrorCode::MissingField, "It should be specified");
                    None
                }
            };
            let mut notify_agents = Vec::new();
            if let Some(v) = a.extra.get("notify_agents") {
                let np = format!("{path}.notify_agents");
                match v.as_array() {
                    Some(items) => {
                        for (i, x) in items.iter().enumerate() {
                            notify_agents.push(AgentId(positive_id(
                                errs,
                                &format!("{np}[{i}]"),
                                x,
                            )?));
                        }
                    }
                    None => {
                        mismatch(errs, &np, "Array", v);
                        return None;
                    }
                }
            }
            Some(Action::AddNote {
                body: body?,
                notify_agents,
            })
        }
        "send_whatsapp_template" => {
            let v = required(errs)?;
            let Some(obj) = v.as_object() else {
                mismatch(errs, &vp, "Object", v);
                return None;
            };
            for k in obj.keys() {
                if !["name", "language", "components"].contains(&k.as_str()) {
                    errs.push(
                        format!("{vp}.{k}"),
                        ErrorCode::InvalidField,
                        "Unexpected/invalid field in request",
                    );
                }
            }
            let field = |errs: &mut ValidationErrors, k: &str| match obj.get(k) {
                Some(x) => non_empty_str(errs, &format!("{vp}.{k}"), x),
                None => {
                    errs.push(
                        format!("{vp}.{k}"),
                        ErrorCode::MissingField,
                        "It should be specified",
                    );
                    None
                }
            };
            let name = field(errs, "name");
            let language = field(errs, "language");
            let components = obj.get("components").cloned();
            if let Some(c) = &components
                && !c.is_array()
            {
                mismatch(errs, &format!("{vp}.components"), "Array", c);
                return None;
            }
            Some(Action::SendTemplate {
                template: TemplateSpec {
                    name: name?,
                    language: language?,
                    components,
                },
            })
        }
        "send_whatsapp_reply" => {
            let body = {
                let v = required(errs)?;
                non_empty_str(errs, &vp, v)
            }?;
            if body.chars().count() > MAX_REPLY_LEN {
                errs.push(
                    vp,
                    ErrorCode::InvalidValue,
                    format!("It can have maximum of {MAX_REPLY_LEN} characters"),
                );
                return None;
            }
            Some(Action::SendReply { body })
        }
        "trigger_webhook" => {
            no_value(errs);
            webhook(errs, path, &a.extra).map(|webhook| Action::TriggerWebhook { webhook })
        }
        "apply_sla_policy" => {
            let v = required(errs)?;
            positive_id(errs, &vp, v)
        }
        .map(|p| Action::ApplySlaPolicy {
            policy: SlaPolicyId(p),
        }),
        "mark_as_spam" => match a.value.as_ref() {
            None | Some(Value::Null) | Some(Value::Bool(true)) => Some(Action::MarkSpam),
            Some(v) => {
                errs.push(
                    vp,
                    ErrorCode::InvalidValue,
                    format!("It should be true or absent (got {v})"),
                );
                None
            }
        },
        _ => {
            errs.push(
                format!("{path}.field_name"),
                ErrorCode::InvalidValue,
                expected(ACTION_NAMES),
            );
            None
        }
    }
}

fn webhook(
    errs: &mut ValidationErrors,
    path: &str,
    extra: &Map<String, Value>,
) -> Option<WebhookSpec> {
    let rp = format!("{path}.request_type");
    let method = match extra.get("request_type") {
        None => {
            errs.push(rp, ErrorCode::MissingField, "It should be specified");
            None
        }
        Some(v) => match v.as_str().map(str::to_ascii_uppercase).as_deref() {
            Some("GET") => Some(HttpMethod::Get),
            Some("POST") => Some(HttpMethod::Post),
            Some("PUT") => Some(HttpMethod::Put),
            Some("PATCH") => Some(HttpMethod::Patch),
            Some("DELETE") => Some(HttpMethod::Delete),
            Some(_) => {
                errs.push(
                    rp,
                    ErrorCode::InvalidValue,
                    expected(&["GET", "POST", "PUT", "PATCH", "DELETE"]),
                );
                None
            }
            None => {
                mismatch(errs, &rp, "String", v);
                None
            }
        },
    };
    let up = format!("{path}.url");
    let url = match extra.get("url") {
        None => {
            errs.push(up, ErrorCode::MissingField, "It should be specified");
            None
        }
        Some(v) => match v.as_str() {
            Some(u)
                if (u.starts_with("https://") || u.starts_with("http://"))
                    && u.len() > 8
                    && !u.contains(char::is_whitespace) =>
            {
                Some(u.to_owned())
            }
            Some(_) => {
                errs.push(
                    up,
                    ErrorCode::InvalidValue,
                    "It should be an http:// or https:// URL",
                );
                None
            }
            None => {
                mismatch(errs, &up, "String", v);
                None
            }
        },
    };
    let cp = format!("{path}.content_type");
    let content_type = match extra.get("content_type") {
        None | Some(Value::Null) => Some(WebhookContentType::Json),
        Some(v) => match v.as_str() {
            Some("JSON") => Some(WebhookContentType::Json),
            Some("XML") => Some(WebhookContentType::Xml),
            Some("X-FORM-URLENCODED") => Some(WebhookContentType::FormUrlEncoded),
            _ => {
                errs.push(
                    cp,
                    ErrorCode::InvalidValue,
                    expected(&["JSON", "XML", "X-FORM-URLENCODED"]),
                );
                None
            }
        },
    };
    let mut custom_headers = BTreeMap::new();
    if let Some(h) = extra.get("custom_headers").filter(|v| !v.is_null()) {
        let hp = format!("{path}.custom_headers");
        match h.as_object() {
            Some(o) => {
                for (k, v) in o {
                    match v.as_str() {
                        Some(s) => {
                            custom_headers.insert(k.clone(), s.to_owned());
                        }
                        None => mismatch(errs, &format!("{hp}.{k}"), "String", v),
                    }
                }
            }
            None => mismatch(errs, &hp, "Object", h),
        }
    }
    Some(WebhookSpec {
        method: method?,
        url: url?,
        content_type: content_type?,
        content: extra.get("content").filter(|v| !v.is_null()).cloned(),
        custom_headers,
    })
}

fn action_to_wire(a: &Action) -> ActionJson {
    let simple = |name: &str, value: Option<Value>| ActionJson {
        field_name: name.to_owned(),
        value,
        extra: Map::new(),
    };
    match a {
        Action::SetPriority { priority } => simple("priority", Some(json!(priority.code()))),
        Action::SetStatus { status } => simple("status", Some(json!(status.0))),
        Action::SetType { ticket_type } => simple("ticket_type", Some(json!(ticket_type))),
        Action::SetGroup { group } => simple("group_id", Some(json!(group.0))),
        Action::SetAgent { agent } => simple("responder_id", Some(json!(agent.0))),
        Action::AssignRoundRobin { group } => {
            simple("assign_round_robin", group.map(|g| json!(g.0)))
        }
        Action::AssignLeastLoaded { group } => {
            simple("assign_least_loaded", group.map(|g| json!(g.0)))
        }
        Action::AddTags { tags } => simple("add_tag", Some(json!(tags))),
        Action::RemoveTags { tags } => simple("remove_tag", Some(json!(tags))),
        Action::AddNote {
            body,
            notify_agents,
        } => {
            let mut extra = Map::new();
            extra.insert("note_body".to_owned(), json!(body));
            if !notify_agents.is_empty() {
                extra.insert(
                    "notify_agents".to_owned(),
                    json!(notify_agents.iter().map(|a| a.0).collect::<Vec<_>>()),
                );
            }
            ActionJson {
                field_name: "add_note".to_owned(),
                value: None,
                extra,
            }
        }
        Action::SendTemplate { template } => {
            simple("send_whatsapp_template", Some(json!(template)))
        }
        Action::SendReply { body } => simple("send_whatsapp_reply", Some(json!(body))),
        Action::TriggerWebhook { webhook } => {
            let mut extra = Map::new();
            extra.insert("request_type".to_owned(), json!(webhook.method));
            extra.insert("url".to_owned(), json!(webhook.url));
            extra.insert("content_type".to_owned(), json!(webhook.content_type));
            if let Some(c) = &webhook.content {
                extra.insert("content".to_owned(), c.clone());
            }
            if !webhook.custom_headers.is_empty() {
                extra.insert("custom_headers".to_owned(), json!(webhook.custom_headers));
            }
            ActionJson {
                field_name: "trigger_webhook".to_owned(),
                value: None,
                extra,
            }
        }
        Action::ApplySlaPolicy { policy } => simple("apply_sla_policy", Some(json!(policy.0))),
        Action::MarkSpam => simple("mark_as_spam", None),
    }
}
