//! Inbound messages: `value.messages[]` of the `messages` field.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::common::{ErrorObject, expect_object};
use super::raw::{Object, Reader, Writer, lossless, object_serde};
use super::timestamp::Timestamp;

/// One inbound message (`value.messages[]`).
///
/// A `Message` needs only a string `id` and a [`Timestamp`]; everything else is optional. The typed fields are
/// filled only when the JSON fits the model exactly (so that [`Message::to_value`] gives back the very object that
/// was parsed); whatever does not fit stays, verbatim, in [`Message::extra`], and a body that does not fit its
/// `type` makes the content [`MessageContent::Unknown`]. Parsing fails (and the enclosing change degrades to
/// [`super::ChangeValue::Unparsed`]) only when `id` is missing or not a string, or `timestamp` is missing or not
/// canonical Unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The message id (`wamid.…`, up to 128 characters; test payloads use other forms).
    pub id: String,
    /// The sender's phone number / WhatsApp id. May be absent since 2026 for users with a username.
    pub from: Option<String>,
    /// The sender's business-scoped user id (BSUID).
    pub from_user_id: Option<String>,
    /// The sender's parent BSUID.
    pub from_parent_user_id: Option<String>,
    /// When the user sent the message (for reactions: when they reacted).
    pub timestamp: Timestamp,
    /// Set on messages in a group (Groups API); `from` is then the participant.
    pub group_id: Option<String>,
    /// Reply-to / forwarded / product-enquiry context.
    pub context: Option<Context>,
    /// Click-to-WhatsApp ad referral.
    pub referral: Option<Referral>,
    /// Errors attached to the message (with `type: "unsupported"`).
    pub errors: Vec<ErrorObject>,
    /// Identity-change information that comes with `customer_identity_changed` system messages.
    pub identity: Option<Identity>,
    /// The `type` and its object.
    pub content: MessageContent,
    /// Everything not modelled above, verbatim.
    pub extra: Object,
}

impl Message {
    fn from_object(map: Object) -> Result<Self, String> {
        let mut r = Reader::new(map);
        let id = r.required_string("id", "message")?;
        let timestamp = match r.take("timestamp") {
            None => return Err("message: `timestamp` is missing".to_owned()),
            Some(v) => serde_json::from_value::<Timestamp>(v)
                .map_err(|e| format!("message: `timestamp`: {e}"))?,
        };
        let from = r.string("from");
        let from_user_id = r.string("from_user_id");
        let from_parent_user_id = r.string("from_parent_user_id");
        let group_id = r.string("group_id");
        let context = r.typed("context");
        let referral = r.typed("referral");
        let errors = r.list("errors");
        let identity = r.typed("identity");
        let content = MessageContent::take(&mut r);
        Ok(Self {
            id,
            from,
            from_user_id,
            from_parent_user_id,
            timestamp,
            group_id,
            context,
            referral,
            errors,
            identity,
            content,
            extra: r.rest(),
        })
    }

    fn to_object(&self) -> Object {
        let mut w = Writer::new();
        w.str("id", &self.id)
            .opt_str("from", self.from.as_deref())
            .opt_str("from_user_id", self.from_user_id.as_deref())
            .opt_str("from_parent_user_id", self.from_parent_user_id.as_deref())
            .value("timestamp", &self.timestamp)
            .opt_str("group_id", self.group_id.as_deref())
            .opt("context", self.context.as_ref())
            .opt("referral", self.referral.as_ref())
            .list("errors", &self.errors)
            .opt("identity", self.identity.as_ref());
        self.content.put(&mut w);
        w.extra(&self.extra).finish()
    }

    /// The `type` string as sent (`"text"`, `"image"`, …, or whatever unknown type came); `""` when absent.
    pub fn type_name(&self) -> &str {
        self.content.type_name()
    }

    /// Whether the message was sent in a group.
    pub fn is_group(&self) -> bool {
        self.group_id.is_some()
    }

    /// The id of the message this one replies to, reacts to, revokes or edits, if any.
    pub fn refers_to(&self) -> Option<&str> {
        match &self.content {
            MessageContent::Reaction(r) => Some(r.message_id.as_str()),
            MessageContent::Revoke(r) => Some(r.original_message_id.as_str()),
            MessageContent::Edit(e) => Some(e.original_message_id.as_str()),
            _ => self.context.as_ref().and_then(|c| c.id.as_deref()),
        }
    }
}

object_serde!(Message, "message");

/// The typed body of a message, selected by its `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    /// `type: "text"`.
    Text(Text),
    /// `type: "image"`.
    Image(Media),
    /// `type: "video"`.
    Video(Media),
    /// `type: "audio"`; [`Media::voice`] is `Some(true)` for voice notes.
    Audio(Media),
    /// `type: "document"`.
    Document(Media),
    /// `type: "sticker"`; [`Media::animated`] tells animated stickers.
    Sticker(Media),
    /// `type: "location"`.
    Location(Location),
    /// `type: "contacts"`: shared contact cards.
    Contacts(Vec<SharedContact>),
    /// `type: "interactive"`: a reply to a button, list or flow.
    Interactive(Interactive),
    /// `type: "button"`: a template quick-reply button tap.
    Button(Button),
    /// `type: "reaction"`; see [`Reaction::is_removal`].
    Reaction(Reaction),
    /// `type: "order"`.
    Order(Order),
    /// `type: "system"`: number or identity change.
    System(System),
    /// `type: "unsupported"`; the object (with its own `type`) is optional, the reason is in [`Message::errors`].
    Unsupported(Option<Unsupported>),
    /// `type: "revoke"`: the user deleted a message (coexistence numbers).
    Revoke(Revoke),
    /// `type: "edit"`: the user edited a message (coexistence numbers).
    Edit(Box<Edit>),
    /// `type: "request_welcome"`: the user opened the chat for the first time.
    RequestWelcome,
    /// Any other `type`, or a known type whose object is missing or does not fit the model.
    Unknown {
        /// The `type` string, if it was a string.
        type_name: Option<String>,
        /// The JSON found under the key named by `type`, verbatim.
        body: Option<Value>,
    },
}

impl MessageContent {
    /// Takes `type` and its object out of a message object.
    fn take(r: &mut Reader) -> Self {
        let Some(type_name) = r.string("type") else {
            return Self::Unknown {
                type_name: None,
                body: None,
            };
        };
        let body = r.take(&type_name);
        let parsed = match (type_name.as_str(), &body) {
            ("text", Some(b)) => lossless(b).map(Self::Text),
            ("image", Some(b)) => lossless(b).map(Self::Image),
            ("video", Some(b)) => lossless(b).map(Self::Video),
            ("audio", Some(b)) => lossless(b).map(Self::Audio),
            ("document", Some(b)) => lossless(b).map(Self::Document),
            ("sticker", Some(b)) => lossless(b).map(Self::Sticker),
            ("location", Some(b)) => lossless(b).map(Self::Location),
            ("contacts", Some(b)) => lossless(b).map(Self::Contacts),
            ("interactive", Some(b)) => lossless(b).map(Self::Interactive),
            ("button", Some(b)) => lossless(b).map(Self::Button),
            ("reaction", Some(b)) => lossless(b).map(Self::Reaction),
            ("order", Some(b)) => lossless(b).map(Self::Order),
            ("system", Some(b)) => lossless(b).map(Self::System),
            ("unsupported", None) => Some(Self::Unsupported(None)),
            ("unsupported", Some(b)) => lossless(b).map(|u| Self::Unsupported(Some(u))),
            ("revoke", Some(b)) => lossless(b).map(Self::Revoke),
            ("edit", Some(b)) => lossless(b).map(|e| Self::Edit(Box::new(e))),
            ("request_welcome", None) => Some(Self::RequestWelcome),
            _ => None,
        };
        parsed.unwrap_or(Self::Unknown {
            type_name: Some(type_name),
            body,
        })
    }

    /// Writes `type` and its object.
    fn put(&self, w: &mut Writer) {
        let name = self.type_name();
        match self {
            Self::Unknown { type_name, body } => {
                if let Some(t) = type_name {
                    w.str("type", t);
                    if let Some(b) = body {
                        w.raw(t, b.clone());
                    }
                }
                return;
            }
            Self::RequestWelcome | Self::Unsupported(None) => {
                w.str("type", name);
                return;
            }
            _ => {}
        }
        w.str("type", name);
        match self {
            Self::Text(b) => w.value(name, b),
            Self::Image(b)
            | Self::Video(b)
            | Self::Audio(b)
            | Self::Document(b)
            | Self::Sticker(b) => w.value(name, b),
            Self::Location(b) => w.value(name, b),
            Self::Contacts(b) => w.value(name, b),
            Self::Interactive(b) => w.value(name, b),
            Self::Button(b) => w.value(name, b),
            Self::Reaction(b) => w.value(name, b),
            Self::Order(b) => w.value(name, b),
            Self::System(b) => w.value(name, b),
            Self::Unsupported(b) => w.opt(name, b.as_ref()),
            Self::Revoke(b) => w.value(name, b),
            Self::Edit(b) => w.value(name, b),
            Self::RequestWelcome | Self::Unknown { .. } => w,
        };
    }

    /// The `type` string (`""` for an [`MessageContent::Unknown`] without a string `type`).
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text(_) => "text",
            Self::Image(_) => "image",
            Self::Video(_) => "video",
            Self::Audio(_) => "audio",
            Self::Document(_) => "document",
            Self::Sticker(_) => "sticker",
            Self::Location(_) => "location",
            Self::Contacts(_) => "contacts",
            Self::Interactive(_) => "interactive",
            Self::Button(_) => "button",
            Self::Reaction(_) => "reaction",
            Self::Order(_) => "order",
            Self::System(_) => "system",
            Self::Unsupported(_) => "unsupported",
            Self::Revoke(_) => "revoke",
            Self::Edit(_) => "edit",
            Self::RequestWelcome => "request_welcome",
            Self::Unknown { type_name, .. } => type_name.as_deref().unwrap_or(""),
        }
    }

    /// The media object of image, video, audio, document and sticker messages.
    pub fn media(&self) -> Option<&Media> {
        match self {
            Self::Image(m)
            | Self::Video(m)
            | Self::Audio(m)
            | Self::Document(m)
            | Self::Sticker(m) => Some(m),
            _ => None,
        }
    }

    /// Whether this is [`MessageContent::Unknown`].
    pub fn is_unknown(&self) -> bool {
        matches!(self, Self::Unknown { .. })
    }
}

/// `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Text {
    /// The text.
    pub body: String,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// The object of `image`, `video`, `audio`, `document` and `sticker` messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// Media id, to download through the Graph API (valid 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// MIME type, e.g. `"image/jpeg"`, `"audio/ogg; codecs=opus"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// SHA-256 of the file (base64 in Meta's examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Caption (image, video, document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// File name (document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Direct download URL (newer payloads; needs the access token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `true` for a voice note (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<bool>,
    /// `true` for an animated sticker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animated: Option<bool>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `location`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude, as sent (a JSON number).
    pub latitude: Number,
    /// Longitude, as sent (a JSON number).
    pub longitude: Number,
    /// Place name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// URL of the place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

impl Location {
    /// Latitude in degrees.
    pub fn latitude_f64(&self) -> Option<f64> {
        self.latitude.as_f64()
    }

    /// Longitude in degrees.
    pub fn longitude_f64(&self) -> Option<f64> {
        self.longitude.as_f64()
    }
}

/// A contact card in a `contacts` message. Every field may be omitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SharedContact {
    /// The name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ContactName>,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<ContactPhone>,
    /// E-mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<ContactEmail>,
    /// Organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<ContactOrg>,
    /// URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<ContactUrl>,
    /// Postal addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<ContactAddress>,
    /// Birthday, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `contacts[].name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactName {
    /// Full name as displayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted_name: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `contacts[].phones[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactPhone {
    /// The number as typed in the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// WhatsApp id, when the number is on WhatsApp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// `CELL`, `MAIN`, `IPHONE`, `HOME`, `WORK`, …
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `contacts[].emails[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactEmail {
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `HOME`, `WORK`, …
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `contacts[].org`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactOrg {
    /// Company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `contacts[].urls[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactUrl {
    /// The URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `HOME`, `WORK`, …
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `contacts[].addresses[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactAddress {
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ZIP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Country name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// `HOME`, `WORK`, …
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `interactive`: the user's answer to an interactive message.
///
/// Known kinds (`button_reply`, `list_reply`, `nfm_reply`) are typed; any other kind (e.g.
/// `call_permission_reply`) is kept as the raw object in [`Interactive::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum Interactive {
    /// A reply button was tapped.
    ButtonReply(ReplyButton),
    /// A list row was chosen.
    ListReply(ListReply),
    /// A WhatsApp Flow was completed.
    NfmReply(NfmReply),
    /// Any other interactive kind, or one that does not fit the model: the whole `interactive` object, verbatim.
    Other(Object),
}

impl Interactive {
    /// The interactive `type` string.
    pub fn type_name(&self) -> &str {
        match self {
            Self::ButtonReply(_) => "button_reply",
            Self::ListReply(_) => "list_reply",
            Self::NfmReply(_) => "nfm_reply",
            Self::Other(map) => map.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    fn from_object(map: Object) -> Result<Self, String> {
        let typed = (|| {
            let t = map.get("type")?.as_str()?;
            if map.len() != 2 {
                return None;
            }
            let body = map.get(t)?;
            match t {
                "button_reply" => lossless(body).map(Self::ButtonReply),
                "list_reply" => lossless(body).map(Self::ListReply),
                "nfm_reply" => lossless(body).map(Self::NfmReply),
                _ => None,
            }
        })();
        Ok(typed.unwrap_or(Self::Other(map)))
    }

    fn to_object(&self) -> Object {
        let mut w = Writer::new();
        let name = self.type_name();
        match self {
            Self::ButtonReply(b) => w.str("type", name).value(name, b),
            Self::ListReply(b) => w.str("type", name).value(name, b),
            Self::NfmReply(b) => w.str("type", name).value(name, b),
            Self::Other(map) => w.extra(map),
        };
        w.finish()
    }
}

object_serde!(Interactive, "interactive");

/// `interactive.button_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyButton {
    /// The button id the business set.
    pub id: String,
    /// The button label.
    pub title: String,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `interactive.list_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListReply {
    /// The row id the business set.
    pub id: String,
    /// The row title.
    pub title: String,
    /// The row description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `interactive.nfm_reply`: a completed WhatsApp Flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NfmReply {
    /// The flow's response, a JSON document **in a string**.
    pub response_json: String,
    /// Usually `"Sent"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Usually `"flow"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

impl NfmReply {
    /// Parses [`NfmReply::response_json`].
    pub fn response(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.response_json)
    }
}

/// `button`: a template quick-reply button tap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    /// The payload the business set on the button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The button label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `reaction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reaction {
    /// The message reacted to.
    pub message_id: String,
    /// The emoji; absent (current payloads) or `""` (older ones) when the user removed their reaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

impl Reaction {
    /// `true` when this reaction removes an earlier one (emoji missing or empty).
    pub fn is_removal(&self) -> bool {
        self.emoji.as_deref().is_none_or(str::is_empty)
    }

    /// The emoji, if this is not a removal.
    pub fn emoji(&self) -> Option<&str> {
        self.emoji.as_deref().filter(|e| !e.is_empty())
    }
}

/// `order`: a cart sent from a catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The catalog id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    /// Text the user sent with the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_items: Vec<ProductItem>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `order.product_items[]`. Quantities and prices are kept as the JSON numbers sent (prices are decimals in the
/// item currency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductItem {
    /// Product id in the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_retailer_id: Option<String>,
    /// Quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Number>,
    /// Unit price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_price: Option<Number>,
    /// ISO 4217 currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `system`: the user changed number or identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct System {
    /// Human-readable description, e.g. `"User A changed from 1 to 2"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The user's new WhatsApp id (number changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// The kind as sent; see [`System::kind`].
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Older payloads: the customer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// What a [`System`] message announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemKind {
    /// `user_changed_number`.
    UserChangedNumber,
    /// `customer_changed_number` (older API versions).
    CustomerChangedNumber,
    /// `customer_identity_changed`.
    CustomerIdentityChanged,
    /// Anything else (or no `type`): the string as sent, `""` when absent.
    Other(String),
}

impl System {
    /// The kind of system message.
    pub fn kind(&self) -> SystemKind {
        match self.type_name.as_deref() {
            Some("user_changed_number") => SystemKind::UserChangedNumber,
            Some("customer_changed_number") => SystemKind::CustomerChangedNumber,
            Some("customer_identity_changed") => SystemKind::CustomerIdentityChanged,
            other => SystemKind::Other(other.unwrap_or("").to_owned()),
        }
    }
}

/// `identity` on a `customer_identity_changed` system message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Whether the business acknowledged the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<bool>,
    /// When the identity was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<Timestamp>,
    /// Identity hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `unsupported`: what kind of message WhatsApp could not deliver through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unsupported {
    /// The unsupported kind, e.g. `"edit"`, `"poll_creation"`, `"gif"`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `revoke`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revoke {
    /// The deleted message.
    pub original_message_id: String,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `edit`: the new version of an earlier message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edit {
    /// The edited message.
    pub original_message_id: String,
    /// The new content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<EditedMessage>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `edit.message`: a message body without id or timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct EditedMessage {
    /// Context of the new version.
    pub context: Option<Context>,
    /// The new content.
    pub content: MessageContent,
    /// Fields not modelled here, kept verbatim.
    pub extra: Object,
}

impl EditedMessage {
    fn from_object(map: Object) -> Result<Self, String> {
        let mut r = Reader::new(map);
        let context = r.typed("context");
        let content = MessageContent::take(&mut r);
        Ok(Self {
            context,
            content,
            extra: r.rest(),
        })
    }

    fn to_object(&self) -> Object {
        let mut w = Writer::new();
        w.opt("context", self.context.as_ref());
        self.content.put(&mut w);
        w.extra(&self.extra).finish()
    }
}

object_serde!(EditedMessage, "edit.message");

/// `context`: what an inbound message relates to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The business number the quoted message came from (replies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The id of the quoted message (replies, button taps, product enquiries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Forwarded (5 times or fewer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<bool>,
    /// Forwarded more than 5 times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequently_forwarded: Option<bool>,
    /// The product asked about ("Message business" on a product).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_product: Option<ReferredProduct>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

impl Context {
    /// Forwarded at all (either flag).
    pub fn is_forwarded(&self) -> bool {
        self.forwarded == Some(true) || self.frequently_forwarded == Some(true)
    }
}

/// `context.referred_product`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferredProduct {
    /// Catalog id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    /// Product id in the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_retailer_id: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `referral`: the user came from a Click-to-WhatsApp ad or post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    /// URL of the ad or post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Ad or post id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// `"ad"` or `"post"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Ad body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Ad headline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    /// `"image"` or `"video"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Video URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// Thumbnail URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// Click id (absent for WhatsApp Status placements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctwa_clid: Option<String>,
    /// The ad's welcome message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<WelcomeMessage>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// `referral.welcome_message`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WelcomeMessage {
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Fields not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Object,
}

/// Parses a message item, for callers holding a `Value`.
pub(crate) fn parse_message_value(value: Value) -> Result<Message, String> {
    Message::from_object(expect_object(value, "message")?)
}
