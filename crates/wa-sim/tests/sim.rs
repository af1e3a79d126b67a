//! wa-sim on its own, over loopback HTTP with a plain reqwest client and a small webhook receiver.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use wa_client::webhook::{ChangeValue, MessageContent, StatusKind};
use wa_sim::{
    CustomerContent, CustomerMessage, Failure, FailureRule, SimConfig, SimHandle, Simulator,
    StatusPlan,
};

const PNID: &str = wa_sim::DEFAULT_PHONE_NUMBER_ID;
const SECRET: &str = "test-secret";

type Received = Arc<Mutex<Vec<(Option<String>, Bytes)>>>;

/// A webhook receiver: records (X-Hub-Signature-256, raw body).
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let r = received.clone();
    let app = axum::Router::new().route(
        "/webhook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = r.clone();
            async move {
                let sig = headers
                    .get("x-hub-signature-256")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                r.lock().unwrap().push((sig, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/webhook"), received)
}

async fn sim_with_receiver() -> (SimHandle, Received) {
    let (url, received) = receiver().await;
    let config = SimConfig {
        webhook_url: Some(url),
        app_secret: SECRET.into(),
        ..SimConfig::default()
    };
    (Simulator::start(config).await.unwrap(), received)
}

async fn post(sim: &SimHandle, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn text(to: &str) -> Value {
    json!({"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}})
}

async fn wait_for(received: &Received, n: usize) -> Vec<(Option<String>, Bytes)> {
    for _ in 0..200 {
        if received.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    received.lock().unwrap().clone()
}

#[tokio::test]
async fn bearer_tokens_are_checked_like_meta() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let path = format!("/v23.0/{PNID}/messages");
    for token in [None, Some("wrong")] {
        let (status, body) = post(&sim, &path, token, text("16505551234")).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], 190);
        assert_eq!(body["error"]["type"], "OAuthException");
        assert!(body["error"]["fbtrace_id"].is_string());
    }
    // A valid token of another number cannot use this one.
    let mut config = SimConfig::default();
    config.numbers.push(wa_sim::SimNumber::new(
        "200000000000001",
        "other-token",
        wa_sim::DEFAULT_WABA_ID,
    ));
    let sim = Simulator::start(config).await.unwrap();
    let (status, body) = post(&sim, &path, Some("other-token"), text("16505551234")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 100);
    let (status, _) = post(
        &sim,
        "/v23.0/200000000000001/messages",
        Some("other-token"),
        text("16505551234"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(sim.requests().iter().all(|r| r.path.ends_with("/messages")));
    assert_eq!(sim.requests()[0].response_status, 400);
}

#[tokio::test]
async fn request_shapes_are_checked_like_meta() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let t = Some(wa_sim::DEFAULT_TOKEN);
    let path = format!("/v23.0/{PNID}/messages");
    let cases = [
        json!({"to": "16505551234", "type": "text", "text": {"body": "x"}}),
        json!({"messaging_product": "whatsapp", "to": "not-a-number", "type": "text", "text": {"body": "x"}}),
        json!({"messaging_product": "whatsapp", "to": "12", "type": "text", "text": {"body": "x"}}),
        json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "hologram", "hologram": {}}),
        json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "text"}),
        json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "image", "image": {}}),
        json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "reaction", "reaction": {"emoji": "x"}}),
        json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}),
    ];
    for case in cases {
        let (status, body) = post(&sim, &path, t, case.clone()).await;
        assert_eq!(status, 400, "{case}");
        assert_eq!(body["error"]["code"], 100, "{case}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("(#100)")
        );
    }
    // Any /vNN.N/ prefix; the answer has Meta's shape.
    for version in ["v18.0", "v23.0", "v99.9"] {
        let (status, body) = post(
            &sim,
            &format!("/{version}/{PNID}/messages"),
            t,
            text("+1 (650) 555-1234"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["messaging_product"], "whatsapp");
        assert_eq!(
            body["contacts"],
            json!([{"input": "+1 (650) 555-1234", "wa_id": "16505551234"}])
        );
        assert!(
            body["messages"][0]["id"]
                .as_str()
                .unwrap()
                .starts_with("wamid.")
        );
    }
    let (status, _) = post(
        &sim,
        &format!("/latest/{PNID}/messages"),
        t,
        text("16505551234"),
    )
    .await;
    assert_eq!(status, 400);
    // Form-encoded bodies are accepted too, as by Meta.
    let response = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .bearer_auth("sim-token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("messaging_product=whatsapp&to=16505551234&type=text&text=%7B%22body%22%3A%22form%22%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        sim.accepted_messages().last().unwrap().body["text"]["body"],
        "form"
    );
}

#[tokio::test]
async fn failures_per_number_per_message_and_counted() {
    let mut config = SimConfig::default();
    config.numbers.push(wa_sim::SimNumber::new(
        "200000000000001",
        wa_sim::DEFAULT_TOKEN,
        wa_sim::DEFAULT_WABA_ID,
    ));
    let sim = Simulator::start(config).await.unwrap();
    let t = Some(wa_sim::DEFAULT_TOKEN);
    sim.add_failure(FailureRule::always(Failure::RateLimit).for_number("200000000000001"));
    sim.add_failure(FailureRule::times(Failure::Undeliverable, 2).for_recipient("+1 650 555 0000"));
    let other = "/v23.0/200000000000001/messages";
    let main = format!("/v23.0/{PNID}/messages");
    for _ in 0..3 {
        let (status, body) = post(&sim, other, t, text("16505551234")).await;
        assert_eq!(
            (status, body["error"]["code"].as_i64()),
            (400, Some(130429))
        );
    }
    for _ in 0..2 {
        let (_, body) = post(&sim, &main, t, text("16505550000")).await;
        assert_eq!(body["error"]["code"], 131026);
    }
    let (status, _) = post(&sim, &main, t, text("16505550000")).await;
    assert_eq!(status, 200, "the rule was used up");
    // Per message, through the admin endpoint.
    let response = reqwest::Client::new()
        .post(format!("{}/_sim/failures", sim.base_url()))
        .json(&json!({"failure": {"kind": "re_engagement"}, "biz_opaque_callback_data": "m-2", "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let mut m1 = text("16505551234");
    m1["biz_opaque_callback_data"] = "m-1".into();
    let mut m2 = text("16505551234");
    m2["biz_opaque_callback_data"] = "m-2".into();
    assert_eq!(post(&sim, &main, t, m1).await.0, 200);
    let (_, body) = post(&sim, &main, t, m2.clone()).await;
    assert_eq!(body["error"]["code"], 131047);
    assert_eq!(post(&sim, &main, t, m2).await.0, 200);
    // A bare 500.
    sim.add_failure(FailureRule::times(Failure::ServerError, 1));
    let response = reqwest::Client::new()
        .post(format!("{}{main}", sim.base_url()))
        .bearer_auth("sim-token")
        .json(&text("16505551234"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    assert_eq!(response.text().await.unwrap(), "Internal Server Error");
    // Accepted messages: the two that got through to 16505550000/16505551234 after the rules, plus m-1 and m-2.
    assert_eq!(sim.accepted_messages().len(), 3);
}

#[tokio::test]
async fn customer_messages_are_signed_meta_webhooks() {
    let (sim, received) = sim_with_receiver().await;
    let sent = sim
        .customer_message(CustomerMessage::text(
            PNID,
            "16505551234",
            "Where is my order?",
        ))
        .await
        .unwrap();
    assert_eq!(sent.webhook_status, Some(200));
    let image = CustomerMessage {
        content: CustomerContent::Media {
            kind: wa_client::graph::MediaKind::Image,
            bytes: Bytes::from_static(b"\xff\xd8jpeg"),
            mime_type: "image/jpeg".into(),
            caption: Some("broken".into()),
            filename: None,
        },
        reply_to: Some("wamid.OUT".into()),
        ..CustomerMessage::text(PNID, "16505551234", "")
    };
    let sent_image = sim.customer_message(image).await.unwrap();
    // Through the admin endpoint too.
    let response = reqwest::Client::new()
        .post(format!(
            "{}/_sim/customers/16505559999/messages",
            sim.base_url()
        ))
        .json(&json!({"text": "hello from curl", "name": "Ana"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let deliveries = wait_for(&received, 3).await;
    assert_eq!(deliveries.len(), 3);
    let mut texts = Vec::new();
    for (signature, body) in &deliveries {
        wa_client::signature::verify_signature(SECRET.as_bytes(), body, signature.as_deref())
            .unwrap();
        assert!(
            wa_client::signature::verify_signature(b"other", body, signature.as_deref()).is_err()
        );
        let notification = wa_client::webhook::parse_notification(body).unwrap();
        for (entry, value) in notification.messages_values() {
            assert_eq!(entry.id, wa_sim::DEFAULT_WABA_ID);
            assert_eq!(value.metadata.phone_number_id, PNID);
            for message in &value.messages {
                let name = value
                    .contact_for(message)
                    .and_then(|c| c.profile.as_ref()?.name.clone());
                match &message.content {
                    MessageContent::Text(t) => {
                        texts.push((message.from.clone(), t.body.clone(), name))
                    }
                    MessageContent::Image(media) => {
                        assert_eq!(media.id, sent_image.media_id);
                        assert_eq!(media.caption.as_deref(), Some("broken"));
                        assert_eq!(
                            message.context.as_ref().unwrap().id.as_deref(),
                            Some("wamid.OUT")
                        );
                    }
                    other => panic!("unexpected {}", other.type_name()),
                }
            }
        }
    }
    assert_eq!(texts[0].1, "Where is my order?");
    assert_eq!(
        texts[1],
        (
            Some("16505559999".to_owned()),
            "hello from curl".to_owned(),
            Some("Ana".to_owned())
        )
    );
    let parsed =
        wa_client::webhook::parse_notification(&serde_json::to_vec(&sent.body).unwrap()).unwrap();
    assert_eq!(
        parsed.messages_values().next().unwrap().1.messages[0].id,
        sent.wamid
    );
}

fn statuses(deliveries: &[(Option<String>, Bytes)]) -> Vec<wa_client::webhook::Status> {
    let mut out = Vec::new();
    for (signature, body) in deliveries {
        wa_client::signature::verify_signature(SECRET.as_bytes(), body, signature.as_deref())
            .unwrap();
        let notification = wa_client::webhook::parse_notification(body).unwrap();
        for (_, change) in notification.changes() {
            if let ChangeValue::Messages(value) = &change.value {
                out.extend(value.statuses.iter().cloned());
            }
        }
    }
    out
}

#[tokio::test]
async fn statuses_follow_each_send_in_order_with_pricing_and_callback_data() {
    let (sim, received) = sim_with_receiver().await;
    let mut body = text("16505551234");
    body["biz_opaque_callback_data"] = "ticket-9/reply-3".into();
    let (status, answer) = post(
        &sim,
        &format!("/v23.0/{PNID}/messages"),
        Some("sim-token"),
        body,
    )
    .await;
    assert_eq!(status, 200);
    let wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();
    let first = statuses(&wait_for(&received, 3).await);
    let kinds: Vec<_> = first.iter().map(|s| s.status.clone()).collect();
    assert_eq!(
        kinds,
        vec![StatusKind::Sent, StatusKind::Delivered, StatusKind::Read]
    );
    for (i, s) in first.iter().enumerate() {
        assert_eq!(s.id, wamid);
        assert_eq!(s.recipient_id.as_deref(), Some("16505551234"));
        assert_eq!(
            s.biz_opaque_callback_data.as_deref(),
            Some("ticket-9/reply-3")
        );
        assert_eq!(
            s.pricing.is_some(),
            i < 2,
            "pricing with sent and delivered only"
        );
        assert_eq!(s.conversation.is_some(), i < 2);
    }
    let pricing = serde_json::to_value(first[0].pricing.as_ref().unwrap()).unwrap();
    assert_eq!(
        pricing,
        json!({"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"})
    );

    // A failed status with Meta's error object, for one recipient.
    sim.set_status_plan_for(
        "16505550000",
        StatusPlan::Failed {
            code: 131026,
            title: "Message undeliverable".into(),
            details: "not on WhatsApp".into(),
        },
    );
    post(
        &sim,
        &format!("/v23.0/{PNID}/messages"),
        Some("sim-token"),
        text("16505550000"),
    )
    .await;
    let all = statuses(&wait_for(&received, 4).await);
    let failed = all.last().unwrap();
    assert_eq!(failed.status, StatusKind::Failed);
    assert_eq!(failed.errors[0].code, Some(131026));
    assert!(failed.pricing.is_none());

    // A marketing template is billable.
    let template = json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}}});
    post(
        &sim,
        &format!("/v23.0/{PNID}/messages"),
        Some("sim-token"),
        template,
    )
    .await;
    let all = statuses(&wait_for(&received, 7).await);
    let sent = &all[4];
    let pricing = serde_json::to_value(sent.pricing.as_ref().unwrap()).unwrap();
    assert_eq!(pricing["category"], "marketing");
    assert_eq!(pricing["type"], "regular");
    assert_eq!(pricing["billable"], true);
}

#[tokio::test]
async fn enforced_window_fails_free_form_to_silent_customers() {
    let (url, received) = receiver().await;
    let config = SimConfig {
        webhook_url: Some(url),
        app_secret: SECRET.into(),
        enforce_customer_service_window: true,
        status_plan: StatusPlan::Sent,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let path = format!("/v23.0/{PNID}/messages");
    assert_eq!(
        post(&sim, &path, Some("sim-token"), text("16505551234"))
            .await
            .0,
        200
    );
    let first = statuses(&wait_for(&received, 1).await);
    assert_eq!(first[0].status, StatusKind::Failed);
    assert_eq!(first[0].errors[0].code, Some(131047));
    sim.customer_message(CustomerMessage::text(PNID, "16505551234", "hi"))
        .await
        .unwrap();
    post(&sim, &path, Some("sim-token"), text("16505551234")).await;
    let deliveries = wait_for(&received, 3).await;
    let all = statuses(&deliveries);
    assert_eq!(all.last().unwrap().status, StatusKind::Sent);
}

#[tokio::test]
async fn admin_endpoint_lists_what_was_received() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    post(
        &sim,
        &format!("/v23.0/{PNID}/messages"),
        Some("sim-token"),
        text("16505551234"),
    )
    .await;
    let listed: Value = reqwest::get(format!("{}/_sim/requests", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["authorization"], "Bearer sim-token");
    assert_eq!(listed[0]["json"]["text"]["body"], "hi");
    assert_eq!(listed[0]["response_status"], 200);
    let messages: Value = reqwest::get(format!("{}/_sim/messages", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages[0]["wa_id"], "16505551234");
    let cleared = reqwest::Client::new()
        .delete(format!("{}/_sim/requests", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status().as_u16(), 204);
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn media_limits_and_profile_limits() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let upload = |mime: &'static str, size: usize| {
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime)
            .part(
                "file",
                reqwest::multipart::Part::bytes(vec![0u8; size])
                    .file_name("f")
                    .mime_str(mime)
                    .unwrap(),
            );
        reqwest::Client::new()
            .post(format!("{}/v23.0/{PNID}/media", sim.base_url()))
            .bearer_auth("sim-token")
            .multipart(form)
            .send()
    };
    let ok: Value = upload("image/webp", 1000)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ok["id"].is_string());
    let too_big: Value = upload("image/webp", 600 * 1024)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(too_big["error"]["code"], 131053);
    let profile = json!({"messaging_product": "whatsapp", "websites": ["https://a", "https://b", "https://c"]});
    let (status, body) = post(
        &sim,
        &format!("/v23.0/{PNID}/whatsapp_business_profile"),
        Some("sim-token"),
        profile,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 100);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("websites")
    );
}

/// An unmodified pywa client against the simulator (`scripts/pywa_smoke.py`). Needs a Python with `pip install
/// pywa` (`WADESK_TEST_PYTHON`, default `python3`); run with `cargo test -p wa-sim -- --ignored pywa`. Skips (passes,
/// saying so) when pywa is not installed, unless `WADESK_REQUIRE_CLIENTS=1`, as `.ci/run` sets it.
#[tokio::test]
#[ignore = "needs python3 and pywa"]
async fn pywa_sends_text_reply_reaction_media_and_mark_as_read() {
    let required = std::env::var("WADESK_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
    let python = std::env::var("WADESK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let script = format!("{}/scripts/pywa_smoke.py", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .env("WA_SIM_URL", sim.base_url())
        .output()
        .await;
    let Ok(output) = output else {
        assert!(!required, "{python} is not available");
        eprintln!("{python} not available: skipped");
        return;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.code() == Some(77) {
        assert!(!required, "pywa is not installed for {python}: {stdout}");
        eprintln!("{stdout}");
        return;
    }
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("pywa against wa-sim: OK"));
    let types: Vec<_> = sim
        .accepted_messages()
        .iter()
        .map(|m| m.message_type.clone())
        .collect();
    assert_eq!(types, vec!["text", "text", "reaction", "image", "document"]);
}

#[tokio::test]
async fn accepted_then_hung_send_still_reports_statuses_with_its_callback_data() {
    let (url, received) = receiver().await;
    let config = SimConfig {
        webhook_url: Some(url),
        app_secret: SECRET.into(),
        hang: Duration::from_secs(5),
        status_plan: StatusPlan::ReadWithoutDelivered,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    sim.add_failure(FailureRule::times(Failure::AcceptThenHang, 1).for_callback_data("reply-77"));
    let mut body = text("16505551234");
    body["biz_opaque_callback_data"] = "reply-77".into();
    let result = reqwest::Client::new()
        .post(format!("{}/v23.0/{PNID}/messages", sim.base_url()))
        .bearer_auth("sim-token")
        .timeout(Duration::from_millis(300))
        .json(&body)
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    let all = statuses(&wait_for(&received, 2).await);
    let kinds: Vec<_> = all.iter().map(|s| s.status.clone()).collect();
    assert_eq!(kinds, vec![StatusKind::Sent, StatusKind::Read]);
    assert!(
        all.iter()
            .all(|s| s.biz_opaque_callback_data.as_deref() == Some("reply-77"))
    );
    assert_eq!(all[0].id, sim.accepted_messages()[0].wamid);
    // Meta attaches pricing to `sent` and to the next status, here `read`.
    assert!(all.iter().all(|s| s.pricing.is_some()));
}

#[tokio::test]
async fn failed_status_rule_accepts_then_fails_by_webhook() {
    let (sim, received) = sim_with_receiver().await;
    sim.add_failure(FailureRule::times(
        Failure::FailedStatus {
            code: 131047,
            title: "Re-engagement message".into(),
            details: "24h".into(),
        },
        1,
    ));
    let (status, answer) = post(
        &sim,
        &format!("/v23.0/{PNID}/messages"),
        Some("sim-token"),
        text("16505551234"),
    )
    .await;
    assert_eq!(status, 200);
    let all = statuses(&wait_for(&received, 1).await);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, answer["messages"][0]["id"].as_str().unwrap());
    assert_eq!(all[0].status, StatusKind::Failed);
    assert_eq!(all[0].errors[0].code, Some(131047));
    assert_eq!(
        all[0].errors[0].title.as_deref(),
        Some("Re-engagement message")
    );
}

/// Media faults: a lying sha256, URLs handed out already expired, a download that 404s; and
/// the download URL needs the owner's bearer token.
#[tokio::test]
async fn media_faults_and_download_token() {
    use sha2::Digest;
    use wa_sim::MediaFault;
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let id = sim.put_media(PNID, Bytes::from_static(b"file bytes"), "image/jpeg");
    let client = reqwest::Client::new();
    let token = wa_sim::DEFAULT_TOKEN;
    let metadata = || async {
        let v: Value = client
            .get(format!("{}/v23.0/{id}", sim.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v
    };
    let fetch = |url: String, bearer: Option<&'static str>| {
        let client = client.clone();
        async move {
            let mut r = client.get(url);
            if let Some(t) = bearer {
                r = r.bearer_auth(t);
            }
            let resp = r.send().await.unwrap();
            (resp.status().as_u16(), resp.bytes().await.unwrap())
        }
    };
    let real = hex::encode(sha2::Sha256::digest(b"file bytes"));

    let m = metadata().await;
    assert_eq!(m["sha256"], real.as_str());
    let url = m["url"].as_str().unwrap().to_owned();
    assert_eq!(fetch(url.clone(), None).await.0, 401);
    assert_eq!(fetch(url.clone(), Some("wrong-token")).await.0, 401);
    let (status, body) = fetch(url, Some(token)).await;
    assert_eq!((status, body.as_ref()), (200, b"file bytes".as_ref()));

    sim.set_media_fault(&id, Some(MediaFault::WrongSha256));
    let m = metadata().await;
    assert_ne!(m["sha256"], real.as_str());
    let (status, body) = fetch(m["url"].as_str().unwrap().to_owned(), Some(token)).await;
    assert_eq!((status, body.as_ref()), (200, b"file bytes".as_ref()));

    sim.set_media_fault(&id, Some(MediaFault::ExpiredUrls { n: 2 }));
    for _ in 0..2 {
        let m = metadata().await;
        assert_eq!(m["sha256"], real.as_str());
        assert_eq!(
            fetch(m["url"].as_str().unwrap().to_owned(), Some(token))
                .await
                .0,
            404
        );
    }
    let m = metadata().await;
    assert_eq!(
        fetch(m["url"].as_str().unwrap().to_owned(), Some(token))
            .await
            .0,
        200
    );

    sim.set_media_fault(&id, Some(MediaFault::NotFound));
    let m = metadata().await;
    assert_eq!(
        fetch(m["url"].as_str().unwrap().to_owned(), Some(token))
            .await
            .0,
        404
    );
    sim.set_media_fault(&id, None);
    let m = metadata().await;
    assert_eq!(
        fetch(m["url"].as_str().unwrap().to_owned(), Some(token))
            .await
            .0,
        200
    );
}
