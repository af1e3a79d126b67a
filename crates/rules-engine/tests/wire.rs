//! The CONTRACT JSON shape: round trips and field-level validation errors.

mod common;
use common::*;
use rules_engine::*;
use serde_json::json;

/// SOURCE: CONTRACT section 4 "Automation rules" (the example rule, verbatim apart from the values).
fn contract_example() -> serde_json::Value {
    json!({
        "name": "WhatsApp to the WhatsApp desk",
        "position": 1,
        "active": true,
        "conditions": [{"name": "set1", "match_type": "all", "properties": [
            {"resource_type": "ticket", "field_name": "source", "operator": "in", "value": [13]}
        ]}],
        "actions": [{"field_name": "responder_id", "value": 7}]
    })
}

#[test]
fn contract_example_round_trips_exactly_through_serde_and_the_typed_model() {
    let body = contract_example();
    let wire = RuleJson::from_value(&body).unwrap();
    assert_eq!(
        serde_json::to_value(&wire).unwrap(),
        body,
        "serde data round trip"
    );
    let rule = Rule::from_wire(RuleId(9), RuleType::TicketCreation, &wire).unwrap();
    assert_eq!(rule.position, 1);
    assert!(rule.active);
    assert_eq!(
        rule.condition_sets[0].conditions[0],
        Condition {
            field: Field::Source,
            operator: Operator::In,
            operand: Operand::Ints(vec![13]),
            case_sensitive: false,
            business_hours_id: None,
        }
    );
    assert_eq!(rule.actions, vec![Action::SetAgent { agent: AgentId(7) }]);
    assert_eq!(rule.to_wire().to_value(), body, "typed model round trip");
}

#[test]
fn full_update_rule_round_trips() {
    let body = json!({
        "name": "Escalate angry VIPs",
        "position": 3,
        "active": false,
        "performer": {"type": 2},
        "events": [
            {"field_name": "customer_replied"},
            {"field_name": "status", "from": 4, "to": "--"},
            {"field_name": "priority", "from": "--", "to": 4},
            {"field_name": "responder_id", "from": "", "to": 7},
            {"field_name": "group_id", "from": "--", "to": ""},
            {"field_name": "note_type", "value": "private"},
            {"field_name": "reply_sent"}
        ],
        "conditions": [
            {"name": "condition_set_1", "match_type": "any", "properties": [
                {"resource_type": "ticket", "field_name": "tag_names", "operator": "contains_any_of", "value": ["vip"]},
                {"resource_type": "contact", "field_name": "plan", "operator": "is", "value": "Gold"},
                {"resource_type": "message", "field_name": "body", "operator": "contains_any_of", "value": ["angry", "lawyer"], "case_sensitive": true}
            ]},
            {"name": "condition_set_2", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "updated_at", "operator": "during", "value": "non_business_hours", "business_hours_id": 2},
                {"resource_type": "ticket", "field_name": "group_id", "operator": "is_empty"}
            ]}
        ],
        "operator": "condition_set_1 or condition_set_2",
        "actions": [
            {"field_name": "priority", "value": 4},
            {"field_name": "status", "value": 2},
            {"field_name": "ticket_type", "value": "Incident"},
            {"field_name": "group_id", "value": 3},
            {"field_name": "assign_round_robin", "value": 3},
            {"field_name": "assign_least_loaded"},
            {"field_name": "add_tag", "value": ["escalated"]},
            {"field_name": "remove_tag", "value": ["calm"]},
            {"field_name": "add_note", "note_body": "Customer is upset", "notify_agents": [7, 8]},
            {"field_name": "send_whatsapp_template", "value": {"name": "we_are_on_it", "language": "en_US", "components": []}},
            {"field_name": "send_whatsapp_reply", "value": "We are on it."},
            {"field_name": "trigger_webhook", "request_type": "POST", "url": "https://hooks.example.com/x", "content_type": "JSON", "content": {"id": "{{ticket.id}}"}, "custom_headers": {"X-Key": "k"}},
            {"field_name": "apply_sla_policy", "value": 2},
            {"field_name": "mark_as_spam"}
        ]
    });
    let rule = Rule::from_json_value(RuleId(1), RuleType::TicketUpdates, &body).unwrap();
    assert_eq!(rule.set_operator, SetOperator::Or);
    assert_eq!(rule.performer, Some(PerformerFilter::Requester));
    assert_eq!(rule.events.len(), 7);
    assert_eq!(
        rule.events[3],
        EventFilter::Assigned {
            from: AnyOr::Is(None),
            to: AnyOr::Is(Some(AgentId(7)))
        }
    );
    assert_eq!(rule.actions.len(), 14);
    assert_eq!(rule.to_wire().to_value(), body);
}

#[test]
fn aliases_are_accepted_and_serialised_canonically() {
    let body = rule_json(
        "aliases",
        2,
        json!([
            {"resource_type": "ticket", "field_name": "tags", "operator": "in", "value": "vip"},
            {"resource_type": "requester", "field_name": "mobile", "operator": "starts_with", "value": "+44"},
            {"resource_type": "ticket", "field_name": "subject", "operator": "matches_any_word", "value": "refund"},
            {"resource_type": "contact", "field_name": "cf_plan", "operator": "is", "value": "Gold"}
        ]),
        json!([{"field_name": "add_tag", "value": "x"}]),
    );
    let out = rule(1, RuleType::TicketCreation, &body)
        .to_wire()
        .to_value();
    let props = &out["conditions"][0]["properties"];
    assert_eq!(
        props[0],
        json!({"resource_type": "ticket", "field_name": "tag_names", "operator": "in", "value": ["vip"]})
    );
    assert_eq!(
        props[1],
        json!({"resource_type": "contact", "field_name": "phone", "operator": "starts_with", "value": "+44"})
    );
    assert_eq!(props[2]["operator"], "contains_any_of");
    assert_eq!(props[2]["value"], json!(["refund"]));
    assert_eq!(props[3]["field_name"], "plan");
    assert_eq!(out["actions"][0]["value"], json!(["x"]));
}

#[test]
fn read_only_keys_are_ignored_and_defaults_apply() {
    let body = json!({"id": 5, "created_at": "2025-01-01T00:00:00Z", "name": "n",
                      "actions": [{"field_name": "mark_as_spam", "value": true}]});
    let r = Rule::from_json_value(RuleId(5), RuleType::TicketCreation, &body).unwrap();
    assert!(r.active, "active defaults to true");
    assert_eq!(r.position, i64::MAX, "absent position sorts last");
    assert!(r.condition_sets.is_empty());
    assert_eq!(
        r.to_wire().to_value(),
        json!({"name": "n", "active": true, "conditions": [],
                                             "actions": [{"field_name": "mark_as_spam"}]})
    );
}

#[test]
fn settings_shape() {
    let s: AutomationSettings =
        serde_json::from_value(json!({"execution_mode": "first_matching"})).unwrap();
    assert_eq!(s.execution_mode, ExecutionMode::FirstMatching);
    assert_eq!(
        serde_json::to_value(AutomationSettings {
            execution_mode: ExecutionMode::AllMatching
        })
        .unwrap(),
        json!({"execution_mode": "all_matching"})
    );
    assert_eq!(
        RuleType::TicketCreation.default_execution_mode(),
        ExecutionMode::FirstMatching
    );
    assert_eq!(
        RuleType::TicketUpdates.default_execution_mode(),
        ExecutionMode::AllMatching
    );
    assert_eq!(
        RuleType::TimeTriggers.default_execution_mode(),
        ExecutionMode::AllMatching
    );
    assert_eq!(RuleType::from_code(3), Some(RuleType::TimeTriggers));
    assert_eq!(RuleType::TicketUpdates.code(), 4);
    assert!(matches!(
        RuleType::parse_code(2),
        Err(RulesError::UnknownRuleType(2))
    ));
}

fn errors(rule_type: RuleType, body: serde_json::Value) -> ValidationErrors {
    match Rule::from_json_value(RuleId(1), rule_type, &body) {
        Ok(r) => panic!("expected errors, got {r:?}"),
        Err(e) => e,
    }
}

fn has(errs: &ValidationErrors, field: &str, code: ErrorCode) -> bool {
    errs.errors
        .iter()
        .any(|e| e.field == field && e.code == code)
}

#[test]
fn structural_errors_have_paths_and_answer_400() {
    let e = errors(
        RuleType::TicketCreation,
        json!({
            "position": "1",
            "active": "yes",
            "colour": "red",
            "conditions": [{"name": "s", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "source", "value": [13]},
                "not an object"
            ]}],
            "actions": {}
        }),
    );
    assert!(has(&e, "name", ErrorCode::MissingField), "{e}");
    assert!(has(&e, "position", ErrorCode::DatatypeMismatch), "{e}");
    assert!(has(&e, "active", ErrorCode::DatatypeMismatch), "{e}");
    assert!(has(&e, "colour", ErrorCode::InvalidField), "{e}");
    assert!(
        has(
            &e,
            "conditions[0].properties[0].operator",
            ErrorCode::MissingField
        ),
        "{e}"
    );
    assert!(
        has(
            &e,
            "conditions[0].properties[1]",
            ErrorCode::DatatypeMismatch
        ),
        "{e}"
    );
    assert!(has(&e, "actions", ErrorCode::DatatypeMismatch), "{e}");
    assert_eq!(e.http_status(), 400);
    let j = e.to_json();
    assert_eq!(j["description"], "Validation failed");
    assert_eq!(j["errors"][0]["field"], "colour");
    assert!(j["errors"][0]["message"].is_string() && j["errors"][0]["code"].is_string());
    let e = errors(RuleType::TicketCreation, json!([1, 2]));
    assert!(has(&e, "body", ErrorCode::DatatypeMismatch));
}

#[test]
fn semantic_errors_have_paths_and_answer_422() {
    let e = errors(
        RuleType::TicketCreation,
        json!({
            "name": "  ",
            "position": 0,
            "conditions": [
                {"name": "a", "match_type": "some", "properties": [
                    {"resource_type": "ticket", "field_name": "priority", "operator": "is", "value": 9},
                    {"resource_type": "ticket", "field_name": "source", "operator": "resembles", "value": 13},
                    {"resource_type": "ticket", "field_name": "colour", "operator": "is", "value": 1},
                    {"resource_type": "company", "field_name": "name", "operator": "is", "value": "x"},
                    {"resource_type": "message", "field_name": "message_type", "operator": "is", "value": "fax"},
                    {"resource_type": "ticket", "field_name": "status", "operator": "in", "value": [2, "3"]}
                ]},
                {"name": "a", "match_type": "all", "properties": []}
            ],
            "operator": "a xor a",
            "actions": [
                {"field_name": "priority", "value": 7},
                {"field_name": "teleport", "value": 1},
                {"field_name": "responder_id"},
                {"field_name": "add_note"},
                {"field_name": "trigger_webhook", "request_type": "FETCH", "url": "ftp://x"},
                {"field_name": "send_whatsapp_template", "value": {"name": "t"}},
                {"field_name": "add_tag", "value": ["ok", "a,b"]},
                {"field_name": "status", "value": 2, "colour": 1}
            ]
        }),
    );
    for (field, code) in [
        ("name", ErrorCode::InvalidValue),
        ("position", ErrorCode::InvalidValue),
        ("conditions[0].match_type", ErrorCode::InvalidValue),
        ("conditions[0].properties[0].value", ErrorCode::InvalidValue),
        (
            "conditions[0].properties[1].operator",
            ErrorCode::InvalidValue,
        ),
        (
            "conditions[0].properties[2].field_name",
            ErrorCode::InvalidValue,
        ),
        (
            "conditions[0].properties[3].resource_type",
            ErrorCode::InvalidValue,
        ),
        ("conditions[0].properties[4].value", ErrorCode::InvalidValue),
        (
            "conditions[0].properties[5].value[1]",
            ErrorCode::DatatypeMismatch,
        ),
        ("conditions[1].name", ErrorCode::DuplicateValue),
        ("conditions[1].properties", ErrorCode::InvalidValue),
        ("operator", ErrorCode::InvalidValue),
        ("actions[0].value", ErrorCode::InvalidValue),
        ("actions[1].field_name", ErrorCode::InvalidValue),
        ("actions[2].value", ErrorCode::MissingField),
        ("actions[3].note_body", ErrorCode::MissingField),
        ("actions[4].request_type", ErrorCode::InvalidValue),
        ("actions[4].url", ErrorCode::InvalidValue),
        ("actions[5].value.language", ErrorCode::MissingField),
        ("actions[6].value[1]", ErrorCode::InvalidValue),
        ("actions[7].colour", ErrorCode::InvalidField),
    ] {
        assert!(
            has(&e, field, code),
            "expected {code} at {field}; got {}",
            e.to_json()
        );
    }
    // The one datatype error makes it a 400; without it the same body is a 422.
    assert_eq!(e.http_status(), 400);
    let e = errors(
        RuleType::TicketCreation,
        rule_json(
            "x",
            1,
            json!([p("ticket", "priority", "is", json!(9))]),
            json!([{"field_name": "priority", "value": 2}]),
        ),
    );
    assert_eq!(e.http_status(), 422);
}

#[test]
fn rule_type_specific_checks() {
    // Update rules need events; other types reject events and performer.
    let base = rule_json(
        "x",
        1,
        json!([p("ticket", "source", "is", json!(13))]),
        json!([{"field_name": "priority", "value": 2}]),
    );
    let e = errors(RuleType::TicketUpdates, base.clone());
    assert!(has(&e, "events", ErrorCode::MissingField));
    let mut with_events = base.clone();
    with_events["events"] = json!([{"field_name": "reply_sent"}]);
    with_events["performer"] = json!({"type": 1, "members": [4]});
    assert!(Rule::from_json_value(RuleId(1), RuleType::TicketUpdates, &with_events).is_ok());
    let e = errors(RuleType::TicketCreation, with_events.clone());
    assert!(has(&e, "events", ErrorCode::InvalidField));
    assert!(has(&e, "performer", ErrorCode::InvalidField));
    with_events["performer"] = json!({"type": 2, "members": [4]});
    with_events["events"] = json!([{"field_name": "status", "from": 1}, {"field_name": "reply_sent", "to": 2}, {"field_name": "mood"}]);
    let e = errors(RuleType::TicketUpdates, with_events);
    assert!(has(&e, "performer.members", ErrorCode::InvalidField), "{e}");
    assert!(has(&e, "events[0].from", ErrorCode::InvalidValue), "{e}");
    assert!(has(&e, "events[1].to", ErrorCode::InvalidField), "{e}");
    assert!(
        has(&e, "events[2].field_name", ErrorCode::InvalidValue),
        "{e}"
    );
    // Hour counters only in time triggers; message fields not in time triggers.
    let hourly = rule_json(
        "x",
        1,
        json!([p(
            "ticket",
            "hours_since_created",
            "greater_than",
            json!(24)
        )]),
        json!([{"field_name": "status", "value": 5}]),
    );
    assert!(Rule::from_json_value(RuleId(1), RuleType::TimeTriggers, &hourly).is_ok());
    assert!(has(
        &errors(RuleType::TicketCreation, hourly),
        "conditions[0].properties[0].field_name",
        ErrorCode::InvalidField
    ));
    let msg = rule_json(
        "x",
        1,
        json!([p("message", "body", "contains", json!("hi"))]),
        json!([{"field_name": "status", "value": 5}]),
    );
    assert!(has(
        &errors(RuleType::TimeTriggers, msg),
        "conditions[0].properties[0].field_name",
        ErrorCode::InvalidField
    ));
    // Unary operators take no value; others need one.
    let e = errors(
        RuleType::TicketCreation,
        rule_json(
            "x",
            1,
            json!([
                p("ticket", "group_id", "is_empty", json!(3)),
                p("ticket", "group_id", "is", serde_json::Value::Null)
            ]),
            json!([{"field_name": "status", "value": 5}]),
        ),
    );
    assert!(
        has(
            &e,
            "conditions[0].properties[0].value",
            ErrorCode::InvalidField
        ),
        "{e}"
    );
    assert!(
        has(
            &e,
            "conditions[0].properties[1].value",
            ErrorCode::MissingField
        ),
        "{e}"
    );
    // Set operator must name the sets in order.
    let mut two = rule_json(
        "x",
        1,
        json!([p("ticket", "source", "is", json!(13))]),
        json!([{"field_name": "status", "value": 5}]),
    );
    two["conditions"] = json!([two["conditions"][0].clone(), {"name": "set2", "match_type": "any", "properties": [p("ticket", "priority", "is", json!(1))]}]);
    two["operator"] = json!("set2 and set1");
    assert!(has(
        &errors(RuleType::TicketCreation, two.clone()),
        "operator",
        ErrorCode::InvalidValue
    ));
    two["operator"] = json!("set1 or set2");
    assert_eq!(
        rule(1, RuleType::TicketCreation, &two).set_operator,
        SetOperator::Or
    );
    two["operator"] = json!("and");
    assert_eq!(
        rule(1, RuleType::TicketCreation, &two).set_operator,
        SetOperator::And
    );
}
