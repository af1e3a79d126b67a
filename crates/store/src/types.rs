//! Rows and values crossing the storage port.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt;
use ticketing_core::{AccountId, AgentId, NumberId, Plan, Role, ThreadingInterval};
use time::OffsetDateTime;

/// A stored webhook delivery (one POST body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(pub i64);

/// One event split out of a delivery (a message, a status, an error, another field's change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub i64);

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A secret string (access token, app secret) that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the few places that must send or verify it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A raw webhook body to store, exactly as received.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// When the server received it.
    pub received_at: OffsetDateTime,
    /// The raw bytes, byte for byte as signed by Meta.
    pub body: Bytes,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Stored, waiting for (or in) processing.
    Pending,
    /// Split into events.
    Processed,
    /// Could not be parsed or is not a WhatsApp webhook; kept for an admin to inspect and
    /// re-process.
    Quarantined,
    /// Parsed, but for a number no account has connected: kept, no events recorded.
    Unrouted,
}

impl DeliveryState {
    /// The state's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Processed => "processed",
            DeliveryState::Quarantined => "quarantined",
            DeliveryState::Unrouted => "unrouted",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryState::Pending,
            "processed" => DeliveryState::Processed,
            "quarantined" => DeliveryState::Quarantined,
            "unrouted" => DeliveryState::Unrouted,
            _ => return None,
        })
    }
}

/// A stored delivery with its body.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// When the server received it.
    pub received_at: OffsetDateTime,
    /// The raw body (empty once pruned).
    pub body: Bytes,
    /// The body's size in bytes as received (kept when the body is pruned).
    pub size: i64,
    /// Whether retention emptied the body ([`crate::Store::prune_delivery_bodies`]); its
    /// events, and the tickets made of them, are kept.
    pub pruned: bool,
    /// Where it stands.
    pub state: DeliveryState,
    /// How many times the job loop has claimed it.
    pub attempts: i32,
    /// Why it was quarantined, or the last transient error.
    pub error: Option<String>,
    /// The account it was routed to, when known.
    pub account_id: Option<AccountId>,
    /// When it reached a final state.
    pub processed_at: Option<OffsetDateTime>,
}

/// A delivery without its body, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySummary {
    /// Its id.
    pub id: DeliveryId,
    /// When the server received it.
    pub received_at: OffsetDateTime,
    /// The body's size in bytes.
    pub size: i64,
    /// Whether retention emptied the body.
    pub pruned: bool,
    /// Where it stands.
    pub state: DeliveryState,
    /// How many times it was claimed.
    pub attempts: i32,
    /// Why it was quarantined, or the last transient error.
    pub error: Option<String>,
    /// The account it was routed to, when known.
    pub account_id: Option<AccountId>,
    /// When it reached a final state.
    pub processed_at: Option<OffsetDateTime>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only this state.
    pub state: Option<DeliveryState>,
    /// Only deliveries routed to this account …
    pub account_id: Option<AccountId>,
    /// … plus, when true, those routed to no account (unparseable or unrouted ones).
    pub include_unassigned: bool,
}

/// A page of a list: 1-based page number and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

impl Page {
    /// Rows to skip.
    pub fn offset(self) -> i64 {
        i64::from(self.page.max(1) - 1) * i64::from(self.per_page)
    }

    /// Rows to return.
    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 30,
        }
    }
}

/// The kind of a recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An inbound message (`value.messages[]`).
    Message,
    /// A status of an outbound message (`value.statuses[]`).
    Status,
    /// A value-level error (`value.errors[]`).
    Error,
    /// A change of another webhook field (`account_update`, template status, …).
    Field,
}

impl EventKind {
    /// The kind's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Message => "message",
            EventKind::Status => "status",
            EventKind::Error => "error",
            EventKind::Field => "field",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "message" => EventKind::Message,
            "status" => EventKind::Status,
            "error" => EventKind::Error,
            "field" => EventKind::Field,
            _ => return None,
        })
    }
}

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The idempotency key, unique across the database: `msg:<wamid>` for a message,
    /// `status:<wamid>:<status>` for a status, a content hash for the rest.
    pub key: String,
    /// What it is.
    pub kind: EventKind,
    /// The webhook field it came in (`messages`, `account_update`, …).
    pub field: String,
    /// The WhatsApp Business Account (`entry[].id`).
    pub waba_id: Option<String>,
    /// Meta's phone number id (`value.metadata.phone_number_id`).
    pub phone_number_id: Option<String>,
    /// The account owning that number.
    pub account_id: Option<AccountId>,
    /// wadesk's id of that number.
    pub number_id: Option<NumberId>,
    /// The message id (`wamid…`) for messages and statuses.
    pub message_id: Option<String>,
    /// The customer's WhatsApp id (sender of a message, recipient of a status).
    pub wa_id: Option<String>,
    /// The status (`sent`, `delivered`, …) of a status event, the message type of a message.
    pub subtype: Option<String>,
    /// WhatsApp's own timestamp of the event, when it has a plausible one.
    pub wa_timestamp: Option<OffsetDateTime>,
    /// The event's own JSON object (a message, a status, …) with the change's `contacts`
    /// where they concern it.
    pub payload: serde_json::Value,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its id; ids grow in recording order.
    pub id: EventId,
    /// The delivery it was first recorded from.
    pub delivery_id: DeliveryId,
    /// When it was recorded.
    pub recorded_at: OffsetDateTime,
    /// Everything given when it was recorded.
    pub event: NewEvent,
}

/// How a delivery finished.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryCompletion {
    /// The final state (never [`DeliveryState::Pending`]).
    pub state: DeliveryState,
    /// Why, for quarantined and unrouted deliveries.
    pub error: Option<String>,
    /// The account it concerns, when one.
    pub account_id: Option<AccountId>,
    /// The events to record.
    pub events: Vec<NewEvent>,
}

/// What [`crate::Store::complete_delivery`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompletionReport {
    /// Events recorded now.
    pub recorded: u64,
    /// Events skipped because their key was already recorded.
    pub duplicates: u64,
}

/// What one call of [`crate::Store::prune_delivery_bodies`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneReport {
    /// Deliveries the retention cursor moved past.
    pub examined: u32,
    /// Bodies emptied among them (the processed ones).
    pub pruned: u32,
    /// Whether the cursor stopped before `limit` deliveries: at a delivery too recent or still
    /// pending, or at the end. `false` means another call may find more at once.
    pub caught_up: bool,
}

/// Inbox counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InboxStats {
    /// Deliveries waiting for processing.
    pub pending: u64,
    /// When the oldest pending delivery was received.
    pub oldest_pending_received_at: Option<OffsetDateTime>,
    /// Quarantined deliveries.
    pub quarantined: u64,
    /// Deliveries for numbers nobody connected.
    pub unrouted: u64,
    /// All recorded events.
    pub events: u64,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Its name.
    pub name: String,
    /// Its plan.
    pub plan: Plan,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// An agent to create.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Display name.
    pub name: String,
    /// Email, unique per account.
    pub email: String,
    /// Admin or agent.
    pub role: Role,
    /// SHA-256 of the API key, lowercase hex. The key itself is never stored.
    pub api_key_hash: String,
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Its account.
    pub account_id: AccountId,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Admin or agent.
    pub role: Role,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

/// A number's connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberStatus {
    /// Registered with Meta and receiving webhooks.
    Connected,
    /// Added to the WhatsApp Business Account, OTP not yet verified.
    Unverified,
    /// OTP verified, not yet registered.
    Verified,
    /// Disconnected by an admin.
    Disconnected,
}

impl NumberStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            NumberStatus::Connected => "connected",
            NumberStatus::Unverified => "unverified",
            NumberStatus::Verified => "verified",
            NumberStatus::Disconnected => "disconnected",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "connected" => NumberStatus::Connected,
            "unverified" => NumberStatus::Unverified,
            "verified" => NumberStatus::Verified,
            "disconnected" => NumberStatus::Disconnected,
            _ => return None,
        })
    }
}

/// A number to connect.
#[derive(Debug, Clone)]
pub struct NewNumber {
    /// The owning account.
    pub account_id: AccountId,
    /// Meta's phone number id (unique across wadesk).
    pub phone_number_id: String,
    /// The WhatsApp Business Account id.
    pub waba_id: String,
    /// The number as shown, e.g. `+1 555 0100`.
    pub display_phone_number: String,
    /// A name for agents.
    pub name: String,
    /// The Graph API access token for this number.
    pub access_token: Secret,
    /// This number's own Meta app secret, when it differs from the server's.
    pub app_secret: Option<Secret>,
    /// How long a conversation continues on one ticket.
    pub threading_interval: ThreadingInterval,
    /// Initial state.
    pub status: NumberStatus,
}

/// A connected WhatsApp number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaNumber {
    /// wadesk's id.
    pub id: NumberId,
    /// The owning account.
    pub account_id: AccountId,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// The WhatsApp Business Account id.
    pub waba_id: String,
    /// The number as shown.
    pub display_phone_number: String,
    /// A name for agents.
    pub name: String,
    /// The Graph API access token (never returned by the REST API).
    pub access_token: Secret,
    /// This number's own app secret, if any (never returned by the REST API).
    pub app_secret: Option<Secret>,
    /// How long a conversation continues on one ticket.
    pub threading_interval: ThreadingInterval,
    /// Connection state.
    pub status: NumberStatus,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}
