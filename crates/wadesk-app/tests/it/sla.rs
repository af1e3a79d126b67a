//! SLA on WhatsApp tickets end to end: the policy `source = 13` selects sets `fr_due_by` from the
//! message's WhatsApp time; a reminder and an escalation fire once each at the right instants,
//! driven by an injected clock; a status change to Pending pauses the timers.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use wadesk_app::ManualClock;

use crate::harness::{Backend, TestApp, on_both};

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

fn delivery(from: &str, id: &str, ts: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": from}],
            "messages": [{"from": from, "id": id, "timestamp": ts.to_string(), "type": "text", "text": {"body": "Where is my order?"}}],
        }}]}]
    }))
    .unwrap()
}

fn target(respond: i64, resolve: i64) -> Value {
    json!({"respond_within": respond, "resolve_within": resolve, "business_hours": false, "escalation_enabled": true})
}

fn rfc(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn whatsapp_policy_sets_due_times_and_fires_reminders_and_escalations_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    // Low priority (new WhatsApp tickets): respond within 1 hour, resolve within 4, counted 24x7.
    let (s, policy) = call(
        &app,
        Method::POST,
        "/sla_policies",
        Some(json!({
            "name": "WhatsApp",
            "applicable_to": {"sources": [13]},
            "sla_target": {
                "priority_4": target(900, 3600), "priority_3": target(1800, 7200),
                "priority_2": target(2700, 10800), "priority_1": target(3600, 14400)
            },
            "escalation": {
                "reminder_response": {"escalation_time": -900, "agent_ids": [-1]},
                "response": {"escalation_time": 0, "agent_ids": [-1]},
                "resolution": {"level_1": {"escalation_time": 1800, "agent_ids": [-1]}}
            }
        })),
    )
    .await;
    assert_eq!(s, 201, "{policy}");

    // The customer wrote 40 minutes ago (WhatsApp time); processing happens now.
    let now_s = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs() as i64;
    let sent = now_s - 40 * 60;
    let t0 = OffsetDateTime::from_unix_timestamp(sent).unwrap();
    assert_eq!(
        app.post_signed(&delivery("16505551234", "wamid.SLA1", sent))
            .await
            .status(),
        200
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let ticket = loop {
        let (_, list) = call(&app, Method::GET, "/tickets", None).await;
        if let Some(t) = list.as_array().and_then(|l| l.first()).cloned()
            && !t["fr_due_by"].is_null()
        {
            break t;
        }
        assert!(tokio::time::Instant::now() < deadline, "no ticket with SLA");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let id = ticket["id"].as_i64().unwrap();
    assert_eq!(ticket["priority"], 1);
    assert_eq!(
        ticket["sla_policy_id"], policy["id"],
        "the WhatsApp policy applies"
    );
    assert_eq!(
        ticket["fr_due_by"],
        rfc(t0 + time::Duration::hours(1)),
        "from the WhatsApp time"
    );
    assert_eq!(ticket["due_by"], rfc(t0 + time::Duration::hours(4)));
    assert_eq!(ticket["fr_escalated"], false);

    // The reminder falls due 15 minutes before the due time, at t0+45min, five minutes from the
    // real now: passes of the timer job with an injected clock fire it, and the rest, at the
    // right instants (the server's own job, on the real clock, has nothing due yet).
    let store = app.store.clone();
    let clock = ManualClock::new(t0 + time::Duration::minutes(45));
    wadesk_app::sla::sla_pass(store.as_ref(), &clock)
        .await
        .unwrap();
    let notifications = |app: &TestApp| {
        let app_url = app.url("/api/v2/notifications");
        let client = app.client.clone();
        async move {
            let v: Value = client
                .get(app_url)
                .basic_auth(crate::harness::API_KEY, Some("X"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v.as_array().unwrap().clone()
        }
    };
    let n = notifications(&app).await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["type"], "sla_reminder");
    assert_eq!(n[0]["target"], "first_response");
    assert_eq!(n[0]["ticket_id"], id);
    assert_eq!(n[0]["fell_due_at"], rfc(t0 + time::Duration::minutes(45)));

    // One second before the due time: nothing new. At the due time: the escalation, once.
    clock.set(t0 + time::Duration::minutes(60) - time::Duration::seconds(1));
    wadesk_app::sla::sla_pass(store.as_ref(), &clock)
        .await
        .unwrap();
    assert_eq!(notifications(&app).await.len(), 1);
    clock.set(t0 + time::Duration::minutes(60));
    for _ in 0..3 {
        wadesk_app::sla::sla_pass(store.as_ref(), &clock)
            .await
            .unwrap();
    }
    let n = notifications(&app).await;
    assert_eq!(n.len(), 2, "{n:?}");
    assert_eq!(n[0]["type"], "sla_escalation");
    assert_eq!(n[0]["target"], "first_response");
    assert_eq!(n[0]["fell_due_at"], rfc(t0 + time::Duration::hours(1)));
    let (_, shown) = call(&app, Method::GET, &format!("/tickets/{id}"), None).await;
    assert_eq!(shown["fr_escalated"], true);
    assert_eq!(shown["is_escalated"], false);

    // Pending stops the clock (the API records the change at the real now, t0+40min): no
    // resolution due time while paused, and once reopened it moves out by the time spent pending.
    let (s, pending) = call(
        &app,
        Method::PUT,
        &format!("/tickets/{id}"),
        Some(json!({"status": 3})),
    )
    .await;
    assert_eq!(s, 200, "{pending}");
    assert_eq!(
        pending["due_by"],
        Value::Null,
        "no resolution due time while paused"
    );
    let (_, reopened) = call(
        &app,
        Method::PUT,
        &format!("/tickets/{id}"),
        Some(json!({"status": 2})),
    )
    .await;
    let due: OffsetDateTime = OffsetDateTime::parse(
        reopened["due_by"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(due >= t0 + time::Duration::hours(4), "{reopened}");
    assert!(due < t0 + time::Duration::hours(4) + time::Duration::minutes(1));

    app.stop().await;
}
on_both!(whatsapp_policy_sets_due_times_and_fires_reminders_and_escalations_once);

async fn an_agent_reply_meets_the_first_response_target(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let (s, _) = call(
        &app,
        Method::POST,
        "/sla_policies",
        Some(json!({
            "name": "WhatsApp",
            "applicable_to": {"sources": [13]},
            "sla_target": {
                "priority_4": target(900, 3600), "priority_3": target(1800, 7200),
                "priority_2": target(2700, 10800), "priority_1": target(3600, 14400)
            },
            "escalation": {
                "reminder_response": {"escalation_time": -900, "agent_ids": [-1]},
                "response": {"escalation_time": 0, "agent_ids": [-1]}
            }
        })),
    )
    .await;
    assert_eq!(s, 201);
    let now_s = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs() as i64;
    let sent = now_s - 40 * 60;
    let t0 = OffsetDateTime::from_unix_timestamp(sent).unwrap();
    assert_eq!(
        app.post_signed(&delivery("16505551234", "wamid.SLA2", sent))
            .await
            .status(),
        200
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let id = loop {
        let (_, list) = call(&app, Method::GET, "/tickets", None).await;
        if let Some(t) = list.as_array().and_then(|l| l.first())
            && !t["fr_due_by"].is_null()
        {
            break t["id"].as_i64().unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "no ticket with SLA");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The agent answers 40 minutes after the message, inside the hour.
    let (s, reply) = call(
        &app,
        Method::POST,
        &format!("/tickets/{id}/reply"),
        Some(json!({"body": "On its way!"})),
    )
    .await;
    assert_eq!(s, 201, "{reply}");
    // Past the due time: neither the reminder nor the escalation fires, the target was met.
    let clock = ManualClock::new(t0 + time::Duration::minutes(61));
    wadesk_app::sla::sla_pass(app.store.as_ref(), &clock)
        .await
        .unwrap();
    let (_, n) = call(&app, Method::GET, "/notifications", None).await;
    assert_eq!(n, json!([]), "a met target fires nothing");
    let (_, shown) = call(&app, Method::GET, &format!("/tickets/{id}"), None).await;
    assert_eq!(shown["fr_escalated"], false);
    assert_eq!(shown["fr_due_by"], rfc(t0 + time::Duration::hours(1)));
    app.stop().await;
}
on_both!(an_agent_reply_meets_the_first_response_target);

async fn business_hours_targets_count_in_the_groups_calendar(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    // A calendar open only on Sundays, 00:00 to 01:00 UTC, and a group that uses it.
    let (s, cal) = call(
        &app,
        Method::POST,
        "/business_hours",
        Some(json!({"name": "Sunday night", "time_zone": "Etc/UTC",
                    "business_hours": {"sunday": {"start_time": "12:00 am", "end_time": "1:00 am"}}})),
    )
    .await;
    assert_eq!(s, 201, "{cal}");
    let (s, group) = call(
        &app,
        Method::POST,
        "/groups",
        Some(json!({"name": "Night desk", "business_hour_id": cal["id"]})),
    )
    .await;
    assert_eq!(s, 201, "{group}");
    let business = |respond: i64, resolve: i64| json!({"respond_within": respond, "resolve_within": resolve, "business_hours": true, "escalation_enabled": true});
    let (s, _) = call(
        &app,
        Method::POST,
        "/sla_policies",
        Some(json!({
            "name": "WhatsApp in business hours",
            "applicable_to": {"sources": [13]},
            "sla_target": {
                "priority_4": business(900, 3600), "priority_3": business(900, 3600),
                "priority_2": business(900, 3600), "priority_1": business(900, 3600)
            }
        })),
    )
    .await;
    assert_eq!(s, 201);
    let now_s = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs() as i64;
    assert_eq!(
        app.post_signed(&delivery("16505551234", "wamid.SLA3", now_s - 60))
            .await
            .status(),
        200
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let ticket = loop {
        let (_, list) = call(&app, Method::GET, "/tickets", None).await;
        if let Some(t) = list.as_array().and_then(|l| l.first()).cloned()
            && !t["fr_due_by"].is_null()
        {
            break t;
        }
        assert!(tokio::time::Instant::now() < deadline, "no ticket with SLA");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let parse = |v: &Value| {
        OffsetDateTime::parse(
            v.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    // Without a group: the default calendar, Monday to Friday.
    let before = parse(&ticket["fr_due_by"]);
    assert!(
        !matches!(
            before.weekday(),
            time::Weekday::Saturday | time::Weekday::Sunday
        ),
        "{before}"
    );
    // Given to the group: its calendar decides, 15 business minutes into a Sunday's first hour.
    let (s, moved) = call(
        &app,
        Method::PUT,
        &format!("/tickets/{}", ticket["id"]),
        Some(json!({"group_id": group["id"]})),
    )
    .await;
    assert_eq!(s, 200, "{moved}");
    let after = parse(&moved["fr_due_by"]);
    assert_eq!(after.weekday(), time::Weekday::Sunday, "{after}");
    assert_eq!(
        after.hour(),
        0,
        "inside the group's only open hour: {after}"
    );
    app.stop().await;
}
on_both!(business_hours_targets_count_in_the_groups_calendar);

/// Opens a WhatsApp ticket whose first message was sent `minutes_ago`, under a 24x7 policy for
/// `source = 13` (Low: respond within 1 h, resolve within 4 h; Urgent: 15 min and 1 h). Answers
/// the ticket id and the message's WhatsApp time.
async fn open_ticket(app: &TestApp, wamid: &str, minutes_ago: i64) -> (i64, OffsetDateTime) {
    app.connect_number(PNID).await;
    let (s, policy) = call(
        app,
        Method::POST,
        "/sla_policies",
        Some(json!({
            "name": "WhatsApp",
            "applicable_to": {"sources": [13]},
            "sla_target": {
                "priority_4": target(900, 3600), "priority_3": target(1800, 7200),
                "priority_2": target(2700, 10800), "priority_1": target(3600, 14400)
            }
        })),
    )
    .await;
    assert_eq!(s, 201, "{policy}");
    let now_s = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs() as i64;
    let sent = now_s - minutes_ago * 60;
    assert_eq!(
        app.post_signed(&delivery("16505551234", wamid, sent))
            .await
            .status(),
        200
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, list) = call(app, Method::GET, "/tickets", None).await;
        if let Some(t) = list.as_array().and_then(|l| l.first())
            && !t["fr_due_by"].is_null()
        {
            return (
                t["id"].as_i64().unwrap(),
                OffsetDateTime::from_unix_timestamp(sent).unwrap(),
            );
        }
        assert!(tokio::time::Instant::now() < deadline, "no ticket with SLA");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn field_errors(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn due_times_set_by_hand_survive_priority_changes(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (id, t0) = open_ticket(&app, "wamid.DUE1", 10).await;
    let path = format!("/tickets/{id}");

    // Freshdesk's checks, each error naming its field.
    let (s, e) = call(
        &app,
        Method::PUT,
        &path,
        Some(json!({"due_by": "tomorrow", "fr_due_by": rfc(t0 - time::Duration::minutes(1))})),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(
        field_errors(&e),
        vec![("due_by".to_owned(), "invalid_value".to_owned())],
        "a malformed date is reported before the rest"
    );
    let (s, e) = call(
        &app,
        Method::PUT,
        &path,
        Some(json!({"fr_due_by": rfc(t0 - time::Duration::minutes(1))})),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(
        field_errors(&e),
        vec![("fr_due_by".to_owned(), "invalid_value".to_owned())]
    );
    let (s, e) = call(
        &app,
        Method::PUT,
        &path,
        Some(json!({
            "due_by": rfc(t0 + time::Duration::hours(2)),
            "fr_due_by": rfc(t0 + time::Duration::hours(3)),
        })),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(
        field_errors(&e),
        vec![("due_by".to_owned(), "invalid_value".to_owned())]
    );
    // Only due_by given: it is checked against the current fr_due_by (t0+1h).
    let (s, e) = call(
        &app,
        Method::PUT,
        &path,
        Some(json!({"due_by": rfc(t0 + time::Duration::minutes(30))})),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    let (_, unchanged) = call(&app, Method::GET, &path, None).await;
    assert_eq!(unchanged["due_by"], rfc(t0 + time::Duration::hours(4)));

    // Valid: both recorded.
    let fr = t0 + time::Duration::hours(2);
    let due = t0 + time::Duration::hours(10);
    let (s, t) = call(
        &app,
        Method::PUT,
        &path,
        Some(json!({"due_by": rfc(due), "fr_due_by": rfc(fr)})),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["fr_due_by"], rfc(fr));
    assert_eq!(t["due_by"], rfc(due));

    // Urgent would be 15 minutes and 1 hour from t0: the targets set by hand stay.
    let (s, t) = call(&app, Method::PUT, &path, Some(json!({"priority": 4}))).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["priority"], 4);
    assert_eq!(t["fr_due_by"], rfc(fr), "{t}");
    assert_eq!(t["due_by"], rfc(due), "{t}");
    app.stop().await;
}
on_both!(due_times_set_by_hand_survive_priority_changes);

async fn the_statuses_that_stop_the_clock_are_configurable(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (s, v) = call(&app, Method::GET, "/sla_settings", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"sla_timer_stopped_statuses": [3]}),
        "Pending by default"
    );
    for bad in [
        json!({"sla_timer_stopped_statuses": [2]}),
        json!({"sla_timer_stopped_statuses": [6]}),
        json!({"sla_timer_stopped_statuses": "3"}),
        json!({"sla_timer_stopped_statuses": [3], "other": 1}),
        json!({}),
    ] {
        let (s, e) = call(&app, Method::PUT, "/sla_settings", Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad} → {e}");
    }
    // Pending no longer stops the clock.
    let (s, v) = call(
        &app,
        Method::PUT,
        "/sla_settings",
        Some(json!({"sla_timer_stopped_statuses": []})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = call(&app, Method::GET, "/sla_settings", None).await;
    assert_eq!(v, json!({"sla_timer_stopped_statuses": []}));

    let (id, t0) = open_ticket(&app, "wamid.STOP1", 10).await;
    let path = format!("/tickets/{id}");
    let (s, pending) = call(&app, Method::PUT, &path, Some(json!({"status": 3}))).await;
    assert_eq!(s, 200, "{pending}");
    assert_eq!(
        pending["due_by"],
        rfc(t0 + time::Duration::hours(4)),
        "the resolution clock keeps running while Pending"
    );
    assert_eq!(pending["fr_due_by"], rfc(t0 + time::Duration::hours(1)));

    // Back to the default: the next change recomputes with Pending stopping the clock.
    let (s, _) = call(
        &app,
        Method::PUT,
        "/sla_settings",
        Some(json!({"sla_timer_stopped_statuses": [3, 3]})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = call(&app, Method::GET, "/sla_settings", None).await;
    assert_eq!(v, json!({"sla_timer_stopped_statuses": [3]}));
    let (s, paused) = call(&app, Method::PUT, &path, Some(json!({"priority": 2}))).await;
    assert_eq!(s, 200, "{paused}");
    assert_eq!(paused["due_by"], Value::Null, "paused while Pending");
    app.stop().await;
}
on_both!(the_statuses_that_stop_the_clock_are_configurable);
