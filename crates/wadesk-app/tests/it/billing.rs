//! WhatsApp billing end to end: signed status webhooks with Meta's `pricing` and `conversation`
//! objects (per-message and conversation-based shapes, as in the fixtures under
//! crates/wa-client/tests/fixtures/meta-docs/messages_status__*.json) posted to the server, then
//! the billing endpoints.

use std::time::Duration;

use billing_model::{Category, Charging, Currency, Market, RateBook};
use serde_json::{Value, json};
use store::NewAgent;
use ticketing_core::{Plan, Role};
use time::OffsetDateTime;
use time::macros::{date, datetime};
use wadesk_app::Clock;

use crate::harness::{Backend, TestApp, on_both};

const PNID: &str = "106540352242922";
const NA: &str = "16505551234";
const DOMINICAN: &str = "18095550100";
const BRAZIL: &str = "5511912345678";

fn ts(t: OffsetDateTime) -> String {
    t.unix_timestamp().to_string()
}

fn body(pnid: &str, messages: Vec<Value>, statuses: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": "15550783881", "phone_number_id": pnid },
                    "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": NA }],
                    "messages": messages,
                    "statuses": statuses,
                }
            }]
        }]
    }))
    .unwrap()
}

fn inbound(id: &str, from: &str, at: OffsetDateTime) -> Value {
    json!({ "from": from, "id": id, "timestamp": ts(at), "type": "text", "text": { "body": "hi" } })
}

/// A per-message-pricing status (Meta's shape from July 2025).
fn pmp(id: &str, to: &str, status: &str, at: OffsetDateTime, kind: &str, category: &str) -> Value {
    json!({
        "id": id, "status": status, "timestamp": ts(at), "recipient_id": to,
        "pricing": { "billable": kind == "regular", "pricing_model": "PMP", "type": kind, "category": category }
    })
}

/// A conversation-based-pricing status (Meta's shape before July 2025).
fn cbp(
    id: &str,
    to: &str,
    at: OffsetDateTime,
    conversation: &str,
    category: &str,
    billable: bool,
) -> Value {
    json!({
        "id": id, "status": "delivered", "timestamp": ts(at), "recipient_id": to,
        "conversation": { "id": conversation, "expiration_timestamp": ts(at + time::Duration::hours(24)),
                          "origin": { "type": category } },
        "pricing": { "billable": billable, "pricing_model": "CBP", "category": category }
    })
}

fn rate(day: time::Date, market: &str, category: Category) -> i64 {
    RateBook::sample()
        .in_force(Currency::USD, day)
        .unwrap()
        .rate(&Market::new(market), category)
        .unwrap()
        .micros
}

/// Waits until the inbox and the billing queue are empty.
async fn settled(app: &TestApp) {
    app.drained().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.store.billing_backlog().await.unwrap() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "billing queue did not drain"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn get(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    let resp = app
        .client
        .get(app.url(&format!("/api/v2{path}")))
        .basic_auth(key, Some("X"))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn line<'a>(s: &'a Value, market: &str, category: &str) -> &'a Value {
    s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["market"] == market && l["category"] == category)
        .unwrap_or_else(|| panic!("no line {market}/{category} in {s}"))
}

async fn statuses_are_billed_per_account(backend: Backend) {
    let app = TestApp::start(backend).await;
    let number = app.connect_number(PNID).await;
    let number_id = number["id"].as_i64().unwrap();

    // Per-message pricing, January 2026.
    let t0 = datetime!(2026-01-10 10:00 UTC);
    let h = time::Duration::hours(1);
    let january = body(
        PNID,
        vec![inbound("wamid.IN1", NA, t0)],
        vec![
            // A utility template inside the service window: free.
            pmp(
                "wamid.U1",
                NA,
                "delivered",
                t0 + h,
                "free_customer_service",
                "utility",
            ),
            // Meta charges a utility template the model thinks is in the window: reconciled.
            pmp(
                "wamid.U2",
                NA,
                "delivered",
                t0 + 2 * h,
                "regular",
                "utility",
            ),
            // Marketing to North America, sent then delivered then read: charged once.
            pmp("wamid.M1", NA, "sent", t0 + 3 * h, "regular", "marketing"),
            pmp(
                "wamid.M1",
                NA,
                "delivered",
                t0 + 3 * h,
                "regular",
                "marketing",
            ),
            json!({ "id": "wamid.M1", "status": "read", "timestamp": ts(t0 + 4 * h), "recipient_id": NA }),
            // +1 809: the Dominican Republic, in Rest of Latin America.
            pmp(
                "wamid.M2",
                DOMINICAN,
                "delivered",
                t0 + 5 * h,
                "regular",
                "marketing",
            ),
            // Only sent, and failed: not billed.
            pmp("wamid.S1", NA, "sent", t0 + 6 * h, "regular", "marketing"),
            json!({ "id": "wamid.F1", "status": "failed", "timestamp": ts(t0 + 6 * h), "recipient_id": NA,
                    "errors": [{ "code": 131047, "title": "Re-engagement message" }] }),
        ],
    );
    assert_eq!(app.post_signed(&january).await.status(), 200);
    // Conversation-based pricing, March 2024: one marketing conversation with two messages, one
    // service conversation inside the free tier.
    let c0 = datetime!(2024-03-05 09:00 UTC);
    let march = body(
        PNID,
        vec![],
        vec![
            cbp("wamid.C1", BRAZIL, c0, "conv-1", "marketing", true),
            cbp("wamid.C2", BRAZIL, c0 + h, "conv-1", "marketing", true),
            cbp("wamid.C3", BRAZIL, c0 + 30 * h, "conv-2", "service", false),
        ],
    );
    assert_eq!(app.post_signed(&march).await.status(), 200);

    // Another account's number, and a number nobody connected.
    let agent = NewAgent {
        name: "Other".into(),
        email: "other@example.com".into(),
        role: Role::Admin,
        api_key_hash: wadesk_app::http::hash_api_key("other-key"),
    };
    app.store
        .create_account("other", Plan::Growth, &agent, OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap();
    let resp = app
        .client
        .post(app.url("/api/v2/whatsapp/numbers"))
        .basic_auth("other-key", Some("X"))
        .json(&json!({ "phone_number_id": "200200200", "waba_id": "300300300",
                       "display_phone_number": "+1 555 0199", "access_token": "EAAG-x", "name": "Other" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let other_number = resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let theirs = body(
        "200200200",
        vec![],
        vec![pmp("wamid.O1", NA, "delivered", t0, "regular", "marketing")],
    );
    assert_eq!(app.post_signed(&theirs).await.status(), 200);
    let nobodys = body(
        "999999999",
        vec![],
        vec![pmp("wamid.X1", NA, "delivered", t0, "regular", "marketing")],
    );
    assert_eq!(app.post_signed(&nobodys).await.status(), 200);
    settled(&app).await;

    let jan_day = date!(2026 - 01 - 10);
    let check_january = |s: &Value| {
        assert_eq!(s["month"], "2026-01");
        assert_eq!(s["currency"], "USD");
        let lines = s["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 3, "{s}");
        let utility = line(s, "North America", "utility");
        assert_eq!(utility["number_id"], number_id);
        assert_eq!(
            (utility["billable"].as_u64(), utility["free"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(
            utility["amount_micros"],
            rate(jan_day, "North America", Category::Utility)
        );
        let na = line(s, "North America", "marketing");
        assert_eq!(
            (na["billable"].as_u64(), na["free"].as_u64()),
            (Some(1), Some(0))
        );
        let na_rate = rate(jan_day, "North America", Category::Marketing);
        assert_eq!(na["amount_micros"], na_rate);
        let latam = line(s, "Rest of Latin America", "marketing");
        let latam_rate = rate(jan_day, "Rest of Latin America", Category::Marketing);
        assert_eq!(
            (latam["billable"].as_u64(), latam["amount_micros"].as_i64()),
            (Some(1), Some(latam_rate))
        );
        let sum: i64 = lines
            .iter()
            .map(|l| l["amount_micros"].as_i64().unwrap())
            .sum();
        assert_eq!(s["total_micros"], sum);
        assert_eq!(
            sum,
            na_rate + latam_rate + rate(jan_day, "North America", Category::Utility)
        );
    };
    let (status, january_statement) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2026-01",
    )
    .await;
    assert_eq!(status, 200, "{january_statement}");
    check_january(&january_statement);

    // The same lines as CSV.
    let csv = app
        .api(reqwest::Method::GET, "/whatsapp/billing?month=2026-01")
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("number_id,market,category,billable,free,amount_micros")
    );
    let from_json: Vec<String> = january_statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{},{},{},{},{},{}",
                l["number_id"],
                l["market"].as_str().unwrap(),
                l["category"].as_str().unwrap(),
                l["billable"],
                l["free"],
                l["amount_micros"]
            )
        })
        .collect();
    assert_eq!(rows.map(str::to_owned).collect::<Vec<_>>(), from_json);

    // Conversation-based pricing: one charged marketing conversation, one free service one.
    let (_, s) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2024-03",
    )
    .await;
    let marketing = line(&s, "Brazil", "marketing");
    assert_eq!(
        (marketing["billable"].as_u64(), marketing["free"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        marketing["amount_micros"],
        rate(date!(2024 - 03 - 05), "Brazil", Category::Marketing)
    );
    let service = line(&s, "Brazil", "service");
    assert_eq!(
        (service["billable"].as_u64(), service["free"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(s["lines"].as_array().unwrap().len(), 2);

    // Reconciliation: Meta charged U2, the model would not have.
    let (status, r) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing/reconciliation?month=2026-01",
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let found = r["discrepancies"].as_array().unwrap();
    assert!(
        found.iter().any(|d| d["message_id"] == "wamid.U2"
            && d["kind"] == "billable"
            && d["meta"] == true
            && d["model"] == false
            && d["number_id"] == number_id),
        "{r}"
    );

    // Redelivery doubles nothing.
    assert_eq!(app.post_signed(&january).await.status(), 200);
    assert_eq!(app.post_signed(&march).await.status(), 200);
    settled(&app).await;
    let (_, again) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2026-01",
    )
    .await;
    assert_eq!(again, january_statement);

    // One number; another account's number is not ours.
    let (_, one) = get(
        &app,
        crate::harness::API_KEY,
        &format!("/whatsapp/billing?month=2026-01&number_id={number_id}"),
    )
    .await;
    assert_eq!(one, january_statement);
    let (status, e) = get(
        &app,
        crate::harness::API_KEY,
        &format!("/whatsapp/billing?month=2026-01&number_id={other_number}"),
    )
    .await;
    assert_eq!(status, 404, "{e}");
    assert_eq!(e["errors"][0]["field"], "number_id");
    // The other account sees only its own number's message; nobody's number is billed nowhere.
    let (_, other) = get(&app, "other-key", "/whatsapp/billing?month=2026-01").await;
    let lines = other["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{other}");
    assert_eq!(lines[0]["number_id"], other_number);
    assert_eq!(lines[0]["billable"], 1);
    let facts = app
        .store
        .list_billing_facts(
            ticketing_core::AccountId(1),
            OffsetDateTime::UNIX_EPOCH,
            datetime!(2030-01-01 0:00 UTC),
        )
        .await
        .unwrap();
    assert!(
        facts
            .iter()
            .all(|f| f.fact.message_id != "wamid.X1" && f.fact.message_id != "wamid.O1")
    );

    // Validation in Freshdesk's shape.
    for bad in ["", "?month=2026-13", "?month=2026-1", "?month=january"] {
        let (status, e) = get(
            &app,
            crate::harness::API_KEY,
            &format!("/whatsapp/billing{bad}"),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {e}");
        assert_eq!(e["errors"][0]["field"], "month", "{bad}");
    }
    let (status, _) = get(&app, "wrong-key", "/whatsapp/billing?month=2026-01").await;
    assert_eq!(status, 401);

    app.stop().await;
}
on_both!(statuses_are_billed_per_account);

async fn settings_time_zone_rate_cards_and_estimate(backend: Backend) {
    let app = TestApp::start(backend).await;
    let number = app.connect_number(PNID).await;
    let number_id = number["id"].as_i64().unwrap();

    // A message delivered on 31 January 23:30 UTC is in January in UTC, but on 1 February in
    // Tokyo (UTC+9).
    let at = datetime!(2026-01-31 23:30 UTC);
    let b = body(
        PNID,
        vec![],
        vec![pmp("wamid.T1", NA, "delivered", at, "regular", "marketing")],
    );
    assert_eq!(app.post_signed(&b).await.status(), 200);
    settled(&app).await;
    let months = |s: &Value| s["lines"].as_array().unwrap().len();
    let (_, jan) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2026-01",
    )
    .await;
    assert_eq!(months(&jan), 1);
    let put = |body: Value| {
        app.api(reqwest::Method::PUT, "/whatsapp/billing/settings")
            .json(&body)
            .send()
    };
    let resp = put(json!({ "time_zone": "Asia/Tokyo" })).await.unwrap();
    assert_eq!(resp.status(), 200);
    let (_, jan) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2026-01",
    )
    .await;
    assert_eq!(months(&jan), 0, "{jan}");
    let (_, feb) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2026-02",
    )
    .await;
    assert_eq!(months(&feb), 1, "{feb}");
    let resp = put(json!({ "time_zone": "Mars/Olympus" })).await.unwrap();
    assert_eq!(resp.status(), 400);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["errors"][0]["field"], "time_zone");
    let resp = put(json!({ "time_zone": null })).await.unwrap();
    assert_eq!(resp.status(), 200);

    // The business's own card, in force from 2026-01-15.
    let card = "[card]\nid = acme-2026-01-15\neffective_from = 2026-01-15\ncurrency = USD\nmodel = PMP\n\
                source = test card\n[rates]\nmarket,marketing,utility\nNorth America,0.5,0.1\n";
    let resp = app
        .api(reqwest::Method::PUT, "/whatsapp/billing/rate_cards")
        .header("content-type", "text/plain")
        .body(card)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, jan) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2026-01",
    )
    .await;
    assert_eq!(jan["lines"][0]["amount_micros"], 500_000, "{jan}");
    let resp = app
        .api(reqwest::Method::PUT, "/whatsapp/billing/rate_cards")
        .body("[card]\nid = x\neffective_from = 2026-01-15\ncurrency = USD\nmodel = PMP\nsource = s\n[rates]\nmarket,marketing\nUAE,0.1\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["errors"][0]["field"], "rate_cards");
    assert!(
        e["errors"][0]["message"].as_str().unwrap().contains("line"),
        "{e}"
    );

    // Estimates, now: the customer wrote an hour ago, so a utility template is in the window.
    let now = wadesk_app::SystemClock.now();
    let b = body(
        PNID,
        vec![inbound("wamid.NOW", NA, now - time::Duration::hours(1))],
        vec![],
    );
    assert_eq!(app.post_signed(&b).await.status(), 200);
    settled(&app).await;
    let book = wadesk_app::billing::rate_book(
        &app.store
            .billing_settings(ticketing_core::AccountId(1))
            .await
            .unwrap(),
        &billing_model::MarketTable::meta(),
    )
    .unwrap();
    let card = book.in_force(Currency::USD, now.date()).unwrap();
    let (status, m) = get(&app, crate::harness::API_KEY, &format!("/whatsapp/billing/estimate?number_id={number_id}&phone=%2B1%20650%20555%201234&category=marketing")).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["market"], "North America");
    assert_eq!(m["free"], false);
    assert_eq!(m["in_service_window"], true);
    assert_eq!(m["card"]["id"], card.id.as_str());
    assert_eq!(
        m["amount_micros"],
        card.rate(&Market::new("North America"), Category::Marketing)
            .unwrap()
            .micros
    );
    let (_, u) = get(
        &app,
        crate::harness::API_KEY,
        &format!(
            "/whatsapp/billing/estimate?number_id={number_id}&phone=16505551234&category=utility"
        ),
    )
    .await;
    assert_eq!(u["free"], card.utility_in_window == Charging::Free, "{u}");
    let (_, d) = get(
        &app,
        crate::harness::API_KEY,
        &format!(
            "/whatsapp/billing/estimate?number_id={number_id}&phone=18095550100&category=utility"
        ),
    )
    .await;
    assert_eq!(d["market"], "Rest of Latin America");
    assert_eq!(d["in_service_window"], false);
    assert_eq!(d["free"], false);
    for (q, field) in [
        (
            format!("number_id={number_id}&phone=abc&category=marketing"),
            "phone",
        ),
        (
            format!("number_id={number_id}&phone=16505551234&category=service"),
            "category",
        ),
        (
            "phone=16505551234&category=marketing".to_owned(),
            "number_id",
        ),
    ] {
        let (status, e) = get(
            &app,
            crate::harness::API_KEY,
            &format!("/whatsapp/billing/estimate?{q}"),
        )
        .await;
        assert_eq!(status, 400, "{q}: {e}");
        assert_eq!(e["errors"][0]["field"], field);
    }
    app.stop().await;
}
on_both!(settings_time_zone_rate_cards_and_estimate);

/// The server's jobs and two workers on their own connections to the same database, as
/// `wadesk-server` and `wadesk-worker` processes would run: every status is billed once.
async fn several_workers_bill_each_status_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let mut workers = Vec::new();
    let stop = tokio_util::sync::CancellationToken::new();
    for _ in 0..2 {
        let w = wadesk_app::Wadesk::with_store(
            crate::harness::config(true),
            app.second_store().await,
            std::sync::Arc::new(wadesk_app::SystemClock),
        )
        .await
        .unwrap();
        workers.push(tokio::spawn(w.run_jobs(stop.clone())));
    }
    let t0 = datetime!(2026-02-03 08:00 UTC);
    let bodies: Vec<Vec<u8>> = (0..12)
        .map(|b| {
            let statuses = (0..10)
                .flat_map(|i| {
                    let id = format!("wamid.P{b}x{i}");
                    let at = t0 + time::Duration::minutes(b * 10 + i);
                    [
                        pmp(&id, NA, "sent", at, "regular", "marketing"),
                        pmp(&id, NA, "delivered", at, "regular", "marketing"),
                    ]
                })
                .collect();
            body(PNID, vec![], statuses)
        })
        .collect();
    // Every body twice, concurrently (Meta's redeliveries).
    let posts = bodies
        .iter()
        .chain(bodies.iter())
        .map(|b| app.post_signed(b));
    for resp in futures::future::join_all(posts).await {
        assert_eq!(resp.status(), 200);
    }
    settled(&app).await;
    let facts = app
        .store
        .list_billing_facts(
            ticketing_core::AccountId(1),
            t0 - time::Duration::days(1),
            t0 + time::Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(facts.len(), 240, "one fact per status event");
    let m = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("wadesk_billing_queue_events 0"), "{m}");
    let (_, s) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2026-02",
    )
    .await;
    let l = line(&s, "North America", "marketing");
    assert_eq!(l["billable"], 120, "{s}");
    assert_eq!(
        l["amount_micros"],
        120 * rate(date!(2026 - 02 - 03), "North America", Category::Marketing)
    );
    stop.cancel();
    for w in workers {
        w.await.unwrap().unwrap();
    }
    app.stop().await;
}
on_both!(several_workers_bill_each_status_once);

/// A customer who came from a click-to-WhatsApp ad (Meta's `referral`, `source_type` `ad`):
/// templates in the following 72 hours are free. The model sees the entry point too: it agrees
/// with Meta's `free_entry_point`, so the reconciliation report is empty.
async fn a_click_to_whatsapp_ad_opens_a_free_entry_point(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.connect_number(PNID).await;
    let t0 = datetime!(2026-02-10 08:00 UTC);
    let h = time::Duration::hours(1);
    let mut ad = inbound("wamid.AD", NA, t0);
    ad["referral"] = json!({
        "source_url": "https://fb.me/x", "source_id": "120", "source_type": "ad",
        "body": "Ad", "headline": "Ad", "media_type": "image", "ctwa_clid": "abc"
    });
    let fep = |id: &str, at: OffsetDateTime| {
        let mut s = pmp(
            id,
            NA,
            "delivered",
            at,
            "free_entry_point",
            "referral_conversion",
        );
        s["conversation"] = json!({ "id": "fep-1", "origin": { "type": "referral_conversion" } });
        s
    };
    let b = body(
        PNID,
        vec![ad],
        vec![
            fep("wamid.E1", t0 + h),
            fep("wamid.E2", t0 + 50 * h),
            // After the 72 hours, a marketing template is charged again.
            pmp(
                "wamid.E3",
                NA,
                "delivered",
                t0 + 80 * h,
                "regular",
                "marketing",
            ),
        ],
    );
    assert_eq!(app.post_signed(&b).await.status(), 200);
    settled(&app).await;
    let (_, s) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing?month=2026-02",
    )
    .await;
    let free = line(&s, "North America", "referral_conversion");
    assert_eq!(
        (free["billable"].as_u64(), free["free"].as_u64()),
        (Some(0), Some(2)),
        "{s}"
    );
    let charged = line(&s, "North America", "marketing");
    assert_eq!(charged["billable"], 1);
    assert_eq!(s["lines"].as_array().unwrap().len(), 2, "{s}");
    let (_, r) = get(
        &app,
        crate::harness::API_KEY,
        "/whatsapp/billing/reconciliation?month=2026-02",
    )
    .await;
    assert_eq!(r["discrepancies"], json!([]), "{r}");
    assert_eq!(r["issues"], json!([]), "{r}");
    app.stop().await;
}
on_both!(a_click_to_whatsapp_ad_opens_a_free_entry_point);
