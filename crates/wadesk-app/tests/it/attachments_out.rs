//! Agents' attachments on replies (Freshdesk's multipart `attachments[]`): checked against
//! WhatsApp's types and limits, kept in the blob store, uploaded to the simulator by the send
//! job and sent as media messages by id, end to end over loopback on both databases.

use std::{sync::Arc, time::Duration};

use reqwest::{
    Method,
    multipart::{Form, Part},
};
use serde_json::{Value, json};
use wa_sim::{AcceptedMessage, CustomerMessage, EdgeFailure, SimConfig, SimHandle, Simulator};
use wadesk_app::SystemClock;

use crate::harness::{Backend, SECRET, TestApp, config_with, on_both};

const PNID: &str = wa_sim::DEFAULT_PHONE_NUMBER_ID;
const CUSTOMER: &str = "16505551234";

/// A file of `len` bytes that is not all one value (so a truncated or shifted copy differs).
fn file_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn file_part(bytes: Vec<u8>, name: &str, mime: &str) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .expect("mime")
}

/// A running simulator and app, the simulator's number connected, and a ticket opened by a
/// customer message (so the customer service window is open).
async fn setup(backend: Backend) -> (SimHandle, TestApp, i64) {
    setup_at(backend, None).await
}

/// As [`setup`], the customer's message stamped `timestamp` (unix seconds) when given.
async fn setup_at(backend: Backend, timestamp: Option<i64>) -> (SimHandle, TestApp, i64) {
    let sim = Simulator::start(SimConfig {
        app_secret: SECRET.into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let app = TestApp::start_configured(
        backend,
        config_with(
            true,
            &[
                ("WADESK_GRAPH_BASE_URL", sim.base_url().to_owned()),
                ("WADESK_GRAPH_TIMEOUT_SECS", "5".into()),
            ],
        ),
        Arc::new(SystemClock),
    )
    .await;
    sim.set_webhook_url(Some(app.url("/webhooks/whatsapp")));
    let resp = app
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
        .expect("connect");
    assert_eq!(resp.status(), 201);
    let mut first = CustomerMessage::text(PNID, CUSTOMER, "Send me the invoice");
    first.timestamp = timestamp;
    sim.customer_message(first).await.expect("customer message");
    let ticket = wait_for("a ticket", || async {
        let list: Value = app
            .api(Method::GET, "/tickets")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        list.as_array()?.first()?["id"].as_i64()
    })
    .await;
    (sim, app, ticket)
}

async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
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

async fn reply_form(app: &TestApp, ticket: i64, form: Form) -> reqwest::Response {
    app.api(Method::POST, &format!("/tickets/{ticket}/reply"))
        .multipart(form)
        .send()
        .await
        .expect("reply")
}

/// Waits until the simulator accepted `n` messages; returns them.
async fn accepted(sim: &SimHandle, n: usize) -> Vec<AcceptedMessage> {
    wait_for(&format!("{n} accepted messages"), || async {
        let m = sim.accepted_messages();
        (m.len() >= n).then_some(m)
    })
    .await
}

fn uploads(sim: &SimHandle) -> Vec<wa_sim::RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/media"))
        .collect()
}

/// An image reply reaches the simulator as an image message by id, the uploaded bytes equal
/// the file sent, the body is its caption, and agents can open the file from the entry.
async fn image_reply_is_uploaded_and_sent_with_caption(backend: Backend) {
    let (sim, app, ticket) = setup(backend).await;
    let png = file_bytes(300_000, 7);
    let form = Form::new()
        .text("body", "Here is <b>your</b> receipt")
        .part(
            "attachments[]",
            file_part(png.clone(), "receipt.png", "image/png"),
        );
    let resp = reply_form(&app, ticket, form).await;
    assert_eq!(resp.status(), 201);
    let entry: Value = resp.json().await.expect("json");
    assert_eq!(entry["incoming"], false);
    assert_eq!(entry["whatsapp"]["status"], "pending");
    let att = &entry["attachments"][0];
    assert_eq!(att["name"], "receipt.png");
    assert_eq!(att["content_type"], "image/png");
    assert_eq!(att["size"], png.len());
    assert!(att.get("blob_key").is_none(), "internal key leaked: {att}");

    let msgs = accepted(&sim, 1).await;
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.message_type, "image");
    assert_eq!(m.to, CUSTOMER);
    assert_eq!(m.body["image"]["caption"], "Here is your receipt");
    let media_id = m.body["image"]["id"].as_str().expect("sent by id");
    assert!(m.body["image"].get("link").is_none());
    let (uploaded, mime) = sim.media_file(media_id).expect("uploaded media");
    assert_eq!(mime, "image/png");
    assert!(uploaded.as_ref() == png.as_slice(), "uploaded bytes differ");
    let ups = uploads(&sim);
    assert_eq!(ups.len(), 1);
    assert_eq!(
        ups[0].authorization.as_deref(),
        Some(format!("Bearer {}", wa_sim::DEFAULT_TOKEN).as_str())
    );

    // The agent opens the file: the signed URL, without the API key, serves the same bytes.
    let url = att["attachment_url"].as_str().expect("attachment_url");
    let got = app.client.get(app.url(url)).send().await.expect("download");
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("receipt.png")
    );
    assert!(got.bytes().await.expect("bytes").as_ref() == png.as_slice());

    // The entry gets its wamid and moves to sent.
    let id = entry["id"].as_i64().expect("id");
    let wamid = m.wamid.clone();
    wait_for("the entry to carry the wamid", || async {
        let convs: Value = app
            .api(Method::GET, &format!("/tickets/{ticket}/conversations"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        convs
            .as_array()?
            .iter()
            .find(|c| c["id"] == id && c["whatsapp"]["message_id"] == wamid.as_str())
            .cloned()
    })
    .await;
    app.stop().await;
}
on_both!(image_reply_is_uploaded_and_sent_with_caption);

/// A document keeps its file name (and an empty body is allowed); audio takes no caption, so
/// the body goes as a text message queued just before it.
async fn document_keeps_its_name_and_audio_text_goes_separately(backend: Backend) {
    let (sim, app, ticket) = setup(backend).await;
    let pdf = file_bytes(40_000, 3);
    // No Content-Type on the part (as curl sends): the type comes from the extension.
    let form = Form::new().text("body", "").part(
        "attachments[]",
        Part::bytes(pdf.clone()).file_name("Invoice 2026-11.pdf"),
    );
    let resp = reply_form(&app, ticket, form).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let msgs = accepted(&sim, 1).await;
    let m = &msgs[0];
    assert_eq!(m.message_type, "document");
    assert_eq!(m.body["document"]["filename"], "Invoice 2026-11.pdf");
    assert!(m.body["document"].get("caption").is_none());
    let (uploaded, mime) = sim
        .media_file(m.body["document"]["id"].as_str().expect("id"))
        .expect("uploaded");
    assert_eq!(mime, "application/pdf");
    assert!(uploaded.as_ref() == pdf.as_slice());

    let mp3 = file_bytes(20_000, 9);
    let form = Form::new().text("body", "Listen to this").part(
        "attachments[]",
        file_part(mp3.clone(), "note.mp3", "audio/mpeg"),
    );
    let resp = reply_form(&app, ticket, form).await;
    assert_eq!(resp.status(), 201);
    let entry: Value = resp.json().await.expect("json");
    assert_eq!(entry["attachments"][0]["name"], "note.mp3");
    let msgs = accepted(&sim, 3).await;
    let text = msgs
        .iter()
        .find(|m| m.message_type == "text")
        .expect("the body as text");
    assert_eq!(text.body["text"]["body"], "Listen to this");
    let audio = msgs
        .iter()
        .find(|m| m.message_type == "audio")
        .expect("the audio");
    assert!(audio.body["audio"].get("caption").is_none());
    let (uploaded, _) = sim
        .media_file(audio.body["audio"]["id"].as_str().expect("id"))
        .expect("uploaded");
    assert!(uploaded.as_ref() == mp3.as_slice());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sim.accepted_messages().len(), 3);
    app.stop().await;
}
on_both!(document_keeps_its_name_and_audio_text_goes_separately);

/// An oversize image, a forbidden type and two files are refused with 422 on `attachments`
/// before anything is stored or uploaded: the simulator sees no upload and no message.
async fn bad_attachments_are_refused_before_upload(backend: Backend) {
    let (sim, app, ticket) = setup(backend).await;
    let before = app
        .api(Method::GET, &format!("/tickets/{ticket}/conversations"))
        .send()
        .await
        .expect("convs")
        .json::<Value>()
        .await
        .expect("json");

    let cases: Vec<(&str, Form, &str)> = vec![
        (
            "oversize image",
            Form::new().text("body", "big").part(
                "attachments[]",
                file_part(file_bytes(5 * 1024 * 1024 + 1, 1), "big.jpg", "image/jpeg"),
            ),
            "invalid_size",
        ),
        (
            "forbidden type",
            Form::new().text("body", "gif").part(
                "attachments[]",
                file_part(file_bytes(1000, 2), "anim.gif", "image/gif"),
            ),
            "invalid_content_type",
        ),
        (
            "executable",
            Form::new().part(
                "attachments[]",
                file_part(file_bytes(1000, 2), "setup.exe", "application/x-msdownload"),
            ),
            "invalid_content_type",
        ),
        (
            "two files",
            Form::new()
                .text("body", "two")
                .part(
                    "attachments[]",
                    file_part(file_bytes(100, 3), "a.png", "image/png"),
                )
                .part(
                    "attachments[]",
                    file_part(file_bytes(100, 4), "b.png", "image/png"),
                ),
            "invalid_value",
        ),
    ];
    for (what, form, code) in cases {
        let resp = reply_form(&app, ticket, form).await;
        assert_eq!(resp.status(), 422, "{what}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["errors"][0]["field"], "attachments", "{what}: {body}");
        assert_eq!(body["errors"][0]["code"], code, "{what}: {body}");
    }
    // Nothing stored, nothing uploaded, nothing sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(uploads(&sim).is_empty(), "{:?}", uploads(&sim));
    assert!(sim.accepted_messages().is_empty());
    let after = app
        .api(Method::GET, &format!("/tickets/{ticket}/conversations"))
        .send()
        .await
        .expect("convs")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(before, after);
    let blobs = app.data_dir().join("blobs/sha256");
    assert!(!blobs.exists(), "a refused file was stored");
    // The route takes files up to 100 MB, but a JSON reply keeps the API's 1 MB limit.
    let resp = app
        .api(Method::POST, &format!("/tickets/{ticket}/reply"))
        .json(&json!({"body": "x".repeat(2 * 1024 * 1024)}))
        .send()
        .await
        .expect("reply");
    assert_eq!(resp.status(), 413);
    app.stop().await;
}
on_both!(bad_attachments_are_refused_before_upload);

/// A 5xx on the upload is retried; one message arrives.
async fn upload_5xx_is_retried_and_one_message_arrives(backend: Backend) {
    let (sim, app, ticket) = setup(backend).await;
    sim.fail_edge(
        "media",
        EdgeFailure {
            http_status: 500,
            code: 2,
            message: "Service temporarily unavailable".into(),
            details: None,
        },
        1,
    );
    let png = file_bytes(10_000, 5);
    let form = Form::new().text("body", "retry me").part(
        "attachments[]",
        file_part(png.clone(), "r.png", "image/png"),
    );
    assert_eq!(reply_form(&app, ticket, form).await.status(), 201);
    let msgs = accepted(&sim, 1).await;
    let ups = uploads(&sim);
    assert_eq!(
        ups.iter().map(|r| r.response_status).collect::<Vec<_>>(),
        vec![500, 200]
    );
    let (uploaded, _) = sim
        .media_file(msgs[0].body["image"]["id"].as_str().expect("id"))
        .expect("uploaded");
    assert!(uploaded.as_ref() == png.as_slice());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sim.accepted_messages().len(), 1);
    app.stop().await;
}
on_both!(upload_5xx_is_retried_and_one_message_arrives);

/// Outside the 24-hour window a reply with a file is refused like text, before the file is
/// stored or uploaded.
async fn attachment_outside_the_window_is_refused(backend: Backend) {
    let day_ago = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .expect("clock")
        .as_secs() as i64
        - 25 * 3600;
    let (sim, app, ticket) = setup_at(backend, Some(day_ago)).await;
    let form = Form::new().text("body", "late").part(
        "attachments[]",
        file_part(file_bytes(1000, 6), "late.png", "image/png"),
    );
    let resp = reply_form(&app, ticket, form).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["code"], "outside_customer_service_window");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(uploads(&sim).is_empty());
    assert!(sim.accepted_messages().is_empty());
    assert!(!app.data_dir().join("blobs/sha256").exists());
    app.stop().await;
}
on_both!(attachment_outside_the_window_is_refused);
