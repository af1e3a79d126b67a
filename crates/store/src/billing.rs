//! The billing half of the port: the facts the WhatsApp billing model prices (customer
//! messages and status webhooks of connected numbers), fed from the recorded events, and each
//! account's billing settings.
//!
//! **Feeding.** Every recorded `message` or `status` event of a connected number is queued for
//! billing when it is first recorded (a database trigger, in the same transaction as the
//! event). [`BillingStore::claim_billing_events`] leases queued events to one worker (several
//! workers on one PostgreSQL get disjoint sets; an expired lease is taken over), and
//! [`BillingStore::record_billing_facts`] stores the facts derived from them and removes them
//! from the queue in one transaction. Facts are unique by the event's idempotency key, so
//! Meta's redeliveries, a re-processed delivery or a worker that lost its lease record nothing
//! twice.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ticketing_core::{AccountId, NumberId};
use time::{Duration, OffsetDateTime};

use crate::{Event, EventId, StoreResult};

/// A stored billing fact's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BillingFactId(pub i64);

/// What a billing fact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingFactKind {
    /// A customer message (opens the customer service window; may come from a free entry point).
    Inbound,
    /// A status webhook of an outbound message.
    Status,
}

impl BillingFactKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingFactKind::Inbound => "inbound",
            BillingFactKind::Status => "status",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inbound" => Some(BillingFactKind::Inbound),
            "status" => Some(BillingFactKind::Status),
            _ => None,
        }
    }
}

/// A billing fact to record: what the billing model needs of one message or status event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBillingFact {
    /// The idempotency key of the event it comes from (unique across the database).
    pub key: String,
    /// The event it comes from.
    pub event_id: EventId,
    /// The account owning the number.
    pub account_id: AccountId,
    /// wadesk's id of the number.
    pub number_id: NumberId,
    /// Inbound message or status.
    pub kind: BillingFactKind,
    /// The WhatsApp Business Account (`entry[].id`).
    pub waba_id: String,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// The message id (`wamid…`).
    pub message_id: String,
    /// The customer: sender of an inbound message, recipient of a status.
    pub customer: String,
    /// `sent`, `delivered`, `read`, `played` or `failed` for a status; `None` for a message.
    pub status: Option<String>,
    /// WhatsApp's timestamp (else the time the event was recorded).
    pub at: OffsetDateTime,
    /// The template's category when wadesk knows it (its own send records), Meta's name.
    pub template_category: Option<String>,
    /// Inbound messages from a free entry point: `click_to_whatsapp_ad` or
    /// `facebook_page_button`.
    pub entry_point: Option<String>,
    /// Meta's `pricing` object, verbatim, when the status had one.
    pub pricing: Option<serde_json::Value>,
    /// Meta's `conversation` object, verbatim, when the status had one.
    pub conversation: Option<serde_json::Value>,
}

/// A recorded billing fact.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingFact {
    /// Its id.
    pub id: BillingFactId,
    /// What was recorded.
    pub fact: NewBillingFact,
}

/// What [`BillingStore::record_billing_facts`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BillingReport {
    /// Facts recorded now.
    pub recorded: u64,
    /// Facts skipped because their key was already recorded.
    pub duplicates: u64,
    /// Queued events removed from the queue (those this worker still held).
    pub dequeued: u64,
}

/// An account's billing settings. Every field is optional; `None` means the default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BillingSettings {
    /// IANA time zone whose calendar months statements follow (default UTC).
    pub time_zone: Option<String>,
    /// ISO 4217 billing currency (default USD).
    pub currency: Option<String>,
    /// The account's own rate cards, in billing-model's text format, used on top of the
    /// built-in sample cards.
    pub rate_cards: Option<String>,
}

/// Billing facts and settings.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Leases up to `limit` queued message and status events (oldest first) whose lease is
    /// free or expired to `worker` until `now + lease`. Concurrent callers get disjoint sets.
    async fn claim_billing_events(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Event>>;

    /// In one transaction: records `facts` (each at most once, by [`NewBillingFact::key`]) and
    /// removes the events `done` from the queue where `worker` still holds them. Facts are
    /// recorded even when the lease was lost (they are idempotent).
    async fn record_billing_facts(
        &self,
        worker: &str,
        done: &[EventId],
        facts: &[NewBillingFact],
    ) -> StoreResult<BillingReport>;

    /// The facts of one account with `from <= at < until`, ordered by time then id.
    async fn list_billing_facts(
        &self,
        account: AccountId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<Vec<BillingFact>>;

    /// How many events wait in the billing queue.
    async fn billing_backlog(&self) -> StoreResult<u64>;

    /// An account's billing settings (all defaults when never set).
    async fn billing_settings(&self, account: AccountId) -> StoreResult<BillingSettings>;

    /// Replaces an account's billing settings.
    async fn set_billing_settings(
        &self,
        account: AccountId,
        settings: &BillingSettings,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}
