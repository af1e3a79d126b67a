//! Typed models of Meta's WhatsApp Business Account webhook notifications.
//!
//! Entry point: [`parse_notification`] over the raw POST body (after [`crate::signature::verify_signature`]).
//!
//! # Robustness contract
//!
//! * Only the envelope can fail a parse: malformed JSON ([`WebhookParseError::Json`]), a JSON value that is not an
//!   object or has no `entry` array, entries or changes that are not objects ([`WebhookParseError::Shape`]), or an
//!   `object` other than `"whatsapp_business_account"` ([`WebhookParseError::WrongObject`]). A missing `object`
//!   member is tolerated (Meta's own documentation has examples without it) and gives `object == ""`.
//! * Past the envelope nothing fails: a change whose value does not fit its field's model becomes
//!   [`ChangeValue::Unparsed`] (raw value kept, with the reason); fields this crate does not model become
//!   [`ChangeValue::Other`]; unknown message types become [`MessageContent::Unknown`]; unknown status strings become
//!   [`StatusKind::Unknown`]; unknown members are kept in each model's `extra`.
//! * **Round-trip fidelity**: serialising any parsed item (`serde_json::to_value`) gives back exactly the JSON value it
//!   was parsed from. Typed fields are filled only when they reproduce the input; otherwise the input stays raw.
//!   This holds for every [`Message`], [`Status`] and [`ChangeValue`]; for [`Entry`], [`Change`] and the whole
//!   [`Notification`] it holds except for the degenerate spellings documented on them (an explicit empty `id`,
//!   `field` or `object`, a change without `value`).
//! * A `messages`/`statuses` item without a string `id`, or whose `timestamp` is not canonical Unix seconds
//!   (`"1749416383"` or `1749416383`; so `"WEBHOOK_TRIGGER_TIMESTAMP"`, `"1.5"`, `"01"` are refused), or a status
//!   without a string `status`, cannot be a [`Message`]/[`Status`]: the whole change degrades to
//!   [`ChangeValue::Unparsed`] (the other entries and changes of the notification are unaffected). Numeric but absurd
//!   timestamps (0, negative, far future) parse; [`Timestamp::to_offset_datetime`] returns `None` when `time` cannot
//!   represent them, and judging them is up to the caller.

mod common;
mod fields;
mod message;
pub(crate) mod raw;
mod status;
mod timestamp;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use common::{Contact, ErrorData, ErrorObject, Metadata, Profile};
pub use fields::{
    AccountUpdate, BusinessCapabilityUpdate, MessageEchoesValue, PhoneNumberNameUpdate,
    PhoneNumberQualityUpdate, TemplateCategoryUpdate, TemplateQualityUpdate, TemplateStatusUpdate,
    UserPreference, UserPreferencesValue, VolumeTierInfo,
};
pub use message::{
    Button, ContactAddress, ContactEmail, ContactName, ContactOrg, ContactPhone, ContactUrl,
    Context, Edit, EditedMessage, Identity, Interactive, ListReply, Location, Media, Message,
    MessageContent, NfmReply, Order, ProductItem, Reaction, Referral, ReferredProduct, ReplyButton,
    Revoke, SharedContact, System, SystemKind, Text, Unsupported, WelcomeMessage,
};
pub use status::{Conversation, ConversationOrigin, Pricing, PricingModel, Status, StatusKind};
pub use timestamp::Timestamp;

use raw::{Object, Reader, Writer, lossless, object_serde};

/// The only `object` WhatsApp Business Account notifications carry.
pub const WHATSAPP_BUSINESS_ACCOUNT: &str = "whatsapp_business_account";

/// Why a webhook body is not a WhatsApp Business Account notification.
#[derive(Debug, thiserror::Error)]
pub enum WebhookParseError {
    /// The body is not valid JSON.
    #[error("webhook body is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `object` is present but is not `"whatsapp_business_account"` (the value is given, JSON-encoded if it is not
    /// a string).
    #[error("webhook object is {0:?}, not \"whatsapp_business_account\"")]
    WrongObject(String),
    /// The JSON is not shaped like a notification (not an object, `entry` missing or not an array, an entry or a
    /// change that is not an object).
    #[error("webhook body is not a notification: {0}")]
    Shape(String),
}

/// Parses a webhook POST body.
///
/// ```
/// let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",
///   "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"42"},
///   "messages":[{"from":"15551234567","id":"wamid.A","timestamp":"1749416383","type":"text","text":{"body":"hi"}}]}}]}]}"#;
/// let n = wa_client::webhook::parse_notification(body).unwrap();
/// let wa_client::webhook::ChangeValue::Messages(v) = &n.entry[0].changes[0].value else { panic!() };
/// assert_eq!(v.metadata.phone_number_id, "42");
/// assert_eq!(v.messages[0].type_name(), "text");
/// ```
pub fn parse_notification(body: &[u8]) -> Result<Notification, WebhookParseError> {
    let value: Value = serde_json::from_slice(body)?;
    Notification::from_json(value)
}

/// A webhook notification: `{"object": "whatsapp_business_account", "entry": [...]}`.
///
/// `object` is `""` when the body had no `object` member; it is then not written back on serialisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Always `"whatsapp_business_account"` (or `""` when absent).
    pub object: String,
    /// The entries (one per WABA and batch).
    pub entry: Vec<Entry>,
    /// Top-level members not modelled here, kept verbatim.
    pub extra: Object,
}

impl Notification {
    /// Parses an already-decoded JSON value (see [`parse_notification`]).
    pub fn from_json(value: Value) -> Result<Self, WebhookParseError> {
        let Value::Object(map) = value else {
            return Err(WebhookParseError::Shape(format!(
                "the body is {}",
                raw::kind(&value)
            )));
        };
        let mut r = Reader::new(map);
        let object = match r.take("object") {
            None => String::new(),
            Some(Value::String(s)) if s == WHATSAPP_BUSINESS_ACCOUNT => s,
            Some(Value::String(s)) => return Err(WebhookParseError::WrongObject(s)),
            Some(other) => return Err(WebhookParseError::WrongObject(other.to_string())),
        };
        let entry = match r.take("entry") {
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    Entry::from_value(item)
                        .map_err(|e| WebhookParseError::Shape(format!("entry[{i}]: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(WebhookParseError::Shape(format!(
                    "`entry` is {}",
                    raw::kind(&other)
                )));
            }
            None => return Err(WebhookParseError::Shape("`entry` is missing".to_owned())),
        };
        Ok(Self {
            object,
            entry,
            extra: r.rest(),
        })
    }

    fn to_object(&self) -> Object {
        let mut w = Writer::new();
        if !self.object.is_empty() {
            w.str("object", &self.object);
        }
        w.value("entry", &self.entry).extra(&self.extra).finish()
    }

    /// Every change of every entry, with its entry.
    pub fn changes(&self) -> impl Iterator<Item = (&Entry, &Change)> {
        self.entry
            .iter()
            .flat_map(|e| e.changes.iter().map(move |c| (e, c)))
    }

    /// Every `messages` change value, with its entry.
    pub fn messages_values(&self) -> impl Iterator<Item = (&Entry, &MessagesValue)> {
        self.changes().filter_map(|(e, c)| match &c.value {
            ChangeValue::Messages(v) => Some((e, v)),
            _ => None,
        })
    }
}

impl Serialize for Notification {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_object().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Notification {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_json(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// `entry[]`: changes for one WhatsApp Business Account.
///
/// `id` is `""` when absent and is then not written back (so an explicit `"id": ""` would not survive a round trip;
/// Meta always sends a non-empty id).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The WhatsApp Business Account id (`""` if absent or not a string; a non-string id stays in `extra`).
    pub id: String,
    /// Unix seconds, present on some non-`messages` fields.
    pub time: Option<i64>,
    /// The changes (empty if absent; an empty or non-array `changes` stays in `extra`).
    pub changes: Vec<Change>,
    /// Members not modelled here, kept verbatim.
    pub extra: Object,
}

impl Entry {
    fn from_object(map: Object) -> Result<Self, String> {
        let mut r = Reader::new(map);
        let id = r.string("id").unwrap_or_default();
        let time = r.typed::<i64>("time");
        let changes = r.strict_list("changes", Change::from_value)?;
        Ok(Self {
            id,
            time,
            changes,
            extra: r.rest(),
        })
    }

    fn to_object(&self) -> Object {
        let mut w = Writer::new();
        if !self.id.is_empty() {
            w.str("id", &self.id);
        }
        w.opt("time", self.time.as_ref())
            .list("changes", &self.changes)
            .extra(&self.extra)
            .finish()
    }
}

object_serde!(Entry, "entry");

/// `changes[]`: one webhook field's update.
///
/// `field` is `""` when the change had none (it is then not written back, so an explicit `"field": ""` is not
/// reproduced); a change without `value` gets
/// [`ChangeValue::Unparsed`] with `Value::Null`, written back as `"value": null`.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The webhook field: `messages`, `account_update`, `message_template_status_update`, …
    pub field: String,
    /// The typed value.
    pub value: ChangeValue,
    /// Members not modelled here, kept verbatim.
    pub extra: Object,
}

impl Change {
    fn from_object(map: Object) -> Result<Self, String> {
        let mut r = Reader::new(map);
        let field = r.string("field").unwrap_or_default();
        let value = match r.take("value") {
            Some(v) => ChangeValue::parse(&field, v),
            None => ChangeValue::Unparsed {
                value: Value::Null,
                error: "the change has no `value`".to_owned(),
            },
        };
        Ok(Self {
            field,
            value,
            extra: r.rest(),
        })
    }

    fn to_object(&self) -> Object {
        let mut w = Writer::new();
        if !self.field.is_empty() {
            w.str("field", &self.field);
        }
        w.raw("value", self.value.to_json())
            .extra(&self.extra)
            .finish()
    }
}

object_serde!(Change, "change");

/// The value of a change, typed by its `field`.
///
/// Serialises as the bare value (no tag), exactly as received.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeValue {
    /// `messages`: inbound messages, statuses of outbound messages, errors.
    Messages(MessagesValue),
    /// `account_update`.
    AccountUpdate(AccountUpdate),
    /// `message_template_status_update`.
    TemplateStatusUpdate(TemplateStatusUpdate),
    /// `message_template_quality_update`.
    TemplateQualityUpdate(TemplateQualityUpdate),
    /// `template_category_update`.
    TemplateCategoryUpdate(TemplateCategoryUpdate),
    /// `phone_number_name_update`.
    PhoneNumberNameUpdate(PhoneNumberNameUpdate),
    /// `phone_number_quality_update`.
    PhoneNumberQualityUpdate(PhoneNumberQualityUpdate),
    /// `business_capability_update`.
    BusinessCapabilityUpdate(BusinessCapabilityUpdate),
    /// `user_preferences`.
    UserPreferences(UserPreferencesValue),
    /// `smb_message_echoes`.
    SmbMessageEchoes(MessageEchoesValue),
    /// Any field not modelled by this crate (`history`, `smb_app_state_sync`, `security`, `partner_solutions`,
    /// `payment_configuration_update`, `account_review_update`, `message_template_components_update`, `calls`,
    /// `group_*`, …): the value verbatim.
    Other(Value),
    /// A modelled field whose value did not fit the model: the value verbatim and why.
    Unparsed {
        /// The value as received.
        value: Value,
        /// Why it could not be typed.
        error: String,
    },
}

impl ChangeValue {
    /// Types `value` according to `field`; never fails.
    pub fn parse(field: &str, value: Value) -> Self {
        match field {
            "messages" => typed(
                value,
                |v| MessagesValue::from_value(v.clone()),
                Self::Messages,
            ),
            "account_update" => typed(value, serde_lossless, Self::AccountUpdate),
            "message_template_status_update" => {
                typed(value, serde_lossless, Self::TemplateStatusUpdate)
            }
            "message_template_quality_update" => {
                typed(value, serde_lossless, Self::TemplateQualityUpdate)
            }
            "template_category_update" => {
                typed(value, serde_lossless, Self::TemplateCategoryUpdate)
            }
            "phone_number_name_update" => typed(value, serde_lossless, Self::PhoneNumberNameUpdate),
            "phone_number_quality_update" => {
                typed(value, serde_lossless, Self::PhoneNumberQualityUpdate)
            }
            "business_capability_update" => {
                typed(value, serde_lossless, Self::BusinessCapabilityUpdate)
            }
            "user_preferences" => typed(value, serde_lossless, Self::UserPreferences),
            "smb_message_echoes" => typed(value, serde_lossless, Self::SmbMessageEchoes),
            _ => Self::Other(value),
        }
    }

    /// The value as JSON, exactly as received.
    pub fn to_json(&self) -> Value {
        let v = match self {
            Self::Messages(v) => serde_json::to_value(v),
            Self::AccountUpdate(v) => serde_json::to_value(v),
            Self::TemplateStatusUpdate(v) => serde_json::to_value(v),
            Self::TemplateQualityUpdate(v) => serde_json::to_value(v),
            Self::TemplateCategoryUpdate(v) => serde_json::to_value(v),
            Self::PhoneNumberNameUpdate(v) => serde_json::to_value(v),
            Self::PhoneNumberQualityUpdate(v) => serde_json::to_value(v),
            Self::BusinessCapabilityUpdate(v) => serde_json::to_value(v),
            Self::UserPreferences(v) => serde_json::to_value(v),
            Self::SmbMessageEchoes(v) => serde_json::to_value(v),
            Self::Other(v) | Self::Unparsed { value: v, .. } => return v.clone(),
        };
        // Our models serialise to JSON infallibly (string keys, finite numbers only).
        v.unwrap_or(Value::Null)
    }
}

impl Serialize for ChangeValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

fn serde_lossless<T: serde::de::DeserializeOwned + Serialize>(value: &Value) -> Result<T, String> {
    match T::deserialize(value) {
        Err(e) => Err(e.to_string()),
        Ok(_) => lossless(value)
            .ok_or_else(|| "the typed model would not reproduce this value".to_owned()),
    }
}

fn typed<T: Serialize>(
    value: Value,
    parse: impl FnOnce(&Value) -> Result<T, String>,
    wrap: impl FnOnce(T) -> ChangeValue,
) -> ChangeValue {
    match parse(&value) {
        Ok(t) => match serde_json::to_value(&t) {
            Ok(back) if back == value => wrap(t),
            _ => ChangeValue::Unparsed {
                value,
                error: "the typed model would not reproduce this value".to_owned(),
            },
        },
        Err(error) => ChangeValue::Unparsed { value, error },
    }
}

/// The value of a `messages` change: inbound messages, statuses of outbound messages, or errors.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagesValue {
    /// `"whatsapp"`.
    pub messaging_product: Option<String>,
    /// Which business number.
    pub metadata: Metadata,
    /// The users concerned (absent for system messages and some statuses).
    pub contacts: Vec<Contact>,
    /// Inbound messages.
    pub messages: Vec<Message>,
    /// Status updates of outbound messages.
    pub statuses: Vec<Status>,
    /// System, app or account-level errors.
    pub errors: Vec<ErrorObject>,
    /// Members not modelled here, kept verbatim.
    pub extra: Object,
}

impl MessagesValue {
    fn from_object(map: Object) -> Result<Self, String> {
        let mut r = Reader::new(map);
        let messaging_product = r.string("messaging_product");
        let metadata = match r.take("metadata") {
            None => return Err("`metadata` is missing".to_owned()),
            Some(v) => lossless::<Metadata>(&v).ok_or_else(|| {
                "`metadata` is not {display_phone_number, phone_number_id} strings".to_owned()
            })?,
        };
        let contacts = r.strict_list("contacts", |v| {
            lossless::<Contact>(&v).ok_or_else(|| "does not fit the contact model".to_owned())
        })?;
        let messages = r.strict_list("messages", message::parse_message_value)?;
        let statuses = r.strict_list("statuses", status::parse_status_value)?;
        let errors = r.strict_list("errors", |v| {
            lossless::<ErrorObject>(&v).ok_or_else(|| "does not fit the error model".to_owned())
        })?;
        Ok(Self {
            messaging_product,
            metadata,
            contacts,
            messages,
            statuses,
            errors,
            extra: r.rest(),
        })
    }

    fn to_object(&self) -> Object {
        Writer::new()
            .opt_str("messaging_product", self.messaging_product.as_deref())
            .value("metadata", &self.metadata)
            .list("contacts", &self.contacts)
            .list("messages", &self.messages)
            .list("statuses", &self.statuses)
            .list("errors", &self.errors)
            .extra(&self.extra)
            .finish()
    }

    /// The contact a message comes from: matched on BSUID first, then on `wa_id == from`; with a single contact and
    /// a single message, that contact.
    pub fn contact_for(&self, message: &Message) -> Option<&Contact> {
        let by_user = message.from_user_id.as_deref().and_then(|u| {
            self.contacts
                .iter()
                .find(|c| c.user_id.as_deref() == Some(u))
        });
        let by_phone = || {
            message
                .from
                .as_deref()
                .and_then(|f| self.contacts.iter().find(|c| c.wa_id.as_deref() == Some(f)))
        };
        by_user
            .or_else(by_phone)
            .or_else(|| match (&self.contacts[..], &self.messages[..]) {
                ([only], [_]) => Some(only),
                _ => None,
            })
    }
}

object_serde!(MessagesValue, "messages value");
