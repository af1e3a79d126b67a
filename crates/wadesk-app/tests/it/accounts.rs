//! Accounts, agents, groups, roles, plans, numbers onboarding (against wa-sim over loopback),
//! business profiles and tenant isolation, on both databases.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use store::NewAgent;
use ticketing_core::{AccountId, Plan, Role};
use wa_sim::{CustomerMessage, EdgeFailure, SimConfig, SimHandle, Simulator};

use crate::harness::{API_KEY, Backend, TestApp, config_with, on_both};

/// A key that seals the test database's secrets.
const SECRET_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// The WABA token the simulator accepts.
const TOKEN: &str = wa_sim::DEFAULT_TOKEN;
const WABA: &str = wa_sim::DEFAULT_WABA_ID;

async fn sim() -> SimHandle {
    Simulator::start(SimConfig::default())
        .await
        .expect("simulator")
}

async fn app_with_sim(backend: Backend, sim: &SimHandle) -> TestApp {
    TestApp::start_configured(
        backend,
        config_with(
            true,
            &[
                ("WADESK_GRAPH_BASE_URL", sim.base_url()),
                ("WADESK_SECRET_KEY", SECRET_KEY),
            ],
        ),
        std::sync::Arc::new(wadesk_app::SystemClock),
    )
    .await
}

impl TestApp {
    async fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.api_as(key, method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(API_KEY, method, path, body).await
    }

    /// Waits until every delivery is split and every event has an outcome.
    async fn settle(&self) {
        self.drained().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !self
            .store
            .pending_ticket_events(1)
            .await
            .expect("pending")
            .is_empty()
        {
            assert!(tokio::time::Instant::now() < deadline, "events not applied");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Creates another account with an admin whose key is `key`.
    async fn other_account(&self, key: &str, plan: Plan) -> AccountId {
        let (account, _) = self
            .store
            .create_account(
                &format!("acct-{key}"),
                plan,
                &NewAgent {
                    name: "Other admin".into(),
                    email: format!("{key}@example.com"),
                    role: Role::Admin,
                    api_key_hash: wadesk_app::http::hash_api_key(key),
                },
                time::OffsetDateTime::UNIX_EPOCH,
            )
            .await
            .expect("account");
        account.id
    }
}

fn error_code(v: &Value) -> String {
    v["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn error_field(v: &Value) -> String {
    v["errors"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn onboarding_body(phone: &str) -> Value {
    json!({
        "waba_id": WABA,
        "access_token": TOKEN,
        "display_name": "Acme Support",
        "phone_number": phone,
        "business_manager_id": "1234567890",
        "app_secret": wa_sim::DEFAULT_APP_SECRET,
    })
}

/// From nothing to a connected number receiving its first message, through every onboarding
/// step and every failure on the way.
async fn onboarding_every_step_and_failure_then_first_message(backend: Backend) {
    let sim = sim().await;
    let app = app_with_sim(backend, &sim).await;
    sim.set_webhook_url(Some(app.url("/webhooks/whatsapp")));

    // Validation before Meta is called.
    let (s, e) = app
        .admin(
            Method::POST,
            "/whatsapp/numbers",
            Some(json!({"waba_id": WABA, "access_token": TOKEN, "display_name": "Acme", "phone_number": "not a phone", "business_manager_id": "1"})),
        )
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "phone_number"), "{e}");

    // Meta refuses the token: its code and message, verbatim.
    let mut bad = onboarding_body("+1 555 010 0199");
    bad["access_token"] = json!("wrong-token");
    let (s, e) = app
        .admin(Method::POST, "/whatsapp/numbers", Some(bad))
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(error_code(&e), "190", "{e}");

    // Step 1: add the number → unverified.
    let (s, n) = app
        .admin(
            Method::POST,
            "/whatsapp/numbers",
            Some(onboarding_body("+1 555 010 0199")),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    assert_eq!(n["status"], "unverified");
    assert_eq!(n["display_name"], "Acme Support");
    assert_eq!(n["business_manager_id"], "1234567890");
    assert_eq!(n["display_phone_number"], "+1 5550100199");
    let text = n.to_string();
    assert!(
        !text.contains(TOKEN) && !text.contains(wa_sim::DEFAULT_APP_SECRET),
        "{text}"
    );
    let id = n["id"].as_i64().expect("id");
    let pnid = n["phone_number_id"].as_str().expect("pnid").to_owned();
    let add = sim
        .requests()
        .into_iter()
        .find(|r| {
            r.method == "POST"
                && r.path.ends_with(&format!("{WABA}/phone_numbers"))
                && r.response_status == 200
        })
        .expect("add call");
    assert_eq!(add.json["cc"], "1");
    assert_eq!(add.json["phone_number"], "5550100199");
    assert_eq!(add.json["verified_name"], "Acme Support");

    let path = |step: &str| format!("/whatsapp/numbers/{id}/{step}");
    // Out of order: nothing is sent to Meta.
    sim.clear_requests();
    let (s, e) = app
        .admin(
            Method::POST,
            &path("verify_code"),
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (409, "invalid_state"), "{e}");
    let (s, e) = app
        .admin(
            Method::POST,
            &path("register"),
            Some(json!({"pin": "654321"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (409, "invalid_state"), "{e}");
    assert!(sim.requests().is_empty(), "nothing sent out of order");

    // Step 2: request the code; Meta refuses once, then accepts.
    let (s, e) = app
        .admin(
            Method::POST,
            &path("request_code"),
            Some(json!({"code_method": "FAX"})),
        )
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "code_method"), "{e}");
    sim.fail_edge("request_code", EdgeFailure::request_code_error(), 1);
    let (s, e) = app
        .admin(
            Method::POST,
            &path("request_code"),
            Some(json!({"code_method": "SMS", "language": "en_US"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (422, "136024"), "{e}");
    assert!(
        e["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Request code error"),
        "{e}"
    );
    let (_, n) = app
        .admin(Method::GET, &format!("/whatsapp/numbers/{id}"), None)
        .await;
    assert_eq!(n["status"], "unverified");
    let (s, n) = app
        .admin(
            Method::POST,
            &path("request_code"),
            Some(json!({"code_method": "VOICE", "language": "en_US"})),
        )
        .await;
    assert_eq!(s, 200, "{n}");
    assert_eq!(n["status"], "code_requested");
    assert_eq!(n["code_method"], "VOICE");
    // Requesting again is allowed (a new code).
    let (s, _) = app
        .admin(
            Method::POST,
            &path("request_code"),
            Some(json!({"code_method": "SMS"})),
        )
        .await;
    assert_eq!(s, 200);

    // Step 3: a wrong code, then an expired one, then the right one.
    let (s, e) = app
        .admin(
            Method::POST,
            &path("verify_code"),
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (422, "136025"), "{e}");
    assert_eq!(error_field(&e), "code");
    sim.fail_edge("verify_code", EdgeFailure::expired_code(), 1);
    let (s, e) = app
        .admin(
            Method::POST,
            &path("verify_code"),
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (422, "136025"), "{e}");
    assert!(
        e["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{e}"
    );
    let (_, n) = app
        .admin(Method::GET, &format!("/whatsapp/numbers/{id}"), None)
        .await;
    assert_eq!(n["status"], "code_requested");
    let (s, e) = app
        .admin(
            Method::POST,
            &path("verify_code"),
            Some(json!({"code": "12a"})),
        )
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "code"), "{e}");
    let (s, n) = app
        .admin(
            Method::POST,
            &path("verify_code"),
            Some(json!({"code": "123-456"})),
        )
        .await;
    assert_eq!(s, 200, "{n}");
    assert_eq!(n["status"], "verified");
    let (s, e) = app
        .admin(
            Method::POST,
            &path("request_code"),
            Some(json!({"code_method": "SMS"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (409, "invalid_state"), "{e}");

    // Not routed before registration: a message now is kept, unrouted.
    let sent = sim
        .customer_message(CustomerMessage::text(&pnid, "16505550111", "too early"))
        .await
        .expect("customer");
    assert_eq!(
        sent.webhook_status,
        Some(200),
        "signed with the number's own app secret"
    );
    app.settle().await;
    assert_eq!(app.store.inbox_stats().await.expect("stats").unrouted, 1);

    // Step 4: register; a bad PIN shape, then Meta's rate limit (429, retry later), then success.
    let (s, e) = app
        .admin(Method::POST, &path("register"), Some(json!({"pin": "12"})))
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "pin"), "{e}");
    sim.fail_edge("register", EdgeFailure::register_rate_limit(), 1);
    let (s, e) = app
        .admin(
            Method::POST,
            &path("register"),
            Some(json!({"pin": "654321"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (429, "133016"), "{e}");
    let (_, n) = app
        .admin(Method::GET, &format!("/whatsapp/numbers/{id}"), None)
        .await;
    assert_eq!(n["status"], "verified");
    let (s, n) = app
        .admin(
            Method::POST,
            &path("register"),
            Some(json!({"pin": "654321"})),
        )
        .await;
    assert_eq!(s, 200, "{n}");
    assert_eq!(n["status"], "connected");
    assert_eq!(n["name_status"], "APPROVED");
    let (s, e) = app
        .admin(
            Method::POST,
            &path("register"),
            Some(json!({"pin": "654321"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (409, "invalid_state"), "{e}");

    // The access token is kept (and sealed at rest), never shown.
    let stored = app
        .store
        .find_number_by_phone_number_id(&pnid)
        .await
        .expect("find")
        .expect("number");
    assert_eq!(stored.access_token.expose(), TOKEN);
    let (_, list) = app.admin(Method::GET, "/whatsapp/numbers", None).await;
    assert!(!list.to_string().contains(TOKEN));

    // The first message becomes a ticket.
    let sent = sim
        .customer_message(CustomerMessage::text(
            &pnid,
            "16505550111",
            "Hello, is my order shipped?",
        ))
        .await
        .expect("customer");
    assert_eq!(sent.webhook_status, Some(200));
    app.settle().await;
    let (_, tickets) = app.admin(Method::GET, "/tickets", None).await;
    let tickets = tickets.as_array().expect("tickets").clone();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["source"], 13);
    let (_, ticket) = app
        .admin(Method::GET, &format!("/tickets/{}", tickets[0]["id"]), None)
        .await;
    assert_eq!(ticket["description_text"], "Hello, is my order shipped?");
    app.stop().await;
}
on_both!(onboarding_every_step_and_failure_then_first_message);

/// Every business-profile limit is a 422 naming the field, and nothing reaches Meta; valid
/// values go to Meta and come back, with the business name kept alongside.
async fn business_profile_limits_and_round_trip(backend: Backend) {
    let sim = sim().await;
    let app = app_with_sim(backend, &sim).await;
    let (s, n) = app
        .admin(
            Method::POST,
            "/whatsapp/numbers",
            Some(
                json!({"phone_number_id": wa_sim::DEFAULT_PHONE_NUMBER_ID, "waba_id": WABA,
                "display_phone_number": "+1 555 078 3881", "access_token": TOKEN}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    let path = format!("/whatsapp/numbers/{}/business_profile", n["id"]);
    sim.clear_requests();
    let long = |n: usize| "a".repeat(n);
    let cases = [
        (json!({"about": ""}), "about"),
        (json!({"about": long(140)}), "about"),
        (json!({"address": long(257)}), "address"),
        (json!({"description": long(513)}), "description"),
        (json!({"email": "not-an-email"}), "email"),
        (
            json!({"email": format!("{}@example.com", long(120))}),
            "email",
        ),
        (
            json!({"websites": ["https://a.example", "https://b.example", "https://c.example"]}),
            "websites",
        ),
        (json!({"websites": ["www.example.com"]}), "websites"),
        (
            json!({"websites": [format!("https://{}.example", long(250))]}),
            "websites",
        ),
        (json!({"websites": "https://a.example"}), "websites"),
        (json!({"vertical": "SPACESHIPS"}), "vertical"),
        (json!({"business_name": ""}), "business_name"),
    ];
    for (body, field) in cases {
        let (s, e) = app.admin(Method::PUT, &path, Some(body.clone())).await;
        assert_eq!(s, 422, "{body} → {e}");
        assert_eq!(error_field(&e), field, "{body} → {e}");
        assert!(e["description"].is_string(), "{e}");
    }
    // (Connecting the number synced its templates; nothing else may have reached Meta.)
    assert!(
        sim.requests()
            .iter()
            .all(|r| !r.path.contains("whatsapp_business_profile")),
        "nothing was sent to Meta: {:?}",
        sim.requests()
    );
    // At the limits exactly: accepted.
    let good = json!({
        "about": long(139), "address": long(256), "description": long(512),
        "email": "help@acme.example", "websites": ["https://acme.example", "http://shop.acme.example"],
        "vertical": "RETAIL", "business_name": "Acme Inc."
    });
    let (s, p) = app.admin(Method::PUT, &path, Some(good)).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["about"], long(139));
    assert_eq!(p["vertical"], "RETAIL");
    assert_eq!(p["websites"].as_array().map(Vec::len), Some(2));
    assert_eq!(p["business_name"], "Acme Inc.");
    let (s, p) = app.admin(Method::GET, &path, None).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["email"], "help@acme.example");
    assert_eq!(p["business_name"], "Acme Inc.");
    app.stop().await;
}
on_both!(business_profile_limits_and_round_trip);

/// Agents and groups in Freshdesk's shapes; keys shown once and rotatable; agents (role) are
/// refused every admin action with 403.
async fn agents_groups_keys_and_roles(backend: Backend) {
    let sim = sim().await;
    let app = app_with_sim(backend, &sim).await;
    let (s, me) = app.admin(Method::GET, "/agents/me", None).await;
    assert_eq!(s, 200);
    assert_eq!(me["contact"]["email"], "admin@localhost");
    assert_eq!(me["role"], "admin");

    let (s, e) = app
        .admin(Method::POST, "/agents", Some(json!({"name": "No mail"})))
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "email"), "{e}");
    let (s, a) = app
        .admin(
            Method::POST,
            "/agents",
            Some(
                json!({"name": "Ann Agent", "email": "ann@example.com", "ticket_scope": 2,
                "phone": "+1 555 0102", "language": "de", "role_ids": [2]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let key = a["api_key"]
        .as_str()
        .expect("api_key shown once")
        .to_owned();
    let ann = a["id"].as_i64().expect("id");
    assert_eq!(a["contact"]["name"], "Ann Agent");
    assert_eq!(a["contact"]["phone"], "+1 555 0102");
    assert_eq!(a["contact"]["language"], "de");
    assert_eq!(a["ticket_scope"], 2);
    assert_eq!(a["available"], true);
    assert_eq!(a["type"], "support_agent");
    assert_eq!(a["role"], "agent");
    let (s, e) = app
        .admin(
            Method::POST,
            "/agents",
            Some(json!({"email": "ANN@example.com"})),
        )
        .await;
    assert_eq!((s, error_field(&e).as_str()), (409, "email"), "{e}");
    let (s, shown) = app
        .admin(Method::GET, &format!("/agents/{ann}"), None)
        .await;
    assert_eq!(s, 200);
    assert!(shown.get("api_key").is_none(), "the key is shown once only");
    let (s, e) = app
        .admin(
            Method::PUT,
            &format!("/agents/{ann}"),
            Some(json!({"ticket_scope": 9})),
        )
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "ticket_scope"), "{e}");
    let (s, upd) = app
        .admin(
            Method::PUT,
            &format!("/agents/{ann}"),
            Some(json!({"contact": {"job_title": "Lead"}, "available": false})),
        )
        .await;
    assert_eq!(s, 200, "{upd}");
    assert_eq!(upd["contact"]["job_title"], "Lead");
    assert_eq!(upd["available"], false);
    assert_eq!(
        upd["contact"]["name"], "Ann Agent",
        "fields left out are kept"
    );

    // The agent's own key works.
    let (s, me) = app.call(&key, Method::GET, "/agents/me", None).await;
    assert_eq!(s, 200);
    assert_eq!(me["id"], ann);

    // Groups.
    let (s, g) = app
        .admin(Method::POST, "/groups", Some(json!({"name": "Billing", "description": "Money", "agent_ids": [ann], "unassigned_for": "30m"})))
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_i64().expect("id");
    assert_eq!(g["agent_ids"], json!([ann]));
    assert_eq!(g["unassigned_for"], "30m");
    let (s, e) = app
        .admin(Method::POST, "/groups", Some(json!({"name": "billing"})))
        .await;
    assert_eq!((s, error_field(&e).as_str()), (409, "name"), "{e}");
    let (s, e) = app
        .admin(
            Method::POST,
            "/groups",
            Some(json!({"name": "X", "agent_ids": [999999]})),
        )
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "agent_ids"), "{e}");
    let (s, e) = app
        .admin(
            Method::POST,
            "/groups",
            Some(json!({"description": "no name"})),
        )
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "name"), "{e}");
    let (s, g2) = app
        .admin(
            Method::PUT,
            &format!("/groups/{gid}"),
            Some(json!({"agent_ids": []})),
        )
        .await;
    assert_eq!(s, 200, "{g2}");
    assert_eq!(g2["agent_ids"], json!([]));
    assert_eq!(g2["name"], "Billing");
    let (_, ann_now) = app
        .admin(Method::GET, &format!("/agents/{ann}"), None)
        .await;
    assert_eq!(ann_now["group_ids"], json!([]));

    // The agent reads, but every admin action is 403.
    let (s, _) = app.call(&key, Method::GET, "/agents", None).await;
    assert_eq!(s, 200);
    let (s, _) = app.call(&key, Method::GET, "/groups", None).await;
    assert_eq!(s, 200);
    let (s, n) = app
        .admin(
            Method::POST,
            "/whatsapp/numbers",
            Some(
                json!({"phone_number_id": wa_sim::DEFAULT_PHONE_NUMBER_ID, "waba_id": WABA,
                "display_phone_number": "+1 555 078 3881", "access_token": TOKEN}),
            ),
        )
        .await;
    assert_eq!(s, 201);
    let nid = n["id"].as_i64().expect("id");
    let forbidden: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/whatsapp/numbers".into(),
            onboarding_body("+1 555 010 0177"),
        ),
        (
            Method::PUT,
            format!("/whatsapp/numbers/{nid}"),
            json!({"threading_interval_hours": 2}),
        ),
        (
            Method::DELETE,
            format!("/whatsapp/numbers/{nid}"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/request_code"),
            json!({"code_method": "SMS"}),
        ),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/verify_code"),
            json!({"code": "123456"}),
        ),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/register"),
            json!({"pin": "123456"}),
        ),
        (
            Method::GET,
            format!("/whatsapp/numbers/{nid}/business_profile"),
            json!({}),
        ),
        (
            Method::PUT,
            format!("/whatsapp/numbers/{nid}/business_profile"),
            json!({"about": "hi"}),
        ),
        (
            Method::POST,
            "/agents".into(),
            json!({"email": "x@example.com"}),
        ),
        (
            Method::PUT,
            format!("/agents/{ann}"),
            json!({"role": "admin"}),
        ),
        (Method::POST, "/groups".into(), json!({"name": "Mine"})),
        (
            Method::PUT,
            format!("/groups/{gid}"),
            json!({"name": "Mine"}),
        ),
        (
            Method::POST,
            format!(
                "/agents/{}/rotate_api_key",
                me["id"].as_i64().unwrap_or(0) - 1
            ),
            json!({}),
        ),
    ];
    for (method, path, body) in forbidden {
        let (s, e) = app.call(&key, method.clone(), &path, Some(body)).await;
        assert_eq!(s, 403, "{method} {path} → {e}");
        assert_eq!(error_code(&e), "access_denied", "{method} {path} → {e}");
    }
    let (_, n) = app
        .admin(Method::GET, &format!("/whatsapp/numbers/{nid}"), None)
        .await;
    assert_eq!(n["status"], "connected");
    assert_eq!(n["threading_interval_hours"], 24);

    // Rotation: the agent rotates their own key; the old one stops working at once.
    let (s, r) = app
        .call(
            &key,
            Method::POST,
            &format!("/agents/{ann}/rotate_api_key"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let new_key = r["api_key"].as_str().expect("new key").to_owned();
    assert_ne!(new_key, key);
    let (s, _) = app.call(&key, Method::GET, "/agents/me", None).await;
    assert_eq!(s, 401);
    let (s, _) = app.call(&new_key, Method::GET, "/agents/me", None).await;
    assert_eq!(s, 200);
    // An admin promotes and demotes; the last admin cannot be demoted.
    let admin_id = app.admin(Method::GET, "/agents/me", None).await.1["id"]
        .as_i64()
        .expect("id");
    let (s, e) = app
        .admin(
            Method::PUT,
            &format!("/agents/{admin_id}"),
            Some(json!({"role": "agent"})),
        )
        .await;
    assert_eq!((s, error_code(&e).as_str()), (409, "last_admin"), "{e}");
    let (s, p) = app
        .admin(
            Method::PUT,
            &format!("/agents/{ann}"),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!((s, p["role"].as_str()), (200, Some("admin")));
    let (s, _) = app
        .call(
            &new_key,
            Method::POST,
            "/groups",
            Some(json!({"name": "Now allowed"})),
        )
        .await;
    assert_eq!(s, 201);
    app.stop().await;
}
on_both!(agents_groups_keys_and_roles);

/// Two accounts: every endpoint tried with the other account's ids answers 404, and lists show
/// only the caller's own objects.
async fn tenant_isolation_on_every_endpoint(backend: Backend) {
    let sim = sim().await;
    let app = app_with_sim(backend, &sim).await;
    sim.set_webhook_url(Some(app.url("/webhooks/whatsapp")));
    // Account A (the bootstrap account): a number, a ticket from a customer, a contact, an
    // agent, a group.
    let (_, n) = app
        .admin(
            Method::POST,
            "/whatsapp/numbers",
            Some(
                json!({"phone_number_id": wa_sim::DEFAULT_PHONE_NUMBER_ID, "waba_id": WABA,
                "display_phone_number": "+1 555 078 3881", "access_token": TOKEN,
                "app_secret": wa_sim::DEFAULT_APP_SECRET}),
            ),
        )
        .await;
    let nid = n["id"].as_i64().expect("number");
    sim.customer_message(CustomerMessage::text(
        wa_sim::DEFAULT_PHONE_NUMBER_ID,
        "16505550122",
        "A's secret question",
    ))
    .await
    .expect("customer");
    app.settle().await;
    let (_, tickets) = app.admin(Method::GET, "/tickets", None).await;
    let tid = tickets[0]["id"].as_i64().expect("ticket");
    let cid = tickets[0]["requester_id"].as_i64().expect("requester");
    let (_, a) = app
        .admin(
            Method::POST,
            "/agents",
            Some(json!({"email": "a-agent@example.com"})),
        )
        .await;
    let aid = a["id"].as_i64().expect("agent");
    let (_, g) = app
        .admin(
            Method::POST,
            "/groups",
            Some(json!({"name": "A team", "agent_ids": [aid]})),
        )
        .await;
    let gid = g["id"].as_i64().expect("group");
    let (_, deliveries) = app
        .admin(Method::GET, "/whatsapp/webhook_deliveries", None)
        .await;
    let did = deliveries[0]["id"].as_i64().expect("delivery");

    // Account B, an admin of its own.
    let b = "b-admin-key";
    app.other_account(b, Plan::Pro).await;
    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/tickets/{tid}"), None),
        (
            Method::PUT,
            format!("/tickets/{tid}"),
            Some(json!({"priority": 4})),
        ),
        (Method::DELETE, format!("/tickets/{tid}"), None),
        (Method::PUT, format!("/tickets/{tid}/restore"), None),
        (Method::GET, format!("/tickets/{tid}/conversations"), None),
        (Method::GET, format!("/contacts/{cid}"), None),
        (
            Method::PUT,
            format!("/contacts/{cid}"),
            Some(json!({"name": "Mine now"})),
        ),
        (Method::GET, format!("/whatsapp/numbers/{nid}"), None),
        (
            Method::PUT,
            format!("/whatsapp/numbers/{nid}"),
            Some(json!({"threading_interval_hours": 1})),
        ),
        (Method::DELETE, format!("/whatsapp/numbers/{nid}"), None),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/request_code"),
            Some(json!({"code_method": "SMS"})),
        ),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/verify_code"),
            Some(json!({"code": "123456"})),
        ),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/register"),
            Some(json!({"pin": "123456"})),
        ),
        (
            Method::GET,
            format!("/whatsapp/numbers/{nid}/business_profile"),
            None,
        ),
        (
            Method::PUT,
            format!("/whatsapp/numbers/{nid}/business_profile"),
            Some(json!({"about": "pwned"})),
        ),
        (
            Method::GET,
            format!("/whatsapp/webhook_deliveries/{did}"),
            None,
        ),
        (
            Method::POST,
            format!("/whatsapp/webhook_deliveries/{did}/reprocess"),
            None,
        ),
        (Method::GET, format!("/agents/{aid}"), None),
        (
            Method::PUT,
            format!("/agents/{aid}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::POST, format!("/agents/{aid}/rotate_api_key"), None),
        (Method::GET, format!("/groups/{gid}"), None),
        (
            Method::PUT,
            format!("/groups/{gid}"),
            Some(json!({"name": "Mine"})),
        ),
    ];
    sim.clear_requests();
    for (method, path, body) in probes {
        let (s, e) = app.call(b, method.clone(), &path, body).await;
        assert_eq!(s, 404, "{method} {path} → {e}");
    }
    assert!(sim.requests().is_empty(), "nothing reached Meta for B");
    // B's lists hold nothing of A's; filters cannot reach A's contacts.
    for list in [
        "/tickets",
        "/contacts",
        "/whatsapp/numbers",
        "/groups",
        "/whatsapp/webhook_deliveries",
        "/contacts?phone=%2B16505550122",
        "/tickets?requester_id=".to_owned().as_str(),
    ] {
        let path = if list.ends_with('=') {
            format!("{list}{cid}")
        } else {
            list.to_owned()
        };
        let (s, v) = app.call(b, Method::GET, &path, None).await;
        assert_eq!(s, 200, "{path} → {v}");
        assert_eq!(v.as_array().map(Vec::len), Some(0), "{path} → {v}");
    }
    let (_, agents) = app.call(b, Method::GET, "/agents", None).await;
    assert_eq!(
        agents.as_array().map(Vec::len),
        Some(1),
        "only B's admin: {agents}"
    );
    // B's group cannot take A's agent.
    let (s, e) = app
        .call(
            b,
            Method::POST,
            "/groups",
            Some(json!({"name": "B", "agent_ids": [aid]})),
        )
        .await;
    assert_eq!((s, error_field(&e).as_str()), (400, "agent_ids"), "{e}");
    // A's objects are unchanged.
    let (_, t) = app
        .admin(Method::GET, &format!("/tickets/{tid}"), None)
        .await;
    assert_ne!(t["priority"], 4);
    let (_, n) = app
        .admin(Method::GET, &format!("/whatsapp/numbers/{nid}"), None)
        .await;
    assert_eq!(n["status"], "connected");
    app.stop().await;
}
on_both!(tenant_isolation_on_every_endpoint);

/// A downgrade to `free` keeps the data and refuses WhatsApp admin actions with 403, while
/// inbound deliveries are still stored and become tickets; disconnecting stops routing and keeps
/// tickets; reconnecting routes again.
async fn plans_downgrade_and_disconnect(backend: Backend) {
    let sim = sim().await;
    let app = app_with_sim(backend, &sim).await;
    sim.set_webhook_url(Some(app.url("/webhooks/whatsapp")));
    let (_, n) = app
        .admin(
            Method::POST,
            "/whatsapp/numbers",
            Some(
                json!({"phone_number_id": wa_sim::DEFAULT_PHONE_NUMBER_ID, "waba_id": WABA,
                "display_phone_number": "+1 555 078 3881", "access_token": TOKEN,
                "app_secret": wa_sim::DEFAULT_APP_SECRET}),
            ),
        )
        .await;
    let nid = n["id"].as_i64().expect("number");
    let pnid = wa_sim::DEFAULT_PHONE_NUMBER_ID;
    app.store
        .set_account_plan(AccountId(1), Plan::Free, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .expect("downgrade");
    let refused: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            "/whatsapp/numbers".into(),
            onboarding_body("+1 555 010 0166"),
        ),
        (
            Method::PUT,
            format!("/whatsapp/numbers/{nid}"),
            json!({"name": "x"}),
        ),
        (
            Method::DELETE,
            format!("/whatsapp/numbers/{nid}"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/request_code"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/verify_code"),
            json!({"code": "1"}),
        ),
        (
            Method::POST,
            format!("/whatsapp/numbers/{nid}/register"),
            json!({"pin": "123456"}),
        ),
        (
            Method::GET,
            format!("/whatsapp/numbers/{nid}/business_profile"),
            json!({}),
        ),
        (
            Method::PUT,
            format!("/whatsapp/numbers/{nid}/business_profile"),
            json!({"about": "x"}),
        ),
    ];
    for (method, path, body) in refused {
        let (s, e) = app.admin(method.clone(), &path, Some(body)).await;
        assert_eq!(s, 403, "{method} {path} → {e}");
        assert_eq!(error_code(&e), "plan_restricted", "{method} {path} → {e}");
        assert!(
            e["description"]
                .as_str()
                .unwrap_or_default()
                .contains("plan"),
            "{e}"
        );
    }
    // Data stays readable; inbound traffic is still stored and threaded.
    let (s, list) = app.admin(Method::GET, "/whatsapp/numbers", None).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)));
    sim.customer_message(CustomerMessage::text(pnid, "16505550133", "still here?"))
        .await
        .expect("customer");
    app.settle().await;
    let (_, tickets) = app.admin(Method::GET, "/tickets", None).await;
    assert_eq!(tickets.as_array().map(Vec::len), Some(1), "{tickets}");

    // Back on growth: disconnect, then messages are kept but not routed; tickets are kept.
    app.store
        .set_account_plan(AccountId(1), Plan::Growth, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .expect("upgrade");
    let (s, _) = app
        .admin(Method::DELETE, &format!("/whatsapp/numbers/{nid}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .admin(Method::DELETE, &format!("/whatsapp/numbers/{nid}"), None)
        .await;
    assert_eq!(s, 204, "idempotent");
    let (_, n) = app
        .admin(Method::GET, &format!("/whatsapp/numbers/{nid}"), None)
        .await;
    assert_eq!(n["status"], "disconnected");
    sim.customer_message(CustomerMessage::text(pnid, "16505550144", "anyone?"))
        .await
        .expect("customer");
    app.settle().await;
    assert_eq!(app.store.inbox_stats().await.expect("stats").unrouted, 1);
    let (_, tickets) = app.admin(Method::GET, "/tickets", None).await;
    assert_eq!(
        tickets.as_array().map(Vec::len),
        Some(1),
        "kept, nothing new: {tickets}"
    );
    // Reconnect and re-process the kept delivery.
    let (s, n) = app
        .admin(
            Method::PUT,
            &format!("/whatsapp/numbers/{nid}"),
            Some(json!({"status": "connected"})),
        )
        .await;
    assert_eq!((s, n["status"].as_str()), (200, Some("connected")), "{n}");
    let (_, unrouted) = app
        .admin(
            Method::GET,
            "/whatsapp/webhook_deliveries?state=unrouted",
            None,
        )
        .await;
    let did = unrouted[0]["id"].as_i64().expect("delivery");
    let (s, _) = app
        .admin(
            Method::POST,
            &format!("/whatsapp/webhook_deliveries/{did}/reprocess"),
            None,
        )
        .await;
    assert!(s == 200 || s == 202 || s == 204, "{s}");
    app.settle().await;
    let (_, tickets) = app.admin(Method::GET, "/tickets", None).await;
    assert_eq!(tickets.as_array().map(Vec::len), Some(2), "{tickets}");
    app.stop().await;
}
on_both!(plans_downgrade_and_disconnect);
