//! # wa-sim
//!
//! A WhatsApp Cloud API (Graph API) simulator on loopback HTTP, for wadesk's tests, examples and quickstart.
//!
//! It speaks the Graph paths wadesk uses, under any `/vNN.N/` prefix: `POST /{phone-number-id}/messages` (every
//! message type, mark-as-read, typing indicator), `POST /{phone-number-id}/media`, `GET|DELETE /{media-id}`, the
//! media download URL, `GET /{waba-id}/message_templates` (paged), `GET|POST /{waba-id}/phone_numbers`,
//! `GET /{phone-number-id}`, `request_code`, `verify_code`, `register`, and `GET|POST whatsapp_business_profile`.
//! It checks bearer tokens per number (wrong or missing: Meta's 190 `OAuthException`, HTTP 401) and request shapes
//! as Meta does (Meta's `100` errors, `132001`/`132000` for templates, `131053` for media), answers in Meta's
//! shapes, records every request, and plays the other side:
//!
//! * **customers**: [`SimHandle::customer_message`] (or `POST /_sim/customers/{wa_id}/messages`) POSTs a signed
//!   inbound `messages` webhook to the configured URL;
//! * **statuses**: after every accepted send it POSTs `sent`, `delivered`, `read` (or per [`StatusPlan`]; `failed`
//!   with Meta's error object) with `conversation` and PMP `pricing` objects and the send's
//!   `biz_opaque_callback_data`;
//! * **failures**: [`FailureRule`]s make sends fail per number, per recipient or per message with 130429, 131056,
//!   131047, 131026, any Graph error, a bare HTTP 500, a `failed` status, or an accepted send whose response hangs
//!   (a timeout after acceptance).
//!
//! Admin HTTP endpoints (outside the Graph namespace): `GET|DELETE /_sim/requests`, `GET /_sim/messages`,
//! `GET /_sim/webhooks`, `POST|DELETE /_sim/failures`, `PUT /_sim/status_plan`, `POST /_sim/customers/{wa_id}/messages`.
//!
//! What it is not: a faithful model of Meta's delivery network (no throughput limits unless injected, no quality
//! rating, no real OTP), persistent (state is in memory), or secure (it is a test double: never expose it).
//!
//! ```no_run
//! # async fn demo() -> Result<(), wa_sim::SimError> {
//! let sim = wa_sim::Simulator::start(wa_sim::SimConfig::default()).await?;
//! println!("Graph API at {}/v23.0", sim.base_url());
//! # Ok(()) }
//! ```

mod config;
mod graph;
mod state;
mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wa_client::graph::MediaKind;

pub use config::{
    Clock, DEFAULT_APP_SECRET, DEFAULT_PHONE_NUMBER_ID, DEFAULT_TOKEN, DEFAULT_WABA_ID, Failure,
    FailureRule, MediaFault, SimConfig, SimNumber, SimWaba, StatusPlan, default_templates,
    system_clock,
};
pub use state::{AcceptedMessage, RecordedRequest, WebhookDelivery};

/// wa-sim's errors.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Could not bind the listen address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The phone number id is not configured.
    #[error("unknown phone number id {0}")]
    UnknownNumber(String),
    /// A customer message was refused (bad media type, ...).
    #[error("invalid customer message: {0}")]
    InvalidMessage(String),
    /// Building the HTTP client for webhooks failed.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    state: Mutex<state::State>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A Graph error injected on an account-management edge ([`SimHandle::fail_edge`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeFailure {
    /// HTTP status.
    pub http_status: u16,
    /// Meta's code.
    pub code: i64,
    /// `message`.
    pub message: String,
    /// `error_data.details`.
    pub details: Option<String>,
}

impl EdgeFailure {
    /// Meta's registration rate limit (`133016`).
    pub fn register_rate_limit() -> Self {
        Self {
            http_status: 400,
            code: 133016,
            message: "(#133016) Account register deregister rate limit exceeded".into(),
            details: Some(
                "Too many attempts to register or deregister this phone number; try again later"
                    .into(),
            ),
        }
    }

    /// An expired verification code (`136025`).
    pub fn expired_code() -> Self {
        Self {
            http_status: 400,
            code: 136025,
            message: "(#136025) Verify code error".into(),
            details: Some("The verification code has expired; request a new code".into()),
        }
    }

    /// A refused code request (`136024`).
    pub fn request_code_error() -> Self {
        Self {
            http_status: 400,
            code: 136024,
            message: "(#136024) Request code error".into(),
            details: Some(
                "Too many code requests for this number; wait before trying again".into(),
            ),
        }
    }
}

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Binds `config.listen`, serves in a background task, and returns the handle.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let base_url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            state: Mutex::new(state::State::new(&config)),
            config,
            base_url: base_url.clone(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?,
        });
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "wa-sim server stopped");
            }
        });
        Ok(SimHandle {
            shared,
            addr,
            base_url,
            task,
        })
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/_sim/requests",
            get(admin_requests).delete(admin_clear_requests),
        )
        .route("/_sim/messages", get(admin_messages))
        .route("/_sim/webhooks", get(admin_webhooks))
        .route(
            "/_sim/failures",
            post(admin_add_failure).delete(admin_clear_failures),
        )
        .route("/_sim/status_plan", put(admin_status_plan))
        .route(
            "/_sim/customers/{wa_id}/messages",
            post(admin_customer_message),
        )
        .route("/_sim/media/{media_id}", get(graph::download))
        .fallback(graph::handle)
        .with_state(shared)
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a customer sends in [`SimHandle::customer_message`].
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerContent {
    /// A text message.
    Text(String),
    /// A media message: the file is stored in the simulator (downloadable through `GET /{media-id}`) and the
    /// webhook carries its id, MIME type and sha256.
    Media {
        /// Kind.
        kind: MediaKind,
        /// The file.
        bytes: bytes::Bytes,
        /// MIME type.
        mime_type: String,
        /// Caption (image, video, document).
        caption: Option<String>,
        /// File name (document).
        filename: Option<String>,
    },
    /// A reaction to a business message.
    Reaction {
        /// The wamid reacted to.
        message_id: String,
        /// The emoji (empty: removal).
        emoji: String,
    },
    /// Any other message: `type` and its object, verbatim.
    Raw {
        /// The message `type`.
        type_name: String,
        /// Its object.
        body: Value,
    },
}

/// A customer's message to a business number.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerMessage {
    /// The business number written to.
    pub phone_number_id: String,
    /// The customer's WhatsApp id (digits).
    pub from: String,
    /// Profile name.
    pub name: String,
    /// The content.
    pub content: CustomerContent,
    /// The wamid quoted (`context.id`), if replying.
    pub reply_to: Option<String>,
    /// Unix timestamp; `None`: the simulator's clock.
    pub timestamp: Option<i64>,
}

impl CustomerMessage {
    /// A text from `from` to `phone_number_id`.
    pub fn text(
        phone_number_id: impl Into<String>,
        from: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Self {
            phone_number_id: phone_number_id.into(),
            from: from.into(),
            name: "Sim Customer".into(),
            content: CustomerContent::Text(body.into()),
            reply_to: None,
            timestamp: None,
        }
    }
}

/// The result of playing a customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerMessageSent {
    /// The inbound message's wamid.
    pub wamid: String,
    /// The media id, for media messages.
    pub media_id: Option<String>,
    /// The webhook receiver's HTTP status (`None`: no webhook URL, or the POST failed).
    pub webhook_status: Option<u16>,
    /// The webhook body POSTed.
    pub body: Value,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`: use as the Graph base URL (any `/vNN.N/` version works).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every Graph request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Every message accepted so far (what customers' phones received).
    pub fn accepted_messages(&self) -> Vec<AcceptedMessage> {
        self.shared.lock().accepted.clone()
    }

    /// Every webhook POSTed (or attempted) so far, in order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.lock().webhooks.clone()
    }

    /// Adds a failure rule (rules are tried in the order added).
    pub fn add_failure(&self, rule: FailureRule) {
        self.shared.lock().failures.push(rule);
    }

    /// Removes every failure rule.
    pub fn clear_failures(&self) {
        self.shared.lock().failures.clear();
    }

    /// Sets the statuses emitted after each accepted send.
    pub fn set_status_plan(&self, plan: StatusPlan) {
        self.shared.lock().status_plan = plan;
    }

    /// Sets the statuses for sends to one recipient (WhatsApp id digits).
    pub fn set_status_plan_for(&self, wa_id: impl Into<String>, plan: StatusPlan) {
        self.shared
            .lock()
            .status_plan_by_recipient
            .insert(wa_id.into(), plan);
    }

    /// Sets (or clears) the webhook URL.
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared.lock().webhook_url = url;
    }

    /// Makes the next `times` calls of an account-management edge (`request_code`,
    /// `verify_code`, `register`, `whatsapp_business_profile`, `phone_numbers`) fail with
    /// Meta's error, e.g. `133016` on `register` or an expired code on `verify_code`.
    pub fn fail_edge(&self, edge: impl Into<String>, failure: EdgeFailure, times: u32) {
        if times > 0 {
            self.shared
                .lock()
                .edge_failures
                .push((edge.into(), failure, times));
        }
    }

    /// Sets the code `verify_code` accepts.
    pub fn set_otp(&self, otp: impl Into<String>) {
        self.shared.lock().otp = otp.into();
    }

    /// Replaces the template list.
    pub fn set_templates(&self, templates: Vec<Value>) {
        self.shared.lock().templates = templates;
    }

    /// Stores a media file as if uploaded by `phone_number_id` (or received from a customer); returns its id.
    pub fn put_media(&self, phone_number_id: &str, bytes: bytes::Bytes, mime_type: &str) -> String {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let mut state = self.shared.lock();
        let id = state.new_numeric_id();
        state.media.insert(
            id.clone(),
            state::Media {
                bytes,
                mime_type: mime_type.to_owned(),
                sha256,
                owner: phone_number_id.to_owned(),
            },
        );
        id
    }

    /// The bytes and MIME type of a stored media object (uploaded with `POST /{phone-number-id}/media`
    /// or received from a customer), or `None` when there is no such id.
    pub fn media_file(&self, media_id: &str) -> Option<(bytes::Bytes, String)> {
        self.shared
            .lock()
            .media
            .get(media_id)
            .map(|m| (m.bytes.clone(), m.mime_type.clone()))
    }

    /// Sets (`Some`) or clears (`None`) a fault of one media object (see [`MediaFault`]).
    pub fn set_media_fault(&self, media_id: &str, fault: Option<MediaFault>) {
        let mut state = self.shared.lock();
        match fault {
            Some(f) => state.media_faults.insert(media_id.to_owned(), f),
            None => state.media_faults.remove(media_id),
        };
    }

    /// Plays a customer: builds Meta's inbound `messages` notification, signs it with the app secret and POSTs it to
    /// the webhook URL. The customer service window of (number, customer) opens at the message's timestamp.
    pub async fn customer_message(
        &self,
        message: CustomerMessage,
    ) -> Result<CustomerMessageSent, SimError> {
        customer_message(&self.shared, message).await
    }
}

async fn customer_message(
    shared: &Arc<Shared>,
    message: CustomerMessage,
) -> Result<CustomerMessageSent, SimError> {
    let (waba_id, display) = {
        let state = shared.lock();
        let number = state
            .numbers
            .get(&message.phone_number_id)
            .ok_or_else(|| SimError::UnknownNumber(message.phone_number_id.clone()))?;
        (
            number.info.waba_id.clone(),
            number.info.display_phone_number.clone(),
        )
    };
    let timestamp = message
        .timestamp
        .unwrap_or_else(|| (shared.config.clock)().unix_timestamp());
    let (wamid, media_id) = {
        let mut state = shared.lock();
        (state.new_wamid(), None::<String>)
    };
    let mut media_id = media_id;
    let (type_name, object) = match &message.content {
        CustomerContent::Text(body) => ("text".to_owned(), json!({ "body": body })),
        CustomerContent::Media {
            kind,
            bytes,
            mime_type,
            caption,
            filename,
        } => {
            let sha256 = hex::encode(Sha256::digest(bytes));
            let id = {
                let mut state = shared.lock();
                let id = state.new_numeric_id();
                state.media.insert(
                    id.clone(),
                    state::Media {
                        bytes: bytes.clone(),
                        mime_type: mime_type.clone(),
                        sha256: sha256.clone(),
                        owner: message.phone_number_id.clone(),
                    },
                );
                id
            };
            let mut object = json!({ "mime_type": mime_type, "sha256": sha256, "id": id });
            if let Some(caption) = caption {
                object["caption"] = caption.clone().into();
            }
            if let Some(filename) = filename {
                object["filename"] = filename.clone().into();
            }
            if *kind == MediaKind::Audio {
                object["voice"] = mime_type.starts_with("audio/ogg").into();
            }
            if *kind == MediaKind::Sticker {
                object["animated"] = false.into();
            }
            media_id = Some(id);
            (kind.as_str().to_owned(), object)
        }
        CustomerContent::Reaction { message_id, emoji } => (
            "reaction".to_owned(),
            json!({ "message_id": message_id, "emoji": emoji }),
        ),
        CustomerContent::Raw { type_name, body } => (type_name.clone(), body.clone()),
    };
    let mut inbound = json!({
        "from": message.from,
        "id": wamid,
        "timestamp": timestamp.to_string(),
        "type": type_name,
    });
    inbound[type_name.as_str()] = object;
    if let Some(reply_to) = &message.reply_to {
        inbound["context"] = json!({ "from": display, "id": reply_to });
    }
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": display, "phone_number_id": message.phone_number_id },
        "contacts": [{ "profile": { "name": message.name }, "wa_id": message.from }],
        "messages": [inbound],
    });
    let body = webhooks::envelope(&waba_id, value);
    {
        let mut state = shared.lock();
        let key = (message.phone_number_id.clone(), message.from.clone());
        let last = state.last_customer_message.entry(key).or_insert(timestamp);
        *last = (*last).max(timestamp);
    }
    let webhook_status = webhooks::deliver(shared, body.clone()).await;
    Ok(CustomerMessageSent {
        wamid,
        media_id,
        webhook_status,
        body,
    })
}

// ----- admin endpoints -----

async fn admin_requests(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!(shared.lock().requests)).into_response()
}

async fn admin_clear_requests(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.lock().requests.clear();
    StatusCode::NO_CONTENT
}

async fn admin_messages(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!(shared.lock().accepted)).into_response()
}

async fn admin_webhooks(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!(shared.lock().webhooks)).into_response()
}

async fn admin_add_failure(
    State(shared): State<Arc<Shared>>,
    axum::Json(rule): axum::Json<FailureRule>,
) -> StatusCode {
    shared.lock().failures.push(rule);
    StatusCode::CREATED
}

async fn admin_clear_failures(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.lock().failures.clear();
    StatusCode::NO_CONTENT
}

async fn admin_status_plan(
    State(shared): State<Arc<Shared>>,
    axum::Json(plan): axum::Json<StatusPlan>,
) -> StatusCode {
    shared.lock().status_plan = plan;
    StatusCode::NO_CONTENT
}

/// Body of `POST /_sim/customers/{wa_id}/messages`.
#[derive(Debug, Deserialize)]
struct CustomerMessageBody {
    /// The business number; defaults to the first configured one.
    phone_number_id: Option<String>,
    /// Profile name.
    name: Option<String>,
    /// A text message.
    text: Option<String>,
    /// Or any message `type` with `body` its object.
    #[serde(rename = "type")]
    type_name: Option<String>,
    body: Option<Value>,
    /// Media: base64 is not needed; `media` is UTF-8 content with `mime_type`.
    media_text: Option<String>,
    mime_type: Option<String>,
    caption: Option<String>,
    filename: Option<String>,
    reply_to: Option<String>,
    timestamp: Option<i64>,
}

async fn admin_customer_message(
    State(shared): State<Arc<Shared>>,
    Path(wa_id): Path<String>,
    axum::Json(body): axum::Json<CustomerMessageBody>,
) -> Response {
    let phone_number_id = body.phone_number_id.clone().or_else(|| {
        let state = shared.lock();
        let mut ids: Vec<_> = state.numbers.keys().cloned().collect();
        ids.sort();
        shared
            .config
            .numbers
            .first()
            .map(|n| n.phone_number_id.clone())
            .or_else(|| ids.into_iter().next())
    });
    let Some(phone_number_id) = phone_number_id else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "no phone number").into_response();
    };
    let content = match (&body.text, &body.type_name) {
        (Some(text), _) => CustomerContent::Text(text.clone()),
        (None, Some(type_name)) => match (
            MediaKind::parse(type_name),
            &body.media_text,
            &body.mime_type,
        ) {
            (Some(kind), Some(data), Some(mime)) => CustomerContent::Media {
                kind,
                bytes: bytes::Bytes::from(data.clone().into_bytes()),
                mime_type: mime.clone(),
                caption: body.caption.clone(),
                filename: body.filename.clone(),
            },
            _ => CustomerContent::Raw {
                type_name: type_name.clone(),
                body: body.body.clone().unwrap_or(json!({})),
            },
        },
        (None, None) => {
            return (StatusCode::UNPROCESSABLE_ENTITY, "give `text` or `type`").into_response();
        }
    };
    let message = CustomerMessage {
        phone_number_id,
        from: wa_id,
        name: body.name.clone().unwrap_or_else(|| "Sim Customer".into()),
        content,
        reply_to: body.reply_to.clone(),
        timestamp: body.timestamp,
    };
    match customer_message(&shared, message).await {
        Ok(sent) => axum::Json(json!({
            "wamid": sent.wamid, "media_id": sent.media_id, "webhook_status": sent.webhook_status, "body": sent.body
        }))
        .into_response(),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}
