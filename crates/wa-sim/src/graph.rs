//! The Graph API paths: parsing, token checks, validation, responses.

// Handlers carry their early answers as `Err(Response)`; boxing them would buy nothing in a test double.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, State};
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use wa_client::graph::{BusinessProfileUpdate, MediaKind};

use crate::Shared;
use crate::config::{Failure, StatusPlan};
use crate::state::{AcceptedMessage, Media, RecordedRequest, digits_of};
use crate::webhooks;

/// A Graph error response.
pub(crate) fn graph_error(
    status: u16,
    code: i64,
    message: &str,
    details: Option<&str>,
) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AsimTrace0000000000000",
    });
    if let Some(details) = details {
        error["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({ "error": error }))).into_response()
}

fn invalid(message: &str) -> Response {
    graph_error(400, 100, &format!("(#100) {message}"), None)
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn success() -> Response {
    ok(json!({ "success": true }))
}

/// Request parameters merged from the query string and a JSON or form body.
struct Params {
    map: Map<String, Value>,
}

impl Params {
    fn str(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(Value::as_str)
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn query_token(uri: &Uri) -> Option<String> {
    let query = axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri).ok()?;
    query.0.get("access_token").cloned()
}

fn invalid_token() -> Response {
    graph_error(
        401,
        190,
        "Invalid OAuth access token - Cannot parse access token",
        None,
    )
}

/// The fallback handler: every Graph path under `/vNN.N/`.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 200 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return invalid("Request body too large"),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (response, hang) = route(
        &shared,
        &parts.method,
        &parts.uri,
        &parts.headers,
        content_type.as_deref(),
        body.clone(),
    )
    .await;
    let is_multipart = content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/"));
    let record = RecordedRequest {
        seq: 0,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        content_type,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body_text: if is_multipart {
            format!("<multipart body, {} bytes>", body.len())
        } else {
            String::from_utf8_lossy(&body).into_owned()
        },
        response_status: response.status().as_u16(),
    };
    {
        let mut state = shared.lock();
        let seq = state.requests.len() as u64;
        state.requests.push(RecordedRequest { seq, ..record });
    }
    if hang {
        tokio::time::sleep(shared.config.hang).await;
    }
    response
}

async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    content_type: Option<&str>,
    body: Bytes,
) -> (Response, bool) {
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let rest = match segments.split_first() {
        Some((v, rest)) if is_version(v) && !rest.is_empty() => rest,
        _ => {
            return (
                graph_error(400, 2500, "Unknown path components", None),
                false,
            );
        }
    };
    let Some(token) = bearer(headers).or_else(|| query_token(uri)) else {
        return (
            graph_error(
                401,
                190,
                "An active access token must be used to query information about the current user.",
                None,
            ),
            false,
        );
    };
    if !shared.lock().known_token(&token) {
        return (invalid_token(), false);
    }
    let is_multipart = content_type.is_some_and(|c| c.starts_with("multipart/"));
    let params = if is_multipart {
        Params {
            map: query_map(uri),
        }
    } else {
        match params(uri, content_type, &body).await {
            Ok(p) => p,
            Err(r) => return (r, false),
        }
    };
    let node = rest[0];
    let edge = rest.get(1).copied();
    if rest.len() > 2 {
        return (
            graph_error(400, 2500, "Unknown path components", None),
            false,
        );
    }
    let is_number = shared.lock().numbers.contains_key(node);
    let is_waba = shared.lock().waba_tokens.contains_key(node)
        || shared
            .lock()
            .numbers
            .values()
            .any(|n| n.info.waba_id == node);
    let is_media = shared.lock().media.contains_key(node);
    if (is_number || is_waba)
        && let Some(e) = edge
    {
        let injected = shared.lock().take_edge_failure(e);
        if let Some(f) = injected {
            return (
                graph_error(f.http_status, f.code, &f.message, f.details.as_deref()),
                false,
            );
        }
    }
    if is_number {
        let allowed = shared
            .lock()
            .numbers
            .get(node)
            .is_some_and(|n| n.info.token == token);
        if !allowed {
            return (no_such_object(method, node), false);
        }
        return match (method.as_str(), edge) {
            ("POST", Some("messages")) => send(shared, node, &params).await,
            ("POST", Some("media")) => (upload(shared, node, headers, body).await, false),
            ("GET", None) => (phone_fields(shared, node, &params), false),
            ("POST", Some("request_code")) => (request_code(shared, node, &params), false),
            ("POST", Some("verify_code")) => (verify_code(shared, node, &params), false),
            ("POST", Some("register")) => (register(shared, node, &params), false),
            ("GET", Some("whatsapp_business_profile")) => {
                (profile_get(shared, node, &params), false)
            }
            ("POST", Some("whatsapp_business_profile")) => {
                (profile_post(shared, node, &params), false)
            }
            _ => (unsupported(method, node), false),
        };
    }
    if is_waba {
        if !shared.lock().token_for_waba(node, &token) {
            return (no_such_object(method, node), false);
        }
        return match (method.as_str(), edge) {
            ("GET", Some("message_templates")) => (templates(shared, &params), false),
            ("GET", Some("phone_numbers")) => (phone_numbers(shared, node), false),
            ("POST", Some("phone_numbers")) => {
                (add_phone_number(shared, node, &token, &params), false)
            }
            _ => (unsupported(method, node), false),
        };
    }
    if is_media {
        let owner_ok = {
            let state = shared.lock();
            let owner = state
                .media
                .get(node)
                .map(|m| m.owner.clone())
                .unwrap_or_default();
            state
                .numbers
                .get(&owner)
                .is_some_and(|n| n.info.token == token)
        };
        if !owner_ok {
            return (no_such_object(method, node), false);
        }
        return match (method.as_str(), edge) {
            ("GET", None) => (media_metadata(shared, node), false),
            ("DELETE", None) => {
                shared.lock().media.remove(node);
                (success(), false)
            }
            _ => (unsupported(method, node), false),
        };
    }
    (no_such_object(method, node), false)
}

fn is_version(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    !major.is_empty()
        && !minor.is_empty()
        && major.chars().all(|c| c.is_ascii_digit())
        && minor.chars().all(|c| c.is_ascii_digit())
}

fn no_such_object(method: &Method, node: &str) -> Response {
    let verb = if method == Method::GET {
        "get"
    } else if method == Method::DELETE {
        "delete"
    } else {
        "post"
    };
    graph_error(
        400,
        100,
        &format!(
            "Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
        None,
    )
}

fn unsupported(method: &Method, node: &str) -> Response {
    no_such_object(method, node)
}

fn query_map(uri: &Uri) -> Map<String, Value> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| {
            q.0.into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect()
        })
        .unwrap_or_default()
}

async fn params(uri: &Uri, content_type: Option<&str>, body: &Bytes) -> Result<Params, Response> {
    let mut map = query_map(uri);
    if body.is_empty() {
        return Ok(Params { map });
    }
    let is_form = content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let request = Request::builder()
            .method(Method::POST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.clone()))
            .map_err(|_| invalid("Invalid form body"))?;
        let form = axum::Form::<HashMap<String, String>>::from_request(request, &())
            .await
            .map_err(|_| invalid("Invalid form body"))?;
        for (k, v) in form.0 {
            // Form values that are JSON objects or arrays (Meta accepts `text={"body":"x"}`) are decoded.
            let value = match serde_json::from_str::<Value>(&v) {
                Ok(parsed @ (Value::Object(_) | Value::Array(_))) => parsed,
                _ => Value::String(v),
            };
            map.insert(k, value);
        }
        return Ok(Params { map });
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => {
            map.extend(object);
            Ok(Params { map })
        }
        _ => Err(invalid("Invalid JSON for postbody")),
    }
}

// ----- messages -----

const SENDABLE: [&str; 12] = [
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "template",
    "reaction",
    "interactive",
    "location",
    "contacts",
    "audio",
];

async fn send(shared: &Arc<Shared>, phone_number_id: &str, params: &Params) -> (Response, bool) {
    match params.str("messaging_product") {
        None => {
            return (
                invalid("The parameter messaging_product is required."),
                false,
            );
        }
        Some("whatsapp") => {}
        Some(_) => {
            return (
                invalid("Param messaging_product must be one of {WHATSAPP} - got \"other\"."),
                false,
            );
        }
    }
    // Mark as read / typing indicator.
    if let Some(status) = params.str("status") {
        if status != "read" {
            return (invalid("Param status must be one of {READ}"), false);
        }
        if params.str("message_id").is_none_or(str::is_empty) {
            return (invalid("The parameter message_id is required."), false);
        }
        if let Some(typing) = params.map.get("typing_indicator")
            && typing.get("type").and_then(Value::as_str) != Some("text")
        {
            return (
                invalid("Param typing_indicator[type] must be one of {TEXT}"),
                false,
            );
        }
        return (success(), false);
    }
    {
        let state = shared.lock();
        if let Some(number) = state.numbers.get(phone_number_id)
            && !number.registered
        {
            return (
                graph_error(
                    400,
                    133010,
                    "(#133010) Account not registered",
                    Some("Account not registered"),
                ),
                false,
            );
        }
    }
    let Some(to) = params.str("to").map(str::to_owned) else {
        return (invalid("The parameter to is required."), false);
    };
    let recipient_type = params.str("recipient_type").unwrap_or("individual");
    if recipient_type == "individual" {
        let digits = digits_of(&to);
        let clean = to
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !clean || !(7..=15).contains(&digits.len()) {
            return (
                graph_error(
                    400,
                    100,
                    "(#100) Invalid parameter",
                    Some("Invalid 'to' parameter: not a phone number"),
                ),
                false,
            );
        }
    } else if recipient_type != "group" {
        return (
            invalid("Param recipient_type must be one of {INDIVIDUAL, GROUP}"),
            false,
        );
    }
    let message_type = params.str("type").unwrap_or("text").to_owned();
    if !SENDABLE.contains(&message_type.as_str()) {
        return (
            invalid(&format!(
                "Param type must be one of {{AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}} - got \"{message_type}\"."
            )),
            false,
        );
    }
    let Some(content) = params.map.get(&message_type).and_then(Value::as_object) else {
        return (
            invalid(&format!("The parameter {message_type} is required.")),
            false,
        );
    };
    if let Err(response) = validate_content(shared, &message_type, content) {
        return (response, false);
    }
    if let Some(context) = params.map.get("context")
        && context.get("message_id").and_then(Value::as_str).is_none()
    {
        return (
            invalid("The parameter context['message_id'] is required."),
            false,
        );
    }
    let callback = params.str("biz_opaque_callback_data").map(str::to_owned);
    if callback.as_ref().is_some_and(|c| c.chars().count() > 512) {
        return (
            invalid("Param biz_opaque_callback_data must be at most 512 characters long."),
            false,
        );
    }

    let rule = shared
        .lock()
        .take_failure(phone_number_id, &to, callback.as_deref());
    let failure = rule.map(|r| r.failure);
    if let Some(failure) = &failure {
        if let Some((status, code, message, details)) = failure.graph_error() {
            return (graph_error(status, code, &message, Some(&details)), false);
        }
        if *failure == Failure::ServerError {
            return (
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "text/plain")],
                    "Internal Server Error",
                )
                    .into_response(),
                false,
            );
        }
    }

    let wa_id = if recipient_type == "group" {
        to.clone()
    } else {
        digits_of(&to)
    };
    let mut body = Value::Object(params.map.clone());
    if let Some(object) = body.as_object_mut() {
        object.remove("access_token");
    }
    let accepted = {
        let mut state = shared.lock();
        let wamid = state.new_wamid();
        let message = AcceptedMessage {
            wamid,
            phone_number_id: phone_number_id.to_owned(),
            to: to.clone(),
            wa_id: wa_id.clone(),
            message_type: message_type.clone(),
            body,
            biz_opaque_callback_data: callback,
            received_at: (shared.config.clock)(),
        };
        state.accepted.push(message.clone());
        message
    };
    let mut plan = {
        let state = shared.lock();
        state
            .status_plan_by_recipient
            .get(&wa_id)
            .cloned()
            .unwrap_or_else(|| state.status_plan.clone())
    };
    if let Some(Failure::FailedStatus {
        code,
        title,
        details,
    }) = &failure
    {
        plan = StatusPlan::Failed {
            code: *code,
            title: title.clone(),
            details: details.clone(),
        };
    } else if shared.config.enforce_customer_service_window
        && message_type != "template"
        && recipient_type == "individual"
        && !webhooks::in_window(shared, phone_number_id, &wa_id)
    {
        plan = StatusPlan::Failed {
            code: 131047,
            title: "Re-engagement message".into(),
            details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.".into(),
        };
    }
    let mut message_entry = json!({ "id": accepted.wamid });
    if message_type == "template" {
        message_entry["message_status"] = "accepted".into();
    }
    let response = ok(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": wa_id }],
        "messages": [message_entry],
    }));
    tokio::spawn(webhooks::emit_statuses(shared.clone(), accepted, plan));
    (response, failure == Some(Failure::AcceptThenHang))
}

fn validate_content(
    shared: &Arc<Shared>,
    message_type: &str,
    content: &Map<String, Value>,
) -> Result<(), Response> {
    let s = |key: &str| content.get(key).and_then(Value::as_str);
    match message_type {
        "text" => {
            let Some(body) = s("body") else {
                return Err(invalid("The parameter text['body'] is required."));
            };
            if body.chars().count() > 4096 {
                return Err(invalid(
                    "Param text['body'] must be at most 4096 characters long.",
                ));
            }
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            match (s("id"), s("link")) {
                (Some(_), Some(_)) => {
                    return Err(invalid(&format!(
                        "Param {message_type} must have either id or link, not both."
                    )));
                }
                (None, None) => {
                    return Err(invalid(&format!(
                        "The parameter {message_type}['id'] or {message_type}['link'] is required."
                    )));
                }
                (Some(id), None) => {
                    let state = shared.lock();
                    if !state.media.contains_key(id) {
                        return Err(graph_error(
                            400,
                            131053,
                            "(#131053) Media upload error",
                            Some(&format!("Media id {id} not found for this phone number")),
                        ));
                    }
                }
                (None, Some(link)) => {
                    if !(link.starts_with("https://") || link.starts_with("http://")) {
                        return Err(invalid(&format!(
                            "Param {message_type}['link'] must be a valid URL"
                        )));
                    }
                }
            }
            if content.contains_key("caption")
                && !matches!(message_type, "image" | "video" | "document")
            {
                return Err(invalid(&format!(
                    "Param {message_type}['caption'] is not supported"
                )));
            }
        }
        "reaction" => {
            if s("message_id").is_none() {
                return Err(invalid("The parameter reaction['message_id'] is required."));
            }
            if s("emoji").is_none() {
                return Err(invalid("The parameter reaction['emoji'] is required."));
            }
        }
        "template" => {
            let Some(name) = s("name") else {
                return Err(invalid("The parameter template['name'] is required."));
            };
            let Some(language) = content
                .get("language")
                .and_then(|l| l.get("code"))
                .and_then(Value::as_str)
            else {
                return Err(invalid(
                    "The parameter template['language']['code'] is required.",
                ));
            };
            let state = shared.lock();
            let template = state.templates.iter().find(|t| {
                t.get("name").and_then(Value::as_str) == Some(name)
                    && t.get("language").and_then(Value::as_str) == Some(language)
            });
            let Some(template) = template else {
                return Err(graph_error(
                    404,
                    132001,
                    "(#132001) Template name does not exist in the translation",
                    Some(&format!(
                        "template name ({name}) does not exist in {language}"
                    )),
                ));
            };
            check_body_parameters(template, content)?;
        }
        "interactive" if s("type").is_none() => {
            return Err(invalid("The parameter interactive['type'] is required."));
        }
        "location" if content.get("latitude").is_none() || content.get("longitude").is_none() => {
            return Err(invalid(
                "The parameters location['latitude'] and location['longitude'] are required.",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// 132000 when the body parameter count differs from the template's placeholders.
fn check_body_parameters(template: &Value, content: &Map<String, Value>) -> Result<(), Response> {
    let body_text = template
        .get("components")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("BODY"))
        })
        .and_then(|c| c.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let expected = body_text.matches("{{").count();
    let given = content
        .get("components")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("body"))
        })
        .and_then(|c| c.get("parameters"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if expected != given {
        return Err(graph_error(
            400,
            132000,
            "(#132000) Number of parameters does not match the expected number of params",
            Some(&format!(
                "body: number of localizable_params ({given}) does not match the expected number of params ({expected})"
            )),
        ));
    }
    Ok(())
}

// ----- media -----

fn media_limit(kind: MediaKind, mime: &str) -> Option<usize> {
    const MB: usize = 1024 * 1024;
    let allowed: &[&str] = match kind {
        MediaKind::Audio => &[
            "audio/aac",
            "audio/amr",
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg",
        ],
        MediaKind::Document => &[
            "text/plain",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/pdf",
        ],
        MediaKind::Image => &["image/jpeg", "image/png"],
        MediaKind::Sticker => &["image/webp"],
        MediaKind::Video => &["video/3gpp", "video/mp4"],
    };
    let base = mime.split(';').next().unwrap_or_default().trim();
    allowed.contains(&base).then_some(match kind {
        MediaKind::Audio | MediaKind::Video => 16 * MB,
        MediaKind::Document => 100 * MB,
        MediaKind::Image => 5 * MB,
        MediaKind::Sticker => 500 * 1024,
    })
}

async fn upload(
    shared: &Arc<Shared>,
    phone_number_id: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = Request::builder().method(Method::POST);
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let Ok(request) = request.body(Body::from(body)) else {
        return invalid("Invalid multipart body");
    };
    let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
        return invalid("Upload requires a multipart/form-data body");
    };
    let mut messaging_product = None;
    let mut declared_type = None;
    let mut file: Option<(Bytes, Option<String>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                let content_type = field.content_type().map(str::to_owned);
                let Ok(data) = field.bytes().await else {
                    return invalid("Invalid multipart body");
                };
                match name.as_str() {
                    "messaging_product" => {
                        messaging_product = Some(String::from_utf8_lossy(&data).into_owned())
                    }
                    "type" => declared_type = Some(String::from_utf8_lossy(&data).into_owned()),
                    "file" => file = Some((data, content_type)),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return invalid("Invalid multipart body"),
        }
    }
    if messaging_product.as_deref() != Some("whatsapp") {
        return invalid("The parameter messaging_product is required.");
    }
    let Some((bytes, part_type)) = file else {
        return invalid("The parameter file is required.");
    };
    let Some(mime) = declared_type.or(part_type) else {
        return invalid("The parameter type is required.");
    };
    let fits = MediaKind::ALL
        .into_iter()
        .filter_map(|k| media_limit(k, &mime))
        .max();
    match fits {
        None => {
            return graph_error(
                400,
                131053,
                "(#131053) Media upload error",
                Some(&format!("Unsupported media type {mime}")),
            );
        }
        Some(limit) if bytes.len() > limit => {
            return graph_error(
                400,
                131053,
                "(#131053) Media upload error",
                Some(&format!(
                    "File of {} bytes is larger than the {limit} bytes allowed for {mime}",
                    bytes.len()
                )),
            );
        }
        Some(_) => {}
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let mut state = shared.lock();
    let id = state.new_numeric_id();
    state.media.insert(
        id.clone(),
        Media {
            bytes,
            mime_type: mime,
            sha256,
            owner: phone_number_id.to_owned(),
        },
    );
    ok(json!({ "id": id }))
}

fn media_metadata(shared: &Arc<Shared>, media_id: &str) -> Response {
    let mut state = shared.lock();
    let now = (shared.config.clock)().unix_timestamp();
    let mut expires = now + shared.config.media_url_ttl.as_secs() as i64;
    let mut sha256_reported = None;
    match state.media_faults.get(media_id).copied() {
        Some(crate::config::MediaFault::ExpiredUrls { n }) if n > 0 => {
            expires = now - 1;
            if n == 1 {
                state.media_faults.remove(media_id);
            } else {
                state.media_faults.insert(
                    media_id.to_owned(),
                    crate::config::MediaFault::ExpiredUrls { n: n - 1 },
                );
            }
        }
        Some(crate::config::MediaFault::WrongSha256) => {
            sha256_reported = Some(hex::encode(Sha256::digest(b"not this file")));
        }
        _ => {}
    }
    let Some(media) = state.media.get(media_id) else {
        return invalid("Media not found");
    };
    ok(json!({
        "messaging_product": "whatsapp",
        "url": format!("{}/_sim/media/{media_id}?ext={expires}", shared.base_url),
        "mime_type": media.mime_type,
        "sha256": sha256_reported.unwrap_or_else(|| media.sha256.clone()),
        "file_size": media.bytes.len().to_string(),
        "id": media_id,
    }))
}

/// `GET /_sim/media/{id}?ext=…`: the download URL. Requires the owner's bearer token; 404 once expired.
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(media_id): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return (StatusCode::UNAUTHORIZED, "Authorization required").into_response();
    };
    let now = (shared.config.clock)().unix_timestamp();
    let expired = query
        .get("ext")
        .and_then(|e| e.parse::<i64>().ok())
        .is_none_or(|ext| now > ext);
    let state = shared.lock();
    let Some(media) = state.media.get(&media_id) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    if state
        .numbers
        .get(&media.owner)
        .is_none_or(|n| n.info.token != token)
    {
        return (StatusCode::UNAUTHORIZED, "Invalid token").into_response();
    }
    if expired {
        return (StatusCode::NOT_FOUND, "URL expired").into_response();
    }
    if state.media_faults.get(&media_id) == Some(&crate::config::MediaFault::NotFound) {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    (
        [(header::CONTENT_TYPE, media.mime_type.clone())],
        media.bytes.clone(),
    )
        .into_response()
}

// ----- templates -----

fn templates(shared: &Arc<Shared>, params: &Params) -> Response {
    let limit: usize = params
        .str("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25)
        .clamp(1, 1000);
    let start: usize = params
        .str("after")
        .and_then(|a| a.strip_prefix("sim:"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let state = shared.lock();
    let all = &state.templates;
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let end = start + page.len();
    let mut paging =
        json!({ "cursors": { "before": format!("sim:{start}"), "after": format!("sim:{end}") } });
    if end < all.len() {
        paging["next"] = Value::String(format!("{}/_sim/next?after=sim:{end}", shared.base_url));
    }
    ok(json!({ "data": page, "paging": paging }))
}

// ----- phone numbers -----

fn number_fields(number: &crate::state::Number) -> Map<String, Value> {
    let info = &number.info;
    let mut m = Map::new();
    m.insert("verified_name".into(), info.verified_name.clone().into());
    m.insert(
        "code_verification_status".into(),
        if number.verified {
            "VERIFIED"
        } else {
            "NOT_VERIFIED"
        }
        .into(),
    );
    m.insert(
        "display_phone_number".into(),
        info.display_phone_number.clone().into(),
    );
    m.insert("quality_rating".into(), "GREEN".into());
    m.insert(
        "platform_type".into(),
        if number.registered {
            "CLOUD_API"
        } else {
            "NOT_APPLICABLE"
        }
        .into(),
    );
    m.insert("throughput".into(), json!({ "level": "STANDARD" }));
    m.insert(
        "status".into(),
        if number.registered {
            "CONNECTED"
        } else {
            "PENDING"
        }
        .into(),
    );
    m.insert("name_status".into(), "APPROVED".into());
    m.insert("id".into(), info.phone_number_id.clone().into());
    m
}

fn phone_fields(shared: &Arc<Shared>, phone_number_id: &str, params: &Params) -> Response {
    let state = shared.lock();
    let Some(number) = state.numbers.get(phone_number_id) else {
        return invalid("Unknown phone number");
    };
    let all = number_fields(number);
    let Some(fields) = params.str("fields") else {
        let defaults = [
            "verified_name",
            "code_verification_status",
            "display_phone_number",
            "quality_rating",
            "id",
        ];
        return ok(Value::Object(
            all.into_iter()
                .filter(|(k, _)| defaults.contains(&k.as_str()))
                .collect(),
        ));
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    for field in &wanted {
        if !all.contains_key(*field) {
            return invalid(&format!(
                "Tried accessing nonexisting field ({field}) on node type (WhatsAppBusinessPhoneNumber)"
            ));
        }
    }
    ok(Value::Object(
        all.into_iter()
            .filter(|(k, _)| k == "id" || wanted.contains(&k.as_str()))
            .collect(),
    ))
}

fn phone_numbers(shared: &Arc<Shared>, waba_id: &str) -> Response {
    let state = shared.lock();
    let mut data: Vec<Value> = state
        .numbers
        .values()
        .filter(|n| n.info.waba_id == waba_id)
        .map(|n| {
            let f = number_fields(n);
            json!({
                "verified_name": f["verified_name"], "display_phone_number": f["display_phone_number"],
                "id": f["id"], "quality_rating": f["quality_rating"],
            })
        })
        .collect();
    data.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    ok(
        json!({ "data": data, "paging": { "cursors": { "before": "sim:0", "after": format!("sim:{}", data.len()) } } }),
    )
}

fn add_phone_number(shared: &Arc<Shared>, waba_id: &str, token: &str, params: &Params) -> Response {
    let (Some(cc), Some(phone), Some(name)) = (
        params.str("cc"),
        params.str("phone_number"),
        params.str("verified_name"),
    ) else {
        return invalid("The parameters cc, phone_number and verified_name are required.");
    };
    let digits = format!("{}{}", digits_of(cc), digits_of(phone));
    if digits_of(cc).is_empty() || !(7..=15).contains(&digits.len()) {
        return invalid("Invalid parameter: phone_number");
    }
    let mut state = shared.lock();
    if state
        .numbers
        .values()
        .any(|n| digits_of(&n.info.display_phone_number) == digits)
    {
        return graph_error(
            400,
            100,
            "(#100) Invalid parameter",
            Some("Phone number is already in use"),
        );
    }
    let id = state.new_numeric_id();
    let info = crate::config::SimNumber {
        phone_number_id: id.clone(),
        token: token.to_owned(),
        waba_id: waba_id.to_owned(),
        display_phone_number: digits,
        verified_name: name.to_owned(),
    };
    let number = crate::state::Number {
        info,
        code_requested: false,
        verified: false,
        registered: false,
        pin: None,
        profile: Map::new(),
    };
    state.numbers.insert(id.clone(), number);
    ok(json!({ "id": id }))
}

fn request_code(shared: &Arc<Shared>, phone_number_id: &str, params: &Params) -> Response {
    match params.str("code_method") {
        Some("SMS" | "VOICE") => {}
        Some(_) => return invalid("Param code_method must be one of {SMS, VOICE}"),
        None => return invalid("The parameter code_method is required."),
    }
    if params.str("language").is_none_or(str::is_empty) {
        return invalid("The parameter language is required.");
    }
    let mut state = shared.lock();
    if let Some(number) = state.numbers.get_mut(phone_number_id) {
        number.code_requested = true;
    }
    success()
}

fn verify_code(shared: &Arc<Shared>, phone_number_id: &str, params: &Params) -> Response {
    let Some(code) = params.str("code") else {
        return invalid("The parameter code is required.");
    };
    let mut state = shared.lock();
    let otp = state.otp.clone();
    let Some(number) = state.numbers.get_mut(phone_number_id) else {
        return invalid("Unknown phone number");
    };
    if !number.code_requested && !number.verified {
        return graph_error(
            400,
            136025,
            "(#136025) Verify code error",
            Some("No verification code was requested"),
        );
    }
    if code != otp {
        return graph_error(
            400,
            136025,
            "(#136025) Verify code error",
            Some("Code couldn't be verified"),
        );
    }
    number.verified = true;
    success()
}

fn register(shared: &Arc<Shared>, phone_number_id: &str, params: &Params) -> Response {
    if params.str("messaging_product") != Some("whatsapp") {
        return invalid("The parameter messaging_product is required.");
    }
    let Some(pin) = params.str("pin") else {
        return invalid("The parameter pin is required.");
    };
    if pin.len() != 6 || !pin.chars().all(|c| c.is_ascii_digit()) {
        return invalid("Param pin must be a 6-digit number");
    }
    let mut state = shared.lock();
    let Some(number) = state.numbers.get_mut(phone_number_id) else {
        return invalid("Unknown phone number");
    };
    if !number.verified {
        return graph_error(
            400,
            133006,
            "(#133006) Phone number needs to be verified",
            Some("Verify the phone number first"),
        );
    }
    if let Some(existing) = &number.pin
        && existing != pin
    {
        return graph_error(
            400,
            133005,
            "(#133005) Two step verification PIN Mismatch",
            Some("PIN mismatch"),
        );
    }
    number.pin = Some(pin.to_owned());
    number.registered = true;
    success()
}

fn profile_get(shared: &Arc<Shared>, phone_number_id: &str, params: &Params) -> Response {
    let state = shared.lock();
    let Some(number) = state.numbers.get(phone_number_id) else {
        return invalid("Unknown phone number");
    };
    let mut profile = number.profile.clone();
    if let Some(fields) = params.str("fields") {
        let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
        profile.retain(|k, _| wanted.contains(&k.as_str()));
    }
    profile.insert("messaging_product".into(), "whatsapp".into());
    ok(json!({ "data": [profile] }))
}

fn profile_post(shared: &Arc<Shared>, phone_number_id: &str, params: &Params) -> Response {
    if params.str("messaging_product") != Some("whatsapp") {
        return invalid("The parameter messaging_product is required.");
    }
    let mut fields = params.map.clone();
    fields.remove("messaging_product");
    fields.remove("access_token");
    let update: BusinessProfileUpdate = match serde_json::from_value(Value::Object(fields.clone()))
    {
        Ok(u) => u,
        Err(e) => return invalid(&format!("Invalid parameter: {e}")),
    };
    if let Some(error) = update.validate().into_iter().next() {
        return graph_error(
            400,
            100,
            &format!("(#100) Param {} {}", error.field, error.message),
            None,
        );
    }
    let mut state = shared.lock();
    let Some(number) = state.numbers.get_mut(phone_number_id) else {
        return invalid("Unknown phone number");
    };
    for (key, value) in fields {
        if key == "profile_picture_handle" {
            number.profile.insert(
                "profile_picture_url".into(),
                "https://pps.whatsapp.net/v/sim-profile.jpg".into(),
            );
        } else if [
            "about",
            "address",
            "description",
            "email",
            "websites",
            "vertical",
        ]
        .contains(&key.as_str())
        {
            number.profile.insert(key, value);
        }
    }
    success()
}
