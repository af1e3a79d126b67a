//! Objects shared by several webhook fields: metadata, contacts (senders), errors.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::raw::Object;

/// `value.metadata`: which of the business's phone numbers the notification is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The business number as displayed, e.g. `"15550783881"`.
    pub display_phone_number: String,
    /// The Graph API id of the business phone number: route tenants on this.
    pub phone_number_id: String,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `value.contacts[]`: the WhatsApp user a `messages` notification is from (or, with statuses, sent to).
///
/// Since 2026 a user is identified by a business-scoped user id (`user_id`, BSUID) and may hide their phone number
/// behind a username, so `wa_id` may be absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// The user's WhatsApp id (usually their phone number in international format, without `+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// Business-scoped user id (BSUID), e.g. `"US.13491208655302741918"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Parent BSUID spanning linked business portfolios, e.g. `"US.ENT.11815799212886844830"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_user_id: Option<String>,
    /// The user's profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// Present when the identity-change check is enabled on the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_key_hash: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `contacts[].profile`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The user's profile (push) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's WhatsApp username (2026), e.g. `"@testusername"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// An error object, as found in `value.errors[]`, `messages[].errors[]` and `statuses[].errors[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Meta's error code, e.g. `131051` (unsupported message type) or `130429` (rate limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Short title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Message (often the same as the title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<ErrorData>,
    /// Link to Meta's error code documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `errors[].error_data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorData {
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

impl ErrorObject {
    /// `error_data.details`, if any.
    pub fn details(&self) -> Option<&str> {
        self.error_data.as_ref()?.details.as_deref()
    }
}

/// Helper used by several models: a JSON value that must be an object.
pub(crate) fn expect_object(value: Value, what: &str) -> Result<Object, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "{what} is not a JSON object: {}",
            super::raw::kind(&other)
        )),
    }
}
