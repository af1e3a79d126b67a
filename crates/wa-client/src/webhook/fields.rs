//! Typed values of webhook fields other than `messages`. Every struct keeps unmodelled members in `extra`.

use serde::{Deserialize, Serialize};

use super::common::{Contact, Metadata};
use super::message::Message;
use super::raw::{Object, double_option};
use super::timestamp::Timestamp;

/// `account_update`: WABA-level events (deletion, bans, violations, partner changes, volume tiers, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountUpdate {
    /// `ACCOUNT_DELETED`, `ACCOUNT_VIOLATION`, `DISABLED_UPDATE`, `VOLUME_BASED_PRICING_TIER_UPDATE`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// For `VOLUME_BASED_PRICING_TIER_UPDATE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_tier_info: Option<VolumeTierInfo>,
    /// Fields not modelled here (`ban_info`, `violation_info`, `waba_info`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `account_update.volume_tier_info`: the portfolio reached a new per-message pricing volume tier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeTierInfo {
    /// When the tier changed (duplicates possible: keep the smallest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_update_time: Option<Timestamp>,
    /// `UTILITY` or `AUTHENTICATION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_category: Option<String>,
    /// Range of messages, e.g. `"25000001:50000000"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// `YYYY-MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_month: Option<String>,
    /// Pricing market, e.g. `"India"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `message_template_status_update`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateStatusUpdate {
    /// `APPROVED`, `REJECTED`, `PAUSED`, `DISABLED`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Template id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_id: Option<i64>,
    /// Template name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_name: Option<String>,
    /// Template language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_language: Option<String>,
    /// Reason; `Some(None)` when sent as `null`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub reason: Option<Option<String>>,
    /// Template category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_category: Option<String>,
    /// Fields not modelled here (`rejection_info`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `message_template_quality_update`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateQualityUpdate {
    /// Previous score (`GREEN`, `YELLOW`, `RED`, `UNKNOWN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_quality_score: Option<String>,
    /// New score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_quality_score: Option<String>,
    /// Template id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_id: Option<i64>,
    /// Template name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_name: Option<String>,
    /// Template language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_language: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `template_category_update`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateCategoryUpdate {
    /// Template id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_id: Option<i64>,
    /// Template name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_name: Option<String>,
    /// Template language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_language: Option<String>,
    /// Category before the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<String>,
    /// Category after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_category: Option<String>,
    /// Category Meta considers correct (advance notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct_category: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `phone_number_name_update`: display name review decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumberNameUpdate {
    /// The business number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// `APPROVED`, `REJECTED`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The requested display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_verified_name: Option<String>,
    /// Rejection reason; `Some(None)` when sent as `null`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub rejection_reason: Option<Option<String>>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `phone_number_quality_update`: messaging limit / throughput changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumberQualityUpdate {
    /// The business number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// `UPGRADE`, `DOWNGRADE`, `FLAGGED`, `THROUGHPUT_UPGRADE`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The current limit, e.g. `TIER_1K`, `TIER_UNLIMITED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_limit: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `business_capability_update`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessCapabilityUpdate {
    /// Messaging limit (business-initiated conversations or unique users per day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_conversations_per_business: Option<i64>,
    /// How many numbers the WABA may register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_phone_numbers_per_waba: Option<i64>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `user_preferences`: marketing message opt-outs and resumptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPreferencesValue {
    /// `"whatsapp"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// The business number.
    pub metadata: Metadata,
    /// The users concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// The preference changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_preferences: Vec<UserPreference>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `user_preferences[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPreference {
    /// The user's WhatsApp id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// The user's BSUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `marketing_messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `stop`, `resume`, `signup`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `smb_message_echoes` (coexistence): messages the business sent from the WhatsApp Business app.
///
/// Each echo is parsed as a [`Message`]; its `to` (and `to_user_id`, …) stay in [`Message::extra`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEchoesValue {
    /// `"whatsapp"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// The business number.
    pub metadata: Metadata,
    /// The users concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// The echoed messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_echoes: Vec<Message>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}
