//! Outgoing webhooks: a durable delivery queue.
//!
//! A delivery is an HTTP request to make (method, URL, headers, body) that the application queues
//! when something happens (an SLA notification, an automation rule's "trigger webhook" action)
//! and a job sends later. Queueing is idempotent: each delivery carries a key unique per account,
//! so redelivering the same event queues it once. A delivery can be queued in the same commit as
//! a ticket change ([`crate::TicketTx::enqueue_webhook`]).
//!
//! A delivery moves `pending → sending → delivered | failed`. Sending is leased: while a worker's
//! lease holds, no other worker (process, server) gets the delivery; when the lease expires (the
//! worker stopped), another worker claims it again, so delivery is at least once and receivers
//! dedupe by the delivery id. A transient failure puts it back to `pending` at a later instant;
//! after `max_attempts` claims it is `failed` for good.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ticketing_core::{AccountId, TicketId};
use time::{Duration, OffsetDateTime};

use crate::{Page, StoreResult};

/// A queued webhook delivery's id (sent to receivers as `X-Wadesk-Delivery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookDeliveryId(pub i64);

impl std::fmt::Display for WebhookDeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    /// Waiting to be sent (first time or after a transient failure), from `next_attempt_at`.
    Pending,
    /// Leased by a worker that is sending it.
    Sending,
    /// The receiver answered 2xx.
    Delivered,
    /// Refused for good, or given up after `max_attempts`.
    Failed,
}

impl WebhookState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Pending => "pending",
            WebhookState::Sending => "sending",
            WebhookState::Delivered => "delivered",
            WebhookState::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(WebhookState::Pending),
            "sending" => Some(WebhookState::Sending),
            "delivered" => Some(WebhookState::Delivered),
            "failed" => Some(WebhookState::Failed),
            _ => None,
        }
    }
}

/// A request to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookDelivery {
    /// Unique per account: queueing the same key again does nothing.
    pub idempotency_key: String,
    /// What caused it (`sla.escalation`, `automation`, …), for admins.
    pub event: String,
    /// The ticket it concerns, if any.
    pub ticket_id: Option<TicketId>,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// `http://` or `https://` URL.
    pub url: String,
    /// Request headers (signatures included: the store knows no secrets).
    pub headers: BTreeMap<String, String>,
    /// The body's media type, if it has a body.
    pub content_type: Option<String>,
    /// The body (may be empty).
    pub body: String,
    /// Give up after this many claims (at least 1).
    pub max_attempts: u32,
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Its id.
    pub id: WebhookDeliveryId,
    /// Its account.
    pub account_id: AccountId,
    /// The request.
    pub request: NewWebhookDelivery,
    /// Where it stands.
    pub state: WebhookState,
    /// How many times it was claimed for sending.
    pub attempts: u32,
    /// When it may be claimed (pending rows).
    pub next_attempt_at: OffsetDateTime,
    /// The worker holding the lease (sending rows).
    pub leased_by: Option<String>,
    /// Until when the lease holds.
    pub lease_until: Option<OffsetDateTime>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// How a leased delivery's attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The receiver answered 2xx: `delivered`.
    Delivered {
        /// Its status.
        status: u16,
    },
    /// A transient failure: back to `pending` until `at`, or `failed` when the delivery has used
    /// its `max_attempts`.
    Retry {
        /// When to try again.
        at: OffsetDateTime,
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Refused for good: `failed`.
    Failed {
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
}

/// The outgoing webhook queue.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Queues deliveries for `account`, claimable from `now`; a delivery whose idempotency key
    /// the account already has is skipped. Answers how many were new.
    async fn enqueue_webhooks(
        &self,
        account: AccountId,
        deliveries: &[NewWebhookDelivery],
        now: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// Leases up to `limit` deliveries that are pending and due, or sending with an expired
    /// lease, for `worker` until `now + lease`, oldest first. Each claim increments `attempts`.
    /// Two concurrent callers never get the same delivery while its lease holds.
    async fn claim_webhooks(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>>;

    /// Records how a leased attempt ended. Fails with [`crate::StoreError::LeaseLost`] (changing
    /// nothing) when `worker` no longer holds the lease.
    async fn finish_webhook(
        &self,
        id: WebhookDeliveryId,
        worker: &str,
        outcome: &WebhookOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<WebhookDelivery>;

    /// One delivery of the account.
    async fn webhook_delivery(
        &self,
        account: AccountId,
        id: WebhookDeliveryId,
    ) -> StoreResult<WebhookDelivery>;

    /// The account's deliveries, newest first.
    async fn list_webhook_deliveries(
        &self,
        account: AccountId,
        page: Page,
    ) -> StoreResult<Vec<WebhookDelivery>>;
}
