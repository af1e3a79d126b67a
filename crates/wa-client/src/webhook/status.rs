//! Delivery statuses of outbound messages: `value.statuses[]` of the `messages` field.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{ErrorObject, expect_object};
use super::raw::{Object, Reader, Writer, object_serde};
use super::timestamp::Timestamp;

/// One status update of a message the business sent (`value.statuses[]`).
///
/// Like [`super::Message`], a `Status` needs a string `id`, a string `status` and a [`Timestamp`]; other fields are
/// typed when they fit the model exactly and otherwise kept verbatim in [`Status::extra`].
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The id of the message the status is about (as returned when it was sent).
    pub id: String,
    /// `sent`, `delivered`, `read`, `failed`, `played`, …
    pub status: StatusKind,
    /// When the status happened.
    pub timestamp: Timestamp,
    /// The recipient's phone number / WhatsApp id, or the group id for group messages. May be absent (2026, BSUID).
    pub recipient_id: Option<String>,
    /// The recipient's business-scoped user id.
    pub recipient_user_id: Option<String>,
    /// The recipient's parent BSUID (`recipient_parent_user_id`, or `parent_recipient_user_id` as some 2026
    /// payloads spell it; whichever was sent is written back).
    pub recipient_parent_user_id: Option<String>,
    /// `"group"` for group messages.
    pub recipient_type: Option<String>,
    /// Group messages: the participant's phone number.
    pub recipient_participant_id: Option<String>,
    /// Group messages: the participant's BSUID.
    pub recipient_participant_user_id: Option<String>,
    /// The tracking string given when sending, echoed back.
    pub biz_opaque_callback_data: Option<String>,
    /// Conversation (CBP, or an open free-entry-point window).
    pub conversation: Option<Conversation>,
    /// Pricing of the message (CBP or PMP shape).
    pub pricing: Option<Pricing>,
    /// Why a `failed` (or other) status happened.
    pub errors: Vec<ErrorObject>,
    /// Everything not modelled above, verbatim.
    pub extra: Object,
    parent_key: ParentKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ParentKey {
    #[default]
    Recipient,
    Parent,
}

impl Status {
    /// A status with the required fields; every optional field empty.
    pub fn new(id: impl Into<String>, status: StatusKind, timestamp: Timestamp) -> Self {
        Self {
            id: id.into(),
            status,
            timestamp,
            recipient_id: None,
            recipient_user_id: None,
            recipient_parent_user_id: None,
            recipient_type: None,
            recipient_participant_id: None,
            recipient_participant_user_id: None,
            biz_opaque_callback_data: None,
            conversation: None,
            pricing: None,
            errors: Vec::new(),
            extra: Object::new(),
            parent_key: ParentKey::Recipient,
        }
    }

    fn from_object(map: Object) -> Result<Self, String> {
        let mut r = Reader::new(map);
        let id = r.required_string("id", "status")?;
        let status = StatusKind::from(r.required_string("status", "status")?);
        let timestamp = match r.take("timestamp") {
            None => return Err("status: `timestamp` is missing".to_owned()),
            Some(v) => serde_json::from_value::<Timestamp>(v)
                .map_err(|e| format!("status: `timestamp`: {e}"))?,
        };
        let mut s = Self::new(id, status, timestamp);
        s.recipient_id = r.string("recipient_id");
        s.recipient_user_id = r.string("recipient_user_id");
        s.recipient_parent_user_id = r.string("recipient_parent_user_id");
        if s.recipient_parent_user_id.is_none() {
            s.recipient_parent_user_id = r.string("parent_recipient_user_id");
            if s.recipient_parent_user_id.is_some() {
                s.parent_key = ParentKey::Parent;
            }
        }
        s.recipient_type = r.string("recipient_type");
        s.recipient_participant_id = r.string("recipient_participant_id");
        s.recipient_participant_user_id = r.string("recipient_participant_user_id");
        s.biz_opaque_callback_data = r.string("biz_opaque_callback_data");
        s.conversation = r.typed("conversation");
        s.pricing = r.typed("pricing");
        s.errors = r.list("errors");
        s.extra = r.rest();
        Ok(s)
    }

    fn to_object(&self) -> Object {
        let parent_key = match self.parent_key {
            ParentKey::Recipient => "recipient_parent_user_id",
            ParentKey::Parent => "parent_recipient_user_id",
        };
        Writer::new()
            .str("id", &self.id)
            .str("status", self.status.as_str())
            .value("timestamp", &self.timestamp)
            .opt_str("recipient_id", self.recipient_id.as_deref())
            .opt_str("recipient_user_id", self.recipient_user_id.as_deref())
            .opt_str(parent_key, self.recipient_parent_user_id.as_deref())
            .opt_str("recipient_type", self.recipient_type.as_deref())
            .opt_str(
                "recipient_participant_id",
                self.recipient_participant_id.as_deref(),
            )
            .opt_str(
                "recipient_participant_user_id",
                self.recipient_participant_user_id.as_deref(),
            )
            .opt_str(
                "biz_opaque_callback_data",
                self.biz_opaque_callback_data.as_deref(),
            )
            .opt("conversation", self.conversation.as_ref())
            .opt("pricing", self.pricing.as_ref())
            .list("errors", &self.errors)
            .extra(&self.extra)
            .finish()
    }

    /// Whether the status is about a message sent to a group.
    pub fn is_group(&self) -> bool {
        self.recipient_type.as_deref() == Some("group")
    }
}

object_serde!(Status, "status");

/// The `status` string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `sent`: left Meta's servers (one check mark).
    Sent,
    /// `delivered`: reached the device (two check marks).
    Delivered,
    /// `read`: displayed in an open chat (blue check marks). May arrive without `delivered`.
    Read,
    /// `failed`: see [`Status::errors`].
    Failed,
    /// `played`: a voice message was played for the first time.
    Played,
    /// `deleted`: older API versions, the message was deleted.
    Deleted,
    /// `warning`: older API versions (catalog item issues).
    Warning,
    /// Any other value, as sent (e.g. call statuses such as `RINGING`).
    Unknown(String),
}

impl StatusKind {
    /// The string as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Played => "played",
            Self::Deleted => "deleted",
            Self::Warning => "warning",
            Self::Unknown(s) => s,
        }
    }
}

impl From<String> for StatusKind {
    fn from(s: String) -> Self {
        match s.as_str() {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            "played" => Self::Played,
            "deleted" => Self::Deleted,
            "warning" => Self::Warning,
            _ => Self::Unknown(s),
        }
    }
}

impl From<&str> for StatusKind {
    fn from(s: &str) -> Self {
        Self::from(s.to_owned())
    }
}

impl fmt::Display for StatusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StatusKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StatusKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

/// `statuses[].conversation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Conversation id (per message, or per free-entry-point window, since PMP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the conversation window ends (only on `sent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_timestamp: Option<Timestamp>,
    /// Where the conversation comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<ConversationOrigin>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `conversation.origin`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationOrigin {
    /// `authentication`, `authentication_international`, `marketing`, `marketing_lite`, `utility`, `service`,
    /// `referral_conversion`; legacy `business_initiated`, `user_initiated`, `customer_initiated`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `statuses[].pricing`, in both the conversation-based (`CBP`, before July 2025) and per-message (`PMP`) shapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    /// Whether the message is billed (being deprecated: use [`Pricing::type_name`] and [`Pricing::category`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
    /// `"CBP"` or `"PMP"`; see [`Pricing::model`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_model: Option<String>,
    /// `marketing`, `utility`, `authentication`, `authentication-international`, `service`, `marketing_lite`,
    /// `referral_conversion`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// PMP only: `regular` (billed), `free_customer_service`, `free_entry_point`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// Pricing model of a [`Pricing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingModel {
    /// Conversation-based pricing.
    Cbp,
    /// Per-message pricing.
    Pmp,
    /// Something else, as sent (`""` when absent).
    Other(String),
}

impl Pricing {
    /// The pricing model.
    pub fn model(&self) -> PricingModel {
        match self.pricing_model.as_deref() {
            Some("CBP") => PricingModel::Cbp,
            Some("PMP") => PricingModel::Pmp,
            other => PricingModel::Other(other.unwrap_or("").to_owned()),
        }
    }
}

/// Parses a status item, for callers holding a `Value`.
pub(crate) fn parse_status_value(value: Value) -> Result<Status, String> {
    Status::from_object(expect_object(value, "status")?)
}
