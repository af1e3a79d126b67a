//! Agents answer on WhatsApp: replies, notes, delivery states, retries, the 24-hour window and
//! templates, end to end over real HTTP on loopback against the `wa-sim` Cloud API simulator, on
//! both databases.

use std::{sync::Arc, time::Duration};

use reqwest::Method;
use serde_json::{Value, json};
use store::SendState;
use ticketing_core::TicketId;
use wa_sim::{CustomerMessage, Failure, FailureRule, SimConfig, SimHandle, Simulator};
use wadesk_app::{Clock, ManualClock, SystemClock};

use crate::harness::{API_KEY, Backend, SECRET, TestApp, config_with, notification, on_both};

const PNID: &str = wa_sim::DEFAULT_PHONE_NUMBER_ID;
const CUSTOMER: &str = "16505551234";

fn sim_config() -> SimConfig {
    SimConfig {
        app_secret: SECRET.into(),
        hang: Duration::from_secs(3),
        ..SimConfig::default()
    }
}

async fn start(backend: Backend, sim: &SimHandle, clock: Arc<dyn Clock>) -> TestApp {
    let app = TestApp::start_configured(
        backend,
        config_with(
            true,
            &[
                ("WADESK_GRAPH_BASE_URL", sim.base_url().to_owned()),
                ("WADESK_GRAPH_TIMEOUT_SECS", "1".into()),
            ],
        ),
        clock,
    )
    .await;
    sim.set_webhook_url(Some(app.url("/webhooks/whatsapp")));
    app
}

async fn start_with_url(backend: Backend, graph: &str, clock: Arc<dyn Clock>) -> TestApp {
    TestApp::start_configured(
        backend,
        config_with(
            true,
            &[
                ("WADESK_GRAPH_BASE_URL", graph.to_owned()),
                ("WADESK_GRAPH_TIMEOUT_SECS", "1".into()),
            ],
        ),
        clock,
    )
    .await
}

impl TestApp {
    /// Connects the simulator's number with its token; returns the number's id.
    async fn connect_sim_number(&self) -> i64 {
        let resp = self
            .api(Method::POST, "/whatsapp/numbers")
            .json(&json!({
                "phone_number_id": PNID,
                "waba_id": wa_sim::DEFAULT_WABA_ID,
                "display_phone_number": "+1 555 078 3881",
                "access_token": wa_sim::DEFAULT_TOKEN,
                "name": "Support",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    /// Waits for `f` to return `Some`, polling.
    async fn until<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The only ticket, once it exists.
    async fn only_ticket(&self) -> i64 {
        self.until("a ticket", || async {
            let list = self.get_json("/tickets").await;
            list.as_array()
                .and_then(|l| l.first())
                .and_then(|t| t["id"].as_i64())
        })
        .await
    }

    async fn reply(&self, ticket: i64, body: Value) -> reqwest::Response {
        self.api(Method::POST, &format!("/tickets/{ticket}/reply"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn convs(&self, ticket: i64) -> Vec<Value> {
        self.get_json(&format!("/tickets/{ticket}/conversations"))
            .await
            .as_array()
            .cloned()
            .unwrap()
    }

    /// Waits until the conversation `id` has WhatsApp status `status`.
    async fn status_becomes(&self, ticket: i64, id: i64, status: &str) -> Value {
        self.until(&format!("conversation {id} to be {status}"), || async {
            self.convs(ticket)
                .await
                .into_iter()
                .find(|c| c["id"] == id && c["whatsapp"]["status"] == status)
        })
        .await
    }

    async fn sends(&self, ticket: i64) -> Vec<store::OutboxRow> {
        self.store
            .ticket_sends(ticket_core_account(), TicketId(ticket))
            .await
            .unwrap()
    }
}

/// The bootstrap account (the harness's API key) is account 1.
fn ticket_core_account() -> ticketing_core::AccountId {
    ticketing_core::AccountId(1)
}

async fn agent_id(app: &TestApp) -> i64 {
    app.store
        .find_agent_by_api_key_hash(&wadesk_app::http::hash_api_key(API_KEY))
        .await
        .unwrap()
        .unwrap()
        .id
        .0
}

fn now_secs() -> i64 {
    std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs() as i64
}

/// Customer writes → ticket → agent replies → the simulator receives exactly Meta's JSON with
/// the bearer token → delivered and read update the entry; a late `sent` never downgrades
/// `read`; notes are stored in order without a send.
async fn reply_is_sent_once_and_delivery_moves_forward(backend: Backend) {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let app = start(backend, &sim, Arc::new(SystemClock)).await;
    app.connect_sim_number().await;
    let sent = sim
        .customer_message(CustomerMessage::text(PNID, CUSTOMER, "Where is my order?"))
        .await
        .unwrap();
    assert_eq!(sent.webhook_status, Some(200));
    let ticket = app.only_ticket().await;
    let t = app.get_json(&format!("/tickets/{ticket}")).await;
    assert_eq!(t["whatsapp"]["customer_service_window_open"], true);
    assert!(t["whatsapp"]["customer_service_window_expires_at"].is_string());

    let resp = app
        .reply(
            ticket,
            json!({"body": "<p>It ships <b>today</b> &amp; arrives tomorrow</p>"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let reply: Value = resp.json().await.unwrap();
    assert_eq!(reply["incoming"], false);
    assert_eq!(reply["private"], false);
    assert_eq!(reply["source"], 13);
    assert_eq!(reply["ticket_id"], ticket);
    assert_eq!(reply["user_id"], agent_id(&app).await);
    assert_eq!(reply["body_text"], "It ships today & arrives tomorrow");
    assert_eq!(reply["whatsapp"]["status"], "pending");
    assert_eq!(reply["whatsapp"]["message_id"], Value::Null);
    let reply_id = reply["id"].as_i64().unwrap();
    for bad in [
        json!({}),
        json!({"body": "   "}),
        json!({"body": "x", "template": {"name": "hello_world", "language": "en_US"}}),
        json!({"body": "x", "reply_to": "wamid.NOT_HERE"}),
        json!({"body": "x".repeat(4097)}),
    ] {
        let resp = app.reply(ticket, bad.clone()).await;
        assert_eq!(resp.status(), 400, "{bad}");
        let err: Value = resp.json().await.unwrap();
        assert!(err["errors"][0]["code"].is_string(), "{err}");
    }
    assert_eq!(app.reply(999_999, json!({"body": "x"})).await.status(), 404);

    let note = app
        .api(Method::POST, &format!("/tickets/{ticket}/notes"))
        .json(&json!({"body": "Customer is VIP", "private": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), 201);
    let note: Value = note.json().await.unwrap();
    assert_eq!(
        (note["private"].clone(), note["source"].clone()),
        (json!(true), json!(2))
    );
    assert_eq!(note["whatsapp"], Value::Null);

    let read = app.status_becomes(ticket, reply_id, "read").await;
    let accepted = sim.accepted_messages();
    assert_eq!(
        accepted.len(),
        1,
        "exactly one message on the customer's phone"
    );
    assert_eq!(read["whatsapp"]["message_id"], accepted[0].wamid.as_str());
    let sends = app.sends(ticket).await;
    assert_eq!(sends.len(), 1);
    assert_eq!((sends[0].state, sends[0].attempts), (SendState::Sent, 1));
    let requests: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .collect();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, format!("/v23.0/{PNID}/messages"));
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer sim-token")
    );
    assert_eq!(
        requests[0].json,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "text",
            "text": {"preview_url": false, "body": "It ships today & arrives tomorrow"},
            "biz_opaque_callback_data": format!("wadesk:outbox:{}", sends[0].id.0),
        })
    );

    // A late `sent` (redelivered by Meta out of order) never downgrades `read`.
    let wamid = accepted[0].wamid.clone();
    let late = notification(
        PNID,
        vec![],
        vec![
            json!({"id": wamid, "status": "sent", "timestamp": (now_secs() + 5).to_string(), "recipient_id": CUSTOMER}),
        ],
    );
    assert_eq!(
        app.post_signed(&serde_json::to_vec(&late).unwrap())
            .await
            .status(),
        200
    );
    app.drained().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let list = app.convs(ticket).await;
    let r = list.iter().find(|c| c["id"] == reply_id).unwrap();
    assert_eq!(r["whatsapp"]["status"], "read");
    // Reply then note, in order, after the description.
    let ids: Vec<i64> = list.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![reply_id, note["id"].as_i64().unwrap()]);
    app.stop().await;
}
on_both!(reply_is_sent_once_and_delivery_moves_forward);

/// The simulator accepts the message but its answer never arrives in time: the send's outcome is
/// unknown, it is not resent, and the status webhooks (carrying the callback data) give the
/// entry its wamid and delivery state: still exactly one message.
async fn timeout_after_acceptance_is_reconciled_not_resent(backend: Backend) {
    let sim = Simulator::start(sim_config()).await.unwrap();
    sim.add_failure(FailureRule::times(Failure::AcceptThenHang, 1));
    let app = start(backend, &sim, Arc::new(SystemClock)).await;
    app.connect_sim_number().await;
    sim.customer_message(CustomerMessage::text(PNID, CUSTOMER, "Hi"))
        .await
        .unwrap();
    let ticket = app.only_ticket().await;
    let reply: Value = app
        .reply(ticket, json!({"body": "Hello!"}))
        .await
        .json()
        .await
        .unwrap();
    let id = reply["id"].as_i64().unwrap();
    let read = app.status_becomes(ticket, id, "read").await;
    let accepted = sim.accepted_messages();
    assert_eq!(accepted.len(), 1);
    assert_eq!(read["whatsapp"]["message_id"], accepted[0].wamid.as_str());
    // The client timed out (1 s) while the simulator held its answer (3 s).
    let send = app
        .until("the send to be resolved", || async {
            app.sends(ticket)
                .await
                .into_iter()
                .next()
                .filter(|s| s.state == SendState::Sent)
        })
        .await;
    assert_eq!(send.wamid.as_deref(), Some(accepted[0].wamid.as_str()));
    assert_eq!(send.attempts, 1, "never resent");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sim.accepted_messages().len(), 1, "still one message");
    app.stop().await;
}
on_both!(timeout_after_acceptance_is_reconciled_not_resent);

/// A refused connection, a burst of 130429s and a bare 5xx are retried with backoff; then the
/// send succeeds: exactly one message on the customer's phone.
async fn retryable_failures_end_in_exactly_one_message(backend: Backend) {
    // A port nothing listens on yet: the first attempt is refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let clock = ManualClock::new(SystemClock.now());
    let app = start_with_url(
        backend,
        &format!("http://127.0.0.1:{port}"),
        Arc::new(clock.clone()),
    )
    .await;
    app.connect_sim_number().await;
    let ts = now_secs() - 60;
    let body = notification(
        PNID,
        vec![crate::harness::text("wamid.IN1", ts, "Help")],
        vec![],
    );
    assert_eq!(
        app.post_signed(&serde_json::to_vec(&body).unwrap())
            .await
            .status(),
        200
    );
    let ticket = app.only_ticket().await;
    assert_eq!(
        app.reply(ticket, json!({"body": "On it"})).await.status(),
        201
    );

    // Waits until the send is queued again after `attempts` attempts; returns its retry time.
    let requeued = |attempts: i32| {
        let app = &app;
        async move {
            app.until(&format!("attempt {attempts} to fail"), || async {
                app.sends(ticket)
                    .await
                    .into_iter()
                    .next()
                    .filter(|s| s.state == SendState::Queued && s.attempts == attempts)
            })
            .await
        }
    };
    let s = requeued(1).await;
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("not sent"),
        "{s:?}"
    );
    assert!(s.next_attempt_at > clock.now());

    let sim = Simulator::start(SimConfig {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        ..sim_config()
    })
    .await
    .unwrap();
    sim.set_webhook_url(Some(app.url("/webhooks/whatsapp")));
    sim.add_failure(FailureRule::times(Failure::RateLimit, 3));
    sim.add_failure(FailureRule::times(Failure::ServerError, 1));
    let mut expected_code = vec![Some(130429), Some(130429), Some(130429), None];
    let mut attempt = 1;
    for code in expected_code.drain(..) {
        let s = app.sends(ticket).await.into_iter().next().unwrap();
        clock.set(s.next_attempt_at + time::Duration::seconds(1));
        attempt += 1;
        let s = requeued(attempt).await;
        assert_eq!(s.error_code, code, "attempt {attempt}: {s:?}");
        assert!(s.next_attempt_at > clock.now(), "backs off");
    }
    let s = app.sends(ticket).await.into_iter().next().unwrap();
    clock.set(s.next_attempt_at + time::Duration::seconds(1));
    let sent = app
        .until("the send to be accepted", || async {
            app.sends(ticket)
                .await
                .into_iter()
                .next()
                .filter(|s| s.state == SendState::Sent)
        })
        .await;
    assert_eq!(sent.attempts, 6);
    assert_eq!(
        sim.accepted_messages().len(),
        1,
        "one message on the customer's phone"
    );
    let posts = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .count();
    assert_eq!(posts, 5, "3 rate limits, one 500, one success");
    app.stop().await;
}
on_both!(retryable_failures_end_in_exactly_one_message);

/// 131047 and 131026 fail at once, with Meta's code and title on the entry.
async fn permanent_errors_fail_at_once(backend: Backend) {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let app = start(backend, &sim, Arc::new(SystemClock)).await;
    app.connect_sim_number().await;
    sim.customer_message(CustomerMessage::text(PNID, CUSTOMER, "Hi"))
        .await
        .unwrap();
    let ticket = app.only_ticket().await;
    for (failure, code) in [
        (Failure::ReEngagement, 131047),
        (Failure::Undeliverable, 131026),
    ] {
        sim.add_failure(FailureRule::times(failure, 1));
        let reply: Value = app
            .reply(ticket, json!({"body": format!("try {code}")}))
            .await
            .json()
            .await
            .unwrap();
        let id = reply["id"].as_i64().unwrap();
        let failed = app.status_becomes(ticket, id, "failed").await;
        assert_eq!(failed["whatsapp"]["error"]["code"], code);
        assert!(
            failed["whatsapp"]["error"]["title"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{failed}"
        );
        let send = app
            .sends(ticket)
            .await
            .into_iter()
            .find(|s| s.entry_id.0 == id)
            .unwrap();
        assert_eq!(
            (send.state, send.attempts, send.error_code),
            (SendState::Failed, 1, Some(code))
        );
    }
    assert!(sim.accepted_messages().is_empty());

    // Meta accepts, then reports `failed` by webhook (its usual way for 131047): the entry shows
    // the webhook's error; the send itself was accepted and is not retried.
    sim.add_failure(FailureRule::times(
        Failure::FailedStatus {
            code: 131047,
            title: "Re-engagement message".into(),
            details: "More than 24 hours have passed".into(),
        },
        1,
    ));
    let reply: Value = app
        .reply(ticket, json!({"body": "late answer"}))
        .await
        .json()
        .await
        .unwrap();
    let id = reply["id"].as_i64().unwrap();
    let failed = app.status_becomes(ticket, id, "failed").await;
    assert_eq!(failed["whatsapp"]["error"]["code"], 131047);
    assert_eq!(
        failed["whatsapp"]["error"]["title"],
        "Re-engagement message"
    );
    assert!(failed["whatsapp"]["message_id"].is_string());
    let send = app
        .sends(ticket)
        .await
        .into_iter()
        .find(|s| s.entry_id.0 == id)
        .unwrap();
    assert_eq!((send.state, send.attempts), (SendState::Sent, 1));
    app.stop().await;
}
on_both!(permanent_errors_fail_at_once);

/// Outside the window a free-form reply is refused (nothing stored or sent) and a template is
/// the way; template parameters are checked first; inside the window replies go; a template to a
/// phone number starts a conversation and a second one continues it; a template status webhook
/// updates the list.
async fn window_and_templates(backend: Backend) {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let app = start(backend, &sim, Arc::new(SystemClock)).await;
    let number = app.connect_sim_number().await;
    let synced = app
        .api(
            Method::POST,
            &format!("/whatsapp/numbers/{number}/templates/sync"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 200);
    let list = app
        .get_json(&format!("/whatsapp/numbers/{number}/templates"))
        .await;
    let names: Vec<&str> = list["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "2023_april_promo",
            "hello_world",
            "reservation_confirmation"
        ]
    );

    // The customer wrote 25 hours ago.
    let old = now_secs() - 25 * 3600;
    let body = notification(
        PNID,
        vec![crate::harness::text("wamid.OLD", old, "Hello?")],
        vec![],
    );
    assert_eq!(
        app.post_signed(&serde_json::to_vec(&body).unwrap())
            .await
            .status(),
        200
    );
    let ticket = app.only_ticket().await;
    let t = app.get_json(&format!("/tickets/{ticket}")).await;
    assert_eq!(t["whatsapp"]["customer_service_window_open"], false);
    let resp = app
        .reply(ticket, json!({"body": "Sorry for the delay"}))
        .await;
    assert_eq!(resp.status(), 422);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["errors"][0]["code"], "outside_customer_service_window");
    assert!(app.convs(ticket).await.is_empty(), "nothing stored");
    assert!(app.sends(ticket).await.is_empty());

    // Template parameters are checked before anything is stored.
    let resp = app
        .reply(ticket, json!({"template": {"name": "2023_april_promo", "language": "en_US", "parameters": ["Mark"]}}))
        .await;
    assert_eq!(resp.status(), 422);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["errors"][0]["code"], "wrong_parameter_count");
    assert_eq!(err["errors"][0]["field"], "template.parameters");
    let resp = app
        .reply(ticket, json!({"template": {"name": "reservation_confirmation", "language": "en_US", "parameters": {"guests": "4"}}}))
        .await;
    assert_eq!(resp.status(), 422);
    let err: Value = resp.json().await.unwrap();
    let codes: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"unknown_parameter") && codes.contains(&"missing_parameter"),
        "{err}"
    );
    let resp = app
        .reply(
            ticket,
            json!({"template": {"name": "no_such", "language": "en_US"}}),
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["errors"][0]["code"],
        "template_not_found"
    );
    assert!(app.convs(ticket).await.is_empty());

    let resp = app
        .reply(ticket, json!({"template": {"name": "2023_april_promo", "language": "en_US", "parameters": ["Mark", "FALL25"]}}))
        .await;
    assert_eq!(resp.status(), 201);
    let tpl: Value = resp.json().await.unwrap();
    assert!(
        tpl["body_text"]
            .as_str()
            .unwrap()
            .contains("Hi Mark, our Fall Sale is on! Use promo code FALL25")
    );
    app.status_becomes(ticket, tpl["id"].as_i64().unwrap(), "read")
        .await;
    let accepted = sim.accepted_messages();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].message_type, "template");
    assert_eq!(
        accepted[0].body["template"],
        json!({"name": "2023_april_promo", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [{"type": "text", "text": "Mark"}, {"type": "text", "text": "FALL25"}]}]})
    );

    // The customer answers: inside the window, free-form replies go.
    let body = notification(
        PNID,
        vec![crate::harness::text("wamid.NEW", now_secs() - 60, "Thanks")],
        vec![],
    );
    assert_eq!(
        app.post_signed(&serde_json::to_vec(&body).unwrap())
            .await
            .status(),
        200
    );
    app.until("the window to open", || async {
        let t = app.get_json(&format!("/tickets/{ticket}")).await;
        (t["whatsapp"]["customer_service_window_open"] == true).then_some(())
    })
    .await;
    assert_eq!(
        app.reply(ticket, json!({"body": "You're welcome"}))
            .await
            .status(),
        201
    );
    // The customer's first message is 25 hours old, past the threading interval (24 h), but the
    // template reply counts as the ticket's latest message: the answer joined the same ticket.
    let tickets = app.get_json("/tickets").await;
    assert_eq!(tickets.as_array().unwrap().len(), 1, "{tickets}");
    let texts: Vec<Value> = app
        .convs(ticket)
        .await
        .iter()
        .map(|c| c["body_text"].clone())
        .collect();
    assert_eq!(
        texts.len(),
        3,
        "template, customer's answer and reply: {texts:?}"
    );
    assert!(texts.contains(&json!("Thanks")), "{texts:?}");

    // A business-initiated conversation with a new phone number.
    let create = |template: Value| {
        let app = &app;
        async move {
            app.api(Method::POST, "/tickets")
                .json(&json!({"source": 13, "phone": "+1 (650) 555-9999", "name": "Bo", "number_id": number,
                              "subject": "Your reservation", "template": template}))
                .send()
                .await
                .unwrap()
        }
    };
    let resp = create(json!({"name": "hello_world", "language": "en_US"})).await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["source"], 13);
    assert_eq!(created["subject"], "Your reservation");
    assert_eq!(created["continued_existing_ticket"], false);
    assert!(
        created["description_text"]
            .as_str()
            .unwrap()
            .contains("Welcome and congratulations")
    );
    let second = create(json!({"name": "hello_world", "language": "en_US"})).await;
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    assert_eq!(
        second["id"], created["id"],
        "continued within the threading interval"
    );
    assert_eq!(second["continued_existing_ticket"], true);
    app.until("both templates to be accepted", || async {
        (sim.accepted_messages()
            .iter()
            .filter(|m| m.to == "+16505559999")
            .count()
            == 2)
            .then_some(())
    })
    .await;
    let contacts = app.get_json("/contacts?phone=%2B16505559999").await;
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    let bad =
        create(json!({"name": "hello_world", "language": "en_US", "parameters": ["x"]})).await;
    assert_eq!(bad.status(), 422);

    // Meta pauses a template: the webhook updates the list, and it can no longer be sent.
    let mut paused = wa_sim::default_templates();
    for t in &mut paused {
        if t["name"] == "hello_world" {
            t["status"] = json!("PAUSED");
        }
    }
    sim.set_templates(paused);
    let hook = json!({"object": "whatsapp_business_account", "entry": [{"id": wa_sim::DEFAULT_WABA_ID, "time": now_secs(),
        "changes": [{"field": "message_template_status_update", "value": {
            "event": "PAUSED", "message_template_id": 1192339204654487_i64,
            "message_template_name": "hello_world", "message_template_language": "en_US", "reason": null}}]}]});
    assert_eq!(
        app.post_signed(&serde_json::to_vec(&hook).unwrap())
            .await
            .status(),
        200
    );
    app.until("the template to be paused", || async {
        let list = app
            .get_json(&format!("/whatsapp/numbers/{number}/templates"))
            .await;
        list["templates"]
            .as_array()?
            .iter()
            .any(|t| t["name"] == "hello_world" && t["status"] == "PAUSED")
            .then_some(())
    })
    .await;
    let resp = create(json!({"name": "hello_world", "language": "en_US"})).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["errors"][0]["code"],
        "template_not_approved"
    );
    app.stop().await;
}
on_both!(window_and_templates);

/// The per-number throughput limit holds across two processes' send jobs on one database: a
/// backlog of replies goes out no faster than the configured rate, each exactly once.
async fn throughput_limit_holds_across_workers(backend: Backend) {
    const RATE: f64 = 10.0;
    const REPLIES: usize = 25;
    let sim = Simulator::start(sim_config()).await.unwrap();
    let vars = [
        ("WADESK_GRAPH_BASE_URL", sim.base_url().to_owned()),
        ("WADESK_SEND_RATE_PER_NUMBER", RATE.to_string()),
    ];
    let app =
        TestApp::start_configured(backend, config_with(true, &vars), Arc::new(SystemClock)).await;
    sim.set_webhook_url(Some(app.url("/webhooks/whatsapp")));
    // A second worker process on the same database.
    let worker = wadesk_app::Wadesk::with_store(
        config_with(true, &vars),
        app.second_store().await,
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    let stop_worker = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(worker.run_jobs(stop_worker.clone()));
    app.connect_sim_number().await;
    sim.customer_message(CustomerMessage::text(PNID, CUSTOMER, "Hi"))
        .await
        .unwrap();
    let ticket = app.only_ticket().await;
    // Let the bucket fill, then queue the backlog at once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = std::time::Instant::now();
    let replies = futures::future::join_all(
        (0..REPLIES).map(|i| app.reply(ticket, json!({"body": format!("reply {i}")}))),
    )
    .await;
    assert!(replies.iter().all(|r| r.status() == 201));
    app.until("every reply to be accepted", || async {
        (sim.accepted_messages().len() >= REPLIES).then_some(())
    })
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let accepted = sim.accepted_messages();
    let mut bodies: Vec<String> = accepted
        .iter()
        .map(|m| m.body["text"]["body"].as_str().unwrap().to_owned())
        .collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), REPLIES, "each reply exactly once");
    assert_eq!(accepted.len(), REPLIES);
    // A burst of RATE, then RATE per second: the rest needs (REPLIES - RATE) / RATE seconds.
    let floor = (REPLIES as f64 - RATE) / RATE;
    let rate = REPLIES as f64 / elapsed;
    eprintln!(
        "{REPLIES} replies in {elapsed:.2} s: {rate:.1} msg/s against a limit of {RATE}/s (burst {RATE})"
    );
    assert!(
        elapsed >= floor * 0.9,
        "sent too fast: {elapsed:.2} s < {floor:.2} s"
    );
    stop_worker.cancel();
    let _ = worker.await;
    app.stop().await;
}
on_both!(throughput_limit_holds_across_workers);
