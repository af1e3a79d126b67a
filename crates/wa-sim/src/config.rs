//! Simulator configuration: numbers, tokens, webhooks, statuses, failures.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The simulator's source of "now" (webhook timestamps, media URL expiry).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The system clock: the one place wa-sim reads it.
pub fn system_clock() -> Clock {
    #[allow(clippy::disallowed_methods)]
    // A simulator is a process of its own; this is its wall clock.
    Arc::new(OffsetDateTime::now_utc)
}

/// A WhatsApp Business Account: its id and the token that may manage it (templates, adding numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimWaba {
    /// WABA id.
    pub id: String,
    /// Access token accepted for this WABA (tokens of its numbers are accepted too).
    pub token: String,
}

/// A business phone number the simulator knows, registered and connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimNumber {
    /// Phone number id (path segment of `/{id}/messages`).
    pub phone_number_id: String,
    /// Access token accepted for this number.
    pub token: String,
    /// The WABA it belongs to.
    pub waba_id: String,
    /// Display number, e.g. `"15550783881"`.
    pub display_phone_number: String,
    /// Verified name.
    pub verified_name: String,
}

impl SimNumber {
    /// A number with a display number derived from its id and the name `"wa-sim"`.
    pub fn new(
        phone_number_id: impl Into<String>,
        token: impl Into<String>,
        waba_id: impl Into<String>,
    ) -> Self {
        let phone_number_id = phone_number_id.into();
        let tail: String = phone_number_id
            .chars()
            .rev()
            .take(7)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Self {
            display_phone_number: format!("1555{tail}"),
            phone_number_id,
            token: token.into(),
            waba_id: waba_id.into(),
            verified_name: "wa-sim".into(),
        }
    }
}

/// Which status webhooks follow an accepted send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatusPlan {
    /// `sent`, `delivered`, `read` (the default).
    Read,
    /// `sent`, `read`: Meta omits `delivered` when both happen at once.
    ReadWithoutDelivered,
    /// `sent`, `delivered`.
    Delivered,
    /// `sent` only.
    Sent,
    /// Nothing.
    Nothing,
    /// `failed` with this error (no `sent` first).
    Failed {
        /// Meta's code, e.g. 131047.
        code: i64,
        /// Meta's title.
        title: String,
        /// `error_data.details`.
        details: String,
    },
}

impl StatusPlan {
    /// The status names in the order they are emitted.
    pub fn steps(&self) -> Vec<&'static str> {
        match self {
            Self::Read => vec!["sent", "delivered", "read"],
            Self::ReadWithoutDelivered => vec!["sent", "read"],
            Self::Delivered => vec!["sent", "delivered"],
            Self::Sent => vec!["sent"],
            Self::Nothing => vec![],
            Self::Failed { .. } => vec!["failed"],
        }
    }
}

/// A fault of one media object, set with `SimHandle::set_media_fault`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MediaFault {
    /// The download URL answers 404 (as Meta's CDN does for a file it no longer has), however fresh.
    NotFound,
    /// `GET /{media-id}` reports a sha256 that is not the file's.
    WrongSha256,
    /// The next `n` answers of `GET /{media-id}` carry a URL that has already expired (its 5 minutes are over by
    /// the time it is used), so its download answers 404; later answers are fresh again.
    ExpiredUrls {
        /// How many expired URLs to hand out.
        n: u32,
    },
}

/// A failure the simulator injects instead of (or after) accepting a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// `130429` Rate limit hit (HTTP 400, as Meta's own sample shows).
    RateLimit,
    /// `131056` pair rate limit (HTTP 400).
    PairRate,
    /// `131047` re-engagement message: more than 24 hours since the customer last wrote (HTTP 400).
    ReEngagement,
    /// `131026` message undeliverable (HTTP 400).
    Undeliverable,
    /// HTTP 500 with a plain-text body and no Graph error object.
    ServerError,
    /// Any Graph error: HTTP status, code, message, details.
    Graph {
        /// HTTP status.
        http_status: u16,
        /// Meta's code.
        code: i64,
        /// `message`.
        message: String,
        /// `error_data.details`.
        details: String,
    },
    /// Accept the message (it is recorded, gets a wamid and its status webhooks), then hold the response for the
    /// configured hang time: the client sees a timeout after the request was accepted.
    AcceptThenHang,
    /// Accept the message (HTTP 200 with a wamid), then report it with a `failed` status webhook carrying this
    /// error, as Meta usually does for 131047 and 131026.
    FailedStatus {
        /// Meta's code.
        code: i64,
        /// Meta's title.
        title: String,
        /// `error_data.details`.
        details: String,
    },
}

impl Failure {
    /// `(http status, code, message, details)` of the synchronous error this failure answers with, if any.
    pub fn graph_error(&self) -> Option<(u16, i64, String, String)> {
        let e = |status: u16, code: i64, message: &str, details: &str| {
            Some((status, code, message.to_owned(), details.to_owned()))
        };
        match self {
            Self::RateLimit => e(
                400,
                130429,
                "(#130429) Rate limit hit",
                "Message failed to send because there were too many messages sent from this phone number in a short period of time",
            ),
            Self::PairRate => e(
                400,
                131056,
                "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time",
            ),
            Self::ReEngagement => e(
                400,
                131047,
                "(#131047) Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ),
            Self::Undeliverable => e(
                400,
                131026,
                "(#131026) Message undeliverable",
                "Message undeliverable",
            ),
            Self::Graph {
                http_status,
                code,
                message,
                details,
            } => e(*http_status, *code, message, details),
            Self::ServerError | Self::AcceptThenHang | Self::FailedStatus { .. } => None,
        }
    }
}

/// When a failure applies. Empty selectors match everything; `times: None` means every matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRule {
    /// The failure.
    pub failure: Failure,
    /// Only sends from this phone number id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// Only sends to this recipient (`to` as sent, or its digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Only sends carrying this `biz_opaque_callback_data` (one particular message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
    /// How many matching sends fail; `None`: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl FailureRule {
    /// The failure for every send.
    pub fn always(failure: Failure) -> Self {
        Self {
            failure,
            phone_number_id: None,
            to: None,
            biz_opaque_callback_data: None,
            times: None,
        }
    }

    /// The failure for the next `n` sends.
    pub fn times(failure: Failure, n: u32) -> Self {
        Self {
            times: Some(n),
            ..Self::always(failure)
        }
    }

    /// Only for sends from `phone_number_id`.
    #[must_use]
    pub fn for_number(mut self, phone_number_id: impl Into<String>) -> Self {
        self.phone_number_id = Some(phone_number_id.into());
        self
    }

    /// Only for sends to `to`.
    #[must_use]
    pub fn for_recipient(mut self, to: impl Into<String>) -> Self {
        self.to = Some(to.into());
        self
    }

    /// Only for the send carrying this `biz_opaque_callback_data`.
    #[must_use]
    pub fn for_callback_data(mut self, data: impl Into<String>) -> Self {
        self.biz_opaque_callback_data = Some(data.into());
        self
    }
}

/// Everything the simulator needs to start.
#[derive(Clone)]
pub struct SimConfig {
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// WABAs.
    pub wabas: Vec<SimWaba>,
    /// Registered, connected business numbers.
    pub numbers: Vec<SimNumber>,
    /// Where customer messages and status webhooks are POSTed (none: they are only logged).
    pub webhook_url: Option<String>,
    /// App secret for `X-Hub-Signature-256` on emitted webhooks.
    pub app_secret: String,
    /// The verification code `verify_code` accepts.
    pub otp: String,
    /// Statuses after each accepted send.
    pub status_plan: StatusPlan,
    /// Pause before each status webhook.
    pub status_delay: Duration,
    /// How long [`Failure::AcceptThenHang`] holds the response.
    pub hang: Duration,
    /// Life of a media download URL (Meta: 5 minutes).
    pub media_url_ttl: Duration,
    /// Message templates listed by `GET /{waba}/message_templates` (Meta's shape).
    pub templates: Vec<Value>,
    /// Refuse free-form sends to users who have not written to the number within 24 hours (with a `failed` status
    /// 131047, as Meta does). Off by default so that a test can send without playing a customer first.
    pub enforce_customer_service_window: bool,
    /// Source of "now".
    pub clock: Clock,
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("wabas", &self.wabas)
            .field("numbers", &self.numbers)
            .field("webhook_url", &self.webhook_url)
            .field("status_plan", &self.status_plan)
            .field("status_delay", &self.status_delay)
            .field("hang", &self.hang)
            .field("media_url_ttl", &self.media_url_ttl)
            .field("templates", &self.templates.len())
            .field(
                "enforce_customer_service_window",
                &self.enforce_customer_service_window,
            )
            .finish_non_exhaustive()
    }
}

/// Default WABA id.
pub const DEFAULT_WABA_ID: &str = "102290129340398";
/// Default phone number id (Meta's documentation example).
pub const DEFAULT_PHONE_NUMBER_ID: &str = "106540352242922";
/// Default access token.
pub const DEFAULT_TOKEN: &str = "sim-token";
/// Default app secret.
pub const DEFAULT_APP_SECRET: &str = "sim-app-secret";

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            wabas: vec![SimWaba {
                id: DEFAULT_WABA_ID.into(),
                token: DEFAULT_TOKEN.into(),
            }],
            numbers: vec![SimNumber {
                phone_number_id: DEFAULT_PHONE_NUMBER_ID.into(),
                token: DEFAULT_TOKEN.into(),
                waba_id: DEFAULT_WABA_ID.into(),
                display_phone_number: "15550783881".into(),
                verified_name: "Lucky Shrub".into(),
            }],
            webhook_url: None,
            app_secret: DEFAULT_APP_SECRET.into(),
            otp: "123456".into(),
            status_plan: StatusPlan::Read,
            status_delay: Duration::ZERO,
            hang: Duration::from_secs(60),
            media_url_ttl: Duration::from_secs(300),
            templates: default_templates(),
            enforce_customer_service_window: false,
            clock: system_clock(),
        }
    }
}

/// The seeded templates: Meta's OpenAPI example list (`hello_world`, `2023_april_promo`, from
/// `GET /{WABA-ID}/message_templates` in facebook/openapi business-messaging-api_v23.0.yaml) plus the
/// `reservation_confirmation` named-parameter utility template of Meta's "Utility templates" page.
pub fn default_templates() -> Vec<Value> {
    vec![
        json!({
            "category": "MARKETING", "id": "1192339204654487", "language": "en_US", "name": "hello_world",
            "previous_category": "ACCOUNT_UPDATE", "status": "APPROVED",
            "components": [
                {"format": "TEXT", "text": "Hello World", "type": "HEADER"},
                {"text": "Welcome and congratulations!! This message demonstrates your ability to send a message notification from WhatsApp Business Platform’s Cloud API. Thank you for taking the time to test with us.", "type": "BODY"},
                {"text": "WhatsApp Business API Team", "type": "FOOTER"}
            ]
        }),
        json!({
            "category": "MARKETING", "id": "920070352646140", "language": "en_US", "name": "2023_april_promo",
            "status": "APPROVED",
            "components": [
                {"format": "TEXT", "text": "Fall Sale", "type": "HEADER"},
                {"example": {"body_text": [["Mark", "FALL25"]]}, "text": "Hi {{1}}, our Fall Sale is on! Use promo code {{2}} Get an extra 25% off every order above $350!", "type": "BODY"},
                {"text": "Not interested in any of our sales? Tap Stop Promotions", "type": "FOOTER"},
                {"buttons": [{"text": "Stop promotions", "type": "QUICK_REPLY"}], "type": "BUTTONS"}
            ]
        }),
        json!({
            "category": "UTILITY", "id": "1400000000000001", "language": "en_US", "name": "reservation_confirmation",
            "status": "APPROVED", "parameter_format": "NAMED",
            "components": [
                {"format": "IMAGE", "type": "HEADER"},
                {"text": "*You're all set!*\n\nYour reservation for {{number_of_guests}} on {{day}}, {{date}}, at {{time}}, is confirmed.", "type": "BODY"}
            ]
        }),
    ]
}
