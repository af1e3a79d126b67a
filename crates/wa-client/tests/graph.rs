//! The Graph API client against wa-sim over loopback HTTP, and against Meta's documented fixtures.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use wa_client::graph::{
    AccessToken, BusinessProfileUpdate, CodeMethod, GraphClient, GraphClientError, GraphConfig,
    GraphError, MediaKind, MediaSource, OutgoingMessage, RetryAdvice, Template, TemplateComponent,
    TemplateParameter,
};
use wa_sim::{Failure, FailureRule, SimConfig, SimHandle, Simulator};

const PNID: &str = wa_sim::DEFAULT_PHONE_NUMBER_ID;
const WABA: &str = wa_sim::DEFAULT_WABA_ID;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/graph-fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn token() -> AccessToken {
    AccessToken::new(wa_sim::DEFAULT_TOKEN)
}

async fn start(config: SimConfig) -> (SimHandle, GraphClient) {
    let sim = Simulator::start(config).await.unwrap();
    let client = GraphClient::new(
        GraphConfig::new(sim.base_url(), "v23.0"),
        reqwest::Client::new(),
    );
    (sim, client)
}

fn last_json(sim: &SimHandle) -> Value {
    sim.requests().last().unwrap().json.clone()
}

#[tokio::test]
async fn text_reply_with_preview_and_callback_is_exactly_metas_body() {
    let (sim, client) = start(SimConfig::default()).await;
    let message = OutgoingMessage::text(
        "+16505551234",
        "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/",
    )
    .preview_url(true);
    let sent = client.send(&token(), PNID, &message).await.unwrap();
    // Meta's documented body, byte for byte in JSON terms.
    assert_eq!(last_json(&sim), fixture("send_text_request.json"));
    let request = sim.requests().pop().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/v23.0/{PNID}/messages"));
    assert_eq!(request.authorization.as_deref(), Some("Bearer sim-token"));
    assert_eq!(sent.contacts[0].input, "+16505551234");
    assert_eq!(sent.contacts[0].wa_id.as_deref(), Some("16505551234"));
    let wamid = sent.message_id().unwrap().to_owned();
    assert!(wamid.starts_with("wamid."));

    let reply = OutgoingMessage::text("16505551234", "thanks")
        .reply_to("wamid.IN1")
        .callback_data("reply-7");
    client.send(&token(), PNID, &reply).await.unwrap();
    let body = last_json(&sim);
    assert_eq!(body["context"], json!({"message_id": "wamid.IN1"}));
    assert_eq!(body["biz_opaque_callback_data"], "reply-7");
    assert_eq!(
        body["text"],
        json!({"preview_url": false, "body": "thanks"})
    );
    let accepted = sim.accepted_messages();
    assert_eq!(accepted.len(), 2);
    assert_eq!(
        accepted[1].biz_opaque_callback_data.as_deref(),
        Some("reply-7")
    );
}

#[tokio::test]
async fn templates_named_positional_header_media_and_buttons() {
    let (sim, client) = start(SimConfig::default()).await;
    // Meta's named-parameter example, exactly.
    let template = Template::new("reservation_confirmation", "en_US")
        .component(TemplateComponent::Header(vec![TemplateParameter::media(
            MediaKind::Image,
            MediaSource::Id("2871834006348767".into()),
        )]))
        .component(TemplateComponent::Body(vec![
            TemplateParameter::named("number_of_guests", "4"),
            TemplateParameter::named("day", "Saturday"),
            TemplateParameter::named("date", "August 30th, 2025"),
            TemplateParameter::named("time", "7:30 pm"),
        ]));
    let sent = client
        .send(
            &token(),
            PNID,
            &OutgoingMessage::template("16505551234", template),
        )
        .await
        .unwrap();
    assert_eq!(last_json(&sim), fixture("send_template_request.json"));
    // The response has the documented shape, including template pacing status.
    let documented: wa_client::graph::SendResponse =
        serde_json::from_value(fixture("send_template_response.json")).unwrap();
    assert_eq!(
        documented.messages[0].message_status.as_deref(),
        Some("accepted")
    );
    assert_eq!(sent.messages[0].message_status.as_deref(), Some("accepted"));

    // Positional parameters with a quick-reply button payload.
    let promo = Template::new("2023_april_promo", "en_US")
        .component(TemplateComponent::Body(vec![
            TemplateParameter::text("Mark"),
            TemplateParameter::text("FALL25"),
        ]))
        .component(TemplateComponent::Button {
            sub_type: "quick_reply".into(),
            index: 0,
            parameters: vec![TemplateParameter::payload("stop-promos")],
        });
    client
        .send(
            &token(),
            PNID,
            &OutgoingMessage::template("16505551234", promo).callback_data("t-1"),
        )
        .await
        .unwrap();
    let body = last_json(&sim);
    assert_eq!(
        body["template"]["components"][0]["parameters"][1],
        json!({"type": "text", "text": "FALL25"})
    );
    assert_eq!(
        body["template"]["components"][1],
        json!({"type": "button", "sub_type": "quick_reply", "index": "0",
               "parameters": [{"type": "payload", "payload": "stop-promos"}]})
    );

    // Wrong parameter count and unknown template: Meta's codes, not retryable.
    let short =
        Template::new("2023_april_promo", "en_US").component(TemplateComponent::Body(vec![
            TemplateParameter::text("Mark"),
        ]));
    let err = client
        .send(
            &token(),
            PNID,
            &OutgoingMessage::template("16505551234", short),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(132000));
    assert_eq!(err.retry(), RetryAdvice::Never);
    let missing = Template::new("no_such_template", "en_US");
    let err = client
        .send(
            &token(),
            PNID,
            &OutgoingMessage::template("16505551234", missing),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(132001));
    assert_eq!(err.retry(), RetryAdvice::Never);
}

#[tokio::test]
async fn media_upload_metadata_download_and_send_by_id_or_link() {
    let clock = Arc::new(AtomicI64::new(1_750_000_000));
    let c = clock.clone();
    let config = SimConfig {
        clock: Arc::new(move || {
            OffsetDateTime::from_unix_timestamp(c.load(Ordering::SeqCst)).unwrap()
        }),
        ..SimConfig::default()
    };
    let (sim, client) = start(config).await;
    let kinds = [
        (MediaKind::Image, "image/jpeg", "photo.jpg"),
        (MediaKind::Video, "video/mp4", "clip.mp4"),
        (MediaKind::Audio, "audio/ogg", "voice.ogg"),
        (MediaKind::Document, "application/pdf", "invoice.pdf"),
        (MediaKind::Sticker, "image/webp", "sticker.webp"),
    ];
    for (kind, mime, name) in kinds {
        let bytes: Vec<u8> = format!("{name} contents \u{0}\u{1}\u{2}").into_bytes();
        let id = client
            .upload_media(&token(), PNID, bytes.clone(), mime, name)
            .await
            .unwrap();
        let meta = client
            .media_metadata(&token(), &id, Some(PNID))
            .await
            .unwrap();
        assert_eq!(meta.id, id);
        assert_eq!(meta.mime_type, mime);
        assert_eq!(meta.file_size, bytes.len() as u64);
        let expected_sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        assert_eq!(meta.sha256, expected_sha);
        let downloaded = client.download_media(&token(), &meta.url).await.unwrap();
        assert_eq!(downloaded.bytes.as_ref(), bytes.as_slice());
        assert_eq!(downloaded.content_type.as_deref(), Some(mime));

        let message = OutgoingMessage::media("16505551234", kind, MediaSource::Id(id.clone()))
            .caption("a caption")
            .filename(name);
        client.send(&token(), PNID, &message).await.unwrap();
        let body = last_json(&sim);
        assert_eq!(body["type"], kind.as_str());
        assert_eq!(body[kind.as_str()]["id"], id.as_str());
        assert_eq!(
            body[kind.as_str()].get("caption").is_some(),
            matches!(
                kind,
                MediaKind::Image | MediaKind::Video | MediaKind::Document
            )
        );
        assert_eq!(
            body[kind.as_str()].get("filename").is_some(),
            kind == MediaKind::Document
        );
    }
    let by_link = OutgoingMessage::media(
        "16505551234",
        MediaKind::Image,
        MediaSource::Link("https://example.com/a.png".into()),
    );
    client.send(&token(), PNID, &by_link).await.unwrap();
    assert_eq!(
        last_json(&sim)["image"],
        json!({"link": "https://example.com/a.png"})
    );

    // The URL expires after 5 minutes: 404, then fresh metadata gives a working URL.
    let id = client
        .upload_media(&token(), PNID, b"late".to_vec(), "image/png", "late.png")
        .await
        .unwrap();
    let meta = client.media_metadata(&token(), &id, None).await.unwrap();
    clock.fetch_add(301, Ordering::SeqCst);
    let err = client
        .download_media(&token(), &meta.url)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphClientError::Http { status: 404, .. }),
        "{err:?}"
    );
    let fresh = client.media_metadata(&token(), &id, None).await.unwrap();
    assert_eq!(
        client
            .download_media(&token(), &fresh.url)
            .await
            .unwrap()
            .bytes
            .as_ref(),
        b"late"
    );
    // Without the right bearer token the download fails.
    let err = client
        .download_media(&AccessToken::new("wrong"), &fresh.url)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphClientError::Http { status: 401, .. }),
        "{err:?}"
    );

    // Unsupported MIME type: Meta's 131053, not retryable.
    let err = client
        .upload_media(&token(), PNID, b"x".to_vec(), "application/zip", "a.zip")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(131053));
    assert_eq!(err.retry(), RetryAdvice::Never);

    client
        .delete_media(&token(), &id, Some(PNID))
        .await
        .unwrap();
    let err = client
        .media_metadata(&token(), &id, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(100));
}

#[tokio::test]
async fn reaction_mark_as_read_and_typing_indicator() {
    let (sim, client) = start(SimConfig::default()).await;
    client
        .send(
            &token(),
            PNID,
            &OutgoingMessage::reaction("16505551234", "wamid.IN9", "\u{1F44D}"),
        )
        .await
        .unwrap();
    assert_eq!(
        last_json(&sim)["reaction"],
        json!({"message_id": "wamid.IN9", "emoji": "\u{1F44D}"})
    );

    client
        .mark_as_read(&token(), PNID, "MESSAGE_ID")
        .await
        .unwrap();
    assert_eq!(last_json(&sim), fixture("mark_as_read_request.json"));
    client
        .typing_indicator(
            &token(),
            PNID,
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
        )
        .await
        .unwrap();
    assert_eq!(last_json(&sim), fixture("typing_indicator_request.json"));
    // Mark-as-read is not a message.
    assert_eq!(sim.accepted_messages().len(), 1);
}

#[tokio::test]
async fn message_templates_are_paged() {
    let (_sim, client) = start(SimConfig::default()).await;
    let first = client
        .list_templates(&token(), WABA, Some(2), None)
        .await
        .unwrap();
    assert_eq!(first.data.len(), 2);
    assert_eq!(first.data[0].name, "hello_world");
    let after = first.next_after.clone().unwrap();
    let second = client
        .list_templates(&token(), WABA, Some(2), Some(&after))
        .await
        .unwrap();
    assert_eq!(second.data.len(), 1);
    assert_eq!(second.data[0].name, "reservation_confirmation");
    assert_eq!(second.data[0].parameter_format.as_deref(), Some("NAMED"));
    assert_eq!(second.next_after, None);
    let all = client.list_all_templates(&token(), WABA, 10).await.unwrap();
    let names: Vec<_> = all.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "hello_world",
            "2023_april_promo",
            "reservation_confirmation"
        ]
    );
    assert!(all.iter().all(|t| t.status == "APPROVED"));
}

#[tokio::test]
async fn onboarding_add_request_verify_register_and_profile() {
    let (sim, client) = start(SimConfig::default()).await;
    sim.set_otp("654321");
    let id = client
        .add_phone_number(&token(), WABA, "1", "6315550100", "Support")
        .await
        .unwrap();
    let info = client.phone_number(&token(), &id, &[]).await.unwrap();
    assert_eq!(
        info.code_verification_status.as_deref(),
        Some("NOT_VERIFIED")
    );
    assert_eq!(info.display_phone_number.as_deref(), Some("16315550100"));

    // An unregistered number cannot send yet.
    let err = client
        .send_text(&token(), &id, "16505551234", "hi")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(133010));

    client
        .request_code(&token(), &id, CodeMethod::Sms, "en_US")
        .await
        .unwrap();
    assert_eq!(
        last_json(&sim),
        json!({"code_method": "SMS", "language": "en_US"})
    );
    let err = client
        .verify_code(&token(), &id, "000000")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(136025));
    assert_eq!(err.retry(), RetryAdvice::Never);
    client.verify_code(&token(), &id, "654321").await.unwrap();
    let err = client.register(&token(), &id, "12").await.unwrap_err();
    assert_eq!(err.code(), Some(100));
    client.register(&token(), &id, "212834").await.unwrap();
    assert_eq!(
        last_json(&sim),
        json!({"messaging_product": "whatsapp", "pin": "212834"})
    );
    let info = client
        .phone_number(
            &token(),
            &id,
            &["status", "code_verification_status", "platform_type"],
        )
        .await
        .unwrap();
    assert_eq!(info.status.as_deref(), Some("CONNECTED"));
    assert_eq!(info.code_verification_status.as_deref(), Some("VERIFIED"));
    assert_eq!(info.platform_type.as_deref(), Some("CLOUD_API"));
    assert!(
        info.display_phone_number.is_none(),
        "only the fields asked for"
    );
    client
        .send_text(&token(), &id, "16505551234", "hi")
        .await
        .unwrap();
    let listed = client.list_phone_numbers(&token(), WABA).await.unwrap();
    assert!(listed.iter().any(|n| n.id == id));

    // Business profile: the documented GET shape parses; updates round-trip; limits are checked before sending.
    let documented: Value = fixture("business_profile_get_response.json");
    let parsed: wa_client::graph::BusinessProfile =
        serde_json::from_value(documented["data"][0].clone()).unwrap();
    assert_eq!(parsed.vertical.as_deref(), Some("RETAIL"));
    let update = BusinessProfileUpdate {
        about: Some("Succulent specialists!".into()),
        email: Some("lucky@luckyshrub.com".into()),
        websites: Some(vec!["https://www.luckyshrub.com/".into()]),
        vertical: Some("RETAIL".into()),
        ..Default::default()
    };
    client
        .update_business_profile(&token(), &id, &update)
        .await
        .unwrap();
    assert_eq!(last_json(&sim)["messaging_product"], "whatsapp");
    let profile = client.business_profile(&token(), &id).await.unwrap();
    assert_eq!(profile.about.as_deref(), Some("Succulent specialists!"));
    assert_eq!(
        profile.websites,
        Some(vec!["https://www.luckyshrub.com/".to_owned()])
    );
    assert_eq!(profile.vertical.as_deref(), Some("RETAIL"));
    let before = sim.requests().len();
    let too_long = BusinessProfileUpdate {
        about: Some("x".repeat(140)),
        ..Default::default()
    };
    let err = client
        .update_business_profile(&token(), &id, &too_long)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GraphClientError::InvalidRequest(m) if m.starts_with("about")),
        "{err:?}"
    );
    assert!(err.is_not_sent());
    assert_eq!(sim.requests().len(), before, "nothing sent");
}

#[tokio::test]
async fn each_error_code_is_classified_by_code() {
    let (sim, client) = start(SimConfig::default()).await;
    let retryable = [
        (130429, 400),
        (131056, 400),
        (131016, 503),
        (2, 503),
        (4, 400),
        (80007, 400),
        (131057, 400),
    ];
    let permanent = [
        (131047, 400),
        (131026, 400),
        (132000, 400),
        (132001, 404),
        (132015, 400),
        (190, 401),
        (100, 400),
        (10, 403),
        (131051, 400),
    ];
    for (code, http_status) in retryable.iter().chain(permanent.iter()) {
        sim.add_failure(FailureRule::times(
            Failure::Graph {
                http_status: *http_status,
                code: *code,
                message: format!("(#{code}) sim"),
                details: "d".into(),
            },
            1,
        ));
        let err = client
            .send_text(&token(), PNID, "16505551234", "x")
            .await
            .unwrap_err();
        let graph = err.graph_error().unwrap();
        assert_eq!(graph.code, *code);
        assert_eq!(graph.http_status, *http_status);
        assert_eq!(graph.details.as_deref(), Some("d"));
        assert!(graph.fbtrace_id.is_some());
        let expected_retry = retryable.iter().any(|(c, _)| c == code);
        assert_eq!(err.retry().is_retryable(), expected_retry, "code {code}");
        assert_eq!(
            err.retry().delay(0).is_some(),
            expected_retry,
            "code {code}"
        );
        assert!(!err.is_not_sent() && !err.is_outcome_unknown());
    }
    // The same code with a different HTTP status gets the same advice: the status alone never decides.
    for status in [400, 429, 500] {
        sim.add_failure(FailureRule::times(
            Failure::Graph {
                http_status: status,
                code: 131047,
                message: "m".into(),
                details: "d".into(),
            },
            1,
        ));
        let err = client
            .send_text(&token(), PNID, "16505551234", "x")
            .await
            .unwrap_err();
        assert_eq!(err.retry(), RetryAdvice::Never, "131047 with HTTP {status}");
    }
    // The named failures.
    for (failure, code) in [
        (Failure::RateLimit, 130429),
        (Failure::PairRate, 131056),
        (Failure::ReEngagement, 131047),
        (Failure::Undeliverable, 131026),
    ] {
        sim.add_failure(FailureRule::times(failure, 1));
        let err = client
            .send_text(&token(), PNID, "16505551234", "x")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(code));
    }
    // Pair rate: 4^n seconds.
    sim.add_failure(FailureRule::times(Failure::PairRate, 1));
    let advice = client
        .send_text(&token(), PNID, "16505551234", "x")
        .await
        .unwrap_err()
        .retry();
    assert_eq!(advice.delay(0), Some(Duration::from_secs(1)));
    assert_eq!(advice.delay(2), Some(Duration::from_secs(16)));
    // A 5xx without a Graph error object backs off.
    sim.add_failure(FailureRule::times(Failure::ServerError, 1));
    let err = client
        .send_text(&token(), PNID, "16505551234", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphClientError::Http { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.retry().is_retryable());
    // A wrong token: 190 with HTTP 401, never retried.
    let err = client
        .send_text(&AccessToken::new("nope"), PNID, "16505551234", "x")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(190));
    assert_eq!(err.graph_error().unwrap().http_status, 401);
    assert_eq!(
        err.graph_error().unwrap().error_type.as_deref(),
        Some("OAuthException")
    );
    assert_eq!(err.retry(), RetryAdvice::Never);
    // None of the failures reached a phone; the next send does.
    assert_eq!(sim.accepted_messages().len(), 0);
    client
        .send_text(&token(), PNID, "16505551234", "x")
        .await
        .unwrap();
    assert_eq!(sim.accepted_messages().len(), 1);
}

#[test]
fn metas_documented_130429_error_parses_and_backs_off() {
    let body = std::fs::read(format!(
        "{}/tests/graph-fixtures/error_response_130429.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for status in [400, 429] {
        let error = GraphError::from_body(status, &body).unwrap();
        assert_eq!(error.code, 130429);
        assert_eq!(error.subcode, Some(2494055));
        assert_eq!(error.error_type.as_deref(), Some("OAuthException"));
        assert_eq!(error.message, "(#130429) Rate limit hit");
        assert_eq!(
            error.details.as_deref(),
            Some(
                "Message failed to send because there were too many messages sent from this phone number in a short period of time"
            )
        );
        assert_eq!(error.fbtrace_id.as_deref(), Some("Az8or2yhqkZfEZ-_4Qn_Bam"));
        assert!(error.retry().is_retryable());
        assert_eq!(error.retry().delay(0), Some(Duration::from_secs(1)));
    }
}

#[test]
fn documented_media_metadata_parses() {
    let meta: wa_client::graph::MediaMetadata =
        serde_json::from_value(fixture("media_get_url_response.json")).unwrap();
    assert_eq!(meta.file_size, 303_833);
    assert_eq!(meta.mime_type, "image/jpeg");
}

#[tokio::test]
async fn timeout_after_acceptance_is_outcome_unknown() {
    let config = SimConfig {
        hang: Duration::from_secs(10),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let graph = GraphConfig {
        timeout: Duration::from_millis(300),
        ..GraphConfig::new(sim.base_url(), "v23.0")
    };
    let client = GraphClient::new(graph, reqwest::Client::new());
    sim.add_failure(FailureRule::times(Failure::AcceptThenHang, 1).for_callback_data("reply-1"));
    let message = OutgoingMessage::text("16505551234", "once").callback_data("reply-1");
    let err = client.send(&token(), PNID, &message).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!err.is_not_sent());
    assert_eq!(err.retry(), RetryAdvice::Reconcile);
    // The simulator did accept it: the customer has it.
    let accepted = sim.accepted_messages();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].biz_opaque_callback_data.as_deref(),
        Some("reply-1")
    );
}

#[tokio::test]
async fn refused_connection_is_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = GraphClient::new(
        GraphConfig::new(format!("http://{addr}"), "v23.0"),
        reqwest::Client::new(),
    );
    let err = client
        .send_text(&token(), PNID, "16505551234", "x")
        .await
        .unwrap_err();
    assert!(err.is_not_sent(), "{err:?}");
    assert!(!err.is_outcome_unknown());
    assert!(err.retry().is_retryable());
}

#[tokio::test]
async fn path_segments_are_checked_before_sending() {
    let client = GraphClient::new(
        GraphConfig::new("http://127.0.0.1:9", "v23.0"),
        reqwest::Client::new(),
    );
    let err = client
        .media_metadata(&token(), "../me", None)
        .await
        .unwrap_err();
    assert!(matches!(err, GraphClientError::InvalidRequest(_)));
    assert!(err.is_not_sent());
}

#[tokio::test]
async fn inbound_media_from_a_customer_downloads_byte_identical() {
    let (sim, client) = start(SimConfig::default()).await;
    let bytes = bytes::Bytes::from_static(b"%PDF-1.7 customer invoice");
    let sent = sim
        .customer_message(wa_sim::CustomerMessage {
            content: wa_sim::CustomerContent::Media {
                kind: MediaKind::Document,
                bytes: bytes.clone(),
                mime_type: "application/pdf".into(),
                caption: None,
                filename: Some("invoice.pdf".into()),
            },
            ..wa_sim::CustomerMessage::text(PNID, "16505551234", "")
        })
        .await
        .unwrap();
    // The webhook body parses, and names the media the client can fetch.
    let notification =
        wa_client::parse_notification(&serde_json::to_vec(&sent.body).unwrap()).unwrap();
    let (_, value) = notification.messages_values().next().unwrap();
    let wa_client::webhook::MessageContent::Document(media) = &value.messages[0].content else {
        panic!("not a document")
    };
    let meta = client
        .media_metadata(&token(), media.id.as_deref().unwrap(), Some(PNID))
        .await
        .unwrap();
    assert_eq!(Some(meta.sha256.as_str()), media.sha256.as_deref());
    let downloaded = client.download_media(&token(), &meta.url).await.unwrap();
    assert_eq!(downloaded.bytes, bytes);
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&downloaded.bytes)),
        meta.sha256
    );
}
