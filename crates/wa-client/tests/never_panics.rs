//! Property tests: no input panics the parser, and whatever parses re-serialises to exactly its input.

// Test helpers outside #[test] functions panic on broken invariants on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use wa_client::webhook::{ChangeValue, Message, Status, parse_notification};

const KEYS: &[&str] = &[
    "id",
    "from",
    "timestamp",
    "type",
    "text",
    "body",
    "image",
    "audio",
    "voice",
    "sticker",
    "animated",
    "location",
    "latitude",
    "contacts",
    "interactive",
    "button_reply",
    "list_reply",
    "nfm_reply",
    "title",
    "reaction",
    "emoji",
    "message_id",
    "context",
    "forwarded",
    "referral",
    "errors",
    "code",
    "error_data",
    "system",
    "identity",
    "edit",
    "message",
    "original_message_id",
    "status",
    "pricing",
    "conversation",
    "origin",
    "recipient_id",
    "parent_recipient_user_id",
    "user_id",
    "profile",
    "wa_id",
    "metadata",
    "phone_number_id",
    "messages",
    "statuses",
    "unsupported",
    "order",
    "product_items",
    "x",
];

const TYPES: &[&str] = &[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
    "revoke",
    "edit",
    "request_welcome",
    "poll",
    "",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-z_]{0,6}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1.0e12f64..1.0e12).prop_map(|f| json!(f)),
        "[a-z0-9._ 👍é\"\\\\]{0,8}".prop_map(Value::String),
        proptest::sample::select(TYPES).prop_map(|t| json!(t)),
        (0i64..3_000_000_000).prop_map(|n| json!(n.to_string())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Something shaped roughly like a message: often valid, sometimes subtly not.
fn message_like() -> impl Strategy<Value = Value> {
    (
        prop_oneof![3 => "wamid\\.[A-Za-z0-9]{1,6}".prop_map(Value::String), 1 => leaf()],
        prop_oneof![3 => (0i64..3_000_000_000).prop_map(|n| json!(n.to_string())), 1 => leaf()],
        proptest::sample::select(TYPES),
        json_value(),
        prop::collection::btree_map(key(), json_value(), 0..4),
    )
        .prop_map(|(id, ts, ty, body, extra)| {
            let mut m: Map<String, Value> = extra.into_iter().collect();
            m.insert("id".into(), id);
            m.insert("timestamp".into(), ts);
            m.insert("type".into(), json!(ty));
            m.insert(ty.to_owned(), body);
            Value::Object(m)
        })
}

fn status_like() -> impl Strategy<Value = Value> {
    (
        prop_oneof![3 => "wamid\\.[A-Za-z0-9]{1,6}".prop_map(Value::String), 1 => leaf()],
        prop_oneof![3 => (0i64..3_000_000_000).prop_map(|n| json!(n.to_string())), 1 => leaf()],
        prop_oneof![3 => proptest::sample::select(&["sent", "delivered", "read", "failed", "zzz"][..]).prop_map(|s| json!(s)), 1 => leaf()],
        prop::collection::btree_map(key(), json_value(), 0..5),
    )
        .prop_map(|(id, ts, status, extra)| {
            let mut m: Map<String, Value> = extra.into_iter().collect();
            m.insert("id".into(), id);
            m.insert("timestamp".into(), ts);
            m.insert("status".into(), status);
            Value::Object(m)
        })
}

fn notification(messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
        "messages": messages, "statuses": statuses}}]}]})
}

/// Parses `body` (which must be a valid envelope) and checks every change, message and status re-serialises exactly.
fn check_round_trip(body: &Value) {
    // Go through text, as a real delivery would, and compare with what the text decodes to.
    let text = serde_json::to_string(body).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    let n = parse_notification(text.as_bytes()).unwrap();
    assert_eq!(serde_json::to_value(&n).unwrap(), original);
    let change = &n.entry[0].changes[0];
    let raw_value = &original["entry"][0]["changes"][0]["value"];
    assert_eq!(&serde_json::to_value(&change.value).unwrap(), raw_value);
    if let ChangeValue::Messages(v) = &change.value {
        for (i, m) in v.messages.iter().enumerate() {
            let back = serde_json::to_value(m).unwrap();
            assert_eq!(&back, &raw_value["messages"][i]);
            assert_eq!(&serde_json::from_value::<Message>(back).unwrap(), m);
        }
        for (i, s) in v.statuses.iter().enumerate() {
            let back = serde_json::to_value(s).unwrap();
            assert_eq!(&back, &raw_value["statuses"][i]);
            assert_eq!(&serde_json::from_value::<Status>(back).unwrap(), s);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_notification(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        let _ = parse_notification(serde_json::to_string(&v).unwrap().as_bytes());
        // Also as the entry list, a change value and a message item.
        let _ = parse_notification(serde_json::to_string(&json!({"object": "whatsapp_business_account", "entry": v})).unwrap().as_bytes());
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "messages", "value": v.clone()}, {"field": "account_update", "value": v.clone()},
            {"field": "user_preferences", "value": v.clone()}, {"field": "smb_message_echoes", "value": v.clone()}]}]});
        check_round_trip(&body);
    }

    #[test]
    fn messages_and_statuses_round_trip(
        messages in prop::collection::vec(message_like(), 0..3),
        statuses in prop::collection::vec(status_like(), 0..3),
    ) {
        check_round_trip(&notification(messages, statuses));
    }

    #[test]
    fn arbitrary_json_as_message_round_trips(m in json_value()) {
        check_round_trip(&notification(vec![m], vec![]));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "{{\"object\":\"whatsapp_business_account\",\"entry\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(parse_notification(deep.as_bytes()).is_err());
}
