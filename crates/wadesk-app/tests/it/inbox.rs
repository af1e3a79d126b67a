//! The webhook inbox: signatures, durability, idempotence, and bad input.

use std::path::{Path, PathBuf};

use store::{DeliveryFilter, DeliveryState, EventKind, Page};

use crate::harness::{self, Backend, SECRET, TestApp, notification, on_both, status, text};

const PNID: &str = "106540352242922";

fn fixture_bodies() -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("fixtures dir")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push((p.clone(), std::fs::read(&p).expect("read fixture")));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wa-client/tests/fixtures/");
    let mut out = Vec::new();
    walk(&root, &mut out);
    assert!(
        out.len() > 100,
        "expected the webhook fixtures under {}",
        root.display()
    );
    out
}

/// The same JSON with other whitespace: same meaning, other bytes.
fn reserialised(body: &[u8]) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(body).expect("fixture is JSON");
    let pretty = serde_json::to_vec_pretty(&v).expect("json");
    if pretty != body {
        pretty
    } else {
        serde_json::to_vec(&v).expect("json")
    }
}

async fn every_fixture_is_accepted_signed_and_refused_otherwise(backend: Backend) {
    let app = TestApp::start_with(backend, false).await;
    let fixtures = fixture_bodies();
    for (path, body) in &fixtures {
        let name = path.display();
        let missing = app.post_webhook(body.clone(), None).await;
        assert_eq!(missing.status(), 401, "{name}: no signature");
        let wrong = app
            .post_webhook(
                body.clone(),
                Some(wa_client::signature::sign(b"another secret", body)),
            )
            .await;
        assert_eq!(wrong.status(), 401, "{name}: wrong secret");
        let garbage = app
            .post_webhook(body.clone(), Some("sha256=zz".into()))
            .await;
        assert_eq!(garbage.status(), 401, "{name}: malformed header");
        let other_bytes = reserialised(body);
        let sig_of_original = wa_client::signature::sign(SECRET.as_bytes(), body);
        let reser = app.post_webhook(other_bytes, Some(sig_of_original)).await;
        assert_eq!(
            reser.status(),
            401,
            "{name}: signature of another serialisation"
        );
    }
    let stats = app.store.inbox_stats().await.unwrap();
    assert_eq!(stats.pending, 0, "refused deliveries must store nothing");
    let listed = app
        .store
        .list_deliveries(
            &DeliveryFilter {
                include_unassigned: true,
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert!(listed.is_empty(), "refused deliveries must store nothing");

    for (path, body) in &fixtures {
        let ok = app.post_signed(body).await;
        assert_eq!(ok.status(), 200, "{}: valid signature", path.display());
    }
    let stats = app.store.inbox_stats().await.unwrap();
    assert_eq!(stats.pending, fixtures.len() as u64);
    app.stop().await;
}
on_both!(every_fixture_is_accepted_signed_and_refused_otherwise);

async fn fixtures_are_processed_and_only_unreadable_ones_quarantined(backend: Backend) {
    let app = TestApp::start(backend).await;
    let fixtures = fixture_bodies();
    // pywa's `updates*` bundles map case names to notifications (they are not notifications
    // themselves), and one Meta example carries a placeholder timestamp: those are quarantined.
    let unreadable = fixtures
        .iter()
        .filter(
            |(_, body)| match wa_client::webhook::parse_notification(body) {
                Err(_) => true,
                Ok(n) => n.changes().any(|(_, c)| {
                    matches!(c.value, wa_client::webhook::ChangeValue::Unparsed { .. })
                }),
            },
        )
        .count();
    assert!(unreadable > 0 && unreadable < 40, "{unreadable}");
    for (_, body) in &fixtures {
        assert_eq!(app.post_signed(body).await.status(), 200);
    }
    let stats = app.drained().await;
    assert_eq!(stats.quarantined, unreadable as u64, "{stats:?}");
    app.stop().await;
}
on_both!(fixtures_are_processed_and_only_unreadable_ones_quarantined);

async fn handshake_echoes_the_challenge_only_for_the_right_token(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ok = app
        .client
        .get(app.url(&format!(
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={}&hub.challenge=1158201444",
            harness::VERIFY_TOKEN
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for q in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=test-verify-token&hub.challenge=1",
        "hub.challenge=1",
    ] {
        let r = app
            .client
            .get(app.url(&format!("/webhooks/whatsapp?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{q}");
    }
    app.stop().await;
}
on_both!(handshake_echoes_the_challenge_only_for_the_right_token);

fn multi_entry_delivery() -> serde_json::Value {
    let mut n = notification(
        PNID,
        vec![
            text("wamid.A1", 1_749_416_383, "hello"),
            text("wamid.A2", 1_749_416_384, "are you there?"),
        ],
        vec![
            status("wamid.OUT1", "sent", 1_749_416_385),
            status("wamid.OUT1", "delivered", 1_749_416_386),
        ],
    );
    // A second change in the same entry, and a second entry with its own change.
    let second_change = notification(
        PNID,
        vec![text("wamid.B1", 1_749_416_390, "second change")],
        vec![status("wamid.OUT2", "read", 1_749_416_391)],
    )["entry"][0]["changes"][0]
        .clone();
    n["entry"][0]["changes"]
        .as_array_mut()
        .unwrap()
        .push(second_change);
    let second_entry = notification(
        PNID,
        vec![text("wamid.C1", 1_749_416_400, "second entry")],
        vec![],
    )["entry"][0]
        .clone();
    n["entry"].as_array_mut().unwrap().push(second_entry);
    n
}

async fn a_delivery_records_every_event_once_even_when_posted_many_times(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let body = serde_json::to_vec(&multi_entry_delivery()).unwrap();
    assert_eq!(app.post_signed(&body).await.status(), 200);
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let posts = (0..100).map(|_| app.post_signed(&body));
    for r in futures::future::join_all(posts).await {
        assert_eq!(r.status(), 200);
    }
    let stats = app.drained().await;
    assert_eq!(stats.quarantined, 0);
    assert_eq!(
        app.event_keys(EventKind::Message).await,
        vec![
            format!("msg:{PNID}:wamid.A1"),
            format!("msg:{PNID}:wamid.A2"),
            format!("msg:{PNID}:wamid.B1"),
            format!("msg:{PNID}:wamid.C1"),
        ]
    );
    assert_eq!(
        app.event_keys(EventKind::Status).await,
        vec![
            format!("status:{PNID}:wamid.OUT1:delivered:16505551234"),
            format!("status:{PNID}:wamid.OUT1:sent:16505551234"),
            format!("status:{PNID}:wamid.OUT2:read:16505551234"),
        ]
    );
    // Every copy of the delivery is kept as received.
    let all = app
        .store
        .list_deliveries(
            &DeliveryFilter {
                include_unassigned: true,
                account_id: None,
                state: None,
            },
            Page {
                page: 1,
                per_page: 200,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 102);
    assert!(all.iter().all(|d| d.state == DeliveryState::Processed));
    let events = app.events().await;
    let a1 = events
        .iter()
        .find(|e| e.event.message_id.as_deref() == Some("wamid.A1"))
        .unwrap();
    assert_eq!(
        a1.event.wa_timestamp.map(|t| t.unix_timestamp()),
        Some(1_749_416_383)
    );
    assert_eq!(a1.event.wa_id.as_deref(), Some("16505551234"));
    assert_eq!(a1.event.payload["message"]["text"]["body"], "hello");
    assert_eq!(
        a1.event.payload["contact"]["profile"]["name"],
        "Sheena Nelson"
    );
    app.stop().await;
}
on_both!(a_delivery_records_every_event_once_even_when_posted_many_times);

async fn bad_input_has_a_defined_outcome_and_blocks_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;

    // Over Meta's 3 MB: refused, nothing stored.
    let mut huge = b"{\"object\":\"whatsapp_business_account\",\"entry\":[],\"pad\":\"".to_vec();
    huge.resize(3 * 1024 * 1024 + 10, b'x');
    huge.extend_from_slice(b"\"}");
    assert_eq!(app.post_signed(&huge).await.status(), 413);

    // Malformed JSON, a wrong object, a number nobody connected, absurd timestamps: all 200.
    let malformed = b"{\"object\": \"whatsapp_business_account\", \"entry\": [".to_vec();
    let wrong_object = br#"{"object":"page","entry":[{"id":"1","messaging":[]}]}"#.to_vec();
    let unrouted = serde_json::to_vec(&notification(
        "999999999999999",
        vec![text("wamid.U1", 1_749_416_383, "hi")],
        vec![],
    ))
    .unwrap();
    let absurd = serde_json::to_vec(&notification(
        PNID,
        vec![
            text("wamid.T0", 0, "epoch"),
            text("wamid.TF", 32_503_680_000, "year 3000"),
            text("wamid.TN", -5, "negative"),
        ],
        vec![],
    ))
    .unwrap();
    let mut nul_message = text("wamid.NUL\u{0}X", 1_749_416_383, "nul \u{0} inside");
    nul_message["from"] = serde_json::json!("1650\u{0}5551234");
    let nul = serde_json::to_vec(&notification(PNID, vec![nul_message], vec![])).unwrap();
    let good = serde_json::to_vec(&notification(
        PNID,
        vec![text("wamid.GOOD", 1_749_416_383, "after the bad ones")],
        vec![],
    ))
    .unwrap();
    for body in [&malformed, &wrong_object, &unrouted, &absurd, &nul, &good] {
        assert_eq!(app.post_signed(body).await.status(), 200);
    }
    let stats = app.drained().await;
    assert_eq!(stats.quarantined, 2, "{stats:?}");
    assert_eq!(stats.unrouted, 1, "{stats:?}");

    let keys = app.event_keys(EventKind::Message).await;
    assert!(keys.contains(&format!("msg:{PNID}:wamid.GOOD")), "{keys:?}");
    assert!(
        !keys.iter().any(|k| k.contains("wamid.U1")),
        "unrouted deliveries record no events"
    );
    assert!(
        keys.contains(&format!("msg:{PNID}:wamid.NUL\u{FFFD}X")),
        "NUL in ids is replaced, not fatal: {keys:?}"
    );
    let events = app.events().await;
    for id in ["wamid.T0", "wamid.TF", "wamid.TN"] {
        let e = events
            .iter()
            .find(|e| e.event.message_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("{id} recorded"));
        assert_eq!(
            e.event.wa_timestamp, None,
            "{id}: an implausible timestamp is not used"
        );
    }

    // The quarantined bodies are listed for the operator's admins and can be re-processed.
    let listed: serde_json::Value = app
        .api(
            reqwest::Method::GET,
            "/whatsapp/webhook_deliveries?state=quarantined",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let id = listed[0]["id"].as_i64().unwrap();
    let shown: serde_json::Value = app
        .api(
            reqwest::Method::GET,
            &format!("/whatsapp/webhook_deliveries/{id}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(shown["body"].as_str().is_some_and(|b| !b.is_empty()));
    assert!(shown["error"].as_str().is_some_and(|e| !e.is_empty()));
    let again = app
        .api(
            reqwest::Method::POST,
            &format!("/whatsapp/webhook_deliveries/{id}/reprocess"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 202);
    let stats = app.drained().await;
    assert_eq!(
        stats.quarantined, 2,
        "still unparseable after re-processing"
    );

    // A number connected later: its unrouted delivery can be re-processed into events.
    app.connect_number("999999999999999").await;
    let unrouted_rows = app
        .store
        .list_deliveries(
            &DeliveryFilter {
                state: Some(DeliveryState::Unrouted),
                include_unassigned: true,
                account_id: None,
            },
            Page::default(),
        )
        .await
        .unwrap();
    let r = app
        .api(
            reqwest::Method::POST,
            &format!(
                "/whatsapp/webhook_deliveries/{}/reprocess",
                unrouted_rows[0].id
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    app.drained().await;
    assert!(
        app.event_keys(EventKind::Message)
            .await
            .contains(&"msg:999999999999999:wamid.U1".to_string())
    );
    app.stop().await;
}
on_both!(bad_input_has_a_defined_outcome_and_blocks_nothing);

async fn metrics_and_health_are_served(backend: Backend) {
    let app = TestApp::start(backend).await;
    let h = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(h.status(), 200);
    let body = serde_json::to_vec(&notification(
        PNID,
        vec![text("wamid.M1", 1_749_416_383, "x")],
        vec![],
    ))
    .unwrap();
    assert_eq!(app.post_signed(&body).await.status(), 200);
    assert_eq!(app.post_webhook(body, None).await.status(), 401);
    app.drained().await;
    let m = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "wadesk_webhook_deliveries_received_total",
        "wadesk_webhook_deliveries_refused_total",
        "wadesk_inbox_pending_deliveries",
        "wadesk_inbox_lag_seconds",
    ] {
        assert!(m.contains(name), "{name} missing from /metrics:\n{m}");
    }
    app.stop().await;
}
on_both!(metrics_and_health_are_served);

async fn shutdown_lets_in_flight_deliveries_finish(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client.clone();
    let url = app.url("/webhooks/whatsapp");
    let posts: Vec<_> = (0..300)
        .map(|i| {
            let body = serde_json::to_vec(&notification(
                PNID,
                vec![text(&format!("wamid.SD{i}"), 1_749_416_383, "x")],
                vec![],
            ))
            .unwrap();
            let sig = wa_client::signature::sign(SECRET.as_bytes(), &body);
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let r = client
                    .post(url)
                    .header("x-hub-signature-256", sig)
                    .body(body)
                    .send()
                    .await;
                (i, r.map(|r| r.status().as_u16()))
            })
        })
        .collect();
    // Stop once the first deliveries are stored, with most of the 300 still in flight (on a
    // loaded machine a fixed sleep could stop before any request arrived).
    let store = app.store.clone();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while store
        .list_deliveries(
            &Default::default(),
            store::Page {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let kept = app.stop_keeping_database().await;
    let mut acked = Vec::new();
    for p in posts {
        let (i, r) = p.await.unwrap();
        match r {
            Ok(200) => acked.push(format!("wamid.SD{i}")),
            Ok(other) => panic!("delivery {i} answered {other} during shutdown"),
            Err(_) => {} // refused after the listener closed: Meta retries it
        }
    }
    let mut stored = Vec::new();
    let rows = store
        .list_deliveries(
            &DeliveryFilter {
                include_unassigned: true,
                ..Default::default()
            },
            Page {
                page: 1,
                per_page: 1000,
            },
        )
        .await
        .unwrap();
    for row in rows {
        let d = store.get_delivery(row.id).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
        stored.push(
            v["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for id in &acked {
        assert!(stored.contains(id), "{id} was acknowledged but not stored");
    }
    assert!(!acked.is_empty(), "some deliveries were in flight");
    kept.drop_now().await;
}
on_both!(shutdown_lets_in_flight_deliveries_finish);

/// A server that only serves (`WADESK_RUN_JOBS=false`) and a worker on its own connections to
/// the same database, as `wadesk-server` and `wadesk-worker` processes would run.
async fn a_separate_worker_processes_what_the_server_stores(backend: Backend) {
    let app = TestApp::start_with(backend, false).await;
    app.connect_number(PNID).await;
    let worker_store = app.second_store().await;
    let worker = wadesk_app::Wadesk::with_store(
        harness::config(true),
        worker_store,
        std::sync::Arc::new(wadesk_app::SystemClock),
    )
    .await
    .unwrap();
    let stop_worker = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(worker.run_jobs(stop_worker.clone()));
    for i in 0..20 {
        let body = serde_json::to_vec(&notification(
            PNID,
            vec![text(
                &format!("wamid.W{i}"),
                1_749_416_383 + i,
                "from a customer",
            )],
            vec![],
        ))
        .unwrap();
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    let stats = app.drained().await;
    assert_eq!(stats.quarantined, 0);
    assert_eq!(app.event_keys(EventKind::Message).await.len(), 20);
    // The worker also runs the tickets job: one customer, one thread, one ticket.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let tickets: Vec<serde_json::Value> = app
            .api(reqwest::Method::GET, "/tickets")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if tickets.len() == 1 {
            let id = tickets[0]["id"].as_i64().unwrap();
            let conv: Vec<serde_json::Value> = app
                .api(
                    reqwest::Method::GET,
                    &format!("/tickets/{id}/conversations"),
                )
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if conv.len() == 19 {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker did not make the ticket"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop_worker.cancel();
    worker.await.unwrap().unwrap();
    app.stop().await;
}
on_both!(a_separate_worker_processes_what_the_server_stores);

/// Retention (`WADESK_DELIVERY_RETENTION_DAYS`): the job empties the bodies of processed
/// deliveries older than the setting; their tickets and events stay, the API says the body was
/// pruned and refuses to process it again, and a quarantined body is kept for its admin.
async fn retention_prunes_old_bodies_and_keeps_their_tickets(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let body = serde_json::to_vec(&notification(
        PNID,
        vec![text("wamid.OLD1", 1_749_416_383, "keep my ticket")],
        vec![],
    ))
    .unwrap();
    assert_eq!(app.post_signed(&body).await.status(), 200);
    assert_eq!(app.post_signed(b"{not json").await.status(), 200);
    let stats = app.drained().await;
    assert_eq!(stats.quarantined, 1);
    let deliveries = app
        .store
        .list_deliveries(
            &DeliveryFilter {
                include_unassigned: true,
                ..DeliveryFilter::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    let processed = deliveries
        .iter()
        .find(|d| d.state == DeliveryState::Processed)
        .expect("the message's delivery")
        .id;
    let quarantined = deliveries
        .iter()
        .find(|d| d.state == DeliveryState::Quarantined)
        .expect("the bad body")
        .id;
    let show = |id: store::DeliveryId| {
        let app = &app;
        async move {
            app.get_json(&format!("/whatsapp/webhook_deliveries/{}", id.0))
                .await
        }
    };
    assert_eq!(show(processed).await["body_pruned"], false);

    // Thirty-one days later, with thirty days of retention, the job's loop prunes it.
    let clock = wadesk_app::ManualClock::new(
        wadesk_app::Clock::now(&wadesk_app::SystemClock) + time::Duration::days(31),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let job = tokio::spawn(wadesk_app::retention::run_retention(
        app.store.clone(),
        std::sync::Arc::new(clock.clone()),
        Some(30),
        std::time::Duration::from_millis(20),
        stop.clone(),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !app.store.get_delivery(processed).await.unwrap().pruned {
        assert!(std::time::Instant::now() < deadline, "never pruned");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Passes that find nothing more follow; each must end its transaction, or the next one
    // waits for its lock for ever and the job never stops.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(20), job)
        .await
        .expect("the retention job stops when told")
        .unwrap();

    let shown = show(processed).await;
    assert_eq!(shown["body_pruned"], true);
    assert_eq!(shown["size"], body.len());
    assert_eq!(shown["state"], "processed");
    assert!(shown.get("body").is_none() && shown.get("body_base64").is_none());
    let refused = app
        .api(
            reqwest::Method::POST,
            &format!("/whatsapp/webhook_deliveries/{}/reprocess", processed.0),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refused["errors"][0]["code"], "body_pruned", "{refused}");

    // The quarantined body is kept; the ticket and its message are untouched.
    let kept = show(quarantined).await;
    assert_eq!(
        (&kept["body_pruned"], &kept["body"]),
        (&serde_json::json!(false), &serde_json::json!("{not json"))
    );
    let tickets = app.get_json("/tickets").await;
    let ticket = tickets.as_array().unwrap()[0]["id"].as_i64().unwrap();
    let conversation = app
        .get_json(&format!("/tickets/{ticket}/conversations"))
        .await;
    let texts =
        serde_json::to_string(&conversation).unwrap() + &serde_json::to_string(&tickets).unwrap();
    assert!(texts.contains("keep my ticket"), "{texts}");
    assert!(
        app.event_keys(EventKind::Message)
            .await
            .contains(&format!("msg:{PNID}:wamid.OLD1"))
    );

    // Again: nothing more to prune.
    let again = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        wadesk_app::retention::prune_pass(
            app.store.as_ref(),
            &clock,
            30,
            &tokio_util::sync::CancellationToken::new(),
        ),
    )
    .await
    .expect("a pass after the job's passes does not wait for them")
    .unwrap();
    assert_eq!(again, 0);
    app.stop().await;
}
on_both!(retention_prunes_old_bodies_and_keeps_their_tickets);
