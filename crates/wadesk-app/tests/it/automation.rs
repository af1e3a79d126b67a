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

fn message_at(from: &str, id: &str, body: &str, ts: i64) -> Vec<u8> {
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

fn unix_now() -> i64 {
    std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs() as i64
}

async fn create_rule(app: &TestApp, kind: u8, rule: Value) -> i64 {
    let (s, r) = call(
        app,
        Method::POST,
        &format!("/automations/{kind}/rules"),
        Some(rule),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    r["id"].as_i64().unwrap()
}

/// Polls a ticket until `ok` holds; returns it.
async fn ticket_until(app: &TestApp, id: i64, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, t) = call(app, Method::GET, &format!("/tickets/{id}"), None).await;
        if ok(&t) {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ticket {id} never got there: {t}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn log_of(app: &TestApp, id: i64) -> Vec<Value> {
    let (s, log) = call(
        app,
        Method::GET,
        &format!("/tickets/{id}/automation_log"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{log}");
    log.as_array().unwrap().clone()
}

async fn notes_of(app: &TestApp, id: i64) -> Vec<String> {
    let (_, convs) = call(
        app,
        Method::GET,
        &format!("/tickets/{id}/conversations"),
        None,
    )
    .await;
    convs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["private"] == true)
        .map(|c| c["body_text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Ticket-update rules run on a customer's reply (reading the message), on an agent's reply, on
/// an agent's status change and on the changes rules make themselves (a bounded chain), each in
/// the transaction of the change, and each run is logged.
async fn update_rules_react_to_replies_status_changes_and_chains(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let refund = create_rule(
        &app,
        4,
        json!({
            "name": "Refund requests are urgent",
            "performer": {"type": 2},
            "events": [{"field_name": "customer_replied"}],
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "message", "field_name": "body", "operator": "contains_any_of", "value": ["refund"]}]}],
            "actions": [
                {"field_name": "priority", "value": 4},
                {"field_name": "ticket_type", "value": "Refund"},
                {"field_name": "add_tag", "value": ["refund"]}
            ]
        }),
    )
    .await;
    let pending = create_rule(
        &app,
        4,
        json!({
            "name": "Pending once an agent answers",
            "performer": {"type": 1},
            "events": [{"field_name": "reply_sent"}],
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "source", "operator": "is", "value": 13}]}],
            "actions": [{"field_name": "status", "value": 3}]
        }),
    )
    .await;
    let note = create_rule(
        &app,
        4,
        json!({
            "name": "Note whenever a ticket goes pending",
            "events": [{"field_name": "status", "from": "--", "to": 3}],
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "source", "operator": "is", "value": 13}]}],
            "actions": [{"field_name": "add_note", "note_body": "Waiting on the customer"}]
        }),
    )
    .await;

    let t0 = unix_now() - 600;
    assert_eq!(
        app.post_signed(&message_at("16505551234", "wamid.UPD1", "Hello", t0))
            .await
            .status(),
        200
    );
    let id = first_ticket_seen(&app).await["id"].as_i64().unwrap();
    assert!(
        log_of(&app, id).await.is_empty(),
        "no creation rules, no log"
    );

    // The customer writes again: the refund rule reads the message and fires.
    assert_eq!(
        app.post_signed(&message_at(
            "16505551234",
            "wamid.UPD2",
            "I want a refund please",
            t0 + 60
        ))
        .await
        .status(),
        200
    );
    let t = ticket_until(&app, id, |t| t["priority"] == 4).await;
    assert_eq!(t["type"], "Refund");
    assert_eq!(t["tags"], json!(["refund"]));
    let log = log_of(&app, id).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["trigger"], "ticket_updated");
    assert_eq!(log[0]["automation_type_id"], 4);
    assert_eq!(log[0]["matched"], json!([refund]));

    // A redelivery of the same message runs nothing again.
    assert_eq!(
        app.post_signed(&message_at(
            "16505551234",
            "wamid.UPD2",
            "I want a refund please",
            t0 + 60
        ))
        .await
        .status(),
        200
    );
    app.drained().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(log_of(&app, id).await.len(), 1);

    // An agent replies: the ticket is Pending when the reply returns (same transaction), and the
    // status change the rule made fires the note rule (a chain, performer: automation).
    let (s, r) = call(
        &app,
        Method::POST,
        &format!("/tickets/{id}/reply"),
        Some(json!({"body": "We are on it"})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let (_, t) = call(&app, Method::GET, &format!("/tickets/{id}"), None).await;
    assert_eq!(t["status"], 3, "{t}");
    assert_eq!(notes_of(&app, id).await, vec!["Waiting on the customer"]);
    let log = log_of(&app, id).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1]["matched"], json!([pending, note]));

    // The agent reopens it, then sets it Pending by hand: the note rule fires again; the pending
    // rule (reply_sent) does not.
    for status in [2, 3] {
        let (s, t) = call(
            &app,
            Method::PUT,
            &format!("/tickets/{id}"),
            Some(json!({"status": status})),
        )
        .await;
        assert_eq!(s, 200, "{t}");
    }
    assert_eq!(notes_of(&app, id).await.len(), 2);
    let log = log_of(&app, id).await;
    assert_eq!(log.len(), 3, "the reopening matched nothing: {log:?}");
    assert_eq!(log[2]["matched"], json!([note]));

    // A note by an agent matches no rule: nothing logged.
    let (s, _) = call(
        &app,
        Method::POST,
        &format!("/tickets/{id}/notes"),
        Some(json!({"body": "internal"})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(log_of(&app, id).await.len(), 3);
    app.stop().await;
}
on_both!(update_rules_react_to_replies_status_changes_and_chains);

/// Time triggers: the hourly sweep runs once per hour however many processes try, fires each
/// rule once per ticket, carries out its actions (a template goes to the outbox), resumes nothing
/// twice, and skips Closed tickets. Driven by an injected clock.
async fn time_triggers_run_once_per_hour_across_processes(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let stale = create_rule(
        &app,
        3,
        json!({
            "name": "Chase open WhatsApp tickets after two hours",
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "hours_since_created", "operator": "greater_than", "value": 2},
                {"resource_type": "ticket", "field_name": "status", "operator": "is", "value": 2}]}],
            "actions": [
                {"field_name": "add_tag", "value": ["chased"]},
                {"field_name": "priority", "value": 3},
                {"field_name": "send_whatsapp_template", "value": {"name": "follow_up", "language": "en_US"}}
            ]
        }),
    )
    .await;
    // Not before the current hour began: the app's own sweeper has taken the current hour, and
    // the passes below must fall in hours after it (in the first minute of an hour, a minute
    // ago plus one hour would still be the current hour).
    let now = unix_now();
    let t0 = (now - 60).max(now / 3600 * 3600);
    assert_eq!(
        app.post_signed(&message_at("16505551234", "wamid.TT1", "Hi", t0))
            .await
            .status(),
        200
    );
    let id = first_ticket_seen(&app).await["id"].as_i64().unwrap();
    let start = time::OffsetDateTime::from_unix_timestamp(t0).unwrap();
    let store = app.store.clone();
    let settings = |holder: &str| wadesk_app::sweep::SweepSettings {
        holder: holder.to_owned(),
        lease: time::Duration::minutes(5),
        poll: Duration::from_secs(30),
    };

    // One hour in: swept, nothing matches.
    let clock = wadesk_app::ManualClock::new(start + time::Duration::hours(1));
    let report = wadesk_app::sweep::sweep_pass(store.as_ref(), &clock, &settings("p1"))
        .await
        .unwrap()
        .expect("the hour was free");
    assert_eq!((report.tickets, report.matched), (1, 0));
    assert!(log_of(&app, id).await.is_empty());

    // Three hours in, three processes race: one sweeps, and the rule fires once.
    let clock = wadesk_app::ManualClock::new(start + time::Duration::hours(3));
    let (s1, s2, s3) = (settings("p1"), settings("p2"), settings("p3"));
    let (r1, r2, r3) = tokio::join!(
        wadesk_app::sweep::sweep_pass(store.as_ref(), &clock, &s1),
        wadesk_app::sweep::sweep_pass(store.as_ref(), &clock, &s2),
        wadesk_app::sweep::sweep_pass(store.as_ref(), &clock, &s3),
    );
    let reports: Vec<_> = [r1.unwrap(), r2.unwrap(), r3.unwrap()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(reports.len(), 1, "one process swept the hour");
    assert_eq!((reports[0].tickets, reports[0].matched), (1, 1));
    let (_, t) = call(&app, Method::GET, &format!("/tickets/{id}"), None).await;
    assert_eq!(t["tags"], json!(["chased"]));
    assert_eq!(t["priority"], 3);
    // The template is queued as an outgoing conversation (the send job delivers it).
    let (_, convs) = call(
        &app,
        Method::GET,
        &format!("/tickets/{id}/conversations"),
        None,
    )
    .await;
    let sent: Vec<&Value> = convs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["incoming"] == false && c["private"] == false)
        .collect();
    assert_eq!(sent.len(), 1, "{convs}");
    assert_eq!(sent[0]["body_text"], "Template follow_up (en_US)");
    let log = log_of(&app, id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["trigger"], "time_sweep");
    assert_eq!(log[0]["matched"], json!([stale]));
    // Running the same hour again does nothing: the slot is finished.
    assert!(
        wadesk_app::sweep::sweep_pass(store.as_ref(), &clock, &settings("p4"))
            .await
            .unwrap()
            .is_none()
    );

    // The next hour the ticket still matches, but the rule already fired on it.
    let clock = wadesk_app::ManualClock::new(start + time::Duration::hours(4));
    let report = wadesk_app::sweep::sweep_pass(store.as_ref(), &clock, &settings("p2"))
        .await
        .unwrap()
        .expect("a new hour");
    assert_eq!((report.tickets, report.matched), (1, 0));
    assert_eq!(log_of(&app, id).await.len(), 1);

    // Closed tickets are not swept.
    let (s, _) = call(
        &app,
        Method::PUT,
        &format!("/tickets/{id}"),
        Some(json!({"status": 5})),
    )
    .await;
    assert_eq!(s, 200);
    let clock = wadesk_app::ManualClock::new(start + time::Duration::hours(5));
    let report = wadesk_app::sweep::sweep_pass(store.as_ref(), &clock, &settings("p1"))
        .await
        .unwrap()
        .expect("a new hour");
    assert_eq!(report.tickets, 0);
    app.stop().await;
}
on_both!(time_triggers_run_once_per_hour_across_processes);

/// Round-robin assignment within a group takes turns across tickets (the cursor is stored with
/// each ticket), skips unavailable agents, and a spam rule marks tickets as spam.
async fn round_robin_takes_turns_and_spam_is_marked(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let mut agents = Vec::new();
    for (name, available) in [("Ann", true), ("Bob", false), ("Cid", true)] {
        let (s, a) = call(
            &app,
            Method::POST,
            "/agents",
            Some(json!({"name": name, "email": format!("{name}@example.com")})),
        )
        .await;
        assert_eq!(s, 201, "{a}");
        let aid = a["id"].as_i64().unwrap();
        if !available {
            let (s, a) = call(
                &app,
                Method::PUT,
                &format!("/agents/{aid}"),
                Some(json!({"available": false})),
            )
            .await;
            assert_eq!(s, 200, "{a}");
        }
        agents.push(aid);
    }
    let (s, g) = call(
        &app,
        Method::POST,
        "/groups",
        Some(json!({"name": "WhatsApp desk", "agent_ids": agents})),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let group = g["id"].as_i64().unwrap();
    create_rule(
        &app,
        1,
        json!({
            "name": "Spam words",
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "message", "field_name": "body", "operator": "contains_any_of", "value": ["casino"]}]}],
            "actions": [{"field_name": "mark_as_spam"}]
        }),
    )
    .await;
    create_rule(
        &app,
        1,
        json!({
            "name": "WhatsApp desk takes turns",
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "source", "operator": "is", "value": 13}]}],
            "actions": [{"field_name": "assign_round_robin", "value": group}]
        }),
    )
    .await;

    let t0 = unix_now() - 60;
    let mut assigned = Vec::new();
    for (i, from) in ["16505550001", "16505550002", "16505550003"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            app.post_signed(&message_at(from, &format!("wamid.RR{i}"), "Hello", t0))
                .await
                .status(),
            200
        );
        app.drained().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let t = loop {
            let (_, list) = call(&app, Method::GET, "/tickets", None).await;
            if let Some(t) = list.as_array().unwrap().iter().find(|t| {
                !t["responder_id"].is_null() && !assigned.iter().any(|(id, _)| *id == t["id"])
            }) {
                break t.clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "no assignment");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(t["group_id"], group);
        assigned.push((t["id"].clone(), t["responder_id"].as_i64().unwrap()));
    }
    let who: Vec<i64> = assigned.iter().map(|(_, a)| *a).collect();
    assert_eq!(
        who,
        vec![agents[0], agents[2], agents[0]],
        "turns skip the unavailable agent"
    );

    assert_eq!(
        app.post_signed(&message_at(
            "16505550009",
            "wamid.SPAM",
            "Best casino deals",
            t0
        ))
        .await
        .status(),
        200
    );
    app.drained().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, list) = call(&app, Method::GET, "/tickets?filter=spam", None).await;
        let spam = list.as_array().unwrap().first().cloned();
        if let Some(t) = spam {
            assert_eq!(t["spam"], true);
            assert!(
                t["responder_id"].is_null(),
                "first_matching: the spam rule stops the rest: {t}"
            );
            // Spam is listed only on request, as in Freshdesk.
            let (_, live) = call(&app, Method::GET, "/tickets", None).await;
            assert_eq!(live.as_array().unwrap().len(), 3, "{live}");
            assert!(live.as_array().unwrap().iter().all(|l| l["id"] != t["id"]));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no spam ticket");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.stop().await;
}
on_both!(round_robin_takes_turns_and_spam_is_marked);

/// A creation rule applies an SLA policy the conditions would not select, and a creation rule's
/// WhatsApp reply (inside the service window) is queued like an agent's reply.
async fn rules_apply_sla_policies_and_send_replies(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let target = |r: i64| json!({"respond_within": r, "resolve_within": r * 4, "business_hours": false, "escalation_enabled": false});
    let (s, vip) = call(
        &app,
        Method::POST,
        "/sla_policies",
        Some(json!({
            "name": "VIP (applied by a rule only)",
            "applicable_to": {"company_ids": [424242]},
            "sla_target": {"priority_4": target(900), "priority_3": target(900),
                           "priority_2": target(900), "priority_1": target(900)}
        })),
    )
    .await;
    assert_eq!(s, 201, "{vip}");
    let vip_id = vip["id"].as_i64().unwrap();
    create_rule(
        &app,
        1,
        json!({
            "name": "VIP customers",
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "message", "field_name": "body", "operator": "contains_any_of", "value": ["vip"]}]}],
            "actions": [
                {"field_name": "apply_sla_policy", "value": vip_id},
                {"field_name": "send_whatsapp_reply", "value": "Thanks! A VIP agent will answer within 15 minutes."}
            ]
        }),
    )
    .await;
    let t0 = unix_now() - 60;
    assert_eq!(
        app.post_signed(&message_at("16505551234", "wamid.VIP1", "I am a VIP", t0))
            .await
            .status(),
        200
    );
    let id = first_ticket_seen(&app).await["id"].as_i64().unwrap();
    let t = ticket_until(&app, id, |t| !t["fr_due_by"].is_null()).await;
    assert_eq!(t["sla_policy_id"], vip_id, "{t}");
    let start = time::OffsetDateTime::from_unix_timestamp(t0).unwrap();
    assert_eq!(
        t["fr_due_by"],
        (start + time::Duration::minutes(15))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    let (_, convs) = call(
        &app,
        Method::GET,
        &format!("/tickets/{id}/conversations"),
        None,
    )
    .await;
    let replies: Vec<&Value> = convs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["incoming"] == false && c["private"] == false)
        .collect();
    assert_eq!(replies.len(), 1, "{convs}");
    assert_eq!(
        replies[0]["body_text"],
        "Thanks! A VIP agent will answer within 15 minutes."
    );
    let log = log_of(&app, id).await;
    assert!(
        log[0]["effects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["carried_out"] == true),
        "{log:?}"
    );
    app.stop().await;
}
on_both!(rules_apply_sla_policies_and_send_replies);

/// A creation rule's "trigger webhook" is queued with the ticket and delivered by the server's
/// webhook job, its placeholders filled in from the ticket and requester.
async fn rule_webhooks_reach_their_receiver_with_placeholders(backend: Backend) {
    use std::sync::{Arc, Mutex};
    type Log = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;
    async fn hook(
        axum::extract::State(log): axum::extract::State<Log>,
        method: axum::http::Method,
        uri: axum::http::Uri,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        log.lock()
            .unwrap()
            .push((method.to_string(), uri.to_string(), body.to_vec()));
        axum::http::StatusCode::OK
    }
    let log: Log = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/crm/{id}", axum::routing::any(hook))
        .with_state(log.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    create_rule(
        &app,
        1,
        json!({
            "name": "Tell the CRM",
            "conditions": [{"name": "set1", "match_type": "all", "properties": [
                {"resource_type": "ticket", "field_name": "source", "operator": "is", "value": 13}]}],
            "actions": [{"field_name": "trigger_webhook", "request_type": "POST",
                "url": format!("http://{addr}/crm/{{{{ticket.id}}}}"),
                "content_type": "JSON",
                "content": {"ticket": "{{ticket.id}}", "who": "{{ticket.requester.name}}", "subject": "{{ticket.subject}}"}}]
        }),
    )
    .await;
    assert_eq!(
        app.post_signed(&message_at(
            "16505551234",
            "wamid.HOOK1",
            "Where is it?",
            unix_now() - 60
        ))
        .await
        .status(),
        200
    );
    let id = first_ticket_seen(&app).await["id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while log.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the webhook never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "delivered once");
    let (method, uri, body) = &got[0];
    assert_eq!(method, "POST");
    assert_eq!(uri, &format!("/crm/{id}"));
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["ticket"], id.to_string());
    assert_eq!(body["who"], "Ana");
    assert_eq!(body["subject"], "Where is it?");
    let log = log_of(&app, id).await;
    assert_eq!(log[0]["effects"][0]["carried_out"], true, "{log:?}");
    app.stop().await;
}
on_both!(rule_webhooks_reach_their_receiver_with_placeholders);

/// The ticket fields rules set are validated on the API as well: an unknown `type` and an unknown
/// list `filter` are refused with the field named, and nothing changes.
async fn ticket_type_and_filter_reject_bad_input(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    assert_eq!(
        app.post_signed(&message_at(
            "16505551234",
            "wamid.BAD1",
            "Hi",
            unix_now() - 60
        ))
        .await
        .status(),
        200
    );
    let id = first_ticket_seen(&app).await["id"].as_i64().unwrap();
    for bad in [json!({"type": "Complaint"}), json!({"type": 7})] {
        let (s, e) = call(&app, Method::PUT, &format!("/tickets/{id}"), Some(bad)).await;
        assert_eq!(s, 400, "{e}");
        assert!(e.to_string().contains("type"), "{e}");
    }
    let (s, t) = call(
        &app,
        Method::PUT,
        &format!("/tickets/{id}"),
        Some(json!({"type": "Refund"})),
    )
    .await;
    assert_eq!((s, &t["type"]), (200, &json!("Refund")));
    let (s, e) = call(&app, Method::GET, "/tickets?filter=everything", None).await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["errors"][0]["field"], "filter", "{e}");
    let (_, t) = call(&app, Method::GET, &format!("/tickets/{id}"), None).await;
    assert_eq!(t["type"], "Refund");
    app.stop().await;
}
on_both!(ticket_type_and_filter_reject_bad_input);
