//! `/api/v2/webhooks`: subscriptions of outgoing webhooks to SLA notifications (admins only),
//! stored as settings documents. The secret is write-only: it signs deliveries and is never
//! shown. `GET /api/v2/webhooks/deliveries` lists the queue (newest first) with each delivery's
//! state.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};
use store::{NewSettingsDoc, SettingsDoc, WebhookDelivery};

use crate::webhooks_out::{EVENTS, SUBSCRIPTION_KIND, Subscription};

use super::{
    AppState,
    api::{ApiError, ApiJson, Caller, FieldError, pagination, path_id, rfc3339, with_next_link},
};

fn err(field: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
        code: code.to_owned(),
    }
}

const KNOWN: &[&str] = &["url", "events", "secret", "description", "active"];

/// Validates a whole subscription body (after a PUT's keys were laid over the stored ones).
fn validate(body: &Map<String, Value>) -> Result<Subscription, ApiError> {
    let mut errors = Vec::new();
    for k in body.keys() {
        if !KNOWN.contains(&k.as_str()) {
            errors.push(err(
                k,
                "invalid_field",
                "Unexpected/invalid field in request",
            ));
        }
    }
    let url = match body.get("url") {
        None | Some(Value::Null) => {
            errors.push(err("url", "missing_field", "It should be an http(s) URL"));
            String::new()
        }
        Some(Value::String(s)) => {
            match reqwest::Url::parse(s) {
                Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.has_host() => {}
                _ => errors.push(err(
                    "url",
                    "invalid_value",
                    "It should be an absolute http:// or https:// URL",
                )),
            }
            s.clone()
        }
        Some(_) => {
            errors.push(err("url", "datatype_mismatch", "It should be a String"));
            String::new()
        }
    };
    let allowed = EVENTS.join(",");
    let events = match body.get("events") {
        None | Some(Value::Null) => {
            errors.push(err(
                "events",
                "missing_field",
                &format!("It should contain elements that are in the list {allowed}"),
            ));
            Vec::new()
        }
        Some(Value::Array(items)) => {
            let mut out: Vec<String> = Vec::new();
            for v in items {
                match v.as_str() {
                    Some(e) if EVENTS.contains(&e) => {
                        if !out.iter().any(|o| o == e) {
                            out.push(e.to_owned());
                        }
                    }
                    _ => {
                        errors.push(err(
                            "events",
                            "invalid_value",
                            &format!("It should contain elements that are in the list {allowed}"),
                        ));
                        break;
                    }
                }
            }
            if items.is_empty() {
                errors.push(err(
                    "events",
                    "invalid_value",
                    &format!("It should contain elements that are in the list {allowed}"),
                ));
            }
            out
        }
        Some(_) => {
            errors.push(err("events", "datatype_mismatch", "It should be an Array"));
            Vec::new()
        }
    };
    let secret = match body.get("secret") {
        None | Some(Value::Null) => {
            errors.push(err(
                "secret",
                "missing_field",
                "It should be a String of 16 to 256 characters",
            ));
            String::new()
        }
        Some(Value::String(s)) if (16..=256).contains(&s.chars().count()) => s.clone(),
        Some(Value::String(_)) => {
            errors.push(err(
                "secret",
                "invalid_value",
                "It should be a String of 16 to 256 characters",
            ));
            String::new()
        }
        Some(_) => {
            errors.push(err("secret", "datatype_mismatch", "It should be a String"));
            String::new()
        }
    };
    let description = match body.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(err(
                "description",
                "datatype_mismatch",
                "It should be a String",
            ));
            None
        }
    };
    let active = match body.get("active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(err("active", "datatype_mismatch", "It should be a Boolean"));
            true
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(Subscription {
        url,
        events,
        secret,
        description,
        active,
    })
}

fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object().ok_or_else(|| {
        ApiError::validation(vec![err(
            "",
            "datatype_mismatch",
            "The body should be a JSON object",
        )])
    })
}

fn stored(s: &Subscription) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

/// What the API shows: never the secret.
fn view(doc: &SettingsDoc) -> Value {
    let s: Option<Subscription> = serde_json::from_value(doc.body.clone()).ok();
    json!({
        "id": doc.id,
        "url": s.as_ref().map(|s| s.url.clone()),
        "events": s.as_ref().map(|s| s.events.clone()),
        "description": s.as_ref().and_then(|s| s.description.clone()),
        "active": s.as_ref().is_some_and(|s| s.active),
        "created_at": rfc3339(doc.created_at),
        "updated_at": rfc3339(doc.updated_at),
    })
}

/// `GET /api/v2/webhooks` (admins).
pub(super) async fn list(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Value>>, ApiError> {
    caller.require_admin()?;
    let docs = app
        .store
        .list_settings(caller.account.id, SUBSCRIPTION_KIND)
        .await?;
    Ok(Json(docs.iter().map(view).collect()))
}

/// `GET /api/v2/webhooks/{id}` (admins).
pub(super) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let id = path_id(&id)?;
    let doc = app
        .store
        .get_settings(caller.account.id, SUBSCRIPTION_KIND, id)
        .await?;
    Ok(Json(view(&doc)))
}

/// `POST /api/v2/webhooks` (admins): 201 with the subscription (without its secret).
pub(super) async fn create(
    State(app): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let sub = validate(object(&body)?)?;
    let doc = app
        .store
        .insert_settings(
            caller.account.id,
            &NewSettingsDoc {
                kind: SUBSCRIPTION_KIND.into(),
                position: None,
                unique_key: None,
                body: stored(&sub),
            },
            app.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view(&doc))).into_response())
}

/// `PUT /api/v2/webhooks/{id}` (admins): the keys given replace the stored ones (the secret is
/// kept unless a new one is given).
pub(super) async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let id = path_id(&id)?;
    let patch = object(&body)?;
    let account = caller.account.id;
    let current = app
        .store
        .get_settings(account, SUBSCRIPTION_KIND, id)
        .await?;
    let mut next: Map<String, Value> = current.body.as_object().cloned().unwrap_or_default();
    for (k, v) in patch {
        next.insert(k.clone(), v.clone());
    }
    let sub = validate(&next)?;
    let doc = app
        .store
        .update_settings(
            account,
            SUBSCRIPTION_KIND,
            id,
            None,
            &stored(&sub),
            app.clock.now(),
        )
        .await?;
    Ok(Json(view(&doc)))
}

/// `DELETE /api/v2/webhooks/{id}` (admins): 204. Deliveries already queued are still sent.
pub(super) async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let id = path_id(&id)?;
    app.store
        .delete_settings(caller.account.id, SUBSCRIPTION_KIND, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn delivery_view(d: &WebhookDelivery) -> Value {
    json!({
        "id": d.id,
        "event": d.request.event,
        "ticket_id": d.request.ticket_id,
        "method": d.request.method,
        "url": d.request.url,
        "state": d.state,
        "attempts": d.attempts,
        "max_attempts": d.request.max_attempts,
        "next_attempt_at": rfc3339(d.next_attempt_at),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": rfc3339(d.created_at),
        "updated_at": rfc3339(d.updated_at),
    })
}

/// `GET /api/v2/webhooks/deliveries[?page=&per_page=]` (admins): the outgoing queue, newest
/// first, without bodies and headers.
pub(super) async fn deliveries(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require_admin()?;
    let page = pagination(query.as_deref())?;
    let rows = app
        .store
        .list_webhook_deliveries(caller.account.id, page)
        .await?;
    Ok(with_next_link(
        "/api/v2/webhooks/deliveries",
        page,
        rows.iter().map(delivery_view).collect(),
    ))
}
