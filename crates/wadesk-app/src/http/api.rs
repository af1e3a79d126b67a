//! What every REST endpoint shares: API-key authentication, Freshdesk's error shape, JSON
//! bodies and pagination.

use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use store::{Account, Agent, StoreError};
use ticketing_core::Role;

use super::AppState;

/// One field's problem, as Freshdesk reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The field, or empty for the request as a whole.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// A stable machine-readable code.
    pub code: String,
}

/// An error answer in Freshdesk's shape:
/// `{"description": "...", "errors": [{"field", "message", "code"}]}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Summary.
    pub description: String,
    /// Details.
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// An error with one detail.
    pub fn new(
        status: StatusCode,
        description: &str,
        field: &str,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            description: description.to_owned(),
            errors: vec![FieldError {
                field: field.to_owned(),
                message: message.into(),
                code: code.to_owned(),
            }],
        }
    }

    /// 400 with field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            description: "Validation failed".into(),
            errors,
        }
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "You have to be logged in to perform this action.",
            "",
            "invalid_credentials",
            "Authenticate with HTTP Basic: your API key as the user name, any password.",
        )
    }

    /// 403 for agents calling admin endpoints.
    pub fn admin_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform this action.",
            "",
            "access_denied",
            "Only administrators can do this.",
        )
    }

    /// 403 for WhatsApp actions on a plan without the WhatsApp channel.
    pub fn plan_restricted(plan: ticketing_core::Plan) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "The WhatsApp channel is not available on your plan.",
            "",
            "plan_restricted",
            format!(
                "Plan '{plan}' has no WhatsApp channel; upgrade to growth, pro or enterprise. \
                 Your tickets, contacts and numbers are kept."
            ),
        )
    }

    /// 409 with a message (e.g. an onboarding step out of order).
    pub fn conflict(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", field, code, message)
    }

    /// Meta's error of a Graph API call, in the Freshdesk shape: `code` is Meta's numeric code
    /// (as a string) and `message` Meta's message with its details, verbatim. Rate limits answer 429, Meta's other refusals 422 (wrong code, bad
    /// token, …), Meta failing or being unreachable 502.
    pub fn from_graph(field: &str, e: &wa_client::graph::GraphClientError) -> Self {
        use wa_client::graph::GraphClientError as G;
        match e {
            G::Api(g) => {
                let message = match &g.details {
                    Some(d) if !g.message.contains(d.as_str()) => format!("{} ({d})", g.message),
                    _ => g.message.clone(),
                };
                let status = match g.code {
                    4 | 80007 | 130429 | 131056 | 133016 | 133015 | 133008 | 133009 => {
                        StatusCode::TOO_MANY_REQUESTS
                    }
                    _ if g.http_status >= 500 => StatusCode::BAD_GATEWAY,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Self::new(
                    status,
                    "The WhatsApp Cloud API refused the request",
                    field,
                    &g.code.to_string(),
                    message,
                )
            }
            other => {
                tracing::warn!(error.message = %other, "Graph API call failed");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "The WhatsApp Cloud API could not be reached",
                    field,
                    "graph_unavailable",
                    "Meta's Graph API did not answer usably; try again.",
                )
            }
        }
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Resource not found",
            "",
            "not_found",
            "No such resource.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            description: String,
            errors: Vec<FieldError>,
        }
        let mut resp = (
            self.status,
            Json(Body {
                description: self.description,
                errors: self.errors,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wadesk\""),
            );
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(m) => {
                ApiError::new(StatusCode::CONFLICT, "Conflict", "", "duplicate_value", m)
            }
            StoreError::LimitReached(m) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Limit reached",
                "",
                "limit_reached",
                m,
            ),
            other => {
                tracing::error!(error.message = %other, "storage error behind an API request");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "",
                    "internal_error",
                    "The database is not available; try again.",
                )
            }
        }
    }
}

/// The authenticated agent and their account.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The agent whose API key was presented.
    pub agent: Agent,
    /// Their account.
    pub account: Account,
}

impl Caller {
    /// Fails with 403 unless the caller is an admin. Every endpoint that changes numbers,
    /// onboarding, business profiles, agents, groups, SLA policies, automation rules or billing
    /// calls this first.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.agent.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::admin_only())
        }
    }

    /// Fails with 403 (`plan_restricted`) when the account's plan has no WhatsApp channel
    /// (`free`). Call it before anything that creates WhatsApp traffic or changes the channel:
    /// connecting or onboarding numbers, business profiles, replies and templates sent over
    /// WhatsApp. Reading what is already stored stays allowed after a downgrade.
    pub fn require_whatsapp_plan(&self) -> Result<(), ApiError> {
        if self.account.plan.has_whatsapp() {
            Ok(())
        } else {
            Err(ApiError::plan_restricted(self.account.plan))
        }
    }

    /// [`Caller::require_admin`], then [`Caller::require_whatsapp_plan`]: for WhatsApp admin
    /// actions.
    pub fn require_whatsapp_admin(&self) -> Result<(), ApiError> {
        self.require_admin()?;
        self.require_whatsapp_plan()
    }
}

/// SHA-256 of an API key, lowercase hex: what the database keeps instead of the key.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn api_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let key = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    (!key.is_empty()).then(|| key.to_owned())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = api_key(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let agent = app
            .store
            .find_agent_by_api_key_hash(&hash_api_key(&key))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        let account = app.store.get_account(agent.account_id).await?;
        Ok(Caller { agent, account })
    }
}

/// A JSON request body whose rejections use Freshdesk's error shape.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                let status = rejection.status();
                let (code, status) = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ("payload_too_large", status)
                } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    ("invalid_content_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
                } else {
                    ("invalid_json", StatusCode::BAD_REQUEST)
                };
                Err(ApiError::new(
                    status,
                    "Validation failed",
                    "",
                    code,
                    rejection.body_text(),
                ))
            }
        }
    }
}

/// Answers unknown API paths in Freshdesk's error shape.
pub(super) async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// `page` and `per_page` from a query string (Freshdesk: per_page at most 100, default 30).
/// Repeated keys are tolerated: the last one wins.
pub(super) fn pagination(query: Option<&str>) -> Result<store::Page, ApiError> {
    let mut page = 1u32;
    let mut per_page = 30u32;
    for (k, v) in form_pairs(query.unwrap_or("")) {
        let target = match k.as_str() {
            "page" => &mut page,
            "per_page" => &mut per_page,
            _ => continue,
        };
        *target = v.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::validation(vec![FieldError {
                field: k.clone(),
                message: "It should be a positive number".into(),
                code: "invalid_value".into(),
            }])
        })?;
    }
    if per_page > 100 {
        return Err(ApiError::validation(vec![FieldError {
            field: "per_page".into(),
            message: "It should be a number between 1 and 100".into(),
            code: "invalid_value".into(),
        }]));
    }
    Ok(store::Page { page, per_page })
}

/// Decodes `a=b&c=d`, keeping a raw `+` as a plus (CONTRACT section 4: phone searches send it
/// unencoded) and decoding `%XX`.
pub(super) fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Adds Freshdesk's `Link: <…>; rel="next"` header when a full page came back.
pub(super) fn with_next_link<T: Serialize>(
    path: &str,
    page: store::Page,
    items: Vec<T>,
) -> Response {
    let full = items.len() as u32 >= page.per_page;
    let mut resp = Json(items).into_response();
    if full {
        let link = format!(
            "<{path}?page={}&per_page={}>; rel=\"next\"",
            page.page + 1,
            page.per_page
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    resp
}

/// RFC 3339 in UTC with whole seconds, as Freshdesk writes timestamps.
pub(super) fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A positive integer id from a path segment; anything else is 404, as for an unknown id.
pub(super) fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(ApiError::not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_stays_a_plus_and_percent_decodes() {
        assert_eq!(
            form_pairs("phone=+14155550100&x=%2B1%20a&page=2&page=3"),
            vec![
                ("phone".into(), "+14155550100".into()),
                ("x".into(), "+1 a".into()),
                ("page".into(), "2".into()),
                ("page".into(), "3".into())
            ]
        );
        assert_eq!(
            pagination(Some("page=2&page=3&per_page=10")).unwrap(),
            store::Page {
                page: 3,
                per_page: 10
            }
        );
        assert!(pagination(Some("per_page=101")).is_err());
        assert!(pagination(Some("page=0")).is_err());
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn basic_auth_takes_the_user_name() {
        let mut h = HeaderMap::new();
        let v = base64::engine::general_purpose::STANDARD.encode("KEY123:X");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {v}")).unwrap(),
        );
        assert_eq!(api_key(&h).as_deref(), Some("KEY123"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(api_key(&h), None);
    }
}
