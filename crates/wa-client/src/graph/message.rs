//! Outgoing messages: the body of `POST /{phone-number-id}/messages`, built exactly as Meta documents it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A message to send: recipient, content and the optional top-level fields (`context`, `biz_opaque_callback_data`).
///
/// ```
/// use wa_client::graph::OutgoingMessage;
/// let reply = OutgoingMessage::text("+16505551234", "Your order shipped")
///     .reply_to("wamid.IN")
///     .callback_data("reply-42");
/// let json = reply.to_json();
/// assert_eq!(json["context"]["message_id"], "wamid.IN");
/// assert_eq!(json["biz_opaque_callback_data"], "reply-42");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    /// Phone number (with `+` and country code), WhatsApp id, group id or BSUID.
    pub to: String,
    /// `recipient_type`: `"individual"` (default) or `"group"`.
    pub recipient_type: String,
    /// The content.
    pub content: Content,
    /// `context.message_id`: the message this one replies to (quotes).
    pub reply_to: Option<String>,
    /// `biz_opaque_callback_data`: echoed by Meta in every status webhook of this message (max 512 characters).
    pub biz_opaque_callback_data: Option<String>,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// `type: "text"`.
    Text {
        /// The text (max 4096 characters).
        body: String,
        /// Render a link preview for the first URL.
        preview_url: bool,
    },
    /// `type: "image" | "video" | "audio" | "document" | "sticker"`.
    Media {
        /// Which kind.
        kind: MediaKind,
        /// Uploaded media id or public link.
        source: MediaSource,
        /// Caption (image, video, document only).
        caption: Option<String>,
        /// File name shown to the user (document only).
        filename: Option<String>,
    },
    /// `type: "template"`.
    Template(Template),
    /// `type: "reaction"`; an empty emoji removes the reaction.
    Reaction {
        /// The wamid reacted to.
        message_id: String,
        /// The emoji.
        emoji: String,
    },
    /// `type: "interactive"` with the `interactive` object as given (buttons, lists, CTA URL, flows ...).
    Interactive(Value),
    /// `type: "location"`.
    Location {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// Place name.
        name: Option<String>,
        /// Address.
        address: Option<String>,
    },
}

/// The media kinds a message can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// `image` (JPEG, PNG; 5 MB).
    Image,
    /// `video` (MP4, 3GPP; 16 MB).
    Video,
    /// `audio` (AAC, AMR, MP3, M4A, OGG/Opus; 16 MB).
    Audio,
    /// `document` (PDF, Office, text; 100 MB).
    Document,
    /// `sticker` (WebP; 100 KB static, 500 KB animated).
    Sticker,
}

impl MediaKind {
    /// All kinds.
    pub const ALL: [MediaKind; 5] = [
        Self::Image,
        Self::Video,
        Self::Audio,
        Self::Document,
        Self::Sticker,
    ];

    /// Meta's name for the kind, also the message `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }

    /// Parses Meta's name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    fn takes_caption(self) -> bool {
        matches!(self, Self::Image | Self::Video | Self::Document)
    }
}

/// Where media comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    /// An id returned by [`GraphClient::upload_media`](super::GraphClient::upload_media).
    Id(String),
    /// A public HTTPS URL Meta fetches (cached 10 minutes per URL).
    Link(String),
}

impl MediaSource {
    fn to_object(&self) -> Map<String, Value> {
        let mut object = Map::new();
        match self {
            Self::Id(id) => object.insert("id".into(), Value::String(id.clone())),
            Self::Link(link) => object.insert("link".into(), Value::String(link.clone())),
        };
        object
    }
}

/// A template send: name, language and the parameters of its components.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The template name.
    pub name: String,
    /// Language code, e.g. `"en_US"`.
    pub language: String,
    /// Components with parameters; components without parameters are left out.
    pub components: Vec<TemplateComponent>,
}

impl Template {
    /// A template with no parameters.
    pub fn new(name: impl Into<String>, language: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            language: language.into(),
            components: Vec::new(),
        }
    }

    /// Adds a component.
    #[must_use]
    pub fn component(mut self, component: TemplateComponent) -> Self {
        self.components.push(component);
        self
    }

    fn to_json(&self) -> Value {
        let mut object = json!({ "name": self.name, "language": { "code": self.language } });
        if !self.components.is_empty() {
            object["components"] = self
                .components
                .iter()
                .map(TemplateComponent::to_json)
                .collect();
        }
        object
    }
}

/// A template component's parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateComponent {
    /// `type: "header"`: a text parameter or one media parameter.
    Header(Vec<TemplateParameter>),
    /// `type: "body"`.
    Body(Vec<TemplateParameter>),
    /// `type: "button"` with `sub_type` (`"quick_reply"`, `"url"`, `"copy_code"`, ...) and `index` (0-based).
    Button {
        /// `sub_type`.
        sub_type: String,
        /// `index` of the button in the template.
        index: u32,
        /// Its parameters (a payload, a URL suffix, a coupon code).
        parameters: Vec<TemplateParameter>,
    },
}

impl TemplateComponent {
    fn to_json(&self) -> Value {
        let parameters =
            |ps: &[TemplateParameter]| ps.iter().map(TemplateParameter::to_json).collect::<Value>();
        match self {
            Self::Header(ps) => json!({ "type": "header", "parameters": parameters(ps) }),
            Self::Body(ps) => json!({ "type": "body", "parameters": parameters(ps) }),
            Self::Button {
                sub_type,
                index,
                parameters: ps,
            } => json!({
                "type": "button", "sub_type": sub_type, "index": index.to_string(), "parameters": parameters(ps)
            }),
        }
    }
}

/// One template parameter: positional (`name: None`, `{{1}}`) or named (`parameter_name`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateParameter {
    /// `parameter_name` for templates with `parameter_format: NAMED`.
    pub name: Option<String>,
    /// The value.
    pub value: ParameterValue,
}

impl TemplateParameter {
    /// A positional text parameter.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            name: None,
            value: ParameterValue::Text(text.into()),
        }
    }

    /// A named text parameter.
    pub fn named(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            value: ParameterValue::Text(text.into()),
        }
    }

    /// A header media parameter.
    pub fn media(kind: MediaKind, source: MediaSource) -> Self {
        Self {
            name: None,
            value: ParameterValue::Media { kind, source },
        }
    }

    /// A quick-reply button payload.
    pub fn payload(payload: impl Into<String>) -> Self {
        Self {
            name: None,
            value: ParameterValue::Payload(payload.into()),
        }
    }

    fn to_json(&self) -> Value {
        let mut object = match &self.value {
            ParameterValue::Text(text) => json!({ "type": "text", "text": text }),
            ParameterValue::Currency {
                fallback_value,
                code,
                amount_1000,
            } => json!({
                "type": "currency",
                "currency": { "fallback_value": fallback_value, "code": code, "amount_1000": amount_1000 }
            }),
            ParameterValue::DateTime { fallback_value } => {
                json!({ "type": "date_time", "date_time": { "fallback_value": fallback_value } })
            }
            ParameterValue::Media { kind, source } => {
                let mut o = Map::new();
                o.insert("type".into(), Value::String(kind.as_str().into()));
                o.insert(kind.as_str().into(), Value::Object(source.to_object()));
                Value::Object(o)
            }
            ParameterValue::Payload(payload) => json!({ "type": "payload", "payload": payload }),
            ParameterValue::CouponCode(code) => {
                json!({ "type": "coupon_code", "coupon_code": code })
            }
        };
        if let Some(name) = &self.name {
            object["parameter_name"] = Value::String(name.clone());
        }
        object
    }
}

/// A template parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParameterValue {
    /// `type: "text"`.
    Text(String),
    /// `type: "currency"`; `amount_1000` is the amount times 1000.
    Currency {
        /// Text shown if localisation fails.
        fallback_value: String,
        /// ISO 4217 code.
        code: String,
        /// Amount in thousandths.
        amount_1000: i64,
    },
    /// `type: "date_time"`.
    DateTime {
        /// Text shown.
        fallback_value: String,
    },
    /// `type: "image" | "video" | "document"` (header media).
    Media {
        /// Kind.
        kind: MediaKind,
        /// Source.
        source: MediaSource,
    },
    /// `type: "payload"` (quick-reply buttons).
    Payload(String),
    /// `type: "coupon_code"` (copy-code buttons).
    CouponCode(String),
}

impl OutgoingMessage {
    fn new(to: impl Into<String>, content: Content) -> Self {
        Self {
            to: to.into(),
            recipient_type: "individual".into(),
            content,
            reply_to: None,
            biz_opaque_callback_data: None,
        }
    }

    /// A text message (no link preview).
    pub fn text(to: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(
            to,
            Content::Text {
                body: body.into(),
                preview_url: false,
            },
        )
    }

    /// A media message.
    pub fn media(to: impl Into<String>, kind: MediaKind, source: MediaSource) -> Self {
        Self::new(
            to,
            Content::Media {
                kind,
                source,
                caption: None,
                filename: None,
            },
        )
    }

    /// A template message.
    pub fn template(to: impl Into<String>, template: Template) -> Self {
        Self::new(to, Content::Template(template))
    }

    /// A reaction to `message_id` (empty `emoji` removes it).
    pub fn reaction(
        to: impl Into<String>,
        message_id: impl Into<String>,
        emoji: impl Into<String>,
    ) -> Self {
        Self::new(
            to,
            Content::Reaction {
                message_id: message_id.into(),
                emoji: emoji.into(),
            },
        )
    }

    /// An interactive message with the given `interactive` object.
    pub fn interactive(to: impl Into<String>, interactive: Value) -> Self {
        Self::new(to, Content::Interactive(interactive))
    }

    /// Sets `context.message_id` (a reply quoting that message).
    #[must_use]
    pub fn reply_to(mut self, message_id: impl Into<String>) -> Self {
        self.reply_to = Some(message_id.into());
        self
    }

    /// Sets `biz_opaque_callback_data`, echoed in the status webhooks.
    #[must_use]
    pub fn callback_data(mut self, data: impl Into<String>) -> Self {
        self.biz_opaque_callback_data = Some(data.into());
        self
    }

    /// Sets `preview_url` on a text message (no effect on other content).
    #[must_use]
    pub fn preview_url(mut self, preview: bool) -> Self {
        if let Content::Text { preview_url, .. } = &mut self.content {
            *preview_url = preview;
        }
        self
    }

    /// Sets the caption of an image, video or document (no effect on other content).
    #[must_use]
    pub fn caption(mut self, text: impl Into<String>) -> Self {
        if let Content::Media { kind, caption, .. } = &mut self.content
            && kind.takes_caption()
        {
            *caption = Some(text.into());
        }
        self
    }

    /// Sets the file name of a document (no effect on other content).
    #[must_use]
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        if let Content::Media {
            kind: MediaKind::Document,
            filename,
            ..
        } = &mut self.content
        {
            *filename = Some(name.into());
        }
        self
    }

    /// Sends to a group (`recipient_type: "group"`, `to` is the group id).
    #[must_use]
    pub fn to_group(mut self) -> Self {
        self.recipient_type = "group".into();
        self
    }

    /// The message `type`.
    pub fn type_name(&self) -> &'static str {
        match &self.content {
            Content::Text { .. } => "text",
            Content::Media { kind, .. } => kind.as_str(),
            Content::Template(_) => "template",
            Content::Reaction { .. } => "reaction",
            Content::Interactive(_) => "interactive",
            Content::Location { .. } => "location",
        }
    }

    /// The request body Meta documents.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("messaging_product".into(), "whatsapp".into());
        body.insert(
            "recipient_type".into(),
            Value::String(self.recipient_type.clone()),
        );
        body.insert("to".into(), Value::String(self.to.clone()));
        body.insert("type".into(), self.type_name().into());
        if let Some(id) = &self.reply_to {
            body.insert("context".into(), json!({ "message_id": id }));
        }
        if let Some(data) = &self.biz_opaque_callback_data {
            body.insert(
                "biz_opaque_callback_data".into(),
                Value::String(data.clone()),
            );
        }
        let content = match &self.content {
            Content::Text { body, preview_url } => {
                json!({ "preview_url": preview_url, "body": body })
            }
            Content::Media {
                source,
                caption,
                filename,
                ..
            } => {
                let mut object = source.to_object();
                if let Some(caption) = caption {
                    object.insert("caption".into(), Value::String(caption.clone()));
                }
                if let Some(filename) = filename {
                    object.insert("filename".into(), Value::String(filename.clone()));
                }
                Value::Object(object)
            }
            Content::Template(template) => template.to_json(),
            Content::Reaction { message_id, emoji } => {
                json!({ "message_id": message_id, "emoji": emoji })
            }
            Content::Interactive(value) => value.clone(),
            Content::Location {
                latitude,
                longitude,
                name,
                address,
            } => {
                let mut object = json!({ "latitude": latitude, "longitude": longitude });
                if let Some(name) = name {
                    object["name"] = Value::String(name.clone());
                }
                if let Some(address) = address {
                    object["address"] = Value::String(address.clone());
                }
                object
            }
        };
        body.insert(self.type_name().into(), content);
        Value::Object(body)
    }
}

/// The answer to a send: Meta accepted the message (it is not yet sent or delivered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendResponse {
    /// Always `"whatsapp"`.
    #[serde(default)]
    pub messaging_product: String,
    /// The recipient as given and as resolved.
    #[serde(default)]
    pub contacts: Vec<SendContact>,
    /// The accepted message (one).
    pub messages: Vec<SentMessage>,
}

impl SendResponse {
    /// The wamid of the accepted message.
    pub fn message_id(&self) -> Option<&str> {
        self.messages.first().map(|m| m.id.as_str())
    }
}

/// `contacts[]` of a send response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendContact {
    /// The `to` as sent.
    pub input: String,
    /// The user's WhatsApp id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
}

/// `messages[]` of a send response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    /// The wamid; statuses will carry it.
    pub id: String,
    /// Template pacing: `"accepted"` or `"held_for_quality_assessment"` (template sends only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_status: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_with_named_parameters_and_header_image() {
        let template = Template::new("reservation_confirmation", "en_US")
            .component(TemplateComponent::Header(vec![TemplateParameter::media(
                MediaKind::Image,
                MediaSource::Id("2871834006348767".into()),
            )]))
            .component(TemplateComponent::Body(vec![TemplateParameter::named(
                "number_of_guests",
                "4",
            )]));
        let json = OutgoingMessage::template("16505551234", template).to_json();
        assert_eq!(
            json["template"]["components"][0]["parameters"][0]["image"]["id"],
            "2871834006348767"
        );
        assert_eq!(
            json["template"]["components"][1]["parameters"][0]["parameter_name"],
            "number_of_guests"
        );
        assert_eq!(json["template"]["language"]["code"], "en_US");
    }

    #[test]
    fn caption_ignored_on_audio_and_filename_only_on_documents() {
        let audio =
            OutgoingMessage::media("1", MediaKind::Audio, MediaSource::Id("m".into())).caption("x");
        assert_eq!(audio.to_json()["audio"], json!({"id": "m"}));
        let image = OutgoingMessage::media(
            "1",
            MediaKind::Image,
            MediaSource::Link("https://x/y.png".into()),
        )
        .caption("c")
        .filename("f");
        assert_eq!(
            image.to_json()["image"],
            json!({"link": "https://x/y.png", "caption": "c"})
        );
    }
}
