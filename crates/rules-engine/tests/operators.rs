//! Every operator on every field type, against a fixed ticket (see `common::ticket`).

mod common;
use common::*;
use rules_engine::*;
use serde_json::{Value, json};

fn check(cases: &[(&str, &str, &str, Value, bool)]) {
    for (res, field, op, value, want) in cases {
        let got = holds(p(res, field, op, value.clone()));
        assert_eq!(got, *want, "{res}.{field} {op} {value} should be {want}");
    }
}

#[test]
fn choice_fields_source_and_status() {
    check(&[
        ("ticket", "source", "is", json!(13), true),
        ("ticket", "source", "is", json!(1), false),
        ("ticket", "source", "is_not", json!(1), true),
        ("ticket", "source", "is_not", json!(13), false),
        ("ticket", "source", "in", json!([1, 13]), true),
        ("ticket", "source", "in", json!([1, 2]), false),
        ("ticket", "source", "not_in", json!([1, 2]), true),
        ("ticket", "source", "not_in", json!([13]), false),
        ("ticket", "status", "is", json!(2), true),
        ("ticket", "status", "in", json!([3, 4]), false),
        ("ticket", "status", "not_in", json!([4, 5]), true),
    ]);
}

#[test]
fn ordinal_priority() {
    // The fixture ticket has priority 1 (Low).
    check(&[
        ("ticket", "priority", "is", json!(1), true),
        ("ticket", "priority", "is_not", json!(1), false),
        ("ticket", "priority", "in", json!([1, 2]), true),
        ("ticket", "priority", "not_in", json!([3, 4]), true),
        ("ticket", "priority", "greater_than", json!(1), false),
        ("ticket", "priority", "less_than", json!(2), true),
        ("ticket", "priority", "less_than", json!(1), false),
    ]);
}

#[test]
fn optional_ids_group_agent_number() {
    check(&[
        ("ticket", "group_id", "is", json!(3), true),
        ("ticket", "group_id", "is_not", json!(3), false),
        ("ticket", "group_id", "in", json!([1, 3]), true),
        ("ticket", "group_id", "not_in", json!([3]), false),
        ("ticket", "group_id", "is_empty", Value::Null, false),
        ("ticket", "group_id", "is_not_empty", Value::Null, true),
        ("ticket", "responder_id", "is", json!(7), true),
        ("ticket", "responder_id", "in", json!([8, 9]), false),
        ("ticket", "whatsapp_number_id", "is", json!(2), true),
        ("ticket", "whatsapp_number_id", "not_in", json!([2]), false),
    ]);
    // Unset ids: only negative operators hold.
    let mut t = ticket();
    t.responder_id = None;
    for (op, v, want) in [
        ("is", json!(7), false),
        ("is_not", json!(7), true),
        ("in", json!([7]), false),
        ("not_in", json!([7]), true),
        ("is_empty", Value::Null, true),
        ("is_not_empty", Value::Null, false),
    ] {
        assert_eq!(
            holds_with(&t, None, p("ticket", "responder_id", op, v)),
            want,
            "unassigned {op}"
        );
    }
}

#[test]
fn tags() {
    check(&[
        ("ticket", "tag_names", "in", json!(["vip", "x"]), true),
        ("ticket", "tags", "in", json!(["x"]), false),
        ("ticket", "tag_names", "not_in", json!(["x", "y"]), true),
        ("ticket", "tag_names", "not_in", json!(["Delivery"]), false),
        (
            "ticket",
            "tag_names",
            "contains_any_of",
            json!(["DELIVERY"]),
            true,
        ),
        (
            "ticket",
            "tag_names",
            "contains_none_of",
            json!(["vip"]),
            false,
        ),
        (
            "ticket",
            "tag_names",
            "contains_all_of",
            json!(["vip", "delivery"]),
            true,
        ),
        (
            "ticket",
            "tag_names",
            "contains_all_of",
            json!(["vip", "refund"]),
            false,
        ),
        ("ticket", "tag_names", "is_empty", Value::Null, false),
        ("ticket", "tag_names", "is_not_empty", Value::Null, true),
    ]);
    let mut t = ticket();
    t.tags.clear();
    assert!(holds_with(
        &t,
        None,
        p("ticket", "tag_names", "is_empty", Value::Null)
    ));
    assert!(!holds_with(
        &t,
        None,
        p("ticket", "tag_names", "in", json!(["vip"]))
    ));
}

#[test]
fn text_fields_case_insensitive_by_default() {
    // subject: "Order #123 not delivered"; description: "Hello, my parcel is late. Refund please!"
    check(&[
        (
            "ticket",
            "subject",
            "is",
            json!("order #123 NOT delivered"),
            true,
        ),
        ("ticket", "subject", "is", json!("Order"), false),
        ("ticket", "subject", "is_not", json!("Order"), true),
        (
            "ticket",
            "subject",
            "in",
            json!(["x", "ORDER #123 not delivered"]),
            true,
        ),
        ("ticket", "subject", "not_in", json!(["x"]), true),
        ("ticket", "subject", "contains", json!("NOT DELIV"), true),
        ("ticket", "subject", "contains", json!("refund"), false),
        (
            "ticket",
            "subject",
            "does_not_contain",
            json!("refund"),
            true,
        ),
        (
            "ticket",
            "subject",
            "does_not_contain",
            json!("order"),
            false,
        ),
        ("ticket", "subject", "starts_with", json!("order #"), true),
        ("ticket", "subject", "starts_with", json!("#123"), false),
        ("ticket", "subject", "ends_with", json!("DELIVERED"), true),
        ("ticket", "subject", "ends_with", json!("order"), false),
        ("ticket", "subject", "is_empty", Value::Null, false),
        ("ticket", "subject", "is_not_empty", Value::Null, true),
        ("ticket", "description", "contains", json!("parcel"), true),
        // Whole words / phrases only.
        (
            "ticket",
            "description",
            "contains_any_of",
            json!(["refund", "cancel"]),
            true,
        ),
        (
            "ticket",
            "description",
            "matches_any_word",
            json!(["REFUND"]),
            true,
        ),
        (
            "ticket",
            "description",
            "contains_any_of",
            json!(["fund"]),
            false,
        ),
        (
            "ticket",
            "description",
            "contains_any_of",
            json!(["parcel is late"]),
            true,
        ),
        (
            "ticket",
            "description",
            "contains_any_of",
            json!(["is parcel"]),
            false,
        ),
        (
            "ticket",
            "description",
            "contains_none_of",
            json!(["cancel", "fund"]),
            true,
        ),
        (
            "ticket",
            "description",
            "contains_none_of",
            json!(["refund"]),
            false,
        ),
    ]);
}

#[test]
fn case_sensitive_flag() {
    let mut prop = p("ticket", "subject", "contains", json!("order"));
    prop["case_sensitive"] = json!(true);
    assert!(!holds(prop.clone()));
    prop["value"] = json!("Order");
    assert!(holds(prop));
}

#[test]
fn subject_or_description() {
    check(&[
        (
            "ticket",
            "subject_or_description",
            "contains",
            json!("parcel"),
            true,
        ),
        (
            "ticket",
            "subject_or_description",
            "contains",
            json!("order #"),
            true,
        ),
        (
            "ticket",
            "subject_or_description",
            "contains",
            json!("invoice"),
            false,
        ),
        // Negation needs both sides.
        (
            "ticket",
            "subject_or_description",
            "does_not_contain",
            json!("parcel"),
            false,
        ),
        (
            "ticket",
            "subject_or_description",
            "does_not_contain",
            json!("invoice"),
            true,
        ),
    ]);
}

#[test]
fn text_choice_fields_type_language_message_type() {
    check(&[
        ("ticket", "ticket_type", "is", json!("question"), true),
        ("ticket", "ticket_type", "is_not", json!("Incident"), true),
        (
            "ticket",
            "ticket_type",
            "in",
            json!(["Incident", "Problem"]),
            false,
        ),
        ("ticket", "ticket_type", "not_in", json!(["Incident"]), true),
        ("ticket", "ticket_type", "is_empty", Value::Null, false),
        ("contact", "language", "is", json!("PT-br"), true),
        ("contact", "language", "starts_with", json!("pt"), true),
        ("contact", "language", "in", json!(["en", "es"]), false),
        ("contact", "language", "is_not_empty", Value::Null, true),
        ("message", "message_type", "is", json!("image"), true),
        (
            "message",
            "message_type",
            "in",
            json!(["text", "audio"]),
            false,
        ),
        ("message", "message_type", "not_in", json!(["text"]), true),
    ]);
    let mut t = ticket();
    t.ticket_type = None;
    assert!(holds_with(
        &t,
        None,
        p("ticket", "ticket_type", "is_empty", Value::Null)
    ));
    assert!(holds_with(
        &t,
        None,
        p("ticket", "ticket_type", "is_not", json!("Question"))
    ));
}

#[test]
fn requester_name_phone_country_code() {
    check(&[
        ("contact", "name", "contains", json!("silva"), true),
        ("contact", "name", "starts_with", json!("maria"), true),
        ("contact", "name", "ends_with", json!("souza"), false),
        (
            "contact",
            "name",
            "contains_any_of",
            json!(["da silva"]),
            true,
        ),
        // Phones compare on + and digits: "+55 (11) 91234-5678" -> "+5511912345678".
        ("contact", "phone", "is", json!("+55 11 91234 5678"), true),
        ("contact", "phone", "starts_with", json!("+55"), true),
        ("contact", "phone", "starts_with", json!("+44"), false),
        ("contact", "mobile", "ends_with", json!("5678"), true),
        ("contact", "phone", "contains", json!("1234-56"), true),
        ("contact", "phone", "is_empty", Value::Null, false),
        ("contact", "country_calling_code", "is", json!(55), true),
        ("contact", "country_calling_code", "is_not", json!(44), true),
        (
            "contact",
            "country_calling_code",
            "in",
            json!([1, 44]),
            false,
        ),
        (
            "contact",
            "country_calling_code",
            "not_in",
            json!([1, 44]),
            true,
        ),
        (
            "contact",
            "country_calling_code",
            "greater_than",
            json!(50),
            true,
        ),
        (
            "contact",
            "country_calling_code",
            "less_than",
            json!(50),
            false,
        ),
        (
            "contact",
            "country_calling_code",
            "is_not_empty",
            Value::Null,
            true,
        ),
    ]);
    let mut t = ticket();
    t.requester.phone = None;
    t.requester.country_calling_code = None;
    assert!(holds_with(
        &t,
        None,
        p("contact", "phone", "is_empty", Value::Null)
    ));
    assert!(!holds_with(
        &t,
        None,
        p("contact", "phone", "starts_with", json!("+"))
    ));
    assert!(holds_with(
        &t,
        None,
        p("contact", "country_calling_code", "is_empty", Value::Null)
    ));
    assert!(!holds_with(
        &t,
        None,
        p("contact", "country_calling_code", "greater_than", json!(1))
    ));
}

#[test]
fn requester_custom_fields_typed_by_value() {
    // plan = "Gold" (text), orders = 12 (number), vip = true (boolean), nothing else set.
    check(&[
        ("contact", "plan", "is", json!("gold"), true),
        ("contact", "cf_plan", "in", json!(["Silver", "Gold"]), true),
        ("contact", "plan", "contains", json!("ol"), true),
        ("contact", "plan", "starts_with", json!("S"), false),
        ("contact", "orders", "greater_than", json!(10), true),
        ("contact", "orders", "less_than", json!(10), false),
        ("contact", "orders", "is", json!(12), true),
        ("contact", "orders", "in", json!([1, 12]), true),
        ("contact", "orders", "not_in", json!([12]), false),
        ("contact", "vip", "selected", Value::Null, true),
        ("contact", "vip", "not_selected", Value::Null, false),
        ("contact", "vip", "is", json!(true), true),
        ("contact", "region", "is_empty", Value::Null, true),
        ("contact", "region", "is", json!("EU"), false),
        ("contact", "region", "is_not", json!("EU"), true),
    ]);
}

#[test]
fn message_fields() {
    // body "Hi! I saw your ad about the Summer Sale", image, attachment, ad referral.
    check(&[
        ("message", "body", "contains", json!("summer sale"), true),
        (
            "message",
            "body",
            "contains_any_of",
            json!(["sale", "discount"]),
            true,
        ),
        ("message", "body", "does_not_contain", json!("refund"), true),
        ("message", "has_attachment", "is", json!(true), true),
        ("message", "has_attachment", "selected", Value::Null, true),
        (
            "message",
            "has_attachment",
            "not_selected",
            Value::Null,
            false,
        ),
        ("message", "from_ad_referral", "is", json!(false), false),
        ("message", "from_ad_referral", "selected", Value::Null, true),
    ]);
    // Without a message: body is unset, booleans are false.
    let t = ticket();
    assert!(!holds_with(
        &t,
        None,
        p("message", "body", "contains", json!("sale"))
    ));
    assert!(holds_with(
        &t,
        None,
        p("message", "body", "is_empty", Value::Null)
    ));
    assert!(holds_with(
        &t,
        None,
        p("message", "has_attachment", "not_selected", Value::Null)
    ));
}

#[test]
fn business_hours_use_the_callers_calendar() {
    // Open 09:00-17:00 UTC in calendar 5; calendar 6 never open; group/default calendar open 24h.
    let hours = |cal: CalendarRef, at: time::OffsetDateTime| match cal {
        CalendarRef::Calendar(BusinessHoursId(5)) => (9..17).contains(&at.hour()),
        CalendarRef::Calendar(_) => false,
        CalendarRef::GroupOrDefault(g) => g == Some(GroupId(3)),
    };
    let run = |t: &TicketView, prop: serde_json::Value| {
        let body = rule_json(
            "bh",
            1,
            json!([prop]),
            json!([{"field_name": "add_tag", "value": "x"}]),
        );
        let r = rule(1, RuleType::TicketCreation, &body);
        let env = Env::new(NOW, &hours);
        !evaluate(
            &[r],
            ExecutionMode::AllMatching,
            t,
            &Trigger::TicketCreated { message: None },
            &env,
        )
        .matched()
        .is_empty()
    };
    let mut t = ticket(); // created 05:00, NOW is 10:00
    let mut prop = p("ticket", "created_at", "during", json!("business_hours"));
    prop["business_hours_id"] = json!(5);
    assert!(!run(&t, prop.clone()));
    prop["value"] = json!("non_business_hours");
    assert!(run(&t, prop));
    let mut prop = p("ticket", "updated_at", "during", json!("business_hours"));
    prop["business_hours_id"] = json!(5);
    assert!(run(&t, prop.clone()), "10:00 is inside 9-17");
    prop["business_hours_id"] = json!(6);
    assert!(!run(&t, prop));
    // No calendar named: the ticket's group decides.
    assert!(run(
        &t,
        p("ticket", "updated_at", "during", json!("business_hours"))
    ));
    t.group_id = Some(GroupId(4));
    assert!(run(
        &t,
        p(
            "ticket",
            "updated_at",
            "during",
            json!("non_business_hours")
        )
    ));
}

#[test]
fn hour_counters_in_time_triggers() {
    let h = time::Duration::hours;
    let mut t = ticket(); // created NOW - 5h
    t.status = Status::PENDING;
    t.status_changed_at = Some(NOW - h(3) - time::Duration::minutes(59));
    t.last_customer_message_at = Some(NOW - h(30));
    t.last_agent_response_at = None;
    t.due_by = Some(NOW + h(2) + time::Duration::minutes(30));
    t.fr_due_by = Some(NOW - time::Duration::minutes(30));
    let cases = [
        ("hours_since_created", "is", json!(5), true),
        ("hours_since_created", "greater_than", json!(4), true),
        ("hours_since_created", "greater_than", json!(5), false),
        ("hours_since_created", "less_than", json!(6), true),
        ("status_changed_at", "is", json!(3), true),
        ("pending_since", "is", json!(3), true),
        ("requester_responded_at", "greater_than", json!(24), true),
        ("agent_responded_at", "is_empty", Value::Null, true),
        ("agent_responded_at", "greater_than", json!(0), false),
        ("hours_until_due", "is", json!(2), true),
        ("hours_until_due", "less_than", json!(3), true),
        ("hours_until_fr_due", "less_than", json!(0), true),
        ("hours_until_nr_due", "is_empty", Value::Null, true),
        ("hours_until_nr_due", "is_not_empty", Value::Null, false),
    ];
    for (field, op, v, want) in cases {
        assert_eq!(
            holds_hourly(&t, p("ticket", field, op, v.clone())),
            want,
            "{field} {op} {v}"
        );
    }
    t.status = Status::OPEN;
    assert!(holds_hourly(
        &t,
        p("ticket", "pending_since", "is_empty", Value::Null)
    ));
}

#[test]
fn each_kind_rejects_operators_it_does_not_support() {
    let bad = [
        ("ticket", "source", "contains", json!("1")),
        ("ticket", "status", "greater_than", json!(2)),
        ("ticket", "tag_names", "starts_with", json!("v")),
        ("ticket", "subject", "greater_than", json!(3)),
        ("message", "has_attachment", "contains", json!("x")),
        ("ticket", "created_at", "is", json!("business_hours")),
        ("contact", "country_calling_code", "contains", json!(4)),
    ];
    for (res, field, op, v) in bad {
        let body = rule_json(
            "x",
            1,
            json!([p(res, field, op, v)]),
            json!([{"field_name": "priority", "value": 2}]),
        );
        let err = Rule::from_json_value(RuleId(1), RuleType::TicketCreation, &body).unwrap_err();
        assert_eq!(
            err.errors[0].field, "conditions[0].properties[0].operator",
            "{field} {op}"
        );
        assert_eq!(err.errors[0].code, ErrorCode::InvalidValue);
    }
    // And each kind's operator list is what the docs say.
    assert_eq!(
        FieldKind::Bool.operators(),
        &[Operator::Is, Operator::Selected, Operator::NotSelected]
    );
    assert!(
        FieldKind::Tags
            .operators()
            .contains(&Operator::ContainsAllOf)
    );
}
