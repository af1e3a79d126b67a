//! Inbound media end to end, over real HTTP on loopback: a customer (wa-sim) sends every media
//! type of the pywa fixtures, wadesk downloads each from the simulator's Graph API with the
//! number's token, keeps it in the blob store, and serves it back byte for byte through the
//! attachment URL; checksum mismatches, expired URLs and missing media are handled; nothing is
//! downloaded twice; another account cannot read the files.
//!
//! Fixtures: `crates/wa-client/tests/fixtures/pywa/cases/message__*.json` (SOURCE: pywa's test
//! data, see that directory's SOURCE.txt).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wa_sim::{
    CustomerContent, CustomerMessage, MediaFault, SimConfig, SimHandle, SimNumber, Simulator,
};

use crate::harness::{Backend, SECRET, TestApp, on_both};

const PNID: &str = "106540352242922";
const TOKEN: &str = "EAAG-test-token";
const CUSTOMER: &str = "16505551234";

async fn setup(backend: Backend) -> (TestApp, SimHandle) {
    let sim = Simulator::start(SimConfig {
        numbers: vec![SimNumber::new(PNID, TOKEN, "102290129340398")],
        app_secret: SECRET.into(),
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let app =
        TestApp::start_with_vars(backend, true, &[("WADESK_GRAPH_BASE_URL", sim.base_url())]).await;
    sim.set_webhook_url(Some(app.url("/webhooks/whatsapp")));
    app.connect_number(PNID).await;
    (app, sim)
}

/// The message object of a pywa fixture: (`type`, its object).
fn fixture(name: &str) -> (String, Value) {
    let path = format!(
        "{}/../wa-client/tests/fixtures/pywa/cases/message__{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let body: Value = serde_json::from_slice(&std::fs::read(&path).expect(&path)).expect("json");
    let message = &body["entry"][0]["changes"][0]["value"]["messages"][0];
    let kind = message["type"].as_str().expect("type").to_owned();
    (kind.clone(), message[kind.as_str()].clone())
}

/// Distinct bytes of every value for each file.
fn file_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Sends a media message as the customer: the file is put in the simulator under a new media
/// id and the fixture's object is sent with that id and the file's sha256.
async fn send_media(
    sim: &SimHandle,
    kind: &str,
    mut object: Value,
    bytes: &[u8],
) -> (String, Value) {
    let mime = object["mime_type"].as_str().expect("mime").to_owned();
    let media_id = sim.put_media(PNID, bytes::Bytes::copy_from_slice(bytes), &mime);
    object["id"] = json!(media_id);
    object["sha256"] = json!(hex::encode(Sha256::digest(bytes)));
    let sent = sim
        .customer_message(CustomerMessage {
            phone_number_id: PNID.into(),
            from: CUSTOMER.into(),
            name: "Sheena Nelson".into(),
            content: CustomerContent::Raw {
                type_name: kind.into(),
                body: object,
            },
            reply_to: None,
            timestamp: None,
        })
        .await
        .expect("customer message");
    assert_eq!(sent.webhook_status, Some(200));
    (media_id, sent.body)
}

/// Every attachment of the customer's tickets (description first, then conversations), by
/// WhatsApp media id.
async fn attachments(app: &TestApp) -> Vec<Value> {
    let tickets: Vec<Value> = app
        .api(Method::GET, "/tickets")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let mut out = Vec::new();
    for t in tickets {
        let id = t["id"].as_i64().expect("id");
        let full: Value = app
            .api(Method::GET, &format!("/tickets/{id}?include=conversations"))
            .send()
            .await
            .expect("show")
            .json()
            .await
            .expect("json");
        out.extend(full["attachments"].as_array().cloned().unwrap_or_default());
        for c in full["conversations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            out.extend(c["attachments"].as_array().cloned().unwrap_or_default());
        }
    }
    out
}

/// Waits until the attachment of `media_id` has one of `states`, and returns it.
async fn wait_for(app: &TestApp, media_id: &str, states: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let found = attachments(app)
            .await
            .into_iter()
            .find(|a| a["whatsapp_media_id"] == media_id);
        if let Some(a) = &found
            && states.contains(&a["whatsapp_media_status"].as_str().unwrap_or(""))
        {
            return a.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "attachment of {media_id} never reached {states:?}: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GET of an attachment URL as a browser opens it (no API key).
async fn open(app: &TestApp, url: &str) -> reqwest::Response {
    assert!(url.starts_with("/api/v2/attachments/"), "{url}");
    app.client.get(app.url(url)).send().await.expect("open")
}

fn metadata_requests(sim: &SimHandle, media_id: &str) -> usize {
    let path = format!("/v23.0/{media_id}");
    sim.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .inspect(|r| assert_eq!(r.authorization.as_deref(), Some("Bearer EAAG-test-token")))
        .count()
}

async fn other_account_key(app: &TestApp) -> String {
    let key = "other-account-key";
    app.store
        .create_account(
            "other",
            ticketing_core::Plan::Growth,
            &store::NewAgent {
                name: "Other".into(),
                email: "other@example.com".into(),
                role: ticketing_core::Role::Admin,
                api_key_hash: wadesk_app::http::hash_api_key(key),
            },
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .await
        .expect("other account");
    key.to_owned()
}

async fn every_inbound_media_type_is_served_back_byte_identical(backend: Backend) {
    let (app, sim) = setup(backend).await;
    let mut cases: Vec<(String, String, Value)> = [
        "image",
        "video",
        "audio",
        "voice",
        "document",
        "static_sticker",
        "animated_sticker",
    ]
    .iter()
    .map(|name| {
        let (kind, object) = fixture(name);
        ((*name).to_owned(), kind, object)
    })
    .collect();
    // A GIF arrives from WhatsApp as an MP4 video flagged as a GIF.
    let (_, mut gif) = fixture("video");
    gif["gif"] = json!(true);
    gif["mime_type"] = json!("video/mp4");
    cases.push(("gif".into(), "video".into(), gif));

    let mut sent = Vec::new();
    for (i, (name, kind, object)) in cases.into_iter().enumerate() {
        let bytes = file_bytes(i as u8, 3000 + 517 * i);
        let mime = object["mime_type"].as_str().expect("mime").to_owned();
        let (media_id, body) = send_media(&sim, &kind, object, &bytes).await;
        sent.push((name, media_id, mime, bytes, body));
    }
    for (name, media_id, mime, bytes, _) in &sent {
        let a = wait_for(&app, media_id, &["done"]).await;
        assert_eq!(a["content_type"], mime.as_str(), "{name}");
        assert_eq!(a["size"], bytes.len(), "{name}");
        assert!(a["id"].as_i64().is_some_and(|id| id > 0), "{name}: {a}");
        let url = a["attachment_url"].as_str().expect("attachment_url");
        let resp = open(&app, url).await;
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(resp.headers()["content-type"], mime.as_str(), "{name}");
        let disposition = resp.headers()["content-disposition"]
            .to_str()
            .expect("ascii");
        assert!(
            disposition.starts_with("attachment; filename=\""),
            "{disposition}"
        );
        assert_eq!(
            resp.bytes().await.expect("bytes").as_ref(),
            bytes.as_slice(),
            "{name}"
        );
        // With the API key instead of a signature.
        let resp = app
            .api(Method::GET, &format!("/attachments/{}", a["id"]))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(
            resp.bytes().await.expect("bytes").as_ref(),
            bytes.as_slice(),
            "{name}"
        );
        assert_eq!(metadata_requests(&sim, media_id), 1, "{name}");
    }
    // The first message's file is on the ticket (its description), the others on their
    // conversations, as in Freshdesk.
    let tickets: Vec<Value> = app
        .api(Method::GET, "/tickets")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(tickets.len(), 1);
    let full: Value = app
        .api(
            Method::GET,
            &format!("/tickets/{}?include=conversations", tickets[0]["id"]),
        )
        .send()
        .await
        .expect("show")
        .json()
        .await
        .expect("json");
    assert_eq!(full["attachments"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        full["attachments"][0]["whatsapp_media_id"],
        sent[0].1.as_str()
    );
    let conversations = full["conversations"].as_array().expect("conversations");
    assert_eq!(conversations.len(), sent.len() - 1);
    for (c, (name, media_id, ..)) in conversations.iter().zip(&sent[1..]) {
        assert_eq!(
            c["attachments"][0]["whatsapp_media_id"],
            media_id.as_str(),
            "{name}"
        );
    }

    // The document keeps its file name.
    let doc = wait_for(&app, &sent[4].1, &["done"]).await;
    let resp = open(&app, doc["attachment_url"].as_str().expect("url")).await;
    let expected_name = fixture("document").1["filename"]
        .as_str()
        .expect("filename")
        .to_owned();
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains(&expected_name),
        "{:?}",
        resp.headers()
    );

    // Meta redelivers the first message: nothing is downloaded again.
    let (_, first_media, _, _, first_body) = &sent[0];
    let raw = serde_json::to_vec(first_body).expect("body");
    assert_eq!(app.post_signed(&raw).await.status(), 200);
    app.drained().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(metadata_requests(&sim, first_media), 1);
    assert_eq!(
        attachments(&app)
            .await
            .iter()
            .filter(|a| a["whatsapp_media_id"] == first_media.as_str())
            .count(),
        1
    );

    // Another account's agent cannot read it, nor retry it; a forged link is refused.
    let a = wait_for(&app, first_media, &["done"]).await;
    let id = a["id"].as_i64().expect("id");
    let other = other_account_key(&app).await;
    let resp = app
        .client
        .get(app.url(&format!("/api/v2/attachments/{id}")))
        .basic_auth(&other, Some("X"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 404);
    let resp = app
        .client
        .post(app.url(&format!("/api/v2/attachments/{id}/retry")))
        .basic_auth(&other, Some("X"))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 404);
    let url = a["attachment_url"].as_str().expect("url");
    let forged = url.replace("account=1&", "account=2&");
    assert_eq!(open(&app, &forged).await.status(), 403);
    let other_id = url.replacen(&id.to_string(), &(id + 1).to_string(), 1);
    assert_eq!(open(&app, &other_id).await.status(), 403);
    let unauthenticated = app
        .client
        .get(app.url(&format!("/api/v2/attachments/{id}")))
        .send()
        .await
        .expect("get");
    assert_eq!(unauthenticated.status(), 401);
    app.stop().await;
}
on_both!(every_inbound_media_type_is_served_back_byte_identical);

async fn checksum_mismatch_expired_url_and_not_found_are_handled(backend: Backend) {
    let (app, sim) = setup(backend).await;
    let (kind, object) = fixture("image");

    // A URL that has expired by the time it is used: fetched again, then downloaded.
    let expired = file_bytes(1, 4000);
    let mime = object["mime_type"].as_str().expect("mime").to_owned();
    let expired_id = sim.put_media(PNID, bytes::Bytes::from(expired.clone()), &mime);
    sim.set_media_fault(&expired_id, Some(MediaFault::ExpiredUrls { n: 1 }));
    // (send_media puts its own copy; use the raw path so the fault applies to this id.)
    let mut o = object.clone();
    o["id"] = json!(expired_id);
    o["sha256"] = json!(hex::encode(Sha256::digest(&expired)));
    sim.customer_message(CustomerMessage {
        phone_number_id: PNID.into(),
        from: CUSTOMER.into(),
        name: "Sheena".into(),
        content: CustomerContent::Raw {
            type_name: kind.clone(),
            body: o,
        },
        reply_to: None,
        timestamp: None,
    })
    .await
    .expect("send");
    let a = wait_for(&app, &expired_id, &["done", "failed"]).await;
    assert_eq!(a["whatsapp_media_status"], "done", "{a}");
    assert_eq!(
        metadata_requests(&sim, &expired_id),
        2,
        "a fresh URL was asked for"
    );
    let resp = open(&app, a["attachment_url"].as_str().expect("url")).await;
    assert_eq!(
        resp.bytes().await.expect("bytes").as_ref(),
        expired.as_slice()
    );

    // Meta's CDN answers 404 even for a fresh URL: failed at once, visible, retryable.
    let gone = file_bytes(2, 5000);
    let gone_id = {
        let id = sim.put_media(PNID, bytes::Bytes::from(gone.clone()), &mime);
        sim.set_media_fault(&id, Some(MediaFault::NotFound));
        let mut o = object.clone();
        o["id"] = json!(id);
        o["sha256"] = json!(hex::encode(Sha256::digest(&gone)));
        sim.customer_message(CustomerMessage {
            phone_number_id: PNID.into(),
            from: CUSTOMER.into(),
            name: "Sheena".into(),
            content: CustomerContent::Raw {
                type_name: kind.clone(),
                body: o,
            },
            reply_to: None,
            timestamp: None,
        })
        .await
        .expect("send");
        id
    };
    let a = wait_for(&app, &gone_id, &["failed", "done"]).await;
    assert_eq!(a["whatsapp_media_status"], "failed", "{a}");
    assert!(
        a["whatsapp_media_error"]
            .as_str()
            .is_some_and(|e| e.contains("404")),
        "{a}"
    );
    assert_eq!(a["attachment_url"], Value::Null);
    assert_eq!(
        metadata_requests(&sim, &gone_id),
        2,
        "tried once with a fresh URL"
    );
    let id = a["id"].as_i64().expect("id");
    let resp = app
        .api(Method::GET, &format!("/attachments/{id}"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 409);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["errors"][0]["code"], "media_not_downloaded");
    // The file is back at Meta; an agent retries.
    sim.set_media_fault(&gone_id, None);
    let resp = app
        .api(Method::POST, &format!("/attachments/{id}/retry"))
        .send()
        .await
        .expect("retry");
    assert_eq!(resp.status(), 200);
    let a = wait_for(&app, &gone_id, &["done"]).await;
    let resp = open(&app, a["attachment_url"].as_str().expect("url")).await;
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), gone.as_slice());

    // Meta's sha256 does not match the file: retried a bounded number of times, then failed
    // with the reason; a retry after the fault is gone succeeds.
    let bad = file_bytes(3, 6000);
    let bad_id = sim.put_media(PNID, bytes::Bytes::from(bad.clone()), &mime);
    sim.set_media_fault(&bad_id, Some(MediaFault::WrongSha256));
    let mut o = object.clone();
    o["id"] = json!(bad_id);
    o["sha256"] = json!(hex::encode(Sha256::digest(&bad)));
    sim.customer_message(CustomerMessage {
        phone_number_id: PNID.into(),
        from: CUSTOMER.into(),
        name: "Sheena".into(),
        content: CustomerContent::Raw {
            type_name: kind.clone(),
            body: o,
        },
        reply_to: None,
        timestamp: None,
    })
    .await
    .expect("send");
    let a = wait_for(&app, &bad_id, &["failed", "done"]).await;
    assert_eq!(a["whatsapp_media_status"], "failed", "{a}");
    assert!(
        a["whatsapp_media_error"]
            .as_str()
            .is_some_and(|e| e.contains("sha256 mismatch")),
        "{a}"
    );
    assert_eq!(
        metadata_requests(&sim, &bad_id),
        3,
        "three attempts, then given up"
    );
    sim.set_media_fault(&bad_id, None);
    let id = a["id"].as_i64().expect("id");
    let resp = app
        .api(Method::POST, &format!("/attachments/{id}/retry"))
        .send()
        .await
        .expect("retry");
    assert_eq!(resp.status(), 200);
    let a = wait_for(&app, &bad_id, &["done"]).await;
    let resp = open(&app, a["attachment_url"].as_str().expect("url")).await;
    assert_eq!(resp.bytes().await.expect("bytes").as_ref(), bad.as_slice());
    app.stop().await;
}
on_both!(checksum_mismatch_expired_url_and_not_found_are_handled);
