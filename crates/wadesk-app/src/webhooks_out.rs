//! Outgoing webhooks: subscriptions to SLA notifications, the queue's producers, and the job that
//! sends queued deliveries (`docs/sla.md`, "Webhooks"; `docs/design/20261129_outgoing_webhooks.md`).
//!
//! A delivery is queued in the database first ([`store::WebhookStore`]), with an idempotency key
//! derived from what caused it, so the same event queues it once however often it is looked at;
//! a job ([`run_webhooks_out`]) leases due deliveries and sends them with `reqwest`. A 2xx answer
//! is success; a 4xx other than 408 and 429 is a permanent failure; anything else (5xx, 408, 429,
//! 3xx, timeouts, refused connections) is retried with exponential backoff until the delivery's
//! attempts are used up. Delivery is at least once: a worker that stops mid-send loses its lease
//! and another sends again, so receivers dedupe by `X-Wadesk-Delivery`.
//!
//! Subscription deliveries are signed: `X-Wadesk-Signature: sha256=<hex>` is HMAC-SHA256 of the
//! raw body keyed with the subscription's secret, computed when the delivery is queued (the
//! queue never holds the secret).

use std::{collections::BTreeMap, sync::Arc, time::Duration as StdDuration};

use rules_engine::{HttpMethod, WebhookContentType, WebhookSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{
    NewNotification, NewWebhookDelivery, Store, StoreError, StoreResult, TicketTx, WebhookDelivery,
    WebhookOutcome,
};
use ticketing_core::{AccountId, TicketId};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// The settings-document kind of webhook subscriptions.
pub const SUBSCRIPTION_KIND: &str = "webhook_subscription";

/// The events a subscription may ask for.
pub const EVENTS: &[&str] = &["sla.reminder", "sla.escalation"];

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Wadesk-Signature";
/// The header carrying the delivery id (the same on every attempt: receivers dedupe by it).
pub const DELIVERY_HEADER: &str = "X-Wadesk-Delivery";
/// The header naming the event.
pub const EVENT_HEADER: &str = "X-Wadesk-Event";

/// Attempts after which a delivery that keeps failing transiently is given up.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// A stored subscription (its secret included: this never leaves the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// `http://` or `https://` URL to POST to.
    pub url: String,
    /// Which events it receives.
    pub events: Vec<String>,
    /// The signing secret.
    pub secret: String,
    /// A note for admins.
    #[serde(default)]
    pub description: Option<String>,
    /// Inactive subscriptions receive nothing.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A request to queue, before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Unique per account: what makes queueing idempotent.
    pub idempotency_key: String,
    /// What caused it (`sla.escalation`, `automation`, …).
    pub event: String,
    /// The ticket it concerns.
    pub ticket_id: Option<TicketId>,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// `http://` or `https://` URL.
    pub url: String,
    /// Extra headers.
    pub headers: BTreeMap<String, String>,
    /// The body's media type.
    pub content_type: Option<String>,
    /// The body.
    pub body: String,
    /// When set, the body is signed with it (`X-Wadesk-Signature`).
    pub secret: Option<String>,
}

impl Outgoing {
    /// The delivery to store: signed when a secret is given, the event named in a header.
    pub fn into_delivery(self) -> NewWebhookDelivery {
        let mut headers = self.headers;
        headers.insert(EVENT_HEADER.into(), self.event.clone());
        if let Some(secret) = &self.secret {
            headers.insert(
                SIGNATURE_HEADER.into(),
                wa_client::sign(secret.as_bytes(), self.body.as_bytes()),
            );
        }
        NewWebhookDelivery {
            idempotency_key: self.idempotency_key,
            event: self.event,
            ticket_id: self.ticket_id,
            method: self.method,
            url: self.url,
            headers,
            content_type: self.content_type,
            body: self.body,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// Queues `outgoing` in a ticket transaction, so it commits with the ticket change (or not at
/// all). `false`: the account already has its idempotency key, nothing was queued.
pub async fn enqueue_in(
    tx: &mut dyn TicketTx,
    outgoing: Outgoing,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let new = tx.enqueue_webhook(&outgoing.into_delivery(), now).await?;
    if new {
        metrics::counter!("wadesk_webhooks_out_queued_total").increment(1);
    }
    Ok(new)
}

/// The request an automation rule's "trigger webhook" action makes: `content` is the body
/// template already rendered (placeholders replaced), encoded as `spec.content_type` says.
/// Rule webhooks are not signed. `idempotency_key` should name the rule and the event that ran
/// it (e.g. `rule:{rule_id}:event:{event_id}`), so a redelivered event queues it once.
pub fn from_spec(
    spec: &WebhookSpec,
    content: Option<&Value>,
    idempotency_key: String,
    ticket: Option<TicketId>,
) -> Outgoing {
    let method = match spec.method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Delete => "DELETE",
    };
    let (content_type, body) = match (content, spec.content_type) {
        (None, _) => (None, String::new()),
        (Some(v), WebhookContentType::Json) => (Some("application/json"), v.to_string()),
        (Some(v), WebhookContentType::Xml) => (
            Some("application/xml"),
            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
        ),
        (Some(v), WebhookContentType::FormUrlEncoded) => {
            (Some("application/x-www-form-urlencoded"), form_encode(v))
        }
    };
    Outgoing {
        idempotency_key,
        event: "automation".into(),
        ticket_id: ticket,
        method: method.into(),
        url: spec.url.clone(),
        headers: spec.custom_headers.clone(),
        content_type: content_type.map(str::to_owned),
        body,
        secret: None,
    }
}

/// `k=v&…` of a JSON object's members (strings as they are, other values as JSON text).
fn form_encode(v: &Value) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    match v {
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                format!("{}={}", enc(k), enc(&v))
            })
            .collect::<Vec<_>>()
            .join("&"),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The account's active subscriptions, with their settings ids.
pub async fn subscriptions(
    store: &dyn Store,
    account: AccountId,
) -> StoreResult<Vec<(i64, Subscription)>> {
    let docs = store.list_settings(account, SUBSCRIPTION_KIND).await?;
    Ok(docs
        .into_iter()
        .filter_map(
            |d| match serde_json::from_value::<Subscription>(d.body.clone()) {
                Ok(s) => Some((d.id, s)),
                Err(e) => {
                    tracing::error!(subscription = d.id, error.message = %e, "stored webhook subscription unreadable; skipped");
                    None
                }
            },
        )
        .filter(|(_, s)| s.active)
        .collect())
}

/// The event name of a notification kind (`sla_reminder` → `sla.reminder`).
pub fn event_name(kind: &str) -> String {
    kind.replacen('_', ".", 1)
}

/// The JSON a subscription receives for a notification: what `GET /api/v2/notifications` shows
/// of it, with the event's name.
pub fn notification_payload(account: AccountId, n: &NewNotification) -> Value {
    let mut v = json!({
        "event": event_name(&n.kind),
        "account_id": account,
        "type": n.kind,
        "ticket_id": n.ticket_id,
        "key": n.key,
        "fell_due_at": crate::sla::rfc3339(n.at),
    });
    if let (Some(o), Some(d)) = (v.as_object_mut(), n.data.as_object()) {
        for (k, val) in d {
            o.insert(k.clone(), val.clone());
        }
    }
    v
}

/// Queues one delivery per notification and matching subscription. The idempotency key is the
/// notification's event key and the subscription id, so each notification reaches each
/// subscription once, however often the timer job looks (also across restarts). Answers how
/// many were new.
pub async fn enqueue_notifications(
    store: &dyn Store,
    account: AccountId,
    notifications: &[NewNotification],
    now: OffsetDateTime,
) -> StoreResult<u64> {
    if notifications.is_empty() {
        return Ok(0);
    }
    let subs = subscriptions(store, account).await?;
    if subs.is_empty() {
        return Ok(0);
    }
    let mut deliveries = Vec::new();
    for n in notifications {
        let event = event_name(&n.kind);
        let body = notification_payload(account, n).to_string();
        for (id, sub) in subs.iter().filter(|(_, s)| s.events.contains(&event)) {
            deliveries.push(
                Outgoing {
                    idempotency_key: format!("{}:webhook:{id}", n.key),
                    event: event.clone(),
                    ticket_id: Some(n.ticket_id),
                    method: "POST".into(),
                    url: sub.url.clone(),
                    headers: BTreeMap::new(),
                    content_type: Some("application/json".into()),
                    body: body.clone(),
                    secret: Some(sub.secret.clone()),
                }
                .into_delivery(),
            );
        }
    }
    let new = store.enqueue_webhooks(account, &deliveries, now).await?;
    metrics::counter!("wadesk_webhooks_out_queued_total").increment(new);
    Ok(new)
}

/// How the sending job runs.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// This loop's name in leases.
    pub worker_id: String,
    /// How long a claimed delivery stays leased (longer than a request can take).
    pub lease: time::Duration,
    /// Deliveries claimed (and sent concurrently) at once.
    pub batch: u32,
    /// How often to look for work when idle.
    pub poll: StdDuration,
    /// The request timeout.
    pub timeout: StdDuration,
    /// The first retry's delay; each further one doubles, up to `max_backoff`.
    pub first_backoff: time::Duration,
    /// The longest delay between two attempts.
    pub max_backoff: time::Duration,
}

impl WebhookSettings {
    /// Defaults with a worker id unique to this process.
    pub fn new(role: &str) -> Self {
        Self {
            worker_id: format!(
                "{}-webhooks",
                crate::jobs::InboxSettings::new(role).worker_id
            ),
            lease: time::Duration::seconds(60),
            batch: 16,
            poll: StdDuration::from_millis(500),
            timeout: StdDuration::from_secs(10),
            first_backoff: time::Duration::seconds(10),
            max_backoff: time::Duration::hours(1),
        }
    }

    /// The HTTP client: the request timeout, no proxy from the environment.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    }

    /// The delay before the attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: u32) -> time::Duration {
        let exp = attempts.saturating_sub(1).min(20);
        let d = self.first_backoff * 2f64.powi(i32::try_from(exp).unwrap_or(20));
        d.min(self.max_backoff)
    }
}

/// What an attempt's answer means.
pub fn classify(status: u16) -> Classified {
    match status {
        200..=299 => Classified::Delivered,
        408 | 429 => Classified::Retry,
        400..=499 => Classified::Permanent,
        _ => Classified::Retry,
    }
}

/// How an HTTP status is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    /// Done.
    Delivered,
    /// Try again later.
    Retry,
    /// Never again.
    Permanent,
}

async fn send_one(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    d: &WebhookDelivery,
    now: OffsetDateTime,
) -> WebhookOutcome {
    let retry = |status: Option<u16>, error: String| WebhookOutcome::Retry {
        at: now + settings.backoff(d.attempts),
        status,
        error,
    };
    let method = match reqwest::Method::from_bytes(d.request.method.as_bytes()) {
        Ok(m) => m,
        Err(_) => {
            return WebhookOutcome::Failed {
                status: None,
                error: format!("invalid method {:?}", d.request.method),
            };
        }
    };
    let mut req = client
        .request(method, &d.request.url)
        .header(DELIVERY_HEADER, d.id.to_string())
        .header(reqwest::header::USER_AGENT, "wadesk-webhooks/1");
    if let Some(ct) = &d.request.content_type {
        req = req.header(reqwest::header::CONTENT_TYPE, ct);
    }
    for (k, v) in &d.request.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if !d.request.body.is_empty() {
        req = req.body(d.request.body.clone());
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match classify(status) {
                Classified::Delivered => WebhookOutcome::Delivered { status },
                Classified::Permanent => WebhookOutcome::Failed {
                    status: Some(status),
                    error: format!("HTTP {status}"),
                },
                Classified::Retry => retry(Some(status), format!("HTTP {status}")),
            }
        }
        Err(e) if e.is_builder() => WebhookOutcome::Failed {
            status: None,
            error: format!("invalid request: {e}"),
        },
        Err(e) => retry(None, e.to_string()),
    }
}

/// Claims the due deliveries once and sends them (concurrently); answers how many were claimed.
pub async fn webhooks_pass(
    store: &dyn Store,
    clock: &dyn Clock,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> Result<usize, StoreError> {
    let now = clock.now();
    let claimed = store
        .claim_webhooks(&settings.worker_id, now, settings.lease, settings.batch)
        .await?;
    let sends = claimed.iter().map(|d| async move {
        let outcome = send_one(client, settings, d, now).await;
        let label = match &outcome {
            WebhookOutcome::Delivered { .. } => "delivered",
            WebhookOutcome::Retry { .. } => "retry",
            WebhookOutcome::Failed { .. } => "failed",
        };
        metrics::counter!("wadesk_webhooks_out_attempts_total", "outcome" => label).increment(1);
        match store
            .finish_webhook(d.id, &settings.worker_id, &outcome, clock.now())
            .await
        {
            Ok(row) => {
                tracing::debug!(delivery = %d.id, state = row.state.as_str(), "webhook attempt recorded");
                Ok(())
            }
            Err(StoreError::LeaseLost) => {
                tracing::warn!(delivery = %d.id, "webhook lease lost before its outcome was recorded");
                Ok(())
            }
            Err(e) => Err(e),
        }
    });
    for r in futures::future::join_all(sends).await {
        r?;
    }
    Ok(claimed.len())
}

/// Runs the sending job until `shutdown` is cancelled.
pub async fn run_webhooks_out(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: WebhookSettings,
    shutdown: CancellationToken,
) {
    tracing::info!(worker = %settings.worker_id, "outgoing webhook loop started");
    let client = settings.client();
    while !shutdown.is_cancelled() {
        match webhooks_pass(store.as_ref(), clock.as_ref(), &client, &settings).await {
            Ok(n) if n >= settings.batch as usize => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error.message = %e, "outgoing webhook pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    tracing::info!("outgoing webhook loop stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_documented() {
        assert_eq!(classify(200), Classified::Delivered);
        assert_eq!(classify(204), Classified::Delivered);
        assert_eq!(classify(404), Classified::Permanent);
        assert_eq!(classify(400), Classified::Permanent);
        assert_eq!(classify(408), Classified::Retry);
        assert_eq!(classify(429), Classified::Retry);
        assert_eq!(classify(500), Classified::Retry);
        assert_eq!(classify(503), Classified::Retry);
        assert_eq!(classify(302), Classified::Retry);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = WebhookSettings::new("test");
        assert_eq!(s.backoff(1), time::Duration::seconds(10));
        assert_eq!(s.backoff(2), time::Duration::seconds(20));
        assert_eq!(s.backoff(3), time::Duration::seconds(40));
        assert_eq!(s.backoff(30), time::Duration::hours(1));
    }

    #[test]
    fn subscription_deliveries_are_signed_over_the_body() {
        let d = Outgoing {
            idempotency_key: "k".into(),
            event: "sla.escalation".into(),
            ticket_id: None,
            method: "POST".into(),
            url: "http://127.0.0.1/x".into(),
            headers: BTreeMap::new(),
            content_type: Some("application/json".into()),
            body: "{\"a\":1}".into(),
            secret: Some("s3cret".into()),
        }
        .into_delivery();
        assert_eq!(
            d.headers.get(SIGNATURE_HEADER),
            Some(&wa_client::sign(b"s3cret", b"{\"a\":1}"))
        );
        assert_eq!(
            d.headers.get(EVENT_HEADER).map(String::as_str),
            Some("sla.escalation")
        );
    }

    #[test]
    fn rule_webhooks_encode_their_content_type() {
        let spec: WebhookSpec = serde_json::from_value(json!({
            "method": "PUT", "url": "https://example.com/h", "content_type": "X-FORM-URLENCODED",
            "custom_headers": {"X-A": "b"}
        }))
        .expect("spec");
        let o = from_spec(
            &spec,
            Some(&json!({"name": "Ana María", "n": 3})),
            "rule:1:event:2".into(),
            None,
        );
        assert_eq!(o.method, "PUT");
        assert_eq!(o.body, "n=3&name=Ana+Mar%C3%ADa");
        assert_eq!(
            o.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(o.secret, None);
        assert_eq!(o.headers.get("X-A").map(String::as_str), Some("b"));
    }
}
