//! The outbound half: a Graph API client for the WhatsApp Cloud API.
//!
//! [`GraphClient`] sends messages ([`OutgoingMessage`]: text with `preview_url` and `context` replies, templates with
//! positional or named parameters, header media and buttons, media by id or link, reactions, interactive, location;
//! all with `biz_opaque_callback_data`), marks messages read and shows the typing indicator, uploads, describes and
//! downloads media, lists message templates, and manages phone numbers (add to a WABA, `request_code`,
//! `verify_code`, `register`, fields, business profile).
//!
//! Base URL and API version come from [`GraphConfig`]; the `reqwest::Client` is the caller's (share one); the
//! [`AccessToken`] is per call, because each business number may carry its own.
//!
//! Failures are [`GraphClientError`]s. Ask [`GraphClientError::retry`] what to do: Meta errors are judged by their
//! code (never by the HTTP status alone), requests that certainly never left are safe to retry, and requests whose
//! outcome is unknown (a timeout after sending) must be reconciled before any resend, since Meta has no idempotency
//! key.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wa_client::graph::GraphClientError> {
//! use wa_client::graph::{AccessToken, GraphClient, GraphConfig, OutgoingMessage};
//! let client = GraphClient::new(GraphConfig::default(), reqwest::Client::new());
//! let token = AccessToken::new("EAAG...");
//! let sent = client
//!     .send(&token, "106540352242922", &OutgoingMessage::text("+16505551234", "Hello").callback_data("reply-1"))
//!     .await?;
//! println!("accepted as {:?}", sent.message_id());
//! # Ok(()) }
//! ```

mod error;
mod message;
mod types;

use std::fmt;
use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use error::{Backoff, GraphClientError, GraphError, RetryAdvice, retry_for_code};
pub use message::{
    Content, MediaKind, MediaSource, OutgoingMessage, ParameterValue, SendContact, SendResponse,
    SentMessage, Template, TemplateComponent, TemplateParameter,
};
pub use types::{
    BusinessProfile, BusinessProfileUpdate, CodeMethod, DownloadedMedia, MediaMetadata,
    MessageTemplate, PhoneNumberInfo, ProfileFieldError, TemplatePage, VERTICALS,
};

use error::lossy_truncated;

/// The Graph API version used when none is configured.
pub const DEFAULT_API_VERSION: &str = "v23.0";
/// Meta's Graph API host.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";

/// Where and how to reach the Graph API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphConfig {
    /// Scheme and host (and optional path prefix), e.g. `https://graph.facebook.com` or a `wa-sim` base URL.
    pub base_url: String,
    /// Path prefix, e.g. `v23.0`.
    pub api_version: String,
    /// Whole-request timeout (connect, send, wait for and read the answer). A timeout after the request was written
    /// is reported as [`GraphClientError::OutcomeUnknown`].
    pub timeout: Duration,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.into(),
            api_version: DEFAULT_API_VERSION.into(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl GraphConfig {
    /// A configuration for `base_url` and `api_version` with the default timeout.
    pub fn new(base_url: impl Into<String>, api_version: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_version: api_version.into(),
            ..Self::default()
        }
    }
}

/// A Graph API access token (system-user or business integration token). `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// The Graph API client. Cheap to clone (the `reqwest::Client` is shared).
#[derive(Debug, Clone)]
pub struct GraphClient {
    config: GraphConfig,
    http: reqwest::Client,
}

impl GraphClient {
    /// A client for `config` over `http`.
    pub fn new(config: GraphConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    /// The configuration.
    pub fn config(&self) -> &GraphConfig {
        &self.config
    }

    fn url(&self, segments: &[&str]) -> Result<String, GraphClientError> {
        let mut url = format!(
            "{}/{}",
            self.config.base_url.trim_end_matches('/'),
            self.config.api_version
        );
        for segment in segments {
            if segment.is_empty()
                || !segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(GraphClientError::InvalidRequest(format!(
                    "invalid path segment {segment:?}"
                )));
            }
            url.push('/');
            url.push_str(segment);
        }
        Ok(url)
    }

    fn request(&self, method: Method, url: &str, token: &AccessToken) -> RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(token.expose())
            .timeout(self.config.timeout)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, GraphClientError> {
        let response = request
            .send()
            .await
            .map_err(GraphClientError::from_transport)?;
        let status = response.status().as_u16();
        // The status line arrived: Meta processed the request. Losing the body now leaves the outcome unknown.
        let body = response
            .bytes()
            .await
            .map_err(GraphClientError::OutcomeUnknown)?;
        if !(200..300).contains(&status) {
            return Err(match GraphError::from_body(status, &body) {
                Some(error) => GraphClientError::Api(Box::new(error)),
                None => GraphClientError::Http {
                    status,
                    body: lossy_truncated(&body),
                },
            });
        }
        if let Some(error) = GraphError::from_body(status, &body) {
            return Err(GraphClientError::Api(Box::new(error)));
        }
        serde_json::from_slice(&body).map_err(|e| GraphClientError::UnexpectedBody {
            status,
            reason: e.to_string(),
            body: lossy_truncated(&body),
        })
    }

    async fn call_success(&self, request: RequestBuilder) -> Result<(), GraphClientError> {
        let value: Value = self.call(request).await?;
        if value.get("success").and_then(Value::as_bool) == Some(true) {
            Ok(())
        } else {
            Err(GraphClientError::UnexpectedBody {
                status: 200,
                reason: "expected {\"success\": true}".into(),
                body: value.to_string(),
            })
        }
    }

    // ----- messages -----

    /// `POST /{phone_number_id}/messages`: sends a message. Success means Meta **accepted** it; statuses follow by
    /// webhook.
    pub async fn send(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        message: &OutgoingMessage,
    ) -> Result<SendResponse, GraphClientError> {
        let url = self.url(&[phone_number_id, "messages"])?;
        self.call(
            self.request(Method::POST, &url, token)
                .json(&message.to_json()),
        )
        .await
    }

    /// Sends a plain text message (shorthand for [`send`](Self::send) with [`OutgoingMessage::text`]).
    pub async fn send_text(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        to: &str,
        body: &str,
    ) -> Result<SendResponse, GraphClientError> {
        self.send(token, phone_number_id, &OutgoingMessage::text(to, body))
            .await
    }

    /// Marks an incoming message (and the ones before it) read: the user sees blue ticks.
    pub async fn mark_as_read(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        message_id: &str,
    ) -> Result<(), GraphClientError> {
        let url = self.url(&[phone_number_id, "messages"])?;
        let body =
            json!({ "messaging_product": "whatsapp", "status": "read", "message_id": message_id });
        self.call_success(self.request(Method::POST, &url, token).json(&body))
            .await
    }

    /// Marks an incoming message read and shows "typing…" for up to 25 seconds or until the next reply.
    pub async fn typing_indicator(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        message_id: &str,
    ) -> Result<(), GraphClientError> {
        let url = self.url(&[phone_number_id, "messages"])?;
        let body = json!({
            "messaging_product": "whatsapp", "status": "read", "message_id": message_id,
            "typing_indicator": { "type": "text" }
        });
        self.call_success(self.request(Method::POST, &url, token).json(&body))
            .await
    }

    // ----- media -----

    /// `POST /{phone_number_id}/media` (multipart): uploads a file, returns its media id (valid 30 days).
    pub async fn upload_media(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        bytes: impl Into<bytes::Bytes>,
        mime_type: &str,
        file_name: &str,
    ) -> Result<String, GraphClientError> {
        let url = self.url(&[phone_number_id, "media"])?;
        let bytes: bytes::Bytes = bytes.into();
        let part = reqwest::multipart::Part::stream_with_length(bytes.clone(), bytes.len() as u64)
            .file_name(file_name.to_owned())
            .mime_str(mime_type)
            .map_err(|e| {
                GraphClientError::InvalidRequest(format!("MIME type {mime_type:?}: {e}"))
            })?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime_type.to_owned())
            .part("file", part);
        let value: Value = self
            .call(self.request(Method::POST, &url, token).multipart(form))
            .await?;
        match value.get("id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_owned()),
            None => Err(GraphClientError::UnexpectedBody {
                status: 200,
                reason: "no media id".into(),
                body: value.to_string(),
            }),
        }
    }

    /// `GET /{media_id}[?phone_number_id=]`: the download URL (valid 5 minutes), MIME type, sha256 and size.
    pub async fn media_metadata(
        &self,
        token: &AccessToken,
        media_id: &str,
        phone_number_id: Option<&str>,
    ) -> Result<MediaMetadata, GraphClientError> {
        let url = self.url(&[media_id])?;
        let mut request = self.request(Method::GET, &url, token);
        if let Some(id) = phone_number_id {
            request = request.query(&[("phone_number_id", id)]);
        }
        self.call(request).await
    }

    /// Downloads a media URL from [`media_metadata`](Self::media_metadata) with the bearer token. A 404 (or an
    /// expired URL) means: fetch the metadata again for a fresh URL.
    pub async fn download_media(
        &self,
        token: &AccessToken,
        url: &str,
    ) -> Result<DownloadedMedia, GraphClientError> {
        let response = self
            .request(Method::GET, url, token)
            .send()
            .await
            .map_err(GraphClientError::from_transport)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(GraphClientError::OutcomeUnknown)?;
        if !(200..300).contains(&status) {
            return Err(match GraphError::from_body(status, &bytes) {
                Some(error) => GraphClientError::Api(Box::new(error)),
                None => GraphClientError::Http {
                    status,
                    body: lossy_truncated(&bytes),
                },
            });
        }
        Ok(DownloadedMedia {
            bytes,
            content_type,
        })
    }

    /// `DELETE /{media_id}[?phone_number_id=]`.
    pub async fn delete_media(
        &self,
        token: &AccessToken,
        media_id: &str,
        phone_number_id: Option<&str>,
    ) -> Result<(), GraphClientError> {
        let url = self.url(&[media_id])?;
        let mut request = self.request(Method::DELETE, &url, token);
        if let Some(id) = phone_number_id {
            request = request.query(&[("phone_number_id", id)]);
        }
        self.call_success(request).await
    }

    // ----- templates -----

    /// `GET /{waba_id}/message_templates`: one page (`limit` per page, `after` cursor from the previous page).
    pub async fn list_templates(
        &self,
        token: &AccessToken,
        waba_id: &str,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<TemplatePage, GraphClientError> {
        #[derive(serde::Deserialize)]
        struct Page {
            data: Vec<MessageTemplate>,
            #[serde(default)]
            paging: Option<Value>,
        }
        let url = self.url(&[waba_id, "message_templates"])?;
        let mut request = self.request(Method::GET, &url, token);
        if let Some(limit) = limit {
            request = request.query(&[("limit", limit.to_string())]);
        }
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        let page: Page = self.call(request).await?;
        let next_after = page.paging.as_ref().and_then(|paging| {
            paging.get("next")?;
            paging
                .get("cursors")?
                .get("after")?
                .as_str()
                .map(str::to_owned)
        });
        Ok(TemplatePage {
            data: page.data,
            next_after,
        })
    }

    /// Every template of a WABA, following the paging cursors (at most `max_pages` pages).
    pub async fn list_all_templates(
        &self,
        token: &AccessToken,
        waba_id: &str,
        max_pages: usize,
    ) -> Result<Vec<MessageTemplate>, GraphClientError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..max_pages {
            let page = self
                .list_templates(token, waba_id, Some(100), after.as_deref())
                .await?;
            all.extend(page.data);
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(all)
    }

    // ----- phone numbers -----

    /// `POST /{waba_id}/phone_numbers` `{cc, phone_number, verified_name}`: adds a number to the WABA; returns its
    /// phone number id. It must then be verified (`request_code`, `verify_code`) and registered.
    pub async fn add_phone_number(
        &self,
        token: &AccessToken,
        waba_id: &str,
        cc: &str,
        phone_number: &str,
        verified_name: &str,
    ) -> Result<String, GraphClientError> {
        let url = self.url(&[waba_id, "phone_numbers"])?;
        let body =
            json!({ "cc": cc, "phone_number": phone_number, "verified_name": verified_name });
        let value: Value = self
            .call(self.request(Method::POST, &url, token).json(&body))
            .await?;
        match value.get("id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_owned()),
            None => Err(GraphClientError::UnexpectedBody {
                status: 200,
                reason: "no phone number id".into(),
                body: value.to_string(),
            }),
        }
    }

    /// `GET /{waba_id}/phone_numbers`: the WABA's numbers (first page).
    pub async fn list_phone_numbers(
        &self,
        token: &AccessToken,
        waba_id: &str,
    ) -> Result<Vec<PhoneNumberInfo>, GraphClientError> {
        #[derive(serde::Deserialize)]
        struct Page {
            data: Vec<PhoneNumberInfo>,
        }
        let url = self.url(&[waba_id, "phone_numbers"])?;
        let page: Page = self.call(self.request(Method::GET, &url, token)).await?;
        Ok(page.data)
    }

    /// `POST /{phone_number_id}/request_code` `{code_method, language}`: sends the verification code.
    pub async fn request_code(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        method: CodeMethod,
        language: &str,
    ) -> Result<(), GraphClientError> {
        let url = self.url(&[phone_number_id, "request_code"])?;
        let body = json!({ "code_method": method.as_str(), "language": language });
        self.call_success(self.request(Method::POST, &url, token).json(&body))
            .await
    }

    /// `POST /{phone_number_id}/verify_code` `{code}`.
    pub async fn verify_code(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        code: &str,
    ) -> Result<(), GraphClientError> {
        let url = self.url(&[phone_number_id, "verify_code"])?;
        self.call_success(
            self.request(Method::POST, &url, token)
                .json(&json!({ "code": code })),
        )
        .await
    }

    /// `POST /{phone_number_id}/register` `{messaging_product, pin}`: registers the number for Cloud API with its
    /// six-digit two-step verification PIN.
    pub async fn register(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        pin: &str,
    ) -> Result<(), GraphClientError> {
        let url = self.url(&[phone_number_id, "register"])?;
        let body = json!({ "messaging_product": "whatsapp", "pin": pin });
        self.call_success(self.request(Method::POST, &url, token).json(&body))
            .await
    }

    /// `GET /{phone_number_id}[?fields=...]`: the number's fields (Meta's default set when `fields` is empty).
    pub async fn phone_number(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        fields: &[&str],
    ) -> Result<PhoneNumberInfo, GraphClientError> {
        let url = self.url(&[phone_number_id])?;
        let mut request = self.request(Method::GET, &url, token);
        if !fields.is_empty() {
            request = request.query(&[("fields", fields.join(","))]);
        }
        self.call(request).await
    }

    /// `GET /{phone_number_id}/whatsapp_business_profile?fields=...`: the profile (`data[0]`).
    pub async fn business_profile(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
    ) -> Result<BusinessProfile, GraphClientError> {
        #[derive(serde::Deserialize)]
        struct Data {
            data: Vec<BusinessProfile>,
        }
        let url = self.url(&[phone_number_id, "whatsapp_business_profile"])?;
        let request = self.request(Method::GET, &url, token).query(&[(
            "fields",
            "about,address,description,email,profile_picture_url,websites,vertical",
        )]);
        let data: Data = self.call(request).await?;
        data.data
            .into_iter()
            .next()
            .ok_or_else(|| GraphClientError::UnexpectedBody {
                status: 200,
                reason: "empty data".into(),
                body: String::new(),
            })
    }

    /// `POST /{phone_number_id}/whatsapp_business_profile`. The update is checked against Meta's limits first
    /// ([`BusinessProfileUpdate::validate`]); a violation is an [`GraphClientError::InvalidRequest`] naming the
    /// field, and nothing is sent.
    pub async fn update_business_profile(
        &self,
        token: &AccessToken,
        phone_number_id: &str,
        update: &BusinessProfileUpdate,
    ) -> Result<(), GraphClientError> {
        if let Some(error) = update.validate().into_iter().next() {
            return Err(GraphClientError::InvalidRequest(format!(
                "{}: {}",
                error.field, error.message
            )));
        }
        let url = self.url(&[phone_number_id, "whatsapp_business_profile"])?;
        let mut body = serde_json::to_value(update).unwrap_or_else(|_| json!({}));
        body["messaging_product"] = "whatsapp".into();
        self.call_success(self.request(Method::POST, &url, token).json(&body))
            .await
    }
}
