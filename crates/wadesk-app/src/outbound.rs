//! Outgoing WhatsApp messages: what an outbox row carries ([`OutboundPayload`]), the customer
//! service window, and the send job that drains the outbox through the Graph API.
//!
//! A reply is stored first (entry and outbox row in one transaction, `http::replies`), then this
//! job claims it under the database's rate buckets, calls [`GraphClient::send`] with
//! `biz_opaque_callback_data` naming the outbox row, and records the outcome. Retryable errors
//! (decided by Meta's code, `wa_client::graph::RetryAdvice`) back off exponentially with jitter;
//! permanent ones fail the entry with Meta's code and title; a request whose outcome is unknown
//! is never resent: a status webhook carrying the callback data resolves it (`tickets` job), or
//! the reconciliation timeout fails it visibly. `docs/design/20261129_outbound_sends.md` has the
//! reasoning.

use std::{collections::HashMap, sync::Arc, time::Duration as StdDuration};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{OutboxId, OutboxRow, SendLimits, SendOutcome, Store, StoreError, WaNumber};
use ticketing_core::NumberId;
use time::{Duration, OffsetDateTime};
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;
use wa_client::graph::{
    AccessToken, GraphClient, GraphClientError, GraphConfig, MediaKind, MediaSource,
    OutgoingMessage, ParameterValue, RetryAdvice, Template, TemplateComponent, TemplateParameter,
};

use crate::{
    blob::{BlobKey, BlobStore, FsBlobStore},
    clock::Clock,
    config::Config,
};

/// The customer service window: free-form messages may be sent for this long after the
/// customer's last message (by its WhatsApp timestamp).
pub const CUSTOMER_SERVICE_WINDOW: Duration = Duration::hours(24);

/// The prefix of the `biz_opaque_callback_data` wadesk sends: `wadesk:outbox:<id>`.
pub const CALLBACK_PREFIX: &str = "wadesk:outbox:";

/// The callback data naming an outbox row.
pub fn callback_data(id: OutboxId) -> String {
    format!("{CALLBACK_PREFIX}{}", id.0)
}

/// The outbox row a status's `biz_opaque_callback_data` names, if it is wadesk's.
pub fn parse_callback_data(data: &str) -> Option<OutboxId> {
    data.strip_prefix(CALLBACK_PREFIX)?
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(OutboxId)
}

/// When the window opened by a customer message at `last_inbound` closes.
pub fn window_expires_at(last_inbound: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    last_inbound.map(|t| t + CUSTOMER_SERVICE_WINDOW)
}

/// Whether a free-form message may be sent at `now`.
pub fn window_open(last_inbound: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    window_expires_at(last_inbound).is_some_and(|end| now < end)
}

/// What an outbox row sends (its stored JSON). Media by id is here so attachments can be queued
/// the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundPayload {
    /// A text message.
    Text {
        /// The text.
        body: String,
        /// Render a link preview.
        #[serde(default)]
        preview_url: bool,
        /// The wamid quoted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
    },
    /// An approved template, its components in Meta's send shape.
    Template {
        /// Template name.
        name: String,
        /// Language code.
        language: String,
        /// `components` as Meta's send API takes them (`type`, `sub_type`, `index`, `parameters`).
        #[serde(default)]
        components: Vec<Value>,
    },
    /// Media uploaded to Meta (by id).
    Media {
        /// `image`, `video`, `audio`, `document` or `sticker`.
        kind: String,
        /// Meta's media id.
        media_id: String,
        /// Caption.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
        /// File name (documents).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        /// The wamid quoted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
    },
    /// An agent's attachment kept in the blob store: the send job uploads it to Meta
    /// (`POST /{phone-number-id}/media`) and sends it by the returned id, as [`Self::Media`].
    Attachment {
        /// `image`, `video`, `audio`, `document` or `sticker`.
        kind: String,
        /// The blob's key (its content address).
        blob_key: String,
        /// The MIME type uploaded.
        mime_type: String,
        /// File name (documents show it; the upload carries it).
        filename: String,
        /// Caption (image, video, document).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
        /// The wamid quoted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
    },
}

impl OutboundPayload {
    /// The Graph API message to `to`.
    pub fn to_message(&self, to: &str) -> Result<OutgoingMessage, String> {
        Ok(match self {
            OutboundPayload::Text {
                body,
                preview_url,
                reply_to,
            } => {
                let mut m = OutgoingMessage::text(to, body.clone()).preview_url(*preview_url);
                if let Some(r) = reply_to {
                    m = m.reply_to(r.clone());
                }
                m
            }
            OutboundPayload::Template {
                name,
                language,
                components,
            } => {
                let mut t = Template::new(name.clone(), language.clone());
                for c in components {
                    t = t.component(component_from_json(c)?);
                }
                OutgoingMessage::template(to, t)
            }
            OutboundPayload::Media {
                kind,
                media_id,
                caption,
                filename,
                reply_to,
            } => {
                let k =
                    MediaKind::parse(kind).ok_or_else(|| format!("unknown media kind {kind:?}"))?;
                let mut m = OutgoingMessage::media(to, k, MediaSource::Id(media_id.clone()));
                if let Some(c) = caption {
                    m = m.caption(c.clone());
                }
                if let Some(f) = filename {
                    m = m.filename(f.clone());
                }
                if let Some(r) = reply_to {
                    m = m.reply_to(r.clone());
                }
                m
            }
            OutboundPayload::Attachment { .. } => {
                return Err("an attachment must be uploaded before it is sent".into());
            }
        })
    }

    /// The payload sending the uploaded `media_id` of an attachment (itself for other payloads).
    pub fn uploaded(&self, media_id: &str) -> OutboundPayload {
        match self {
            OutboundPayload::Attachment {
                kind,
                filename,
                caption,
                reply_to,
                ..
            } => OutboundPayload::Media {
                kind: kind.clone(),
                media_id: media_id.to_owned(),
                caption: caption.clone(),
                reply_to: reply_to.clone(),
                // Only documents carry a file name in WhatsApp's message.
                filename: (kind == "document").then(|| filename.clone()),
            },
            other => other.clone(),
        }
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{key}` must be a string"))
}

/// A template component in Meta's send shape as a `wa_client` component.
pub fn component_from_json(v: &Value) -> Result<TemplateComponent, String> {
    let kind = str_field(v, "type")?.to_ascii_lowercase();
    let parameters = v
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(parameter_from_json)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    match kind.as_str() {
        "header" => Ok(TemplateComponent::Header(parameters)),
        "body" => Ok(TemplateComponent::Body(parameters)),
        "button" => {
            let index = match v.get("index") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.parse::<u64>().ok(),
                _ => None,
            }
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("a button component needs a numeric `index`")?;
            Ok(TemplateComponent::Button {
                sub_type: v
                    .get("sub_type")
                    .and_then(Value::as_str)
                    .unwrap_or("quick_reply")
                    .to_ascii_lowercase(),
                index,
                parameters,
            })
        }
        other => Err(format!("unknown component type {other:?}")),
    }
}

/// A template parameter in Meta's send shape as a `wa_client` parameter.
pub fn parameter_from_json(p: &Value) -> Result<TemplateParameter, String> {
    let kind = str_field(p, "type")?.to_ascii_lowercase();
    let value = match kind.as_str() {
        "text" => ParameterValue::Text(str_field(p, "text")?.to_owned()),
        "payload" => ParameterValue::Payload(str_field(p, "payload")?.to_owned()),
        "coupon_code" => ParameterValue::CouponCode(str_field(p, "coupon_code")?.to_owned()),
        "currency" => {
            let c = &p["currency"];
            ParameterValue::Currency {
                fallback_value: str_field(c, "fallback_value")?.to_owned(),
                code: str_field(c, "code")?.to_owned(),
                amount_1000: c
                    .get("amount_1000")
                    .and_then(Value::as_i64)
                    .ok_or("`currency.amount_1000` must be an integer")?,
            }
        }
        "date_time" => ParameterValue::DateTime {
            fallback_value: str_field(&p["date_time"], "fallback_value")?.to_owned(),
        },
        "image" | "video" | "document" => {
            let k = MediaKind::parse(&kind).ok_or("bad media kind")?;
            let o = &p[kind.as_str()];
            let source = if let Some(id) = o.get("id").and_then(Value::as_str) {
                MediaSource::Id(id.to_owned())
            } else if let Some(link) = o.get("link").and_then(Value::as_str) {
                MediaSource::Link(link.to_owned())
            } else {
                return Err(format!(
                    "a {kind} parameter needs `{kind}.id` or `{kind}.link`"
                ));
            };
            ParameterValue::Media { kind: k, source }
        }
        other => return Err(format!("unknown parameter type {other:?}")),
    };
    Ok(TemplateParameter {
        name: p
            .get("parameter_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        value,
    })
}

/// A Graph API client for the configured host, version and timeout.
pub fn graph_client(config: &Config) -> GraphClient {
    let mut gc = GraphConfig::new(
        config.graph_base_url.clone(),
        config.graph_api_version.clone(),
    );
    gc.timeout = config.graph_timeout;
    let http = reqwest::Client::builder()
        .build()
        .unwrap_or_else(|_| reqwest::Client::new());
    GraphClient::new(gc, http)
}

/// How the send job works.
#[derive(Debug, Clone)]
pub struct SendSettings {
    /// This worker's name (leases).
    pub worker: String,
    /// The rate buckets.
    pub limits: SendLimits,
    /// How long a claimed send may stay `sending` before its outcome counts as unknown.
    pub lease: Duration,
    /// How long an unknown outcome waits for a status webhook.
    pub reconcile_timeout: Duration,
    /// Attempts before retryable errors fail a send.
    pub max_attempts: u32,
    /// How often to look for due sends when idle.
    pub poll: StdDuration,
    /// Sends in flight at once per pass.
    pub concurrency: usize,
    /// Where agents' attachments are kept (read to upload them to Meta).
    pub blobs: Arc<dyn BlobStore>,
}

impl SendSettings {
    /// Settings from the configuration, for a worker named after `role`.
    pub fn from_config(config: &Config, role: &str) -> Self {
        let rate = config.send_rate_per_number;
        let timeout = Duration::try_from(config.graph_timeout).unwrap_or(Duration::seconds(30));
        Self {
            worker: format!(
                "{role}-sends-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
            limits: SendLimits {
                per_number_per_second: rate,
                per_number_burst: rate.max(1.0),
                ..SendLimits::default()
            },
            lease: timeout * 2 + Duration::seconds(30),
            reconcile_timeout: Duration::try_from(config.send_reconcile_timeout)
                .unwrap_or(Duration::minutes(10)),
            max_attempts: config.send_max_attempts,
            poll: StdDuration::from_millis(100),
            concurrency: 32,
            blobs: Arc::new(FsBlobStore::new(config.data_dir.join("blobs"))),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendPassReport {
    /// Sends claimed (and attempted).
    pub attempted: u64,
    /// Accepted by Meta.
    pub accepted: u64,
}

/// Runs the send job until `shutdown` is cancelled. `wake` is notified when a reply is queued.
pub async fn run_sends(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    graph: GraphClient,
    settings: SendSettings,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    tracing::info!(worker = %settings.worker, "send loop started");
    let mut failures = 0u32;
    let mut last_maintenance: Option<OffsetDateTime> = None;
    while !shutdown.is_cancelled() {
        let now = clock.now();
        if last_maintenance.is_none_or(|t| now - t >= Duration::seconds(1) || now < t) {
            last_maintenance = Some(now);
            if let Err(e) = maintain(store.as_ref(), now, &settings).await {
                tracing::warn!(error.message = %e, "outbox maintenance failed");
            }
        }
        let wait = match send_pass(&store, clock.as_ref(), &graph, &settings).await {
            Ok(r) if r.attempted > 0 => {
                failures = 0;
                continue;
            }
            Ok(_) => {
                failures = 0;
                settings.poll
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error.message = %e, "send pass failed");
                StdDuration::from_millis(200 * u64::from(failures.min(25)))
            }
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("send loop stopped");
}

/// Expired leases become unknown; unknown outcomes past the timeout fail.
pub async fn maintain(
    store: &dyn Store,
    now: OffsetDateTime,
    settings: &SendSettings,
) -> Result<(), StoreError> {
    let expired = store.expire_sends(now).await?;
    if expired > 0 {
        tracing::warn!(
            expired,
            "sends whose lease expired mid-send are now awaiting reconciliation"
        );
        metrics::counter!("wadesk_sends_total", "outcome" => "lease_expired").increment(expired);
    }
    for row in store
        .reconcile_sends(now, settings.reconcile_timeout)
        .await?
    {
        tracing::warn!(outbox = %row.id, entry = row.entry_id.0, "send outcome stayed unknown: marked failed, not resent");
        metrics::counter!("wadesk_sends_total", "outcome" => "unknown_failed").increment(1);
    }
    Ok(())
}

/// Claims and sends what is due on every number, once.
pub async fn send_pass(
    store: &Arc<dyn Store>,
    clock: &dyn Clock,
    graph: &GraphClient,
    settings: &SendSettings,
) -> Result<SendPassReport, StoreError> {
    let now = clock.now();
    let numbers = store.due_send_numbers(now, 100).await?;
    let mut report = SendPassReport::default();
    if numbers.is_empty() {
        return Ok(report);
    }
    let mut known: HashMap<NumberId, WaNumber> = HashMap::new();
    let per_claim = (settings.limits.per_number_burst.ceil() as u32).clamp(1, 200);
    let mut set = JoinSet::new();
    for number in numbers {
        let rows = store
            .claim_sends(
                &settings.worker,
                number,
                now,
                settings.lease,
                per_claim,
                &settings.limits,
            )
            .await?;
        if rows.is_empty() {
            continue;
        }
        if !known.contains_key(&number) {
            for n in store.all_numbers().await? {
                known.insert(n.id, n);
            }
        }
        let wa = known.get(&number).cloned();
        for row in rows {
            report.attempted += 1;
            while set.len() >= settings.concurrency.max(1) {
                if let Some(Ok(true)) = set.join_next().await {
                    report.accepted += 1;
                }
            }
            let (store, graph, settings, wa) =
                (store.clone(), graph.clone(), settings.clone(), wa.clone());
            let now = clock.now();
            let clock_now = now;
            set.spawn(async move {
                send_one(
                    store.as_ref(),
                    &graph,
                    &settings,
                    wa.as_ref(),
                    &row,
                    clock_now,
                )
                .await
            });
        }
    }
    while let Some(r) = set.join_next().await {
        if let Ok(true) = r {
            report.accepted += 1;
        }
    }
    Ok(report)
}

/// Sends one claimed row and records the outcome; `true` when Meta accepted it.
async fn send_one(
    store: &dyn Store,
    graph: &GraphClient,
    settings: &SendSettings,
    number: Option<&WaNumber>,
    row: &OutboxRow,
    started: OffsetDateTime,
) -> bool {
    let outcome = attempt(graph, settings, number, row, started).await;
    let accepted = matches!(outcome, SendOutcome::Accepted { .. });
    let label = match &outcome {
        SendOutcome::Accepted { .. } => "accepted",
        SendOutcome::Retry { .. } => "retry",
        SendOutcome::Failed { .. } => "failed",
        SendOutcome::Unknown { .. } => "unknown",
    };
    metrics::counter!("wadesk_sends_total", "outcome" => label).increment(1);
    match &outcome {
        SendOutcome::Accepted { wamid } => {
            tracing::debug!(outbox = %row.id, wamid, "send accepted")
        }
        SendOutcome::Retry { at, error, .. } => {
            tracing::info!(outbox = %row.id, attempts = row.attempts, retry_at = %at, error.message = %error, "send will be retried")
        }
        SendOutcome::Failed { error, .. } => {
            tracing::warn!(outbox = %row.id, error.message = %error, "send failed")
        }
        SendOutcome::Unknown { error } => {
            tracing::warn!(outbox = %row.id, error.message = %error, "send outcome unknown: awaiting a status webhook, not resending")
        }
    }
    match store
        .finish_send(row.id, &settings.worker, &outcome, started)
        .await
    {
        Ok(()) => {}
        Err(StoreError::LeaseLost) => {
            tracing::info!(outbox = %row.id, "send was resolved elsewhere (status webhook) before its answer was recorded");
        }
        Err(e) => {
            // The lease expires and the send becomes unknown: never resent blindly.
            tracing::error!(outbox = %row.id, error.message = %e, "could not record a send's outcome");
        }
    }
    accepted
}

async fn attempt(
    graph: &GraphClient,
    settings: &SendSettings,
    number: Option<&WaNumber>,
    row: &OutboxRow,
    now: OffsetDateTime,
) -> SendOutcome {
    let Some(number) = number else {
        return SendOutcome::Failed {
            code: None,
            title: "The WhatsApp number is no longer connected".into(),
            error: format!("number {} not found", row.number_id.0),
        };
    };
    let payload = match serde_json::from_value::<OutboundPayload>(row.payload.clone()) {
        Ok(p) => p,
        Err(e) => {
            return SendOutcome::Failed {
                code: None,
                title: "Invalid message".into(),
                error: e.to_string(),
            };
        }
    };
    let token = AccessToken::new(number.access_token.expose());
    let payload = match upload(graph, settings, &token, number, &payload, row, now).await {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let message = match payload.to_message(&row.recipient) {
        Ok(m) => m.callback_data(callback_data(row.id)),
        Err(e) => {
            return SendOutcome::Failed {
                code: None,
                title: "Invalid message".into(),
                error: e,
            };
        }
    };
    match graph.send(&token, &number.phone_number_id, &message).await {
        Ok(resp) => match resp.message_id() {
            Some(wamid) => SendOutcome::Accepted {
                wamid: wamid.to_owned(),
            },
            None => SendOutcome::Unknown {
                error: "Meta answered without a message id".into(),
            },
        },
        Err(e) => judge(&e, row, settings, now),
    }
}

/// Uploads an [`OutboundPayload::Attachment`]'s file to Meta and answers the payload sending
/// it by id (other payloads as they are).
///
/// The media id is not kept on the outbox row: every attempt uploads again. That is harmless:
/// an upload has no effect the customer sees (nothing reaches a phone until a message names
/// the id), Meta keeps an unused upload private to the number and deletes it after 30 days,
/// and the file's bytes are the same every time (content-addressed blob). So an upload whose
/// outcome is unknown (timeout) is simply retried, unlike a message send.
async fn upload(
    graph: &GraphClient,
    settings: &SendSettings,
    token: &AccessToken,
    number: &WaNumber,
    payload: &OutboundPayload,
    row: &OutboxRow,
    now: OffsetDateTime,
) -> Result<OutboundPayload, SendOutcome> {
    let OutboundPayload::Attachment {
        blob_key,
        mime_type,
        filename,
        ..
    } = payload
    else {
        return Ok(payload.clone());
    };
    let failed = |error: String| SendOutcome::Failed {
        code: None,
        title: "The attachment cannot be read".into(),
        error,
    };
    let key = BlobKey::parse(blob_key).map_err(|e| failed(e.to_string()))?;
    let bytes = match settings.blobs.get(&key).await {
        Ok(Some(b)) => b,
        Ok(None) => return Err(failed(format!("blob {key} is missing from the blob store"))),
        Err(e) => {
            // The store may come back: try again later, as for a transient Graph error.
            return Err(retry_later(row, settings, now, None, e.to_string()));
        }
    };
    match graph
        .upload_media(token, &number.phone_number_id, bytes, mime_type, filename)
        .await
    {
        Ok(media_id) => {
            metrics::counter!("wadesk_media_uploads_total", "outcome" => "done").increment(1);
            tracing::debug!(outbox = %row.id, media_id, "attachment uploaded");
            Ok(payload.uploaded(&media_id))
        }
        Err(e) => {
            metrics::counter!("wadesk_media_uploads_total", "outcome" => "error").increment(1);
            // An upload that may have reached Meta is safe to repeat (see above).
            if e.is_outcome_unknown() || matches!(e.retry(), RetryAdvice::Reconcile) {
                return Err(retry_later(row, settings, now, e.code(), e.to_string()));
            }
            Err(judge(&e, row, settings, now))
        }
    }
}

/// A retry with exponential back-off (1 s doubling, at most 5 minutes), or a failure once
/// the attempts are spent.
fn retry_later(
    row: &OutboxRow,
    settings: &SendSettings,
    now: OffsetDateTime,
    code: Option<i64>,
    error: String,
) -> SendOutcome {
    if row.attempts >= settings.max_attempts as i32 {
        return SendOutcome::Failed {
            code,
            title: "The attachment could not be uploaded to WhatsApp".into(),
            error: format!("gave up after {} attempts: {error}", row.attempts),
        };
    }
    let exp = u32::try_from(row.attempts.clamp(1, 9) - 1).unwrap_or(0);
    let delay = Duration::seconds((1i64 << exp).min(300));
    SendOutcome::Retry {
        at: now + delay,
        code,
        error,
        block_pair_until: None,
        block_number_until: None,
    }
}

/// The outcome of a failed call, by Meta's code (never the HTTP status alone).
pub fn judge(
    e: &GraphClientError,
    row: &OutboxRow,
    settings: &SendSettings,
    now: OffsetDateTime,
) -> SendOutcome {
    let code = e.code();
    let title = e
        .graph_error()
        .map(|g| g.title.clone().unwrap_or_else(|| g.message.clone()))
        .unwrap_or_else(|| e.to_string());
    match e.retry() {
        RetryAdvice::Never => SendOutcome::Failed {
            code,
            title,
            error: e.to_string(),
        },
        RetryAdvice::Reconcile => SendOutcome::Unknown {
            error: e.to_string(),
        },
        advice @ RetryAdvice::Retry(_) => {
            let attempt = u32::try_from(row.attempts.max(1) - 1).unwrap_or(0);
            let delay = if row.attempts >= settings.max_attempts as i32 {
                None
            } else {
                advice.delay(attempt)
            };
            let Some(delay) = delay else {
                return SendOutcome::Failed {
                    code,
                    title,
                    error: format!("gave up after {} attempts: {e}", row.attempts),
                };
            };
            let delay = Duration::try_from(delay).unwrap_or(Duration::minutes(1));
            // Up to a quarter more, so many sends held back together do not return together.
            let jitter = delay * (rand::random::<f64>() * 0.25);
            let at = now + delay + jitter;
            SendOutcome::Retry {
                at,
                code,
                error: e.to_string(),
                block_pair_until: (code == Some(131056)).then_some(at),
                block_number_until: (code == Some(130429)).then_some(at),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn callback_data_round_trips() {
        assert_eq!(
            parse_callback_data(&callback_data(OutboxId(42))),
            Some(OutboxId(42))
        );
        assert_eq!(parse_callback_data("wadesk:outbox:x"), None);
        assert_eq!(parse_callback_data("other"), None);
        assert_eq!(parse_callback_data("wadesk:outbox:0"), None);
    }

    #[test]
    fn window_is_24_hours_from_the_last_message() {
        let t = time::macros::datetime!(2026-11-29 12:00 UTC);
        assert!(window_open(Some(t), t + Duration::hours(23)));
        assert!(!window_open(Some(t), t + Duration::hours(24)));
        assert!(!window_open(None, t));
    }

    #[test]
    fn payloads_become_meta_messages() {
        let p = OutboundPayload::Text {
            body: "hi".into(),
            preview_url: false,
            reply_to: Some("wamid.Q".into()),
        };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            json!({"type": "text", "body": "hi", "preview_url": false, "reply_to": "wamid.Q"})
        );
        let m = serde_json::from_value::<OutboundPayload>(json)
            .unwrap()
            .to_message("16505551234")
            .unwrap()
            .to_json();
        assert_eq!(m["text"]["body"], "hi");
        assert_eq!(m["context"]["message_id"], "wamid.Q");

        let t = OutboundPayload::Template {
            name: "promo".into(),
            language: "en_US".into(),
            components: vec![
                json!({"type": "body", "parameters": [{"type": "text", "text": "Mark"}]}),
                json!({"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x/y.png"}}]}),
                json!({"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "abc"}]}),
            ],
        };
        let m = t.to_message("+16505551234").unwrap().to_json();
        assert_eq!(
            m["template"]["components"][0]["parameters"][0]["text"],
            "Mark"
        );
        assert_eq!(
            m["template"]["components"][1]["parameters"][0]["image"]["link"],
            "https://x/y.png"
        );
        assert_eq!(m["template"]["components"][2]["index"], "0");

        let media = OutboundPayload::Media {
            kind: "document".into(),
            media_id: "123".into(),
            caption: Some("c".into()),
            filename: Some("a.pdf".into()),
            reply_to: None,
        };
        let m = media.to_message("1").unwrap().to_json();
        assert_eq!(m["document"]["id"], "123");
        assert!(
            OutboundPayload::Template {
                name: "x".into(),
                language: "en".into(),
                components: vec![json!({"type": "footer"})],
            }
            .to_message("1")
            .is_err()
        );
    }
}
