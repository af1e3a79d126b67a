//! Automation rules in the ticket flow: a creation rule made over the API assigns and prioritises
//! a WhatsApp ticket before anyone can see it, logs why, and a dry run explains it.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{API_KEY, Backend, TestApp, on_both};

const PNID: &str = "106540352242922";

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.api(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn delivery(from: &str, id: &str, body: &str) -> Vec<u8> {
    let ts = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs()
        - 60;
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": from}],
            "messages": [{"from": from, "id": id, "timestamp": ts.to_string(), "type": "text", "text": {"body": body}}],
        }}]}]
    }))
    .unwrap()
}

/// Polls the ticket list until a ticket exists; returns the first state ever seen.
async fn first_ticket_seen(app: &TestApp) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (s, list) = call(app, Method::GET, "/tickets", None).await;
        assert_eq!(s, 200);
        if let Some(t) = list.as_array().and_then(|l| l.first()) {
            return t.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no ticket appeared");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn creation_rule_routes_whatsapp_tickets_before_anyone_sees_them(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let agent_id = app
        .store
        .find_agent_by_api_key_hash(&wadesk_app::http::hash_api_key(API_KEY))
        .await
        .unwrap()
        .unwrap()
        .id
        .get();

    // A rule that does not match WhatsApp comes first; first_matching must skip it.
    let (s, email_rule) = call(
        &app,
        Method::POST,
        "/automations/1/rules",
        Some(json!({
            "name": "Email to the mail team",
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "source", "operator": "is", "value": 1}]}],
            "actions": [{"field_name": "priority", "value": 1}]
        })),
    )
    .await;
    assert_eq!(s, 201, "{email_rule}");
    let (s, rule) = call(
        &app,
        Method::POST,
        "/automations/1/rules",
        Some(json!({
            "name": "WhatsApp to the WhatsApp agent",
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "source", "operator": "in", "value": [13]}]}],
            "actions": [
                {"field_name": "responder_id", "value": agent_id},
                {"field_name": "priority", "value": 3},
                {"field_name": "add_tag", "value": ["whatsapp"]},
                {"field_name": "add_note", "note_body": "Routed by automation"}
            ]
        })),
    )
    .await;
    assert_eq!(s, 201, "{rule}");
    let rule_id = rule["id"].as_i64().unwrap();

    assert_eq!(
        app.post_signed(&delivery(
            "16505551234",
            "wamid.AUTO1",
            "Hi, my order is late"
        ))
        .await
        .status(),
        200
    );
    let seen = first_ticket_seen(&app).await;
    assert_eq!(seen["source"], 13);
    assert_eq!(
        seen["responder_id"], agent_id,
        "assigned before first seen: {seen}"
    );
    assert_eq!(seen["priority"], 3, "prioritised before first seen: {seen}");
    assert_eq!(seen["tags"], json!(["whatsapp"]));
    let ticket_id = seen["id"].as_i64().unwrap();

    // The note is a private conversation after the description.
    let (_, convs) = call(
        &app,
        Method::GET,
        &format!("/tickets/{ticket_id}/conversations"),
        None,
    )
    .await;
    let notes: Vec<&Value> = convs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["private"] == true)
        .collect();
    assert_eq!(notes.len(), 1, "{convs}");
    assert_eq!(notes[0]["body_text"], "Routed by automation");

    // The execution log says which rule fired and why the other did not.
    let (s, log) = call(
        &app,
        Method::GET,
        &format!("/tickets/{ticket_id}/automation_log"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["trigger"], "ticket_created");
    assert_eq!(log[0]["matched"], json!([rule_id]));
    let outcomes: Vec<&str> = log[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["conditions_not_met", "matched"]);
    assert!(
        log[0]["effects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["carried_out"] == true)
    );

    // A redelivery changes nothing and runs nothing again.
    assert_eq!(
        app.post_signed(&delivery(
            "16505551234",
            "wamid.AUTO1",
            "Hi, my order is late"
        ))
        .await
        .status(),
        200
    );
    app.drained().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, log) = call(
        &app,
        Method::GET,
        &format!("/tickets/{ticket_id}/automation_log"),
        None,
    )
    .await;
    assert_eq!(log.as_array().unwrap().len(), 1);

    // A dry run explains the same decision without changing anything.
    let (s, dry) = call(
        &app,
        Method::POST,
        "/automations/1/rules/dry_run",
        Some(json!({"ticket_id": ticket_id})),
    )
    .await;
    assert_eq!(s, 200, "{dry}");
    assert_eq!(dry["matched"], json!([rule_id]));
    let cond = &dry["rules"][1]["conditions"];
    assert!(
        cond.to_string().contains("source"),
        "conditions are explained: {cond}"
    );
    let (s, _) = call(
        &app,
        Method::POST,
        "/automations/1/rules/dry_run",
        Some(json!({"ticket_id": 999_999})),
    )
    .await;
    assert_eq!(s, 404);

    // A deactivated rule no longer runs on the next new ticket.
    let (s, _) = call(
        &app,
        Method::PUT,
        &format!("/automations/1/rules/{rule_id}"),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.post_signed(&delivery("16505559999", "wamid.AUTO2", "Another customer"))
            .await
            .status(),
        200
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let second = loop {
        let (_, list) = call(&app, Method::GET, "/tickets", None).await;
        if let Some(t) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] != ticket_id)
        {
            break t.clone();
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(second["responder_id"], Value::Null);
    assert_eq!(second["priority"], 1);
    app.stop().await;
}
on_both!(creation_rule_routes_whatsapp_tickets_before_anyone_sees_them);
