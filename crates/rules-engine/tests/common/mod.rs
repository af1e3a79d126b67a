//! Shared test helpers: build rules from JSON (so tests go through the real parser) and run them.
#![allow(dead_code, unreachable_pub)]

use rules_engine::*;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

pub const NOW: OffsetDateTime = datetime!(2025-03-03 10:00 UTC);

pub fn ticket() -> TicketView {
    let mut t = TicketView::new(TicketId(100), NOW - time::Duration::hours(5));
    t.subject = "Order #123 not delivered".into();
    t.description_text = "Hello, my parcel is late. Refund please!".into();
    t.tags = vec!["VIP".into(), "delivery".into()];
    t.group_id = Some(GroupId(3));
    t.responder_id = Some(AgentId(7));
    t.whatsapp_number_id = Some(NumberId(2));
    t.ticket_type = Some("Question".into());
    t.requester = RequesterView {
        name: "Maria da Silva".into(),
        phone: Some("+55 (11) 91234-5678".into()),
        country_calling_code: Some(55),
        language: Some("pt-BR".into()),
        custom_fields: [
            ("plan".to_owned(), json!("Gold")),
            ("orders".to_owned(), json!(12)),
            ("vip".to_owned(), json!(true)),
        ]
        .into_iter()
        .collect(),
    };
    t
}

pub fn message() -> MessageView {
    MessageView {
        body_text: "Hi! I saw your ad about the Summer Sale".into(),
        message_type: "image".into(),
        has_attachment: true,
        from_ad_referral: true,
        timestamp: NOW - time::Duration::minutes(1),
    }
}

pub fn rule_json(name: &str, position: i64, props: Value, actions: Value) -> Value {
    json!({
        "name": name, "position": position, "active": true,
        "conditions": [{"name": "set1", "match_type": "all", "properties": props}],
        "actions": actions,
    })
}

pub fn rule(id: i64, rule_type: RuleType, body: &Value) -> Rule {
    match Rule::from_json_value(RuleId(id), rule_type, body) {
        Ok(r) => r,
        Err(e) => panic!("rule {id} invalid: {}", e.to_json()),
    }
}

/// Does a creation rule with this single property match `t` (with `msg` as first message)?
pub fn holds_with(t: &TicketView, msg: Option<MessageView>, prop: Value) -> bool {
    let r = rule(
        1,
        RuleType::TicketCreation,
        &rule_json(
            "p",
            1,
            json!([prop]),
            json!([{"field_name": "add_tag", "value": "hit"}]),
        ),
    );
    let env = Env::new(NOW, &AlwaysOpen);
    let ev = evaluate(
        &[r],
        ExecutionMode::AllMatching,
        t,
        &Trigger::TicketCreated { message: msg },
        &env,
    );
    !ev.matched().is_empty()
}

pub fn holds(prop: Value) -> bool {
    holds_with(&ticket(), Some(message()), prop)
}

/// Same, for a time-trigger rule at `NOW`.
pub fn holds_hourly(t: &TicketView, prop: Value) -> bool {
    let r = rule(
        1,
        RuleType::TimeTriggers,
        &rule_json(
            "p",
            1,
            json!([prop]),
            json!([{"field_name": "add_tag", "value": "hit"}]),
        ),
    );
    let env = Env::new(NOW, &AlwaysOpen);
    !evaluate(
        &[r],
        ExecutionMode::AllMatching,
        t,
        &Trigger::TimeSweep,
        &env,
    )
    .matched()
    .is_empty()
}

pub fn p(resource: &str, field: &str, op: &str, value: Value) -> Value {
    if value.is_null() {
        json!({"resource_type": resource, "field_name": field, "operator": op})
    } else {
        json!({"resource_type": resource, "field_name": field, "operator": op, "value": value})
    }
}
