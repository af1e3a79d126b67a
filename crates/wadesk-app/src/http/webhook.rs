//! `GET|POST /webhooks/whatsapp` (CONTRACT section 2).

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use store::NewDelivery;
use wa_client::{handshake, signature};

use super::AppState;
use crate::ingest::IngestError;

/// The subscription handshake: echo `hub.challenge` when `hub.verify_token` matches.
pub(super) async fn handshake(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match handshake::verify_subscription(
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token").map(String::as_str),
        q.get("hub.challenge").map(String::as_str),
        app.config.verify_token.as_deref(),
    ) {
        Ok(challenge) => (StatusCode::OK, challenge).into_response(),
        Err(e) => {
            tracing::info!(error.message = %e, "webhook handshake refused");
            (StatusCode::FORBIDDEN, "verification failed").into_response()
        }
    }
}

/// A delivery: verify the signature over the raw bytes, store them durably, then answer 200.
pub(super) async fn receive(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if header.is_none() {
        return refuse("missing_signature");
    }
    if !signed_by_a_known_secret(&app, &body, header).await {
        return refuse("bad_signature");
    }
    let delivery = NewDelivery {
        received_at: app.clock.now(),
        body,
    };
    match app.ingestor.store(delivery).await {
        Ok(id) => {
            metrics::counter!("wadesk_webhook_deliveries_received_total").increment(1);
            tracing::trace!(delivery = %id, "delivery stored");
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Err(e @ IngestError::Store(_)) | Err(e @ IngestError::Closed) => {
            metrics::counter!("wadesk_webhook_deliveries_refused_total", "reason" => "storage")
                .increment(1);
            // Not a 200: Meta keeps the delivery and retries it.
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
    }
}

fn refuse(reason: &'static str) -> Response {
    metrics::counter!("wadesk_webhook_deliveries_refused_total", "reason" => reason).increment(1);
    (StatusCode::UNAUTHORIZED, "invalid signature").into_response()
}

/// The server's app secret signs most deliveries. A number connected with its own app secret
/// (another Meta app) signs its own: for those, the body's `phone_number_id`s pick the secrets to
/// try. The body is untrusted here, so at most a few candidates are tried.
async fn signed_by_a_known_secret(app: &AppState, body: &[u8], header: Option<&str>) -> bool {
    if let Some(secret) = app.config.app_secret.as_deref()
        && signature::verify_signature(secret.as_bytes(), body, header).is_ok()
    {
        return true;
    }
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        entry: Vec<EnvEntry>,
    }
    #[derive(Deserialize)]
    struct EnvEntry {
        #[serde(default)]
        changes: Vec<EnvChange>,
    }
    #[derive(Deserialize)]
    struct EnvChange {
        value: Option<EnvValue>,
    }
    #[derive(Deserialize)]
    struct EnvValue {
        metadata: Option<EnvMeta>,
    }
    #[derive(Deserialize)]
    struct EnvMeta {
        phone_number_id: Option<String>,
    }
    let Ok(env) = serde_json::from_slice::<Envelope>(body) else {
        return false;
    };
    let mut candidates: Vec<String> = env
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .filter_map(|c| c.value?.metadata?.phone_number_id)
        .collect();
    candidates.sort();
    candidates.dedup();
    for pnid in candidates.into_iter().take(4) {
        if let Ok(Some(number)) = app.store.find_number_by_phone_number_id(&pnid).await
            && let Some(secret) = &number.app_secret
            && signature::verify_signature(secret.expose().as_bytes(), body, header).is_ok()
        {
            return true;
        }
    }
    false
}
