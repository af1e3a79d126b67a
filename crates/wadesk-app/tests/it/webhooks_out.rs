//! Outgoing webhooks end to end: subscriptions over the API, an SLA escalation delivered once,
//! signed, to a receiver on loopback; retries after 5xx; a 404 fails for good. Every pass of the
//! jobs is driven with an injected clock, so nothing waits for real backoff.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{extract::State, http::HeaderMap, routing::post};
use reqwest::Method;
use serde_json::{Value, json};
use store::{NewNotification, WebhookState};
use ticketing_core::{AccountId, TicketId};
use time::OffsetDateTime;
use wadesk_app::{
    ManualClock,
    webhooks_out::{WebhookSettings, webhooks_pass},
};

use crate::harness::{API_KEY, Backend, TestApp, on_both};

const PNID: &str = "106540352242922";
const SECRET: &str = "receiver-shared-secret";

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.api(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// What the receiver saw: headers and raw body of each request.
type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A receiver on 127.0.0.1:0 answering the given statuses in turn (the last one forever).
async fn receiver(statuses: Vec<u16>) -> (String, Seen) {
    #[derive(Clone)]
    struct Rx {
        seen: Seen,
        statuses: Arc<Vec<u16>>,
    }
    async fn hook(
        State(rx): State<Rx>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        let n = {
            let mut seen = rx.seen.lock().unwrap();
            seen.push((headers, body.to_vec()));
            seen.len()
        };
        let code = rx
            .statuses
            .get(n - 1)
            .or(rx.statuses.last())
            .copied()
            .unwrap_or(200);
        axum::http::StatusCode::from_u16(code).unwrap()
    }
    let seen: Seen = Arc::default();
    let rx = Rx {
        seen: seen.clone(),
        statuses: Arc::new(statuses),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(rx);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), seen)
}

async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> i64 {
    let (s, sub) = call(
        app,
        Method::POST,
        "/webhooks",
        Some(json!({"url": url, "events": events, "secret": SECRET, "description": "ops"})),
    )
    .await;
    assert_eq!(s, 201, "{sub}");
    assert!(sub.get("secret").is_none(), "the secret is never shown");
    sub["id"].as_i64().unwrap()
}

async fn account(app: &TestApp) -> AccountId {
    app.store
        .find_agent_by_api_key_hash(&wadesk_app::http::hash_api_key(API_KEY))
        .await
        .unwrap()
        .unwrap()
        .account_id
}

fn settings() -> WebhookSettings {
    let mut s = WebhookSettings::new("test");
    s.timeout = Duration::from_secs(5);
    s
}

fn message(from: &str, id: &str, ts: i64) -> Vec<u8> {
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

async fn an_escalation_is_delivered_once_signed(backend: Backend) {
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
    let (url, seen) = receiver(vec![200]).await;
    // Escalations only: the reminder that falls due before it is not sent here.
    subscribe(&app, &url, &["sla.escalation"]).await;

    // The customer wrote 40 minutes ago; first response is due at t0+1h (20 minutes from the
    // real now, so the server's own jobs, on the real clock, have nothing due).
    let now_s = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs() as i64;
    let sent = now_s - 40 * 60;
    let t0 = OffsetDateTime::from_unix_timestamp(sent).unwrap();
    assert_eq!(
        app.post_signed(&message("16505551234", "wamid.WH1", sent))
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

    let store = app.store.clone();
    let clock = ManualClock::new(t0 + time::Duration::minutes(61));
    let client = settings().client();
    for _ in 0..3 {
        wadesk_app::sla::sla_pass(store.as_ref(), &clock)
            .await
            .unwrap();
        webhooks_pass(store.as_ref(), &clock, &client, &settings())
            .await
            .unwrap();
    }
    // Later passes (the timer looks again, the queue is polled again) send nothing more.
    clock.advance(time::Duration::hours(2));
    for _ in 0..2 {
        wadesk_app::sla::sla_pass(store.as_ref(), &clock)
            .await
            .unwrap();
        webhooks_pass(store.as_ref(), &clock, &client, &settings())
            .await
            .unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "exactly one POST");
    let (headers, body) = &seen[0];
    assert_eq!(
        headers["x-wadesk-signature"].to_str().unwrap(),
        wa_client::sign(SECRET.as_bytes(), body),
        "HMAC-SHA256 of the raw body with the subscription's secret"
    );
    assert!(
        headers["x-wadesk-signature"]
            .to_str()
            .unwrap()
            .starts_with("sha256=")
    );
    assert_eq!(headers["x-wadesk-event"], "sla.escalation");
    assert_eq!(headers["content-type"], "application/json");
    let delivery_id: i64 = headers["x-wadesk-delivery"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let n: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(n["event"], "sla.escalation");
    assert_eq!(n["type"], "sla_escalation");
    assert_eq!(n["target"], "first_response");
    assert_eq!(n["ticket_id"], id);
    assert_eq!(
        n["fell_due_at"],
        wadesk_app::sla::rfc3339(t0 + time::Duration::hours(1))
    );
    // The same notification as the API lists.
    let (_, listed) = call(&app, Method::GET, "/notifications", None).await;
    let escalation = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "sla_escalation")
        .unwrap()
        .clone();
    assert_eq!(n["key"], escalation["key"]);
    assert_eq!(n["notify"], escalation["notify"]);

    let (_, queue) = call(&app, Method::GET, "/webhooks/deliveries", None).await;
    let queue = queue.as_array().unwrap();
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0]["id"], delivery_id);
    assert_eq!(queue[0]["state"], "delivered");
    assert_eq!(queue[0]["last_status"], 200);
    app.stop().await;
}
on_both!(an_escalation_is_delivered_once_signed);

/// Queues one escalation notification for the bootstrap account (as the timer job does).
async fn queue_escalation(app: &TestApp, now: OffsetDateTime) -> AccountId {
    let account = account(app).await;
    let n = NewNotification {
        ticket_id: TicketId(7),
        key: "sla:7:first_response:escalation:1".into(),
        kind: "sla_escalation".into(),
        data: json!({"target": "first_response", "level": 1}),
        at: now,
    };
    let new = wadesk_app::webhooks_out::enqueue_notifications(
        app.store.as_ref(),
        account,
        std::slice::from_ref(&n),
        now,
    )
    .await
    .unwrap();
    assert_eq!(new, 1);
    // Queueing the same notification again (a restarted timer job) adds nothing.
    let again =
        wadesk_app::webhooks_out::enqueue_notifications(app.store.as_ref(), account, &[n], now)
            .await
            .unwrap();
    assert_eq!(again, 0);
    account
}

async fn a_failing_receiver_is_retried_until_it_accepts(backend: Backend) {
    let app = TestApp::start_with(backend, false).await;
    let (url, seen) = receiver(vec![500, 500, 200]).await;
    subscribe(&app, &url, &["sla.escalation", "sla.reminder"]).await;
    let t = time::macros::datetime!(2026-11-29 12:00 UTC);
    let account = queue_escalation(&app, t).await;
    let store = app.store.clone();
    let clock = ManualClock::new(t);
    let client = settings().client();
    let cfg = settings();
    let pass = || webhooks_pass(store.as_ref(), &clock, &client, &cfg);
    assert_eq!(pass().await.unwrap(), 1, "first attempt: 500");
    // Not before the backoff (10 s after the first failure).
    clock.advance(time::Duration::seconds(9));
    assert_eq!(pass().await.unwrap(), 0);
    clock.advance(time::Duration::seconds(1));
    assert_eq!(pass().await.unwrap(), 1, "second attempt: 500");
    // The next delay doubles: 20 s.
    clock.advance(time::Duration::seconds(19));
    assert_eq!(pass().await.unwrap(), 0);
    clock.advance(time::Duration::seconds(1));
    assert_eq!(pass().await.unwrap(), 1, "third attempt: 200");
    clock.advance(time::Duration::hours(3));
    assert_eq!(pass().await.unwrap(), 0, "delivered: never sent again");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    let ids: Vec<_> = seen
        .iter()
        .map(|(h, _)| h["x-wadesk-delivery"].to_str().unwrap().to_owned())
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one delivery id on every attempt"
    );
    let rows = store
        .list_webhook_deliveries(
            account,
            store::Page {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, WebhookState::Delivered);
    assert_eq!(rows[0].attempts, 3);
    assert_eq!(rows[0].last_status, Some(200));
    app.stop().await;
}
on_both!(a_failing_receiver_is_retried_until_it_accepts);

async fn a_404_fails_for_good(backend: Backend) {
    let app = TestApp::start_with(backend, false).await;
    let (url, seen) = receiver(vec![404, 200]).await;
    subscribe(&app, &url, &["sla.escalation"]).await;
    let t = time::macros::datetime!(2026-11-29 12:00 UTC);
    let account = queue_escalation(&app, t).await;
    let store = app.store.clone();
    let clock = ManualClock::new(t);
    let client = settings().client();
    for _ in 0..3 {
        webhooks_pass(store.as_ref(), &clock, &client, &settings())
            .await
            .unwrap();
        clock.advance(time::Duration::hours(2));
    }
    assert_eq!(seen.lock().unwrap().len(), 1, "not retried");
    let rows = store
        .list_webhook_deliveries(
            account,
            store::Page {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(rows[0].state, WebhookState::Failed);
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(rows[0].last_status, Some(404));
    assert_eq!(rows[0].last_error.as_deref(), Some("HTTP 404"));
    app.stop().await;
}
on_both!(a_404_fails_for_good);

async fn subscriptions_are_validated_and_hide_their_secret(backend: Backend) {
    let app = TestApp::start_with(backend, false).await;
    let (s, e) = call(
        &app,
        Method::POST,
        "/webhooks",
        Some(json!({"url": "ftp://example.com/x", "events": ["sla.breach"], "secret": "short", "colour": 1})),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    let mut fields: Vec<(String, String)> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["field"].as_str().unwrap().to_owned(),
                x["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("colour".to_owned(), "invalid_field".to_owned()),
            ("events".to_owned(), "invalid_value".to_owned()),
            ("secret".to_owned(), "invalid_value".to_owned()),
            ("url".to_owned(), "invalid_value".to_owned()),
        ]
    );
    let (s, e) = call(&app, Method::POST, "/webhooks", Some(json!({}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["errors"].as_array().unwrap().len(), 3, "{e}");
    let (s, e) = call(
        &app,
        Method::POST,
        "/webhooks",
        Some(json!({"url": "https://example.com/x", "events": "sla.escalation", "secret": SECRET, "active": "yes"})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["errors"].as_array().unwrap().len(), 2, "{e}");

    let id = subscribe(&app, "https://example.com/hook", &["sla.reminder"]).await;
    // A PUT keeps the secret unless given, and validates the result.
    let (s, updated) = call(
        &app,
        Method::PUT,
        &format!("/webhooks/{id}"),
        Some(json!({"events": ["sla.reminder", "sla.escalation"], "active": false})),
    )
    .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["events"], json!(["sla.reminder", "sla.escalation"]));
    assert_eq!(updated["active"], false);
    assert!(updated.get("secret").is_none());
    let (s, _) = call(
        &app,
        Method::PUT,
        &format!("/webhooks/{id}"),
        Some(json!({"url": "not a url"})),
    )
    .await;
    assert_eq!(s, 400);
    let (_, list) = call(&app, Method::GET, "/webhooks", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(SECRET), "{list}");
    let (s, _) = call(&app, Method::DELETE, &format!("/webhooks/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = call(&app, Method::GET, &format!("/webhooks/{id}"), None).await;
    assert_eq!(s, 404);
    app.stop().await;
}
on_both!(subscriptions_are_validated_and_hide_their_secret);

/// Throughput of the sending job against a loopback receiver (run with `--ignored`; prints
/// deliveries per second). Not a correctness test.
async fn throughput(backend: Backend) {
    const N: usize = 2000;
    let app = TestApp::start_with(backend, false).await;
    let (url, seen) = receiver(vec![200]).await;
    subscribe(&app, &url, &["sla.escalation"]).await;
    let account = account(&app).await;
    let t = time::macros::datetime!(2026-11-29 12:00 UTC);
    let notifications: Vec<_> = (0..N)
        .map(|i| NewNotification {
            ticket_id: TicketId(i as i64),
            key: format!("sla:{i}:first_response:escalation:1"),
            kind: "sla_escalation".into(),
            data: json!({"target": "first_response", "level": 1}),
            at: t,
        })
        .collect();
    let started = std::time::Instant::now();
    let queued = wadesk_app::webhooks_out::enqueue_notifications(
        app.store.as_ref(),
        account,
        &notifications,
        t,
    )
    .await
    .unwrap();
    let queue_time = started.elapsed();
    assert_eq!(queued as usize, N);
    let clock = ManualClock::new(t);
    let client = settings().client();
    let cfg = settings();
    let started = std::time::Instant::now();
    while webhooks_pass(app.store.as_ref(), &clock, &client, &cfg)
        .await
        .unwrap()
        > 0
    {}
    let send_time = started.elapsed();
    assert_eq!(seen.lock().unwrap().len(), N);
    eprintln!(
        "{backend:?}: queued {N} in {queue_time:?} ({:.0}/s); sent {N} in {send_time:?} ({:.0}/s, batch {})",
        N as f64 / queue_time.as_secs_f64(),
        N as f64 / send_time.as_secs_f64(),
        cfg.batch
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn throughput_sqlite() {
    throughput(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn throughput_postgres() {
    if std::env::var("WADESK_TEST_DATABASE_URL").map_or(true, |v| v.is_empty()) {
        return;
    }
    throughput(Backend::Postgres).await;
}

/// Receives any method, recording it with headers and body.
async fn any_receiver() -> (String, Arc<Mutex<Vec<(String, HeaderMap, Vec<u8>)>>>) {
    type Log = Arc<Mutex<Vec<(String, HeaderMap, Vec<u8>)>>>;
    async fn hook(
        State(log): State<Log>,
        method: axum::http::Method,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        log.lock()
            .unwrap()
            .push((method.to_string(), headers, body.to_vec()));
        axum::http::StatusCode::NO_CONTENT
    }
    let log: Log = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/rule", axum::routing::any(hook))
        .with_state(log.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/rule"), log)
}

async fn a_rule_webhook_queued_in_a_ticket_transaction_is_sent_once(backend: Backend) {
    let app = TestApp::start_with(backend, false).await;
    let (url, log) = any_receiver().await;
    let account = account(&app).await;
    let spec: rules_engine::WebhookSpec = serde_json::from_value(json!({
        "method": "PATCH", "url": url, "content_type": "X-FORM-URLENCODED",
        "custom_headers": {"X-Api-Key": "abc"}
    }))
    .unwrap();
    let t = time::macros::datetime!(2026-11-29 12:00 UTC);
    for attempt in 0..2 {
        // The same rule and event twice (a redelivered event): queued once.
        let mut tx = app.store.begin_tickets(account).await.unwrap();
        let outgoing = wadesk_app::webhooks_out::from_spec(
            &spec,
            Some(&json!({"status": "Open", "note": "a b"})),
            "rule:3:event:41".into(),
            None,
        );
        let new = wadesk_app::webhooks_out::enqueue_in(tx.as_mut(), outgoing, t)
            .await
            .unwrap();
        assert_eq!(new, attempt == 0);
        tx.commit().await.unwrap();
    }
    let clock = ManualClock::new(t);
    let client = settings().client();
    for _ in 0..3 {
        webhooks_pass(app.store.as_ref(), &clock, &client, &settings())
            .await
            .unwrap();
    }
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 1);
    let (method, headers, body) = &log[0];
    assert_eq!(method, "PATCH");
    assert_eq!(headers["x-api-key"], "abc");
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    assert!(
        headers.get("x-wadesk-signature").is_none(),
        "rule webhooks are not signed"
    );
    assert!(headers.get("x-wadesk-delivery").is_some());
    assert_eq!(body.as_slice(), b"note=a+b&status=Open");
    app.stop().await;
}
on_both!(a_rule_webhook_queued_in_a_ticket_transaction_is_sent_once);
