//! The outbound half of the port: agents' replies waiting to be sent to WhatsApp (the outbox),
//! the send-rate buckets that keep to Meta's limits across every worker on one database, and the
//! message templates synced from Meta.
//!
//! A reply is stored first and sent later by a job. The conversation entry and its outbox row are
//! written in ONE transaction ([`OutboundTx`], which is a [`TicketTx`] that can also queue a
//! send), so an entry the agent sees always has its send queued, and a queued send always has its
//! entry. What is sent is opaque to the store ([`NewSend::payload`], JSON the application
//! defines), so any message type can be queued.
//!
//! A send moves `queued → sending → sent | failed | unknown`; `unknown` (the request may have
//! reached Meta) is never resent: it waits for a status webhook carrying the send's
//! `biz_opaque_callback_data` ([`OutboxStore::link_send`]) or, after a timeout, is marked failed
//! ([`OutboxStore::reconcile_sends`]). A lease that expires while `sending` means a worker
//! stopped mid-send: its outcome is unknown too ([`OutboxStore::expire_sends`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ticketing_core::{AccountId, ContactId, NumberId, TicketId};
use time::{Duration, OffsetDateTime};

use crate::{EntryId, EntryRow, StoreResult, TicketTx, WaNumber};

/// An outbox row's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutboxId(pub i64);

impl std::fmt::Display for OutboxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Waiting to be sent (first time or after a retryable error), from `next_attempt_at`.
    Queued,
    /// Leased by a worker that is calling Meta.
    Sending,
    /// Meta accepted it (its wamid is known).
    Sent,
    /// Meta refused it for good, or its outcome stayed unknown past the reconciliation timeout.
    Failed,
    /// The request may have reached Meta (timeout after sending, lease lost mid-send): never
    /// resent; waiting for a status webhook or the reconciliation timeout.
    Unknown,
}

impl SendState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Queued => "queued",
            SendState::Sending => "sending",
            SendState::Sent => "sent",
            SendState::Failed => "failed",
            SendState::Unknown => "unknown",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(SendState::Queued),
            "sending" => Some(SendState::Sending),
            "sent" => Some(SendState::Sent),
            "failed" => Some(SendState::Failed),
            "unknown" => Some(SendState::Unknown),
            _ => None,
        }
    }
}

/// A send to queue with its entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSend {
    /// The business number it goes out from.
    pub number_id: NumberId,
    /// The recipient as Meta's `to` takes it (WhatsApp id digits or `+E.164`); also the key of
    /// the per-recipient pair limit.
    pub recipient: String,
    /// What to send, in the application's own JSON (opaque to the store).
    pub payload: serde_json::Value,
}

/// A stored send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Its id (also what `biz_opaque_callback_data` names).
    pub id: OutboxId,
    /// Its account.
    pub account_id: AccountId,
    /// The number it goes out from.
    pub number_id: NumberId,
    /// The ticket of its entry.
    pub ticket_id: TicketId,
    /// The conversation entry it sends.
    pub entry_id: EntryId,
    /// The recipient.
    pub recipient: String,
    /// What to send.
    pub payload: serde_json::Value,
    /// Where it stands.
    pub state: SendState,
    /// How many times it was claimed for sending.
    pub attempts: i32,
    /// When it may be claimed (queued rows).
    pub next_attempt_at: OffsetDateTime,
    /// The worker holding the lease (sending rows).
    pub leased_by: Option<String>,
    /// Until when the lease holds.
    pub lease_until: Option<OffsetDateTime>,
    /// Since when its outcome is unknown.
    pub unknown_since: Option<OffsetDateTime>,
    /// Meta's message id, once known.
    pub wamid: Option<String>,
    /// The last error (for agents and admins).
    pub last_error: Option<String>,
    /// Meta's error code of the last error, if any.
    pub error_code: Option<i64>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// The rate limits a claim keeps to. Both are token buckets stored in the database, so they hold
/// across every worker and server sharing it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendLimits {
    /// Messages per second per business number (Meta's default throughput: 80).
    pub per_number_per_second: f64,
    /// How many messages a number may send at once after being idle.
    pub per_number_burst: f64,
    /// Sustained interval between two messages to the same recipient from one number (Meta's
    /// pair rate limit: about one per 6 s).
    pub pair_interval: Duration,
    /// How many messages to one recipient may go at once (Meta tolerates bursts of about 45).
    pub pair_burst: f64,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            per_number_per_second: 80.0,
            per_number_burst: 80.0,
            pair_interval: Duration::seconds(6),
            pair_burst: 45.0,
        }
    }
}

/// How a leased send ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Meta accepted it: the row becomes `sent` and the entry gets the wamid (if it has none).
    Accepted {
        /// Meta's message id.
        wamid: String,
    },
    /// A retryable error: back to `queued` until `at`; the error is kept.
    Retry {
        /// When to try again.
        at: OffsetDateTime,
        /// Meta's code, if any.
        code: Option<i64>,
        /// What went wrong.
        error: String,
        /// Hold every send to this recipient from this number until then (pair rate limit).
        block_pair_until: Option<OffsetDateTime>,
        /// Hold every send from this number until then (throughput limit).
        block_number_until: Option<OffsetDateTime>,
    },
    /// Refused for good: the row and the entry become `failed` with Meta's code and title.
    Failed {
        /// Meta's code, if any.
        code: Option<i64>,
        /// Meta's title (shown to the agent).
        title: String,
        /// The full error.
        error: String,
    },
    /// The request may have reached Meta: the row becomes `unknown` and is not resent.
    Unknown {
        /// What happened.
        error: String,
    },
}

/// What [`OutboxStore::link_send`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    /// No such send (or another number's).
    NotFound,
    /// The send now carries the wamid (and so does its entry).
    Linked,
    /// It already carried this wamid.
    AlreadyLinked,
    /// It carries another wamid: the status is not about this send.
    Mismatch,
}

/// A ticket transaction that can also queue sends, so an entry and its send are one commit.
#[async_trait]
pub trait OutboundTx: TicketTx {
    /// Queues `send` for `entry` (an outgoing entry inserted in this transaction), claimable
    /// from `now`.
    async fn insert_send(
        &mut self,
        ticket: TicketId,
        entry: EntryId,
        send: &NewSend,
        now: OffsetDateTime,
    ) -> StoreResult<OutboxRow>;

    /// The WhatsApp time of `contact`'s latest incoming message on `number`, across all their
    /// tickets: where the customer service window starts.
    async fn last_inbound_at(
        &mut self,
        contact: ContactId,
        number: NumberId,
    ) -> StoreResult<Option<OffsetDateTime>>;
}

/// The outbox and its rate buckets.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Starts a write transaction on `account`'s tickets that can queue sends (serialised with
    /// other ticket transactions of the account, as [`crate::TicketStore::begin_tickets`]).
    async fn begin_outbound(&self, account: AccountId) -> StoreResult<Box<dyn OutboundTx>>;

    /// As [`OutboxStore::begin_outbound`], for writes to the tickets of the customers named by
    /// `customers` only (lock keys: their numbers, `+` and digits, with lookup variants, and
    /// `bsuid:<BSUID>`). It excludes the transactions of [`OutboxStore::begin_outbound`] and
    /// [`crate::TicketStore::begin_tickets`] on the account, and other such transactions
    /// sharing a key, but not those on other customers: on PostgreSQL two batches of different
    /// customers are applied at once. The caller keeps to those customers (it checks that a
    /// contact it reads carries no other key). By default the account's whole transaction.
    async fn begin_outbound_for(
        &self,
        account: AccountId,
        customers: &[String],
    ) -> StoreResult<Box<dyn OutboundTx>> {
        let _ = customers;
        self.begin_outbound(account).await
    }

    /// As [`OutboundTx::last_inbound_at`], outside a transaction.
    async fn last_inbound_at(
        &self,
        account: AccountId,
        contact: ContactId,
        number: NumberId,
    ) -> StoreResult<Option<OffsetDateTime>>;

    /// Numbers with queued sends due at `now`, at most `limit`.
    async fn due_send_numbers(&self, now: OffsetDateTime, limit: u32)
    -> StoreResult<Vec<NumberId>>;

    /// Leases up to `limit` due queued sends of `number` for `worker`, as far as the number's
    /// and each recipient's bucket allow (tokens are taken for every send claimed, atomically
    /// with the claim); oldest due first. A due send whose recipient has no token left is
    /// pushed back to when it will have one. Each claim increments `attempts` and moves the
    /// row to `sending`. Two concurrent callers never get the same send.
    async fn claim_sends(
        &self,
        worker: &str,
        number: NumberId,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
        limits: &SendLimits,
    ) -> StoreResult<Vec<OutboxRow>>;

    /// Records how a leased send ended, with its entry, in one transaction. Fails with
    /// [`crate::StoreError::LeaseLost`] (changing nothing) when `worker` no longer holds it.
    async fn finish_send(
        &self,
        id: OutboxId,
        worker: &str,
        outcome: &SendOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Moves sends whose lease expired while `sending` to `unknown` (a worker stopped between
    /// claiming and recording the answer: the request may have gone out). Returns how many.
    async fn expire_sends(&self, now: OffsetDateTime) -> StoreResult<u64>;

    /// Fails sends `unknown` for at least `timeout` (the entry shows "outcome unknown"; nothing
    /// is resent). Returns them.
    async fn reconcile_sends(
        &self,
        now: OffsetDateTime,
        timeout: Duration,
    ) -> StoreResult<Vec<OutboxRow>>;

    /// A status webhook named send `id` (its `biz_opaque_callback_data`) with `wamid`: Meta
    /// accepted it. A `sending`, `unknown` (or reconciled-as-unknown `failed`) send becomes
    /// `sent`; the send and its entry get the wamid if they have none. Idempotent.
    async fn link_send(
        &self,
        id: OutboxId,
        number: NumberId,
        wamid: &str,
        now: OffsetDateTime,
    ) -> StoreResult<LinkOutcome>;

    /// One send.
    async fn send(&self, id: OutboxId) -> StoreResult<OutboxRow>;

    /// The sends of a ticket of the account, by id.
    async fn ticket_sends(
        &self,
        account: AccountId,
        ticket: TicketId,
    ) -> StoreResult<Vec<OutboxRow>>;

    /// One entry of the account.
    async fn entry(&self, account: AccountId, id: EntryId) -> StoreResult<EntryRow>;
}

/// A message template as synced from Meta.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRow {
    /// The number it was synced for.
    pub number_id: NumberId,
    /// Meta's template id.
    pub template_id: String,
    /// Name.
    pub name: String,
    /// Language code.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, …
    pub status: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    pub category: String,
    /// `POSITIONAL` or `NAMED` (None: positional).
    pub parameter_format: Option<String>,
    /// Meta's `components` array.
    pub components: serde_json::Value,
    /// When it was last synced (or its status changed).
    pub synced_at: OffsetDateTime,
}

/// Message templates per number, and small helpers of the template jobs.
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Replaces the number's templates with `templates` (those no longer listed are removed),
    /// atomically.
    async fn replace_templates(
        &self,
        number: NumberId,
        templates: &[TemplateRow],
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The templates of a number of the account, by name then language.
    async fn list_templates(
        &self,
        account: AccountId,
        number: NumberId,
    ) -> StoreResult<Vec<TemplateRow>>;

    /// Sets the status of every template with Meta's `template_id` on any number; returns how
    /// many rows changed.
    async fn set_template_status(
        &self,
        template_id: &str,
        status: &str,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// When the number's templates were last synced (None: never).
    async fn templates_synced_at(&self, number: NumberId) -> StoreResult<Option<OffsetDateTime>>;

    /// Every connected number (of every account), by id, for background jobs.
    async fn all_numbers(&self) -> StoreResult<Vec<WaNumber>>;

    /// A named job cursor (0 when never set).
    async fn job_cursor(&self, name: &str) -> StoreResult<i64>;

    /// Moves a named job cursor forward to `position` (never backward).
    async fn advance_job_cursor(&self, name: &str, position: i64) -> StoreResult<()>;
}
